//! Drawing the chat screen: status bar, conversation, image pane, notice, palette, input.

use super::app::{App, EngineState, Overlay, short_name};
use super::views::palette::Palette;
use super::views::{ViewCache, between_bars, conversation, preview};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// Smallest usable terminal.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// The image pane appears from this width on.
const PANE_FROM_WIDTH: u16 = 100;
const PANE_WIDTH: u16 = 36;
/// Most input lines shown; a longer message scrolls inside the box.
const MAX_INPUT_ROWS: usize = 8;

pub fn draw(frame: &mut Frame, app: &App, cache: &mut ViewCache) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small ({}×{}): radiochat needs at least {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let input_rows = app.input.lines().len().clamp(1, MAX_INPUT_ROWS) as u16 + 2;
    let notice_rows = u16::from(app.notice.is_some());
    let [status, body, notice, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(notice_rows),
        Constraint::Length(input_rows),
    ])
    .areas(area);
    draw_status(frame, app, status);
    let conversation = &app.conversation;
    let picture = conversation
        .current_image()
        .and_then(|p| conversation.picture(&p).map(|pic| (p, pic)));
    let chat_area = match picture {
        Some((path, picture)) if body.width >= PANE_FROM_WIDTH => {
            let [chat, pane] =
                Layout::horizontal([Constraint::Min(40), Constraint::Length(PANE_WIDTH)])
                    .areas(body);
            let block = Block::default()
                .borders(Borders::LEFT)
                .title(format!(" {} ", short_name(&path)));
            let inner = block.inner(pane);
            frame.render_widget(block, pane);
            super::views::picture::draw_picture(frame, cache, &path, picture, inner);
            chat
        }
        _ => body,
    };
    let shown = conversation::Shown {
        conversation: &conversation.session.conversation,
        pictures: &conversation.pictures.inputs,
    };
    conversation.view.draw(frame, &shown, cache, chat_area);
    if let Some(n) = &app.notice {
        let style = if n.error {
            Style::default().fg(Color::Red)
        } else {
            Style::default().fg(Color::Yellow)
        };
        frame.render_widget(Paragraph::new(Span::styled(n.text.clone(), style)), notice);
    }
    draw_input(frame, app, input);
    if Palette::is_open(&app.input) && app.overlay.is_none() {
        app.palette.draw(frame, &app.input, input);
    }
    if let Some(overlay) = &app.overlay {
        draw_overlay(frame, app, overlay, area, cache);
    }
    if let Some(graphics) = cache.graphics.as_mut() {
        graphics.settle(frame.buffer_mut());
    }
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let conversation = &app.conversation;
    let model = conversation
        .model_info
        .as_ref()
        .map(|m| m.name.clone())
        .or_else(|| {
            conversation
                .session
                .conversation
                .model
                .as_deref()
                .map(short_name)
        })
        .unwrap_or_else(|| "no model".into());
    let state_style = match conversation.engine {
        EngineState::Ready => Style::default().fg(Color::Green),
        EngineState::Generating { .. } | EngineState::Loading(_) => {
            Style::default().fg(Color::Yellow)
        }
        _ => Style::default().fg(Color::Red),
    };
    let bar = Style::default().bg(Color::DarkGray).fg(Color::White);
    let mut spans = vec![
        Span::styled(" radiochat ", bar.add_modifier(Modifier::BOLD)),
        Span::raw(format!(" {model} · {} · ", conversation.device)),
        Span::styled(conversation.engine_label(), state_style),
    ];
    if let Some(rate) = conversation.rate() {
        spans.push(Span::raw(format!(" · {rate:.1} tok/s")));
    }
    if let Some(run) = app.bench.as_ref().filter(|r| r.running()) {
        spans.push(Span::styled(
            format!(
                " · bench {} {}/{}",
                run.task.split(' ').next().unwrap_or_default(),
                run.progress.done,
                run.progress.total
            ),
            Style::default().fg(Color::Magenta),
        ));
    }
    if let Some(usage) = &conversation.last_usage {
        let used = usage.prompt_tokens + usage.completion_tokens;
        let max = conversation
            .model_info
            .as_ref()
            .and_then(|m| m.max_context)
            .map(|m| m.to_string())
            .unwrap_or_else(|| "?".into());
        spans.push(Span::raw(format!(" · ctx {used}/{max}")));
    }
    spans.push(Span::styled(
        format!(" · {}", conversation.session.conversation.title),
        Style::default().fg(Color::Cyan),
    ));
    if !conversation.session.is_saved() {
        spans.push(Span::styled(
            " [not saved]",
            Style::default().fg(Color::Red),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The open window, between the bars (the preview takes the whole screen).
fn draw_overlay(
    frame: &mut Frame,
    app: &App,
    overlay: &Overlay,
    area: Rect,
    cache: &mut ViewCache,
) {
    match overlay {
        Overlay::Help(view) => view.draw(frame, between_bars(area)),
        Overlay::Info(view) => view.draw(frame, between_bars(area)),
        Overlay::Preview(view) => {
            let conversation = &app.conversation;
            let Some(path) = conversation.current_image() else {
                return;
            };
            let shown = preview::Shown {
                name: short_name(&path),
                contrast: conversation.transform.contrast,
                picture: conversation.preview_picture(&path, view.stretch),
                path: &path,
            };
            view.draw(frame, &shown, area, cache);
        }
        Overlay::Sessions(view) => {
            super::views::sessions_draw::draw(frame, view, between_bars(area))
        }
        Overlay::Jobs(view) => super::views::jobs_draw::draw(frame, view, between_bars(area)),
        Overlay::Bench => {
            if let Some(run) = &app.bench {
                super::views::bench_draw::draw(frame, run, between_bars(area));
            }
        }
    }
}

fn draw_input(frame: &mut Frame, app: &App, area: Rect) {
    let title = if app.conversation.awaiting {
        " answering… Esc cancels "
    } else {
        " message · Enter sends · Alt-Enter new line · / commands · ? help "
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (row, col) = app.input.cursor();
    let rows = inner.height as usize;
    let first = (row + 1).saturating_sub(rows);
    let lines: Vec<Line> = app.input.lines()[first..]
        .iter()
        .take(rows)
        .map(|l| Line::from(l.as_str()))
        .collect();
    let line = &app.input.lines()[row];
    let before: String = line.chars().take(col).collect();
    let cursor_x = ratatui::text::Line::from(before.as_str()).width() as u16;
    let scroll_x = cursor_x.saturating_sub(inner.width.saturating_sub(1));
    match app.suggestion.as_ref().filter(|_| app.input.is_empty()) {
        Some(question) => {
            let hint = Style::default().fg(Color::DarkGray);
            let placeholder = Line::from(vec![
                Span::styled(question.as_str(), hint),
                Span::styled("  (Tab takes it)", hint.add_modifier(Modifier::ITALIC)),
            ]);
            frame.render_widget(Paragraph::new(placeholder), inner);
        }
        None => frame.render_widget(Paragraph::new(lines).scroll((0, scroll_x)), inner),
    }
    if app.overlay.is_none() {
        frame.set_cursor_position(Position::new(
            inner.x + cursor_x - scroll_x,
            inner.y + (row - first) as u16,
        ));
    }
}
