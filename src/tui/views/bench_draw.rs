//! The bench view: what is running, a progress gauge with speed, ETA and accuracy so far,
//! the metrics table, and the confusion matrix as a heat map (rows: truth, columns:
//! prediction; colour: the row-normalised rate).

use super::bench::{BenchRun, BenchState};
use crate::bench::metrics::Metrics;
use crate::util::text::clip;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph};

/// Width of the metrics table, and the space between it and the heat map.
const TABLE_WIDTH: u16 = 50;
const GAP: u16 = 2;
const CELL: usize = 7;

pub fn draw(frame: &mut Frame, run: &BenchRun, area: Rect) {
    let stop_hint = if run.running() { " · x stops" } else { "" };
    let title = format!(" benchmark {} · Esc closes{stop_hint} ", run.task);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let [head, gauge, stats, body] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(head_lines(run)), head);
    draw_gauge(frame, run, gauge);
    frame.render_widget(Paragraph::new(stats_lines(run)), stats);
    let Some(score) = &run.score else {
        return;
    };
    let headline = headline_lines(&score.metrics, &score.metrics_invalid_as_wrong);
    let classes = match &score.localisation {
        Some(boxes) => super::bench_boxes::localisation_lines(boxes),
        None => class_lines(&score.metrics),
    };
    let heat = heatmap_lines(&score.metrics);
    let heat_width = heat.iter().map(Line::width).max().unwrap_or(0) as u16;
    let table_width = TABLE_WIDTH + GAP;
    let mut left = headline;
    if score.localisation.is_some() {
        let note = "(presence: YES = sources there / boxes given)";
        left.insert(0, Line::from(Span::styled(note, bold())));
    }
    left.push(Line::default());
    if body.width >= table_width + heat_width {
        left.extend(classes);
        let [left_area, right_area] =
            Layout::horizontal([Constraint::Length(table_width), Constraint::Min(0)]).areas(body);
        frame.render_widget(Paragraph::new(left), left_area);
        frame.render_widget(Paragraph::new(heat), right_area);
    } else {
        // Narrow: the heat map before the per-class table, which matters less.
        left.extend(heat);
        left.push(Line::default());
        left.extend(classes);
        frame.render_widget(Paragraph::new(left), body);
    }
}

fn head_lines(run: &BenchRun) -> Vec<Line<'static>> {
    let dim = Style::default().fg(Color::DarkGray);
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or_else(|| "…".to_string(), |p| p.display().to_string())
    };
    vec![
        Line::from(vec![
            Span::styled(
                run.title.clone(),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("  model {}", run.model), dim),
        ]),
        Line::from(Span::styled(format!("data {}", path(&run.dataset)), dim)),
        Line::from(Span::styled(format!("run  {}", path(&run.dir)), dim)),
    ]
}

fn draw_gauge(frame: &mut Frame, run: &BenchRun, area: Rect) {
    let p = &run.progress;
    let ratio = if p.total == 0 {
        0.0
    } else {
        p.done as f64 / p.total as f64
    };
    let colour = match run.state {
        BenchState::Finished => Color::Green,
        BenchState::Failed(_) | BenchState::Stopped => Color::Red,
        _ => Color::Cyan,
    };
    let label = format!("{}/{} · {:.0} %", p.done, p.total, ratio * 100.0);
    frame.render_widget(
        Gauge::default()
            .gauge_style(Style::default().fg(colour).bg(Color::Black))
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label),
        area,
    );
}

fn stats_lines(run: &BenchRun) -> Vec<Line<'static>> {
    let p = &run.progress;
    let state = match &run.state {
        BenchState::Preparing => Span::styled("reading the dataset…", yellow()),
        BenchState::Running if p.done == p.resumed => Span::styled("asking…", yellow()),
        BenchState::Running => Span::styled(
            format!("{:.2} items/s · ETA {}", p.items_per_s, eta(p.eta_s)),
            yellow(),
        ),
        BenchState::Stopping => Span::styled("stopping…", yellow()),
        BenchState::Finished => Span::styled(
            format!(
                "finished in {:.0} s · metrics.json, report.md, confusion.png written",
                run.started.elapsed().as_secs_f64()
            ),
            Style::default().fg(Color::Green),
        ),
        BenchState::Stopped => Span::styled(
            "stopped: /bench --resume RUN continues it".to_string(),
            red(),
        ),
        BenchState::Failed(message) => Span::styled(format!("failed: {message}"), red()),
    };
    let boxes = run.score.as_ref().is_some_and(|s| s.localisation.is_some());
    let mut counts = format!(
        "{} {:.3} · {} invalid · {} errors",
        if boxes {
            "items with every box found"
        } else {
            "accuracy so far"
        },
        p.accuracy(),
        p.invalid,
        p.errors
    );
    if p.resumed > 0 {
        counts.push_str(&format!(" · {} resumed", p.resumed));
    }
    if let Some(skipped) = &run.skipped {
        counts.push_str(&format!(" · {skipped}"));
    }
    vec![Line::from(state), Line::from(counts)]
}

fn eta(seconds: f64) -> String {
    if !seconds.is_finite() || seconds > 360_000.0 {
        "?".into()
    } else if seconds >= 90.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{seconds:.0} s")
    }
}

/// The main metrics with invalid answers left out (radio-llava's numbers) and counted wrong.
fn headline_lines(m: &Metrics, as_wrong: &Metrics) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<21}{:>14}{:>15}",
            "metric", "invalid left", "invalid wrong"
        ),
        bold(),
    ))];
    let mut rows = vec![
        ("accuracy", m.accuracy, as_wrong.accuracy),
        (
            "precision (weighted)",
            m.precision_weighted,
            as_wrong.precision_weighted,
        ),
        (
            "recall (weighted)",
            m.recall_weighted,
            as_wrong.recall_weighted,
        ),
        ("F1 (weighted)", m.f1_weighted, as_wrong.f1_weighted),
        ("F1 (macro)", m.f1_macro, as_wrong.f1_macro),
    ];
    if let (Some(a), Some(b)) = (m.hamming_score, as_wrong.hamming_score) {
        rows.push(("hamming score", a, b));
    }
    if let (Some(a), Some(b)) = (m.hamming_loss, as_wrong.hamming_loss) {
        rows.push(("hamming loss", a, b));
    }
    lines.extend(
        rows.iter()
            .map(|(name, a, b)| Line::from(format!("{name:<21}{a:>14.3}{b:>15.3}"))),
    );
    lines
}

fn class_lines(m: &Metrics) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<16}{:>8}{:>8}{:>8}{:>8}",
            "class", "prec.", "recall", "F1", "support"
        ),
        bold(),
    ))];
    lines.extend(m.per_class.iter().map(|c| {
        Line::from(format!(
            "{:<16}{:>8.3}{:>8.3}{:>8.3}{:>8}",
            clip(&c.label, 15),
            c.precision,
            c.recall,
            c.f1,
            c.support
        ))
    }));
    lines
}

/// Single-label: the full matrix. Multi-label: a row per class with its TN FP FN TP.
fn heatmap_lines(m: &Metrics) -> Vec<Line<'static>> {
    let bold = bold();
    let label_width = m
        .labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, 14);
    let multi = m.hamming_score.is_some();
    let mut lines = vec![Line::from(Span::styled(
        if multi {
            "confusion per class"
        } else {
            "confusion (rows truth)"
        },
        bold,
    ))];
    if multi {
        let header: String = ["TN", "FP", "FN", "TP"]
            .iter()
            .map(|h| format!("{h:>CELL$}"))
            .collect();
        lines.push(Line::from(Span::styled(
            format!("{:<label_width$}{header}", ""),
            bold,
        )));
        for (label, cm) in m.labels.iter().zip(&m.confusion_matrix) {
            let (tn, fp) = (cm[0][0], cm[0][1]);
            let (fn_, tp) = (cm[1][0], cm[1][1]);
            let negatives = (tn + fp).max(1) as f64;
            let positives = (fn_ + tp).max(1) as f64;
            let mut spans = vec![Span::raw(format!(
                "{:<label_width$}",
                clip(label, label_width)
            ))];
            spans.push(cell(tn, tn as f64 / negatives));
            spans.push(cell(fp, fp as f64 / negatives));
            spans.push(cell(fn_, fn_ as f64 / positives));
            spans.push(cell(tp, tp as f64 / positives));
            lines.push(Line::from(spans));
        }
        return lines;
    }
    let header: String = m
        .labels
        .iter()
        .map(|l| format!("{:>CELL$}", clip(l, CELL - 1)))
        .collect();
    lines.push(Line::from(Span::styled(
        format!("{:<label_width$}{header}", ""),
        bold,
    )));
    let counts = m.confusion_matrix.first();
    for (i, label) in m.labels.iter().enumerate() {
        let mut spans = vec![Span::raw(format!(
            "{:<label_width$}",
            clip(label, label_width)
        ))];
        for j in 0..m.labels.len() {
            let count = counts
                .and_then(|c| c.get(i))
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0);
            let rate = m
                .confusion_matrix_normalized
                .get(i)
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0.0);
            spans.push(cell(count, rate));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// A count on a background from dark blue (0) to yellow (1).
fn cell(count: u64, rate: f64) -> Span<'static> {
    let (r, g, b) = heat(rate);
    let fg = if rate > 0.55 {
        Color::Black
    } else {
        Color::White
    };
    Span::styled(
        format!("{count:>CELL$}"),
        Style::default().bg(Color::Rgb(r, g, b)).fg(fg),
    )
}

/// A viridis-like ramp.
fn heat(rate: f64) -> (u8, u8, u8) {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let x = rate.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let t = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * t).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn yellow() -> Style {
    Style::default().fg(Color::Yellow)
}

fn red() -> Style {
    Style::default().fg(Color::Red)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heat_ramp_runs_from_dark_to_bright() {
        assert_eq!(heat(0.0), (68, 1, 84));
        assert_eq!(heat(1.0), (253, 231, 37));
        assert_eq!(heat(2.0), heat(1.0));
        let brightness = |(r, g, b): (u8, u8, u8)| r as u32 + g as u32 + b as u32;
        assert!(brightness(heat(0.5)) > brightness(heat(0.25)));
    }

    #[test]
    fn heat_map_cells_are_coloured_by_the_row_normalised_rate() {
        let truth: Vec<String> = ["NO", "NO", "YES", "YES"].map(String::from).to_vec();
        let pred: Vec<String> = ["NO", "NO", "NO", "YES"].map(String::from).to_vec();
        let m = crate::bench::metrics::single_label(&truth, &pred);
        let lines = heatmap_lines(&m);
        let cells: Vec<&Span> = lines[2..].iter().flat_map(|l| &l.spans[1..]).collect();
        let bg = |i: usize| cells[i].style.bg;
        let rgb = |(r, g, b)| Some(Color::Rgb(r, g, b));
        // Row NO: 2 of 2 right (rate 1), none wrong; row YES: half and half.
        assert_eq!(cells[0].content.trim(), "2");
        assert_eq!(bg(0), rgb(heat(1.0)));
        assert_eq!(bg(1), rgb(heat(0.0)));
        assert_eq!(bg(2), rgb(heat(0.5)));
        assert_eq!(bg(3), rgb(heat(0.5)));
    }
}
