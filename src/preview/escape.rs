//! The escape sequences of the three pixel protocols, for a picture already scaled to the
//! pixels it should cover. Each draws at the cursor.
//!
//! kitty: direct placement (`a=T` / `a=p` with an image and placement id), never Unicode
//! placeholders — kitty before 0.28 and several other kitty-protocol terminals do not draw
//! those (they show boxes), while direct placement works in every one of them.

use base64::Engine as _;

/// kitty's limit for one chunk of base64 payload.
const KITTY_CHUNK: usize = 4096;

/// Send `png` to kitty and show it at the cursor at its own pixel size. With an `id` (the
/// chat) it can be placed again or deleted later and the cursor stays; without one (printing
/// in `view`) kitty numbers it and the cursor moves past the picture.
pub fn kitty_transmit_and_place(png: &[u8], id: Option<u32>) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(png);
    let chunks: Vec<&[u8]> = encoded.as_bytes().chunks(KITTY_CHUNK).collect();
    let mut out = String::with_capacity(encoded.len() + chunks.len() * 16);
    for (i, chunk) in chunks.iter().enumerate() {
        let more = u8::from(i + 1 < chunks.len());
        let control = if i == 0 {
            match id {
                Some(id) => format!("a=T,f=100,q=2,i={id},p=1,C=1,m={more}"),
                None => format!("a=T,f=100,q=2,m={more}"),
            }
        } else {
            format!("m={more}")
        };
        out.push_str(&format!(
            "\x1b_G{control};{}\x1b\\",
            String::from_utf8_lossy(chunk)
        ));
    }
    out
}

/// Show image `id`, already sent, at the cursor again (its one placement moves here).
pub fn kitty_place(id: u32) -> String {
    format!("\x1b_Ga=p,q=2,i={id},p=1,C=1\x1b\\")
}

/// Take image `id` off the screen; `free` also drops its data from the terminal.
pub fn kitty_delete(id: u32, free: bool) -> String {
    let what = if free { 'I' } else { 'i' };
    format!("\x1b_Ga=d,q=2,d={what},i={id}\x1b\\")
}

/// iTerm2's inline image fitted into `columns` × `rows` cells, aspect kept by the terminal.
pub fn iterm(png: &[u8], columns: u16, rows: u16) -> String {
    format!(
        "\x1b]1337;File=inline=1;size={};width={columns};height={rows};preserveAspectRatio=1:{}\x07",
        png.len(),
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// tmux swallows escape sequences unless they are wrapped in a DCS passthrough with every
/// ESC doubled (and tmux is set to `allow-passthrough on`).
pub fn passthrough(escape: &str, in_tmux: bool) -> Vec<u8> {
    if !in_tmux {
        return escape.as_bytes().to_vec();
    }
    format!("\x1bPtmux;{}\x1b\\", escape.replace('\x1b', "\x1b\x1b")).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kitty_payload_is_chunked_with_the_id_and_placement_on_the_first_chunk_only() {
        let payload = vec![7u8; 5000];
        let text = kitty_transmit_and_place(&payload, Some(42));
        let chunks: Vec<&str> = text.split("\x1b\\").filter(|c| !c.is_empty()).collect();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].starts_with("\x1b_Ga=T,f=100,q=2,i=42,p=1,C=1,m=1;"));
        assert!(chunks[1].starts_with("\x1b_Gm=0;"));
        assert!(!text.contains("U=1"), "no Unicode placeholders");
    }

    #[test]
    fn deleting_keeps_or_frees_the_data() {
        assert_eq!(kitty_delete(3, false), "\x1b_Ga=d,q=2,d=i,i=3\x1b\\");
        assert_eq!(kitty_delete(3, true), "\x1b_Ga=d,q=2,d=I,i=3\x1b\\");
    }
}
