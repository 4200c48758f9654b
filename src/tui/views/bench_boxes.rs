//! The bench view's table for a box task (L1): boxes matched per class, in place of the
//! per-class label table.

use crate::bench::box_task::LocalisationScore;
use crate::util::text::clip;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

pub fn localisation_lines(boxes: &LocalisationScore) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                "boxes at IoU ≥ {} (+inv.: invalid found none)",
                crate::bench::localisation::IOU_THRESHOLD
            ),
            bold,
        )),
        Line::from(Span::styled(
            format!(
                "{:<13}{:>6}{:>7}{:>6}{:>5}{:>4}{:>4}{:>4}",
                "class", "prec.", "recall", "F1", "IoU", "TP", "FP", "FN"
            ),
            bold,
        )),
    ];
    let rows = boxes.rows();
    let last = rows.len() - 1;
    lines.extend(rows.into_iter().enumerate().map(|(i, (class, d))| {
        // The last row counts invalid answers as finding nothing.
        let class = if i == last { "overall+inv." } else { class };
        Line::from(format!(
            "{:<13}{:>6.2}{:>7.3}{:>6.2}{:>5.2}{:>4}{:>4}{:>4}",
            clip(class, 12),
            d.precision,
            d.recall,
            d.f1,
            d.mean_iou,
            d.true_positives,
            d.false_positives,
            d.false_negatives
        ))
    }));
    lines
}
