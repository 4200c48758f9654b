//! The sessions browser drawn: the filter (or the new name), the sessions around the
//! selected one, and the last message.

use super::sessions::SessionsBrowser;
use crate::util::text::clip;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn draw(frame: &mut Frame, browser: &SessionsBrowser, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" sessions · type to filter · Enter open · F2 rename · Ctrl-D delete · Esc ");
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let [top, list, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let prompt = match &browser.renaming {
        Some(name) => format!("new name: {name}▏ (Enter renames, Esc keeps)"),
        None => format!("filter: {}▏", browser.filter),
    };
    frame.render_widget(Paragraph::new(prompt), top);
    let current = &browser.current;
    let first = (browser.selected + 1).saturating_sub(list.height as usize);
    let lines: Vec<Line> = browser
        .visible()
        .enumerate()
        .skip(first)
        .take(list.height as usize)
        .map(|(i, s)| {
            let marker = if &s.id == current { "●" } else { " " };
            let open = s.locked_by.as_ref().map_or("", |_| " (open)");
            let text = format!(
                "{marker} {:<32} {:>3} turns  {}  {}{open}",
                clip(&s.title, 32),
                s.turns,
                s.updated.get(..16).unwrap_or(&s.updated).replace('T', " "),
                s.id
            );
            let style = if i == browser.selected {
                Style::default().bg(Color::Blue).fg(Color::White)
            } else {
                Style::default()
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    let lines = if browser.listing {
        vec![Line::from("reading the sessions…")]
    } else if lines.is_empty() {
        vec![Line::from("no sessions match")]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(lines), list);
    if let Some(message) = &browser.message {
        frame.render_widget(
            Paragraph::new(Span::styled(
                message.clone(),
                Style::default().fg(Color::Yellow),
            )),
            bottom,
        );
    }
}
