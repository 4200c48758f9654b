//! Sixel encoding by hand: a 64-level grey palette (radio cutouts are single-channel) with
//! run-length bands — a few dozen lines, where the crates that do it pull in colour
//! quantisers this data never needs.

use image::RgbImage;

/// A sixel image with a 64-level grey (or colour-quantised) palette, run-length encoded.
pub fn encode(picture: &RgbImage) -> String {
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
