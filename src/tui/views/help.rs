//! The help window: every key and every slash command, scrolled with ↑↓ PgUp PgDn.

use super::{Effect, text_window_key};
use crate::commands::slash::SLASH_COMMANDS;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// How far help scrolls: past its last line, whatever the window's size.
const LAST_ROW: u16 = 60;

/// Every key, for the help overlay: (keys, what they do).
pub const KEY_HELP: &[(&str, &str)] = &[
    ("Enter", "send the message (or run the /command)"),
    ("Alt-Enter, Shift-Enter, Ctrl-J", "new line in the message"),
    (
        "Esc",
        "cancel the answer (the partial answer is kept); close a window",
    ),
    (
        "Ctrl-C",
        "cancel the answer; clear the input; twice at an empty prompt: quit",
    ),
    (
        "↑ / ↓",
        "input history (or move in the palette, a multi-line message)",
    ),
    (
        "PgUp / PgDn, mouse wheel",
        "scroll the conversation (End: back to the bottom; Home: its top)",
    ),
    (
        "Ctrl-F / Ctrl-G",
        "after /find TEXT: the older / newer turn that mentions it",
    ),
    (
        "Tab",
        "complete the /command, or the file path after /image",
    ),
    ("? or F1", "this help (? when the input is empty)"),
    (
        "Ctrl-Y",
        "copy the last answer (desktop clipboard and OSC 52, which works over SSH)",
    ),
    ("Ctrl-R", "regenerate the last answer"),
    ("Ctrl-W / Ctrl-U", "delete a word / the whole input"),
    (
        "x",
        "in the bench view: stop the run (finished items are kept)",
    ),
    ("c", "in the jobs window: cancel the selected fine-tune job"),
];

#[derive(Debug, Default)]
pub struct HelpView {
    pub scroll: u16,
}

impl HelpView {
    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        text_window_key(&key, &mut self.scroll, LAST_ROW)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let scroll = self.scroll;
        let usage_width = (area.width as usize / 2).min(52);
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let mut lines = vec![Line::from(Span::styled("Keys", bold))];
        lines.extend(
            KEY_HELP
                .iter()
                .map(|(keys, what)| Line::from(format!("  {keys:<30} {what}"))),
        );
        lines.push(Line::default());
        lines.push(Line::from(Span::styled("Commands", bold)));
        lines.extend(
            SLASH_COMMANDS
                .iter()
                .map(|s| Line::from(format!("  {:<usage_width$} {}", s.usage, s.help))),
        );
        lines.push(Line::default());
        lines.push(Line::from(
            "Mouse: the wheel scrolls, so selecting text needs Shift (most terminals) or Ctrl-Y.",
        ));
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0))
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" help · ↑↓ PgUp PgDn scroll · Esc closes "),
                ),
            area,
        );
    }
}
