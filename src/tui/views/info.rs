//! A window of text lines under a title (`/info`, `/bench tasks`, `/bench prompt`).

use super::{Effect, text_window_key};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

#[derive(Debug)]
pub struct InfoView {
    pub title: &'static str,
    pub lines: Vec<String>,
    pub scroll: u16,
}

impl InfoView {
    pub fn new(title: &'static str, lines: Vec<String>) -> InfoView {
        InfoView {
            title,
            lines,
            scroll: 0,
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // Rows, not lines, scroll: a long line wraps into several (at most one per 16
        // characters in any window radiochat draws).
        let rows: usize = self.lines.iter().map(|l| l.chars().count() / 16 + 1).sum();
        let last = u16::try_from(rows).unwrap_or(u16::MAX);
        text_window_key(&key, &mut self.scroll, last)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let text: Vec<Line> = self.lines.iter().map(|l| Line::from(l.clone())).collect();
        let title = format!(" {} · ↑↓ PgUp PgDn scroll · Esc closes ", self.title);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0))
                .block(Block::default().borders(Borders::ALL).title(title)),
            area,
        );
    }
}
