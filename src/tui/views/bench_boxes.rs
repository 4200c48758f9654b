//! The bench view's table for a box task (L1): boxes matched per class, in place of the
//! per-class label table.

use crate::bench::box_task::LocalisationScore;
use crate::util::text::{clip, table};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

pub fn localisation_lines(boxes: &LocalisationScore) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut cells = boxes.table(2);
    let last = cells.len() - 1;
    for (i, row) in cells.iter_mut().enumerate() {
        // Short headings and class names keep the table beside the heat map; the last row
        // counts invalid answers as finding nothing.
        row[0] = if i == last {
            "overall+inv.".into()
        } else {
            clip(&row[0], 12)
        };
        if i == 0 {
            row[1] = "prec.".into();
            row[4] = "IoU".into();
        }
    }
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "boxes at IoU ≥ {} (+inv.: invalid found none)",
            crate::bench::localisation::IOU_THRESHOLD
        ),
        bold,
    ))];
    for (i, line) in table(&cells, false).into_iter().enumerate() {
        lines.push(if i == 0 {
            Line::from(Span::styled(line, bold))
        } else {
            Line::from(line)
        });
    }
    lines
}
