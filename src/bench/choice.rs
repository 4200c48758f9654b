//! Multiple-choice items (G1 and users' general tasks): each dataset item brings its question,
//! its options and an optional hint; the label is the answer's letter. The question is put as
//! LLaVA puts MMBench and ScienceQA questions: the hint, the question, then the options
//! lettered `A. …`, a line each.

use super::labels::Unfit;
use super::task::TaskSpec;

/// An item's own question, as the dataset has it.
pub struct OwnQuestion<'a> {
    pub question: Option<&'a str>,
    pub options: Option<&'a [String]>,
    pub hint: Option<&'a str>,
}

/// The item's question text with its lettered options, checked against the task's letters and
/// the gold `letter`.
pub fn question_text(task: &TaskSpec, own: &OwnQuestion, letter: &str) -> Result<String, Unfit> {
    let question = own
        .question
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| Unfit("no `question`".into()))?;
    let options = own
        .options
        .filter(|o| o.len() >= 2)
        .ok_or_else(|| Unfit("`options` needs at least two choices".into()))?;
    if options.len() > task.classes.len() {
        return Err(Unfit(format!(
            "{} options; {} takes at most {} ({})",
            options.len(),
            task.id,
            task.classes.len(),
            task.classes.join(", ")
        )));
    }
    let at = task.classes.iter().position(|c| c == letter);
    if at.is_none_or(|i| i >= options.len()) {
        return Err(Unfit(format!(
            "answer '{letter}' is not one of the {} options' letters",
            options.len()
        )));
    }
    let mut lines: Vec<String> = own
        .hint
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    lines.push(question.to_string());
    for (letter, option) in task.classes.iter().zip(options) {
        lines.push(format!("{letter}. {}", option.trim()));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::task::{find_task, load_tasks};

    fn options(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn questions_are_lettered_as_llava_asks_them_and_bad_items_say_why() {
        let g1 = find_task(&load_tasks(None).unwrap(), "G1").unwrap();
        let three = options(&["circle", "square", "triangle"]);
        let own = OwnQuestion {
            question: Some("What shape is shown?"),
            options: Some(&three),
            hint: Some("Look at the centre."),
        };
        assert_eq!(
            question_text(&g1, &own, "B").unwrap(),
            "Look at the centre.\nWhat shape is shown?\nA. circle\nB. square\nC. triangle"
        );
        let why = |own: &OwnQuestion, letter: &str| question_text(&g1, own, letter).unwrap_err().0;
        assert_eq!(
            why(&own, "D"),
            "answer 'D' is not one of the 3 options' letters"
        );
        let five = options(&["1", "2", "3", "4", "5"]);
        let too_many = OwnQuestion {
            options: Some(&five),
            ..own
        };
        assert_eq!(
            why(&too_many, "A"),
            "5 options; G1 takes at most 4 (A, B, C, D)"
        );
        let bare = OwnQuestion {
            question: Some(" "),
            options: None,
            hint: None,
        };
        assert_eq!(why(&bare, "A"), "no `question`");
    }
}
