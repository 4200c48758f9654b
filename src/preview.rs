//! Terminal image previews for the CLI: kitty graphics, iTerm2 inline images, sixel, or
//! half-block characters, written to any `Write`. Inside tmux the escape sequences are
//! wrapped for passthrough (tmux needs `set -g allow-passthrough on`).

use base64::Engine as _;
use image::{RgbImage, imageops::FilterType};
use std::io::{self, Write};

/// How to draw an image in the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graphics {
    Kitty,
    Iterm,
    Sixel,
    Halfblocks,
    None,
}

impl std::str::FromStr for Graphics {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kitty" => Ok(Graphics::Kitty),
            "iterm" | "iterm2" => Ok(Graphics::Iterm),
            "sixel" => Ok(Graphics::Sixel),
            "halfblocks" => Ok(Graphics::Halfblocks),
            "none" => Ok(Graphics::None),
            other => Err(format!(
                "unknown --graphics '{other}'; expected auto, kitty, sixel, iterm, halfblocks or none"
            )),
        }
    }
}

/// Pick a protocol from the environment, the way terminals announce themselves (no query on
/// stdin, so it works in scripts and over SSH). Anything unknown gets half blocks.
pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Graphics {
    let term = env("TERM").unwrap_or_default();
    let program = env("TERM_PROGRAM").unwrap_or_default();
    if term.contains("kitty") || env("KITTY_WINDOW_ID").is_some() || program == "ghostty" {
        Graphics::Kitty
    } else if program == "iTerm.app"
        || program == "WezTerm"
        || env("LC_TERMINAL").as_deref() == Some("iTerm2")
    {
        Graphics::Iterm
    } else if term.contains("sixel")
        || term == "foot"
        || term.starts_with("mlterm")
        || term == "yaft-256color"
    {
        Graphics::Sixel
    } else {
        Graphics::Halfblocks
    }
}

/// Draw `picture` `columns` cells wide.
pub fn draw(
    out: &mut dyn Write,
    picture: &RgbImage,
    graphics: Graphics,
    columns: u32,
    in_tmux: bool,
) -> io::Result<()> {
    let columns = columns.max(1);
    match graphics {
        Graphics::None => Ok(()),
        Graphics::Halfblocks => halfblocks(out, picture, columns),
        Graphics::Kitty => {
            let png = png_bytes(picture)?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(png);
            let chunks: Vec<&[u8]> = encoded.as_bytes().chunks(4096).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let more = u8::from(i + 1 < chunks.len());
                let control = if i == 0 {
                    format!("a=T,f=100,q=2,c={columns},m={more}")
                } else {
                    format!("m={more}")
                };
                let escape = format!("\x1b_G{control};{}\x1b\\", String::from_utf8_lossy(chunk));
                out.write_all(&passthrough(&escape, in_tmux))?;
            }
            writeln!(out)
        }
        Graphics::Iterm => {
            let png = png_bytes(picture)?;
            let escape = format!(
                "\x1b]1337;File=inline=1;size={};width={columns};preserveAspectRatio=1:{}\x07",
                png.len(),
                base64::engine::general_purpose::STANDARD.encode(&png)
            );
            out.write_all(&passthrough(&escape, in_tmux))?;
            writeln!(out)
        }
        Graphics::Sixel => {
            // Sixel is drawn in pixels: about 8 pixels per cell column.
            let scaled = scale_to_width(picture, columns * 8, 1.0);
            out.write_all(&passthrough(&sixel(&scaled), in_tmux))?;
            writeln!(out)
        }
    }
}

/// tmux swallows escape sequences unless they are wrapped in a DCS passthrough with every
/// ESC doubled.
fn passthrough(escape: &str, in_tmux: bool) -> Vec<u8> {
    if !in_tmux {
        return escape.as_bytes().to_vec();
    }
    format!("\x1bPtmux;{}\x1b\\", escape.replace('\x1b', "\x1b\x1b")).into_bytes()
}

fn png_bytes(picture: &RgbImage) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(io::Error::other)?;
    Ok(bytes)
}

/// Resize to `width` pixels keeping the aspect ratio; `row_factor` squashes rows (half blocks
/// draw two pixel rows per cell).
fn scale_to_width(picture: &RgbImage, width: u32, row_factor: f64) -> RgbImage {
    let width = width.max(1);
    let height = ((picture.height() as f64 * width as f64 / picture.width().max(1) as f64)
        * row_factor)
        .round()
        .max(1.0) as u32;
    image::imageops::resize(picture, width, height, FilterType::Triangle)
}

/// One character cell per column and per two pixel rows: '▀' in the top pixel's colour on the
/// bottom pixel's colour (24-bit ANSI).
fn halfblocks(out: &mut dyn Write, picture: &RgbImage, columns: u32) -> io::Result<()> {
    let scaled = scale_to_width(picture, columns, 1.0);
    let (w, h) = scaled.dimensions();
    for row in (0..h).step_by(2) {
        let mut line = String::new();
        for x in 0..w {
            let top = scaled.get_pixel(x, row).0;
            let bottom = if row + 1 < h {
                scaled.get_pixel(x, row + 1).0
            } else {
                [0, 0, 0]
            };
            line.push_str(&format!(
                "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m▀",
                top[0], top[1], top[2], bottom[0], bottom[1], bottom[2]
            ));
        }
        line.push_str("\x1b[0m\n");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A sixel image with a 64-level grey (or colour-quantised) palette, run-length encoded.
fn sixel(picture: &RgbImage) -> String {
    const LEVELS: u32 = 64;
    let (w, h) = picture.dimensions();
    let index = |p: [u8; 3]| {
        ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000 * LEVELS / 256) as usize
    };
    let mut out = String::from("\x1bPq");
    out.push_str(&format!("\"1;1;{w};{h}"));
    for level in 0..LEVELS {
        let percent = level * 100 / (LEVELS - 1);
        out.push_str(&format!("#{level};2;{percent};{percent};{percent}"));
    }
    for band in (0..h).step_by(6) {
        let mut colours_used = vec![false; LEVELS as usize];
        for y in band..(band + 6).min(h) {
            for x in 0..w {
                colours_used[index(picture.get_pixel(x, y).0)] = true;
            }
        }
        let mut first = true;
        for (level, used) in colours_used.iter().enumerate() {
            if !used {
                continue;
            }
            if !first {
                out.push('$');
            }
            first = false;
            out.push_str(&format!("#{level}"));
            let mut run: Option<(char, usize)> = None;
            for x in 0..w {
                let mut bits = 0u8;
                for dy in 0..6 {
                    let y = band + dy;
                    if y < h && index(picture.get_pixel(x, y).0) == level {
                        bits |= 1 << dy;
                    }
                }
                let c = (63 + bits) as char;
                run = match run {
                    Some((rc, n)) if rc == c => Some((rc, n + 1)),
                    Some((rc, n)) => {
                        push_run(&mut out, rc, n);
                        Some((c, 1))
                    }
                    None => Some((c, 1)),
                };
            }
            if let Some((rc, n)) = run {
                push_run(&mut out, rc, n);
            }
        }
        out.push('-');
    }
    out.push_str("\x1b\\");
    out
}

fn push_run(out: &mut String, c: char, n: usize) {
    if n > 3 {
        out.push_str(&format!("!{n}{c}"));
    } else {
        (0..n).for_each(|_| out.push(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient() -> RgbImage {
        RgbImage::from_fn(4, 4, |x, y| {
            let v = (x * 60 + y * 5) as u8;
            image::Rgb([v, v, v])
        })
    }

    #[test]
    fn halfblocks_snapshot_is_stable() {
        let mut out = Vec::new();
        draw(&mut out, &gradient(), Graphics::Halfblocks, 4, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2, "4 pixel rows → 2 cell rows");
        assert!(
            text.starts_with("\x1b[38;2;0;0;0m\x1b[48;2;5;5;5m▀"),
            "{text:?}"
        );
        assert!(text.ends_with("\x1b[0m\n"));
    }

    #[test]
    fn kitty_and_iterm_wrap_for_tmux() {
        let mut kitty = Vec::new();
        draw(&mut kitty, &gradient(), Graphics::Kitty, 10, true).unwrap();
        let kitty = String::from_utf8(kitty).unwrap();
        assert!(
            kitty.starts_with("\x1bPtmux;\x1b\x1b_Ga=T,f=100,q=2,c=10,m=0;"),
            "{kitty:?}"
        );
        let mut iterm = Vec::new();
        draw(&mut iterm, &gradient(), Graphics::Iterm, 10, false).unwrap();
        assert!(
            String::from_utf8(iterm)
                .unwrap()
                .starts_with("\x1b]1337;File=inline=1;size=")
        );
    }

    #[test]
    fn sixel_is_a_complete_dcs_sequence() {
        let mut out = Vec::new();
        draw(&mut out, &gradient(), Graphics::Sixel, 1, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("\x1bPq\"1;1;8;8") && text.trim_end().ends_with("\x1b\\"),
            "{text:?}"
        );
    }

    #[test]
    fn detection_follows_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(detect(&env(&[("TERM", "xterm-kitty")])), Graphics::Kitty);
        assert_eq!(
            detect(&env(&[("TERM_PROGRAM", "iTerm.app")])),
            Graphics::Iterm
        );
        assert_eq!(detect(&env(&[("TERM", "foot")])), Graphics::Sixel);
        assert_eq!(
            detect(&env(&[("TERM", "xterm-256color")])),
            Graphics::Halfblocks
        );
    }
}
