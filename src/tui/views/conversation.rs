//! The conversation as styled lines: turns, thumbnails, Markdown answers. Finished answers
//! are rendered once and cached; only the streaming one is rendered again each frame.

use super::ViewCache;
use super::picture::halfblock_lines;
use crate::chat::{AnswerState, Conversation, ImageRef, Turn};
use crate::engine::FinishReason;
use image::RgbImage;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use std::collections::HashMap;

/// Thumbnail size in the conversation.
const THUMB_COLS: u16 = 24;
const THUMB_ROWS: u16 = 8;

/// Lines moved by one wheel notch, and by PgUp / PgDn.
pub const WHEEL_LINES: u16 = 3;
pub const PAGE_LINES: u16 = 10;

/// Where the conversation is scrolled to, and where `/clear` cut it.
#[derive(Debug, Default)]
pub struct ConversationView {
    /// Lines scrolled up from the bottom (0 = follow new text).
    pub scroll_up: u16,
    /// Turns before this index are hidden by /clear.
    pub clear_from: usize,
}

/// What the conversation shows, from the app: the session's turns and the pictures read.
pub struct Shown<'a> {
    pub conversation: &'a Conversation,
    /// Model inputs of images seen in this run, by path.
    pub pictures: &'a HashMap<String, RgbImage>,
}

impl ConversationView {
    /// Scroll by `lines`: positive is up, into the past.
    pub fn scroll(&mut self, lines: i32) {
        self.scroll_up = (i32::from(self.scroll_up) + lines).clamp(0, i32::from(u16::MAX)) as u16;
    }

    pub fn follow(&mut self) {
        self.scroll_up = 0;
    }

    /// `/clear`: hide the turns so far (the session keeps them).
    pub fn clear(&mut self, turns: usize) {
        self.clear_from = turns;
    }

    pub fn draw(&self, frame: &mut Frame, shown: &Shown, cache: &mut ViewCache, area: Rect) {
        let lines = conversation_lines(shown, self.clear_from, cache);
        let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
        let total = paragraph.line_count(area.width);
        let bottom = total.saturating_sub(area.height as usize);
        let offset = bottom
            .saturating_sub(self.scroll_up as usize)
            .min(u16::MAX as usize);
        frame.render_widget(paragraph.scroll((offset as u16, 0)), area);
        if offset < bottom {
            let hint = format!(" ↓ {} more lines (End) ", bottom - offset);
            let width = hint.chars().count() as u16;
            let at = Rect::new(
                area.right().saturating_sub(width),
                area.bottom().saturating_sub(1),
                width.min(area.width),
                1,
            );
            frame.render_widget(Clear, at);
            frame.render_widget(
                Paragraph::new(Span::styled(
                    hint,
                    Style::default().fg(Color::Black).bg(Color::Yellow),
                )),
                at,
            );
        }
    }
}

pub fn conversation_lines(
    shown: &Shown,
    clear_from: usize,
    cache: &mut ViewCache,
) -> Vec<Line<'static>> {
    let conversation = shown.conversation;
    let mut lines = Vec::new();
    let visible = &conversation.turns[clear_from.min(conversation.turns.len())..];
    if visible.is_empty() && conversation.pending_images.is_empty() {
        lines.extend(welcome());
    }
    for (offset, turn) in visible.iter().enumerate() {
        let index = clear_from + offset;
        lines.push(Line::from(vec![
            Span::styled(
                "You",
                Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!(" · {}", time_of(&turn.asked_at)), dim()),
        ]));
        for image in &turn.images {
            lines.extend(image_lines(shown.pictures, image));
        }
        lines.extend(turn.question.lines().map(|l| Line::from(l.to_string())));
        lines.push(Line::default());
        lines.push(answer_heading(turn));
        let key = (conversation.header.id.clone(), index);
        if turn.state == AnswerState::Streaming {
            cache.answers.remove(&key);
            let mut answer = markdown(&turn.answer);
            match answer.last_mut() {
                Some(last) => last.spans.push(Span::styled("▌", dim())),
                None => answer.push(Line::from(Span::styled("▌", dim()))),
            }
            lines.extend(answer);
        } else {
            let rendered = cache
                .answers
                .entry(key)
                .or_insert_with(|| markdown(&turn.answer));
            lines.extend(rendered.iter().cloned());
        }
        if let Some(note) = state_note(turn) {
            lines.push(note);
        }
        lines.push(Line::default());
    }
    if !conversation.pending_images.is_empty() {
        lines.push(Line::from(Span::styled(
            "Attached (goes with your next message):",
            Style::default().fg(Color::Yellow),
        )));
        for image in &conversation.pending_images {
            lines.extend(image_lines(shown.pictures, image));
        }
    }
    lines
}

fn welcome() -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    vec![
        Line::from(Span::styled("radiochat", bold)),
        Line::from("Ask a vision-language model about your radio images."),
        Line::from("  /image PATH   attach a FITS, PNG or JPEG cutout (or type its path alone)"),
        Line::from("  /sessions     earlier conversations      ? or F1   keys and commands"),
        Line::default(),
    ]
}

fn image_lines(pictures: &HashMap<String, RgbImage>, image: &ImageRef) -> Vec<Line<'static>> {
    let caption = Line::from(Span::styled(
        format!("[image] {}", super::short_name(&image.path)),
        dim(),
    ));
    match pictures.get(&image.path) {
        Some(picture) => {
            let mut lines = halfblock_lines(picture, THUMB_COLS, THUMB_ROWS);
            lines.push(caption);
            lines
        }
        None if std::path::Path::new(&image.path).exists() => vec![caption],
        None => vec![Line::from(Span::styled(
            format!("[image] {} (missing)", image.path),
            Style::default().fg(Color::Red),
        ))],
    }
}

fn answer_heading(turn: &Turn) -> Line<'static> {
    let mut spans = vec![Span::styled(
        "radiochat",
        Style::default()
            .fg(Color::Green)
            .add_modifier(Modifier::BOLD),
    )];
    if let Some(at) = &turn.answered_at {
        spans.push(Span::styled(format!(" · {}", time_of(at)), dim()));
    }
    Line::from(spans)
}

fn state_note(turn: &Turn) -> Option<Line<'static>> {
    let (text, color) = match &turn.state {
        AnswerState::Done {
            finish: FinishReason::Cancelled,
            ..
        } => ("[cancelled]".to_string(), Color::Yellow),
        AnswerState::Done {
            finish: FinishReason::Length,
            ..
        } => ("[stopped at max_tokens]".to_string(), Color::Yellow),
        AnswerState::Interrupted => (
            "[interrupted: radiochat stopped before the answer ended]".to_string(),
            Color::Yellow,
        ),
        AnswerState::Failed(message) => (format!("[error] {message}"), Color::Red),
        _ => return None,
    };
    Some(Line::from(Span::styled(text, Style::default().fg(color))))
}

/// Markdown → owned lines (headings, lists, tables, highlighted code blocks).
pub fn markdown(text: &str) -> Vec<Line<'static>> {
    tui_markdown::from_str(text)
        .lines
        .into_iter()
        .map(|line| {
            let style = line.style;
            Line::from(
                line.spans
                    .into_iter()
                    .map(|s| Span::styled(s.content.into_owned(), s.style))
                    .collect::<Vec<_>>(),
            )
            .style(style)
        })
        .collect()
}

/// `2026-11-26T22:19:05.123Z` → `22:19:05`.
fn time_of(at: &str) -> String {
    at.get(11..19).unwrap_or(at).to_string()
}

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}
