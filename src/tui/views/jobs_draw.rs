//! The jobs window: every fine-tune run with its state, step and loss; for the selected one
//! its loss curve (a ratatui Chart) and the end of its log.

use super::jobs::{JobRow, JobsView, eta_text};
use crate::finetune::status::JobState;
use crate::util::text::clip;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph};

pub fn draw(frame: &mut Frame, view: &JobsView, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" fine-tune jobs · ↑↓ choose · c cancels · Esc closes ");
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    if view.rows.is_empty() {
        let text = if view.loaded {
            "no fine-tune runs yet: /finetune --base MODEL_DIR --data DATA_DIR starts one"
        } else {
            "reading the runs…"
        };
        frame.render_widget(Paragraph::new(text), inner);
        return;
    }
    let list_rows = (view.rows.len() as u16 + 1).min(inner.height / 3).max(2);
    let [list, detail] =
        Layout::vertical([Constraint::Length(list_rows), Constraint::Min(0)]).areas(inner);
    let shown = list.height.saturating_sub(1) as usize;
    frame.render_widget(Paragraph::new(list_lines(view, list.width, shown)), list);
    if let Some(row) = view.selected_row() {
        let [chart, log] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Min(3)]).areas(detail);
        draw_chart(frame, row, chart);
        let lines: Vec<Line> = row
            .status
            .log_tail
            .iter()
            .map(|l| Line::from(Span::styled(l.clone(), dim())))
            .collect();
        let title = match row.status.exit_code {
            Some(code) => format!(" log (exit code {code}) "),
            None => " log ".to_string(),
        };
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
            log,
        );
    }
}

/// The header and the `shown` rows around the selected one (the list scrolls with it).
fn list_lines(view: &JobsView, width: u16, shown: usize) -> Vec<Line<'static>> {
    let name_width = (width as usize).saturating_sub(60).clamp(12, 48);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<name_width$} {:<10} {:>13} {:>9} {:>11}  {}",
            "run", "state", "step", "loss", "samples/s", ""
        ),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    let first = (view.selected + 1).saturating_sub(shown.max(1));
    for (i, row) in view.rows.iter().enumerate().skip(first).take(shown) {
        let s = &row.status;
        let name = s
            .run
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let step = format!(
            "{}/{}",
            s.step,
            s.total_steps.map_or("?".into(), |t| t.to_string())
        );
        let loss = s.loss.map_or(String::new(), |l| format!("{l:.4}"));
        let rate = s.samples_per_s.map_or(String::new(), |r| format!("{r:.1}"));
        let text = format!(
            "{:<name_width$} {:<10} {:>13} {:>9} {:>11}  {}",
            clip(&name, name_width),
            s.state.to_string(),
            step,
            loss,
            rate,
            eta_text(s)
        );
        let mut style = Style::default().fg(state_colour(s.state));
        if i == view.selected {
            style = style.bg(Color::DarkGray).add_modifier(Modifier::BOLD);
        }
        lines.push(Line::from(Span::styled(text, style)));
    }
    lines
}

fn draw_chart(frame: &mut Frame, row: &JobRow, area: Rect) {
    let points: Vec<(f64, f64)> = row
        .metrics
        .iter()
        .filter_map(|m| m.loss.map(|l| (m.step as f64, l)))
        .collect();
    if points.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no loss logged yet", dim())),
            area,
        );
        return;
    }
    let max_step = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_loss = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-6);
    let total = row.status.total_steps.map_or(max_step, |t| t as f64);
    let title = match row.status.val_loss {
        Some(v) => format!(" loss · val_loss {v:.4} "),
        None => " loss ".to_string(),
    };
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(Color::Cyan))
        .data(&points);
    let chart = Chart::new(vec![dataset])
        .block(Block::default().borders(Borders::TOP).title(title))
        .x_axis(
            Axis::default()
                .title("step")
                .bounds([0.0, total])
                .labels(vec![Span::raw("0"), Span::raw(format!("{total:.0}"))]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max_loss])
                .labels(vec![Span::raw("0"), Span::raw(format!("{max_loss:.2}"))]),
        );
    frame.render_widget(chart, area);
}

fn state_colour(state: JobState) -> Color {
    match state {
        JobState::Running | JobState::Pending => Color::Yellow,
        JobState::Completed => Color::Green,
        JobState::Unknown => Color::Gray,
        _ => Color::Red,
    }
}

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}
