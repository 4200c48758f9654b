//! Pictures in the terminal: kitty graphics, iTerm2 inline images, sixel, or half-block
//! characters; the protocol chosen from the environment, the picture scaled by the cell size
//! in pixels. `radiochat view` prints with `draw`; the chat places the same escapes itself.
//! Inside tmux the escape sequences are wrapped for passthrough (tmux needs
//! `set -g allow-passthrough on`).

pub mod cell_size;
pub mod escape;
pub mod halfblocks;
pub mod sixel;

pub use cell_size::CellSize;

use crate::util::error::BadValue;
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

impl Graphics {
    /// A protocol drawn in pixels (not text).
    pub fn is_pixels(self) -> bool {
        matches!(self, Graphics::Kitty | Graphics::Iterm | Graphics::Sixel)
    }
}

impl std::str::FromStr for Graphics {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "kitty" => Ok(Graphics::Kitty),
            "iterm" | "iterm2" => Ok(Graphics::Iterm),
            "sixel" => Ok(Graphics::Sixel),
            "halfblocks" => Ok(Graphics::Halfblocks),
            "none" => Ok(Graphics::None),
            other => Err(BadValue::unknown(
                "--graphics",
                other,
                "auto, kitty, sixel, iterm, halfblocks or none",
            )),
        }
    }
}

/// Pick a protocol from the environment, the way terminals announce themselves (no query on
/// stdin, so it works in scripts and over SSH). Anything unknown gets half blocks, and so does
/// tmux: its passthrough needs `set -g allow-passthrough on` and loses pictures on redraws,
/// so inside tmux a pixel protocol is used only when asked for with `--graphics`.
pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Graphics {
    if env("TMUX").is_some_and(|v| !v.is_empty()) {
        return Graphics::Halfblocks;
    }
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
        || term.starts_with("foot-")
        || term.starts_with("mlterm")
        || term == "yaft-256color"
    {
        Graphics::Sixel
    } else {
        Graphics::Halfblocks
    }
}

/// Whether `auto` should ask the terminal if it draws sixel (its device attributes): nothing
/// in the environment named a protocol, and it is not tmux, screen or a text console.
/// xterm, Konsole, Windows Terminal and others say `TERM=xterm-256color` whether they draw
/// sixel or not; the answer takes one round trip at start.
pub fn worth_asking_for_sixel(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let term = env("TERM").unwrap_or_default();
    detect(env) == Graphics::Halfblocks
        && env("TMUX").is_none_or(|v| v.is_empty())
        && !(term.is_empty()
            || term == "dumb"
            || term == "linux"
            || term.starts_with("screen")
            || term.starts_with("tmux"))
}

/// The protocol to draw with: `explicit`, else `detect`'s choice, or sixel where the terminal
/// says it draws it. `probe(ask_anyway)` measures the terminal (asking it when told to); it is
/// called only when a pixel protocol is possible, and its result comes back with the choice.
pub fn choose(
    explicit: Option<Graphics>,
    probe: impl FnOnce(bool) -> cell_size::Probe,
) -> (Graphics, Option<cell_size::Probe>) {
    let env = |key: &str| std::env::var(key).ok();
    let chosen = explicit.unwrap_or_else(|| detect(&env));
    let ask_sixel = explicit.is_none() && worth_asking_for_sixel(&env);
    if !chosen.is_pixels() && !ask_sixel {
        return (chosen, None);
    }
    let probe = probe(ask_sixel);
    let chosen = if ask_sixel && probe.sixel {
        Graphics::Sixel
    } else {
        chosen
    };
    (chosen, Some(probe))
}

/// Whether radiochat runs inside tmux.
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// Inside tmux, pixel pictures reach the terminal only with tmux's `allow-passthrough` on
/// (tmux 3.3+). A one-line warning when it is off, `None` when on or outside tmux.
pub fn tmux_passthrough_warning(graphics: Graphics) -> Option<String> {
    if !graphics.is_pixels() || !in_tmux() {
        return None;
    }
    let allowed = ["-gqv", "-pqv"].iter().any(|scope| {
        std::process::Command::new("tmux")
            .args(["show-options", scope, "allow-passthrough"])
            .output()
            .is_ok_and(|out| matches!(String::from_utf8_lossy(&out.stdout).trim(), "on" | "all"))
    });
    (!allowed).then(|| {
        "inside tmux, pictures need `tmux set -g allow-passthrough on` (tmux 3.3+); \
         else use --graphics halfblocks"
            .to_string()
    })
}

/// A picture fitted into a box of cells: its size in pixels and the cells it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub width: u32,
    pub height: u32,
    pub columns: u16,
    pub rows: u16,
}

/// Fit `width` × `height` pixels into `columns` × `rows` cells of `cell` pixels each, aspect
/// kept (scaled up or down).
pub fn fit(width: u32, height: u32, columns: u16, rows: u16, cell: CellSize) -> Fit {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let box_w = columns.max(1) as f64 * cell.width.max(1) as f64;
    let box_h = rows.max(1) as f64 * cell.height.max(1) as f64;
    let scale = (box_w / w).min(box_h / h);
    let width = ((w * scale).floor() as u32).max(1);
    let height = ((h * scale).floor() as u32).max(1);
    Fit {
        width,
        height,
        columns: width.div_ceil(cell.width.max(1) as u32) as u16,
        rows: height.div_ceil(cell.height.max(1) as u32) as u16,
    }
}

/// `picture` resized to `fit`'s pixels.
pub fn scaled(picture: &RgbImage, fit: Fit) -> RgbImage {
    if picture.dimensions() == (fit.width, fit.height) {
        return picture.clone();
    }
    image::imageops::resize(picture, fit.width, fit.height, FilterType::Triangle)
}

/// The escape sequence that draws `picture` fitted into `columns` × `rows` cells at the
/// cursor (`None` for half blocks, which are text). `kitty_id`: see
/// [`escape::kitty_transmit_and_place`].
pub fn pixel_escape(
    picture: &RgbImage,
    graphics: Graphics,
    columns: u16,
    rows: u16,
    cell: CellSize,
    kitty_id: Option<u32>,
) -> io::Result<Option<(String, Fit)>> {
    let fit = fit(picture.width(), picture.height(), columns, rows, cell);
    let escape = match graphics {
        Graphics::Kitty => escape::kitty_transmit_and_place(
            &crate::util::png::bytes(&scaled(picture, fit))?,
            kitty_id,
        ),
        Graphics::Iterm => escape::iterm(
            &crate::util::png::bytes(&scaled(picture, fit))?,
            fit.columns,
            fit.rows,
        ),
        Graphics::Sixel => sixel::encode(&scaled(picture, fit)).map_err(io::Error::other)?,
        Graphics::Halfblocks | Graphics::None => return Ok(None),
    };
    Ok(Some((escape, fit)))
}

/// Print `picture` `columns` cells wide and at most `max_rows` tall, then a new line.
pub fn draw(
    out: &mut dyn Write,
    picture: &RgbImage,
    graphics: Graphics,
    columns: u32,
    max_rows: u16,
    cell: CellSize,
    in_tmux: bool,
) -> io::Result<()> {
    let columns = columns.clamp(1, u16::MAX as u32);
    match pixel_escape(picture, graphics, columns as u16, max_rows, cell, None)? {
        Some((escape, _)) => {
            out.write_all(&escape::passthrough(&escape, in_tmux))?;
            writeln!(out)
        }
        None if graphics == Graphics::Halfblocks => {
            let cells = halfblocks::cells(picture, columns as u16, max_rows);
            out.write_all(halfblocks::ansi(&cells).as_bytes())
        }
        None => Ok(()),
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

    const CELL: CellSize = CellSize {
        width: 8,
        height: 16,
    };

    /// What `draw` prints for the gradient, `columns` wide, 8 × 16 px cells.
    fn drawn(graphics: Graphics, columns: u32, in_tmux: bool) -> String {
        let mut out = Vec::new();
        draw(&mut out, &gradient(), graphics, columns, 50, CELL, in_tmux).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn halfblocks_snapshot_is_stable() {
        let text = drawn(Graphics::Halfblocks, 4, false);
        assert_eq!(text.lines().count(), 2, "4 pixel rows → 2 cell rows");
        assert!(
            text.starts_with("\x1b[38;2;0;0;0m\x1b[48;2;5;5;5m▀"),
            "{text:?}"
        );
        assert!(text.ends_with("\x1b[0m\n"));
    }

    #[test]
    fn kitty_and_iterm_wrap_for_tmux_and_size_the_picture_in_pixels() {
        let kitty = drawn(Graphics::Kitty, 10, true);
        assert!(
            kitty.starts_with("\x1bPtmux;\x1b\x1b_Ga=T,f=100,q=2,m=0;"),
            "{kitty:?}"
        );
        let iterm = drawn(Graphics::Iterm, 10, false);
        // 10 columns of 8 px: 80 × 80 px, 10 × 5 cells.
        assert!(
            iterm.starts_with("\x1b]1337;File=inline=1;size=")
                && iterm.contains(";width=10;height=5;preserveAspectRatio=1:"),
            "{iterm:?}"
        );
    }

    #[test]
    fn sixel_is_a_complete_dcs_sequence_scaled_by_the_cell_width() {
        let text = drawn(Graphics::Sixel, 2, false);
        assert!(
            text.starts_with("\x1bP")
                && text.contains("q\"1;1;16;16#")
                && text.trim_end().ends_with("\x1b\\"),
            "{text:?}"
        );
    }

    #[test]
    fn fitting_keeps_the_aspect_in_pixels_whatever_the_box() {
        // The 132 px square cutout in a 64-column view: square in pixels, not 4:1.
        let square = fit(132, 132, 64, 40, CELL);
        assert_eq!((square.width, square.height), (512, 512));
        assert_eq!((square.columns, square.rows), (64, 32));
        // Height-bound: a wide box, a square picture.
        let bound = fit(132, 132, 100, 10, CELL);
        assert_eq!((bound.width, bound.height), (160, 160));
        assert_eq!((bound.columns, bound.rows), (20, 10));
        // A 3:1 picture keeps 3:1.
        let wide = fit(300, 100, 35, 30, CELL);
        assert_eq!((wide.width, wide.height), (280, 93));
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
        assert_eq!(
            detect(&env(&[
                ("TERM", "xterm-kitty"),
                ("TMUX", "/tmp/tmux-0/default,1,0")
            ])),
            Graphics::Halfblocks,
            "tmux: half blocks unless asked"
        );
        assert!(worth_asking_for_sixel(&env(&[("TERM", "xterm-256color")])));
        for quiet in [
            &[("TERM", "xterm-kitty")][..],
            &[("TERM", "xterm-256color"), ("TMUX", "/tmp/t,1,0")],
            &[("TERM", "screen-256color")],
            &[("TERM", "linux")],
            &[("TERM", "dumb")],
        ] {
            assert!(!worth_asking_for_sixel(&env(quiet)), "{quiet:?}");
        }
    }
}
