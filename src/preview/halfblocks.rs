//! Half blocks: each character cell shows two pixels, the upper one as the foreground of '▀'
//! and the lower one as its background. Every terminal with true colour shows them, over SSH
//! and inside tmux. One renderer for `radiochat view` (ANSI text) and the chat (ratatui
//! spans, `tui::views::picture`); written here because it is a resize and a loop, and the
//! crates that draw blocks (viuer, ratatui-image) print to the terminal or into their own
//! widget rather than returning the cells.

use image::RgbImage;
use image::imageops::FilterType;

/// One cell: the colour of its upper pixel and of its lower pixel.
pub type Cell = ([u8; 3], [u8; 3]);

/// The picture scaled to fit `max_cols` × `max_rows` cells, aspect kept (a cell is about
/// twice as tall as wide, so one cell = one pixel across and two down); rows of cells.
pub fn cells(picture: &RgbImage, max_cols: u16, max_rows: u16) -> Vec<Vec<Cell>> {
    let (w, h) = (
        picture.width().max(1) as f64,
        picture.height().max(1) as f64,
    );
    let (max_w, max_h) = (max_cols.max(1) as f64, (max_rows.max(1) as f64) * 2.0);
    let scale = (max_w / w).min(max_h / h);
    let cols = ((w * scale).round() as u32).max(1);
    let px_rows = ((h * scale).round() as u32).max(2);
    let small = image::imageops::resize(picture, cols, px_rows, FilterType::Triangle);
    (0..px_rows.div_ceil(2))
        .map(|row| {
            (0..cols)
                .map(|x| {
                    let top = small.get_pixel(x, row * 2).0;
                    let bottom = small
                        .get_pixel_checked(x, row * 2 + 1)
                        .map_or([0, 0, 0], |p| p.0);
                    (top, bottom)
                })
                .collect()
        })
        .collect()
}

/// The cells as 24-bit ANSI text, one line per row of cells.
pub fn ansi(cells: &[Vec<Cell>]) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    for row in cells {
        for ([r, g, b], [br, bg, bb]) in row {
            let _ = write!(text, "\x1b[38;2;{r};{g};{b}m\x1b[48;2;{br};{bg};{bb}m▀");
        }
        text.push_str("\x1b[0m\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_picture_fills_the_width_at_half_the_height_in_rows() {
        let mut picture = RgbImage::new(64, 64);
        for (x, y, p) in picture.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 4) as u8, (y * 4) as u8, 0]);
        }
        let rows = cells(&picture, 16, 20);
        assert_eq!(rows.len(), 8);
        assert!(rows.iter().all(|r| r.len() == 16));
        // Red grows to the right, green downwards (the lower pixel of a cell is below).
        assert!(rows[0][0].0[0] < rows[0][15].0[0]);
        assert!(rows[0][0].0[1] < rows[0][0].1[1]);
        // A height-bound box: a 64×64 picture in 100×4 cells is 8 cells wide.
        assert_eq!(cells(&picture, 100, 4)[0].len(), 8);
    }
}
