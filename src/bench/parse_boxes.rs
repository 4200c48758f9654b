//! Box lists in answers. Strict: radio-llava's own answer form only — `[x, y, w, h]` boxes
//! joined by ", ", after an optional sentence ending in ": ", or a sentence saying the image
//! does not contain the class. Lenient: boxes in square or round brackets, numbers separated
//! by commas, semicolons or spaces, bare numbers in fours, and corner boxes (x1, y1, x2, y2)
//! where the numbers cannot be a centre box inside the image; an answer without numbers that
//! says no/none/not is an empty list. `None`: not readable as boxes.

use super::parse::ParseMode;

/// How far past the image edge a centre box may reach and still be read as one (rounding).
const EDGE_SLACK: f64 = 0.02;

pub fn parse_boxes(answer: &str, mode: ParseMode) -> Option<Vec<[f64; 4]>> {
    match mode {
        ParseMode::Strict => strict(answer),
        ParseMode::Lenient => lenient(answer),
    }
}

fn says_none(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["does not contain", "do not contain", "no ", "none", "not "]
        .iter()
        .any(|w| lower.contains(w))
}

fn strict(answer: &str) -> Option<Vec<[f64; 4]>> {
    let text = answer.trim();
    if !text.contains(|c: char| c.is_ascii_digit()) {
        return text.contains("does not contain").then(Vec::new);
    }
    let list = match text.rfind(": ") {
        Some(at) => &text[at + 2..],
        None => text,
    };
    let inner = list.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .split("], [")
        .map(|group| {
            let numbers: Vec<f64> = group
                .split(", ")
                .map(|n| n.parse::<f64>().ok().filter(|v| (0.0..=1.0).contains(v)))
                .collect::<Option<_>>()?;
            let numbers: [f64; 4] = numbers.try_into().ok()?;
            centre_box(numbers)
        })
        .collect()
}

fn lenient(answer: &str) -> Option<Vec<[f64; 4]>> {
    let groups = bracketed_groups(answer);
    let fours: Vec<Vec<f64>> = if groups.iter().any(|g| g.len() == 4) {
        groups.into_iter().filter(|g| g.len() == 4).collect()
    } else {
        let all = numbers_in(answer);
        if all.is_empty() {
            return says_none(answer).then(Vec::new);
        }
        if !all.len().is_multiple_of(4) {
            return None;
        }
        all.chunks(4).map(<[f64]>::to_vec).collect()
    };
    fours
        .into_iter()
        .map(|g| {
            let numbers: [f64; 4] = g.try_into().ok()?;
            if !numbers.iter().all(|v| (0.0..=1.0).contains(v)) {
                return None;
            }
            centre_box(numbers).or_else(|| corner_box(numbers))
        })
        .collect()
}

/// The numbers inside each `[…]` or `(…)` of the text.
fn bracketed_groups(text: &str) -> Vec<Vec<f64>> {
    let mut groups = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['[', '(']) {
        let close = if rest[open..].starts_with('[') {
            ']'
        } else {
            ')'
        };
        let Some(len) = rest[open + 1..].find(close) else {
            break;
        };
        groups.push(numbers_in(&rest[open + 1..open + 1 + len]));
        rest = &rest[open + 1 + len + 1..];
    }
    groups
}

/// Every number in the text, in order (separators: anything that is not part of a number).
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .map(|t| t.trim_matches(|c: char| c == '.' || c == '-' || c == 'e'))
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|t| t.parse::<f64>().ok())
        .collect()
}

/// The numbers as a centre box, if it lies inside the image (within rounding) and has area.
fn centre_box([x, y, w, h]: [f64; 4]) -> Option<[f64; 4]> {
    let inside = |c: f64, s: f64| c - s / 2.0 >= -EDGE_SLACK && c + s / 2.0 <= 1.0 + EDGE_SLACK;
    (w > 0.0 && h > 0.0 && inside(x, w) && inside(y, h)).then_some([x, y, w, h])
}

/// The numbers as corners (x1, y1, x2, y2), as a centre box.
fn corner_box([x1, y1, x2, y2]: [f64; 4]) -> Option<[f64; 4]> {
    (x2 > x1 && y2 > y1).then(|| [(x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient(text: &str) -> Option<Vec<[f64; 4]>> {
        parse_boxes(text, ParseMode::Lenient)
    }

    fn strict(text: &str) -> Option<Vec<[f64; 4]>> {
        parse_boxes(text, ParseMode::Strict)
    }

    #[test]
    fn radio_llavas_own_answers_read_in_both_modes() {
        let own = "[0.5, 0.25, 0.1, 0.12], [0.3, 0.7, 0.2, 0.2]";
        let boxes = vec![[0.5, 0.25, 0.1, 0.12], [0.3, 0.7, 0.2, 0.2]];
        assert_eq!(strict(own), Some(boxes.clone()));
        assert_eq!(lenient(own), Some(boxes));
        let prefixed = "The image contains imaging artefacts. Their bounding box coordinates are: [0.5, 0.5, 0.4, 0.4]";
        assert_eq!(strict(prefixed), Some(vec![[0.5, 0.5, 0.4, 0.4]]));
        let none = "The image does not contain compact radio sources.";
        assert_eq!(strict(none), Some(vec![]));
        assert_eq!(lenient(none), Some(vec![]));
    }

    #[test]
    fn strict_mode_takes_nothing_else() {
        for other in [
            "(0.5, 0.25, 0.1, 0.12)",
            "[0.5 0.25 0.1 0.12]",
            "[0.5, 0.25, 0.1]",
            "[0.5, 0.25, 0.1, 1.5]",
            "Sources at [0.5, 0.25, 0.1, 0.12]",
            "I see none.",
            "[0.5, 0.25, 0.1, 0.12]; [0.3, 0.7, 0.2, 0.2]",
        ] {
            assert_eq!(strict(other), None, "{other}");
        }
    }

    #[test]
    fn lenient_mode_reads_other_brackets_separators_and_corners() {
        assert_eq!(
            lenient("Boxes: (0.5; 0.25; 0.1; 0.12) and (0.3 0.7 0.2 0.2)."),
            Some(vec![[0.5, 0.25, 0.1, 0.12], [0.3, 0.7, 0.2, 0.2]])
        );
        assert_eq!(
            lenient("x=0.5, y=0.25, w=0.1, h=0.12"),
            Some(vec![[0.5, 0.25, 0.1, 0.12]])
        );
        // 0.9 ± 0.4 leaves the image: corners (0.1, 0.2)–(0.9, 0.6).
        let [corners] = lenient("[0.1, 0.2, 0.9, 0.6]").unwrap()[..] else {
            panic!()
        };
        for (a, b) in corners.iter().zip([0.5, 0.4, 0.8, 0.4]) {
            assert!((a - b).abs() < 1e-12, "{corners:?}");
        }
        assert_eq!(lenient("There are no compact sources."), Some(vec![]));
        assert_eq!(lenient("0.5, 0.25, 0.1"), None, "not in fours");
        assert_eq!(lenient("[120, 40, 12, 12]"), None, "pixels, not fractions");
        assert_eq!(lenient("Yes."), None);
        assert_eq!(lenient("[0.9, 0.9, 0.5, 0.05]"), None, "neither form");
    }
}
