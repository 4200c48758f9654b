//! Pictures inside the frame: the terminal's pixel protocol where it has one (placed by
//! `tui::graphics` outside ratatui's buffer), half blocks (`preview::halfblocks`) until it is
//! encoded and wherever the terminal has none; ratatui's buffer owns every half-block cell.

use super::ViewCache;
use crate::preview::halfblocks;
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

/// The picture as half-block lines fitting `max_cols` × `max_rows` cells
/// (`preview::halfblocks`, the one renderer `view` prints with too).
pub fn halfblock_lines(picture: &RgbImage, max_cols: u16, max_rows: u16) -> Vec<Line<'static>> {
    halfblocks::cells(picture, max_cols, max_rows)
        .into_iter()
        .map(|row| {
            let spans: Vec<Span<'static>> = row
                .into_iter()
                .map(|([r, g, b], [br, bg, bb])| {
                    Span::styled(
                        "▀",
                        Style::default()
                            .fg(Color::Rgb(r, g, b))
                            .bg(Color::Rgb(br, bg, bb)),
                    )
                })
                .collect();
            Line::from(spans)
        })
        .collect()
}
