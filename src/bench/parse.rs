//! Reading the model's answer. Strict is radio-llava's rule (the default, for parity);
//! lenient also accepts a class named inside a sentence. Both are recorded per item.

use super::task::TaskSpec;
use crate::util::error::BadValue;

/// How an answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParseMode {
    Strict,
    Lenient,
}

impl std::str::FromStr for ParseMode {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "strict" => Ok(ParseMode::Strict),
            "lenient" => Ok(ParseMode::Lenient),
            other => Err(BadValue::unknown("--parse", other, "strict or lenient")),
        }
    }
}

pub fn parse(task: &TaskSpec, answer: &str, mode: ParseMode) -> Option<Vec<String>> {
    match mode {
        ParseMode::Strict => strict(task, answer),
        ParseMode::Lenient => lenient(task, answer),
    }
}

/// radio-llava's `process_model_output`: strip, uppercase, remove `, ! . ;` (single-label:
/// what is left must be a class, with no second strip) or `! . ;` then split on commas and
/// strip each part (multi-label: every part a class, duplicates dropped). Like radio-llava,
/// it takes "NONE, EXTENDED" as both labels; the lenient reader does not.
pub fn strict(task: &TaskSpec, answer: &str) -> Option<Vec<String>> {
    let upper = answer.trim().to_uppercase();
    if !task.multi_label {
        let cleaned: String = upper.chars().filter(|c| !",!.;".contains(*c)).collect();
        return task
            .classes
            .iter()
            .find(|c| **c == cleaned)
            .map(|c| vec![c.clone()]);
    }
    let cleaned: String = upper.chars().filter(|c| !"!.;".contains(*c)).collect();
    let mut labels: Vec<String> = Vec::new();
    for part in cleaned.split(',').map(str::trim) {
        let class = task.classes.iter().find(|c| c.as_str() == part)?;
        if !labels.contains(class) {
            labels.push(class.clone());
        }
    }
    Some(labels)
}

/// Whole-word class names anywhere in the answer (after undoing Markdown and full-width
/// punctuation); a binary YES/NO task also takes the first word.
pub fn lenient(task: &TaskSpec, answer: &str) -> Option<Vec<String>> {
    let text = normalise(answer);
    let is_yes_no =
        task.classes.iter().any(|c| c == "YES") && task.classes.iter().any(|c| c == "NO");
    if is_yes_no {
        let first: String = text
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        if first == "YES" || first == "NO" {
            return Some(vec![first]);
        }
    }
    let found: Vec<String> = task
        .classes
        .iter()
        .filter(|c| contains_word(&text, c))
        .cloned()
        .collect();
    if task.multi_label {
        let none = task.none_class.as_deref();
        let classes: Vec<String> = found
            .iter()
            .filter(|c| Some(c.as_str()) != none)
            .cloned()
            .collect();
        match (classes.is_empty(), none) {
            (false, _) => Some(classes),
            (true, Some(n)) if found.iter().any(|c| c == n) => Some(vec![n.to_string()]),
            _ => None,
        }
    } else {
        match found.as_slice() {
            [one] => Some(vec![one.clone()]),
            _ => None,
        }
    }
}

fn normalise(answer: &str) -> String {
    answer
        .chars()
        .map(|c| match c {
            '，' | '、' => ',',
            '。' => '.',
            '！' => '!',
            '；' => ';',
            '：' => ':',
            '*' | '_' | '`' | '#' => ' ',
            other => other,
        })
        .collect::<String>()
        .to_uppercase()
}

/// `word` in `text` with no letter, digit or hyphen touching it on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-');
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !joins(before) && !joins(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::task::{find_task, load_tasks};

    fn both(task: &str, answer: &str) -> (Option<Vec<String>>, Option<Vec<String>>) {
        let tasks = load_tasks(None).unwrap();
        let t = find_task(&tasks, task).unwrap();
        (strict(&t, answer), lenient(&t, answer))
    }

    fn labels(l: &[&str]) -> Option<Vec<String>> {
        Some(l.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn answers_as_vlms_write_them() {
        assert_eq!(both("B3", "Yes."), (labels(&["YES"]), labels(&["YES"])));
        assert_eq!(both("B3", " no "), (labels(&["NO"]), labels(&["NO"])));
        assert_eq!(
            both("B3", "yes, there is an extended source"),
            (None, labels(&["YES"]))
        );
        assert_eq!(
            both("B1", "EXTENDED, DIFFUSE"),
            (
                labels(&["EXTENDED", "DIFFUSE"]),
                labels(&["EXTENDED", "DIFFUSE"])
            )
        );
        assert_eq!(
            both("B1", "extended,extended, diffuse-large."),
            (
                labels(&["EXTENDED", "DIFFUSE-LARGE"]),
                labels(&["EXTENDED", "DIFFUSE-LARGE"])
            )
        );
        assert_eq!(
            both("B1", "NONE, EXTENDED"),
            (labels(&["NONE", "EXTENDED"]), labels(&["EXTENDED"]))
        );
        assert_eq!(both("B3", "Yes ."), (None, labels(&["YES"])));
        assert_eq!(both("B1", "NONE"), (labels(&["NONE"]), labels(&["NONE"])));
        assert_eq!(
            both("B6", "The image shows FR-II"),
            (None, labels(&["FR-II"]))
        );
        assert_eq!(both("B6", "FR-I."), (labels(&["FR-I"]), labels(&["FR-I"])));
        assert_eq!(both("B6", "**FR-II**"), (None, labels(&["FR-II"])));
        assert_eq!(both("B6", "either FR-I or FR-II"), (None, None));
        assert_eq!(
            both("B1", "EXTENDED，DIFFUSE。"),
            (None, labels(&["EXTENDED", "DIFFUSE"]))
        );
        assert_eq!(both("B5", ""), (None, None));
        assert_eq!(
            both("B2", "1C-2P"),
            (labels(&["1C-2P"]), labels(&["1C-2P"]))
        );
        assert_eq!(both("B2", "It is 2C-3P!"), (None, labels(&["2C-3P"])));
        assert_eq!(both("B3", "I cannot tell."), (None, None));
        assert_eq!(both("B1", "EXTENDED,"), (None, labels(&["EXTENDED"])));
    }
}
