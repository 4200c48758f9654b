//! Windows over the chat: the command palette, help, image preview, header info, and the
//! sessions browser.

use super::app::{App, Overlay, PREVIEW_STRETCHES, short_name};
use super::conversation_view::ViewCache;
use super::keys::KEY_HELP;
use super::picture::draw_picture;
use super::sessions_browser::SessionsBrowser;
use crate::commands::slash::SLASH_COMMANDS;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

const PALETTE_ROWS: usize = 8;

/// The palette sits just above the input box.
pub fn draw_palette(frame: &mut Frame, app: &App, input: Rect) {
    let matches = app.palette_matches();
    let rows = matches.len().min(PALETTE_ROWS) as u16;
    let height = rows.max(1) + 2;
    let area = Rect::new(input.x, input.y.saturating_sub(height), input.width, height);
    let first = (app.palette_index + 1).saturating_sub(PALETTE_ROWS);
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
                let style = if i == app.palette_index {
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

pub fn draw_overlay(
    frame: &mut Frame,
    app: &App,
    overlay: &Overlay,
    area: Rect,
    cache: &mut ViewCache,
) {
    match overlay {
        Overlay::Help(scroll) => draw_help(frame, between_bars(area), *scroll),
        Overlay::Info {
            title,
            lines,
            scroll,
        } => {
            let text: Vec<Line> = lines.iter().map(|l| Line::from(l.clone())).collect();
            let title = format!(" {title} · ↑↓ PgUp PgDn scroll · Esc closes ");
            let area = between_bars(area);
            frame.render_widget(Clear, area);
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0))
                    .block(Block::default().borders(Borders::ALL).title(title)),
                area,
            );
        }
        Overlay::Preview { stretch } => draw_preview(frame, app, *stretch, area, cache),
        Overlay::Sessions(browser) => draw_sessions(frame, app, browser, between_bars(area)),
        Overlay::Jobs(view) => super::jobs_draw::draw(frame, view, between_bars(area)),
        Overlay::Bench => {
            if let Some(run) = &app.bench {
                super::bench_draw::draw(frame, run, between_bars(area));
            }
        }
    }
}

fn draw_help(frame: &mut Frame, area: Rect, scroll: u16) {
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

fn draw_preview(frame: &mut Frame, app: &App, stretch: usize, area: Rect, cache: &mut ViewCache) {
    let Some(path) = app.current_image() else {
        return;
    };
    let name = PREVIEW_STRETCHES[stretch % PREVIEW_STRETCHES.len()];
    let what = if stretch == 0 {
        format!(
            "the model input (radio-llava, contrast {})",
            app.transform.contrast
        )
    } else {
        format!("stretch {name}")
    };
    let title = format!(
        " {} · {what} · s/S stretch · Esc closes ",
        short_name(&path)
    );
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    match app.preview_picture(stretch) {
        Some(picture) => draw_picture(frame, cache, &format!("{path}#{name}"), picture, inner),
        None => frame.render_widget(Paragraph::new(format!("rendering {name}…")), inner),
    }
}

fn draw_sessions(frame: &mut Frame, app: &App, browser: &SessionsBrowser, area: Rect) {
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
    let current = &app.session.conversation.header.id;
    let visible = browser.visible();
    let first = (browser.selected + 1).saturating_sub(list.height as usize);
    let lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .skip(first)
        .take(list.height as usize)
        .map(|(i, s)| {
            let marker = if &s.id == current { "●" } else { " " };
            let open = s.locked_by.as_ref().map_or("", |_| " (open)");
            let text = format!(
                "{marker} {:<32} {:>3} turns  {}  {}{open}",
                truncate(&s.title, 32),
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
    let lines = if lines.is_empty() {
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

/// The screen between the status bar and the input box, a little inset: windows never hide
/// what state the app is in.
fn between_bars(area: Rect) -> Rect {
    let x = area.x + area.width.min(2);
    let width = area.width.saturating_sub(4);
    let y = area.y + 1;
    let height = area.height.saturating_sub(4);
    Rect::new(x, y, width, height)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
