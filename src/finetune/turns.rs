//! Which turns an image gets in `finetune data`: the label questions its label answers, the
//! box questions when its sources are annotated, the description; phrasings picked by a hash
//! of the seed and the image id; one conversation per image or per question.

use super::anomaly_text::AnomalyText;
use super::boxes::{self, BoxQuestion};
use super::questions::{Describe, Question};
use crate::bench::dataset::RawItem;
use crate::bench::labels::gold_labels;
use crate::bench::objects::SourceBox;
use crate::bench::prompt::{PromptChoice, Prompter};
use crate::bench::task::TaskSpec;
use crate::util::error::FileError;
use crate::util::hash::stable_u64;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One LLaVA training record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// Relative to the data directory.
    pub image: String,
    pub conversations: Vec<Turn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub from: String,
    pub value: String,
}

/// An image with its questions, before its PNG is written.
pub(super) struct Planned {
    pub id: String,
    pub image: PathBuf,
    pub file: String,
    pub turns: Vec<Turn>,
    pub val: bool,
    pub counted: Vec<String>,
    /// The image's sources, and which answer turn holds which box question's answer.
    pub boxes: Vec<SourceBox>,
    pub box_answers: Vec<(usize, usize)>,
    /// What a model writing Q&A is told of the image: its label tags, or its paper caption.
    pub tags: Vec<String>,
    pub caption: Option<String>,
}

/// What an image is asked: the label questions, the free-text anomaly question, the box
/// questions, the description.
pub(super) struct Asked<'a> {
    pub questions: &'a [Question],
    pub anomaly: Option<&'a AnomalyText>,
    pub boxes: &'a [BoxQuestion],
    pub describe: Option<&'a Describe>,
    /// A multiple-choice task (G1) whose items bring their own question: asked as the
    /// benchmark asks it, answered with the letter.
    pub choice: Option<&'a TaskSpec>,
    /// Picks the phrasings (with the image id).
    pub seed: u64,
    pub order: TurnOrder,
}

/// The order of an image's turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TurnOrder {
    /// The label questions, the boxes, the description last.
    #[default]
    Radiochat,
    /// radio-llava's: the description first (with the image), then the questions.
    RadioLlava,
}

/// The id of the peculiarity-class question, before which the free-text anomaly turn goes
/// (radio-llava asks the sentence, then the class).
const PECULIARITY: &str = "peculiarity";

/// Whether `wanted` (`--tasks`) asks for the question `id`: by name, or all of them.
pub(super) fn wants(wanted: &[String], id: &str) -> bool {
    wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case("all") || w.eq_ignore_ascii_case(id))
}

/// The questions named by `wanted` (benchmark ids or question ids); all when it is empty.
/// A name may also be a box question's (`boxes`, `boxes-compact`…), chosen by `boxes::select`,
/// or the free-text anomaly question's (`anomaly_id`).
pub(super) fn select(
    all: Vec<Question>,
    box_questions: &[BoxQuestion],
    other_ids: &[&str],
    wanted: &[String],
) -> Result<Vec<Question>, FileError> {
    if wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case("all")) {
        return Ok(all);
    }
    let names = |q: &Question| [Some(q.id.clone()), q.bench_task.clone()];
    for w in wanted {
        if !all
            .iter()
            .any(|q| names(q).iter().flatten().any(|n| n.eq_ignore_ascii_case(w)))
            && !boxes::names_a_box_question(box_questions, w)
            && !other_ids.iter().any(|id| w.eq_ignore_ascii_case(id))
        {
            let known: Vec<String> = all
                .iter()
                .map(|q| match &q.bench_task {
                    Some(t) => format!("{t} ({})", q.id),
                    None => q.id.clone(),
                })
                .chain(other_ids.iter().map(|id| id.to_string()))
                .chain([format!("{} (a question per source class)", boxes::BOXES)])
                .collect();
            return Err(FileError::invalid(format!(
                "--tasks: unknown '{w}' (known: {}, all)",
                known.join(", ")
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|q| {
            names(q)
                .iter()
                .flatten()
                .any(|n| wanted.iter().any(|w| n.eq_ignore_ascii_case(w)))
        })
        .collect())
}

/// A conversation split into one per question, each starting with the image (the split
/// stays by image: all of an image's questions are on the same side).
pub(super) fn single_turns(record: Record, questions: &[String]) -> Vec<Record> {
    record
        .conversations
        .chunks(2)
        .zip(questions)
        .map(|(pair, question)| {
            let asked = pair[0].value.trim_start_matches("<image>\n");
            Record {
                id: format!("{}#{question}", record.id),
                image: record.image.clone(),
                conversations: vec![
                    Turn {
                        from: "human".into(),
                        value: format!("<image>\n{asked}"),
                    },
                    pair[1].clone(),
                ],
            }
        })
        .collect()
}

/// The turns for one image and the questions they count for (`id`, `image`, `file` and `val`
/// are the caller's); `None` if no question fits.
pub(super) fn conversation(
    asked: &Asked,
    id: &str,
    item: &RawItem,
    annotations: Option<Vec<SourceBox>>,
) -> Option<Planned> {
    let mut pairs = Vec::new();
    let mut counted = Vec::new();
    // A multiple-choice item (it brings its question) is a general picture: no radio question
    // is asked of it.
    let radio = item.question.is_none();
    let describe = asked.describe.filter(|_| radio).map(|d| {
        let i = pick(asked.seed, &[id, "describe"], d.phrasings.len());
        (d.phrasings[i].clone(), d.answer(&item.label.tags()))
    });
    if let (TurnOrder::RadioLlava, Some(first)) = (asked.order, &describe) {
        pairs.push(first.clone());
        counted.push("describe".into());
    }
    let mut anomaly = asked.anomaly.filter(|_| radio).and_then(|a| {
        let answer = a.answer(&item.label)?;
        let i = pick(asked.seed, &[id, &a.id], a.phrasings.len());
        Some((a.id.clone(), (a.phrasings[i].clone(), answer)))
    });
    if let Some(task) = asked.choice
        && let Ok(Some(question)) = item.own_question(task)
        && let Ok(letter) = gold_labels(task, &item.label)
    {
        let choice = PromptChoice::of_task(task);
        if let Ok(prompter) = Prompter::new(task, &choice, 0) {
            let text = prompter.asking(Some(&question)).item_text(&item.sname);
            pairs.push((text, task.answer_text(&letter)));
            counted.push(task.id.clone());
        }
    }
    for q in asked.questions.iter().filter(|_| radio) {
        if q.id == PECULIARITY
            && let Some((anomaly_id, pair)) = anomaly.take()
        {
            pairs.push(pair);
            counted.push(anomaly_id);
        }
        if let Ok(truth) = gold_labels(&q.task, &item.label) {
            let i = pick(asked.seed, &[id, &q.id], q.phrasings.len());
            pairs.push((q.text(i), q.task.answer_text(&truth)));
            counted.push(q.id.clone());
        }
    }
    if let Some((anomaly_id, pair)) = anomaly {
        pairs.push(pair);
        counted.push(anomaly_id);
    }
    // Box turns only where the sources are known (an image without annotations is not one
    // without sources).
    let mut box_answers = Vec::new();
    let known = annotations.is_some();
    let boxes = annotations.unwrap_or_default();
    if known {
        for (n, q) in asked.boxes.iter().enumerate() {
            let i = pick(asked.seed, &[id, &q.id], q.phrasings.len());
            box_answers.push((pairs.len() * 2 + 1, n));
            pairs.push((q.phrasings[i].clone(), q.answer(&boxes)));
            counted.push(q.id.clone());
        }
    }
    if let (TurnOrder::Radiochat, Some(last)) = (asked.order, describe) {
        pairs.push(last);
        counted.push("describe".into());
    }
    if pairs.is_empty() {
        return None;
    }
    let mut turns = Vec::new();
    for (i, (question, answer)) in pairs.into_iter().enumerate() {
        let value = if i == 0 {
            format!("<image>\n{question}")
        } else {
            question
        };
        turns.push(Turn {
            from: "human".into(),
            value,
        });
        turns.push(Turn {
            from: "gpt".into(),
            value: answer,
        });
    }
    Some(Planned {
        id: String::new(),
        image: PathBuf::new(),
        file: String::new(),
        turns,
        val: false,
        counted,
        boxes,
        box_answers,
        tags: item.label.tags(),
        caption: None,
    })
}

/// A deterministic number in [0, 1) from the seed and some words.
pub(super) fn unit(seed: u64, words: &[&str]) -> f64 {
    (stable_u64(seed, words) >> 11) as f64 / (1u64 << 53) as f64
}

fn pick(seed: u64, words: &[&str], n: usize) -> usize {
    ((unit(seed, words) * n as f64) as usize).min(n.saturating_sub(1))
}
