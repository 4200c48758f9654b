//! Text fitted to a terminal cell width, and plain or Markdown tables.

/// `text` cut to `width` characters, an ellipsis marking the cut.
pub fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        text.chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…"
    }
}

/// Rows (the first is the header) as aligned columns, or as a Markdown table.
pub fn table<R: AsRef<[String]>>(rows: &[R], markdown: bool) -> Vec<String> {
    let columns = rows.first().map_or(0, |r| r.as_ref().len());
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.as_ref().get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut lines = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        if markdown {
            lines.push(format!("| {} |", cells.join(" | ")));
            if n == 0 {
                lines.push(format!("|{}", "---|".repeat(cells.len())));
            }
        } else {
            lines.push(cells.join("  ").trim_end().to_string());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_columns_or_are_markdown() {
        let rows = vec![
            vec!["task".to_string(), "Δ".to_string()],
            vec!["B3".to_string(), "+0.25".to_string()],
        ];
        assert_eq!(table(&rows, false), ["task  Δ", "B3    +0.25"]);
        assert_eq!(
            table(&rows, true),
            ["| task | Δ     |", "|---|---|", "| B3   | +0.25 |"]
        );
    }

    #[test]
    fn long_labels_are_clipped_with_an_ellipsis() {
        assert_eq!(clip("DIFFUSE-LARGE", 6), "DIFFU…");
        assert_eq!(clip("NO", 6), "NO");
    }
}
