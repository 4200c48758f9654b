//! A conversation's pieces as styled lines: one turn (question, thumbnails, Markdown answer,
//! how it ended), the welcome, the attachments waiting for the next message.

use super::picture::halfblock_lines;
use crate::chat::{AnswerState, ImageRef, Turn};
use crate::engine::FinishReason;
use image::RgbImage;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use std::collections::HashMap;

/// Thumbnail size in the conversation.
const THUMB_COLS: u16 = 24;
const THUMB_ROWS: u16 = 8;

/// One turn as the conversation shows it, ending with a blank line; a streaming answer ends
/// with the cursor.
/// A turn of a long session's earlier part, not read yet (it is, in a moment).
pub fn unread_lines() -> Vec<Line<'static>> {
    vec![Line::from(Span::styled(
        "… reading the earlier turns",
        dim(),
    ))]
}

pub fn turn_lines(turn: &Turn, pictures: &HashMap<String, RgbImage>) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled(
            "You",
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" · {}", time_of(&turn.asked_at)), dim()),
    ])];
    for image in &turn.images {
        lines.extend(image_lines(pictures, image));
    }
    lines.extend(turn.question.lines().map(|l| Line::from(l.to_string())));
    lines.push(Line::default());
    lines.push(answer_heading(turn));
    let mut answer = markdown(&turn.answer);
    if turn.state == AnswerState::Streaming {
        match answer.last_mut() {
            Some(last) => last.spans.push(Span::styled("▌", dim())),
            None => answer.push(Line::from(Span::styled("▌", dim()))),
        }
    }
    lines.extend(answer);
    if let Some(note) = state_note(turn) {
        lines.push(note);
    }
    lines.push(Line::default());
    lines
}

/// Images attached and not yet sent, under a heading.
pub fn pending_lines(
    images: &[ImageRef],
    pictures: &HashMap<String, RgbImage>,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        "Attached (goes with your next message):",
        Style::default().fg(Color::Yellow),
    ))];
    for image in images {
        lines.extend(image_lines(pictures, image));
    }
    lines
}

/// How many of the turn's images have a picture to show (a thumbnail replaces the caption
/// alone once the picture is read).
pub fn pictures_ready(turn: &Turn, pictures: &HashMap<String, RgbImage>) -> usize {
    turn.images
        .iter()
        .filter(|image| pictures.contains_key(&image.path))
        .count()
}

pub fn welcome() -> Vec<Line<'static>> {
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
