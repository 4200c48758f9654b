//! Text fitted to a terminal cell width.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_clipped_with_an_ellipsis() {
        assert_eq!(clip("DIFFUSE-LARGE", 6), "DIFFU…");
        assert_eq!(clip("NO", 6), "NO");
    }
}
