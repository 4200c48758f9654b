//! Pictures drawn with half blocks inside the frame: each cell shows two pixels, the upper
//! one as the foreground of '▀' and the lower one as its background. Every terminal with
//! true colour shows it, over SSH and inside tmux, and ratatui's buffer owns every cell
//! (graphics protocols draw outside the buffer, which ratatui would paint over).

use super::ViewCache;
use image::RgbImage;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

/// A picture in `area`: the terminal's pixel protocol once encoded (see `graphics.rs`), half
/// blocks until then and wherever the terminal has none.
pub fn draw_picture(
    frame: &mut Frame,
    cache: &mut ViewCache,
    name: &str,
    picture: &RgbImage,
    area: Rect,
) {
    let halfblocks = |at: Rect| {
        let mut text = Buffer::empty(at);
        Paragraph::new(halfblock_lines(picture, at.width, at.height)).render(at, &mut text);
        text
    };
    let reserved = cache
        .graphics
        .as_mut()
        .and_then(|g| g.reserve(name, picture, area, halfblocks));
    match reserved {
        Some(reserved) => {
            frame.render_widget(Clear, area);
            frame.buffer_mut().set_style(reserved.at, reserved.style);
        }
        None => frame.render_widget(
            Paragraph::new(halfblock_lines(picture, area.width, area.height)),
            area,
        ),
    }
}

/// The picture scaled to fit `max_cols` × `max_rows` cells, aspect kept (a cell is about
/// twice as tall as wide, so one cell = one pixel across and two down).
pub fn halfblock_lines(picture: &RgbImage, max_cols: u16, max_rows: u16) -> Vec<Line<'static>> {
    let (w, h) = (
        picture.width().max(1) as f64,
        picture.height().max(1) as f64,
    );
    let (max_w, max_h) = (max_cols.max(1) as f64, (max_rows.max(1) as f64) * 2.0);
    let scale = (max_w / w).min(max_h / h);
    let cols = ((w * scale).round() as u32).max(1);
    let px_rows = ((h * scale).round() as u32).max(2);
    let small = image::imageops::resize(
        picture,
        cols,
        px_rows,
        image::imageops::FilterType::Triangle,
    );
    (0..px_rows.div_ceil(2))
        .map(|row| {
            let spans: Vec<Span<'static>> = (0..cols)
                .map(|x| {
                    let top = small.get_pixel(x, row * 2).0;
                    let bottom = small
                        .get_pixel_checked(x, row * 2 + 1)
                        .map(|p| p.0)
                        .unwrap_or([0, 0, 0]);
                    Span::styled(
                        "▀",
                        Style::default()
                            .fg(Color::Rgb(top[0], top[1], top[2]))
                            .bg(Color::Rgb(bottom[0], bottom[1], bottom[2])),
                    )
                })
                .collect();
            Line::from(spans)
        })
        .collect()
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
        let lines = halfblock_lines(&picture, 16, 20);
        assert_eq!(lines.len(), 8);
        assert!(lines.iter().all(|l| l.spans.len() == 16));
        // Left column dark in red, right column bright in red.
        let red = |span: &Span| match span.style.fg {
            Some(Color::Rgb(r, _, _)) => r,
            _ => panic!("rgb"),
        };
        assert!(red(&lines[0].spans[0]) < red(&lines[0].spans[15]));
    }
}
