//! The command palette: slash commands matching what is typed, just above the input box.
//! It reads the chat's input (shared) and owns the highlighted row.

use crate::commands::slash::{self, SlashSpec};
use crate::tui::input::InputBox;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const PALETTE_ROWS: usize = 8;

#[derive(Debug, Default)]
pub struct Palette {
    /// The highlighted row.
    pub index: usize,
}

impl Palette {
    /// Open while the first line is a command being typed.
    pub fn is_open(input: &InputBox) -> bool {
        let lines = input.lines();
        lines.len() == 1 && lines[0].starts_with('/') && !lines[0].contains(' ')
    }

    pub fn matches(input: &InputBox) -> Vec<&'static SlashSpec> {
        slash::matching(&input.lines()[0])
    }

    pub fn move_by(&mut self, input: &InputBox, delta: isize) {
        let count = Palette::matches(input).len();
        if count > 0 {
            self.index = (self.index as isize + delta).rem_euclid(count as isize) as usize;
        }
    }

    /// Tab: the highlighted command, ready for its arguments.
    pub fn completion(&self, input: &InputBox) -> Option<String> {
        let matches = Palette::matches(input);
        matches
            .get(self.index)
            .map(|spec| format!("/{} ", spec.name))
    }

    /// The palette sits just above the input box.
    pub fn draw(&self, frame: &mut Frame, input: &InputBox, area: Rect) {
        draw(frame, &Palette::matches(input), self.index, area);
    }
}

fn draw(frame: &mut Frame, matches: &[&SlashSpec], index: usize, input: Rect) {
    let rows = matches.len().min(PALETTE_ROWS) as u16;
    let height = rows.max(1) + 2;
    let area = Rect::new(input.x, input.y.saturating_sub(height), input.width, height);
    let first = (index + 1).saturating_sub(PALETTE_ROWS);
    // Usage on the left, help on the right; narrow screens give the help more room.
    let usage_width = (input.width as usize / 2).min(48);
    let lines: Vec<Line> = if matches.is_empty() {
        vec![Line::from(Span::styled(
            "no such command (Enter shows the closest one)",
            Style::default().fg(Color::Red),
        ))]
    } else {
        matches
            .iter()
            .enumerate()
            .skip(first)
            .take(PALETTE_ROWS)
            .map(|(i, spec)| {
                let style = if i == index {
                    Style::default().bg(Color::Blue).fg(Color::White)
                } else {
                    Style::default()
                };
                Line::from(vec![
                    Span::styled(
                        format!("{:<usage_width$}", spec.usage),
                        style.add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(format!(" {}", spec.help), style),
                ])
            })
            .collect()
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" commands · ↑↓ choose · Tab completes "),
        ),
        area,
    );
}
