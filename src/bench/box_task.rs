//! Box tasks (L1): an item per annotated image and class (`IMAGE:CLASS`), its truth the boxes of
//! that class as `[x, y, w, h]` texts; the answer is read as a box list. Scored two ways: the
//! boxes matched at IoU ≥ 0.5 (localisation), and, as labels, whether boxes were given exactly
//! where the class has sources (presence: YES/NO), so the usual tables still mean something.

use super::labels::Unfit;
use super::localisation::{self, Detection, ImageBoxes, Localisation};
use super::metrics::{self, Metrics};
use super::objects::{self, Annotations, SourceBox, SourceClass};
use super::parse::ParseMode;
use super::parse_boxes::parse_boxes;
use super::predictions::Prediction;
use super::task::TaskSpec;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The presence label of an item whose class has sources (truth) or was given boxes (answer).
pub const PRESENT: &str = "YES";
pub const ABSENT: &str = "NO";

/// What a box task's label metrics are, for reports.
pub const PRESENCE_NOTE: &str =
    "labels: presence (YES where the class has sources / where the answer gave boxes)";

/// Localisation with invalid answers left out, and with them counted as finding nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalisationScore {
    pub valid_only: Localisation,
    pub invalid_as_wrong: Localisation,
}

/// One item of a box task: `IMAGE:CLASS`, the class's boxes, a few-shot answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxItem {
    pub sname: String,
    pub truth: Vec<String>,
    pub context_answer: String,
}

impl LocalisationScore {
    /// Rows for tables: each class and overall with invalid answers left out, then overall
    /// with them counted as finding nothing.
    pub fn rows(&self) -> Vec<(&str, &Detection)> {
        let mut rows = self.valid_only.rows();
        rows.push(("overall, invalid = none", &self.invalid_as_wrong.overall));
        rows
    }

    /// [`rows`](Self::rows) as table cells under a header: class, precision, recall, F1, mean
    /// IoU (to `decimals`), TP, FP, FN.
    pub fn table(&self, decimals: usize) -> Vec<Vec<String>> {
        let header = [
            "class",
            "precision",
            "recall",
            "F1",
            "mean IoU",
            "TP",
            "FP",
            "FN",
        ];
        let mut table = vec![header.map(String::from).to_vec()];
        for (class, d) in self.rows() {
            let mut row = vec![class.to_string()];
            row.extend(
                [d.precision, d.recall, d.f1, d.mean_iou].map(|v| format!("{v:.decimals$}")),
            );
            row.extend(d.counts().map(|n| n.to_string()));
            table.push(row);
        }
        table
    }
}

/// The items of one dataset entry (`sname`, its `image` and what its annotations read): one
/// per class of the task. An image without annotations, or with a bad annotation line (its
/// truth would be incomplete), does not fit.
pub fn items(
    sname: &str,
    image: &Path,
    annotations: Result<Option<Annotations>, String>,
    task: &TaskSpec,
) -> Result<Vec<BoxItem>, Unfit> {
    let annotations = annotations.map_err(Unfit)?.ok_or_else(|| {
        Unfit(format!(
            "no source boxes (neither `objects` nor the radio-YOLO label file {})",
            objects::yolo_label_path(image).display()
        ))
    })?;
    if let Some(first) = annotations.skipped.first() {
        return Err(Unfit(format!("a bad source box: {first}")));
    }
    Ok(task
        .classes
        .iter()
        .filter_map(|name| SourceClass::parse(name))
        .map(|class| {
            let boxes: Vec<SourceBox> = annotations
                .boxes
                .iter()
                .filter(|b| b.class == class)
                .copied()
                .collect();
            BoxItem {
                sname: format!("{sname}:{}", class.name()),
                truth: truth_texts(&boxes),
                context_answer: context_answer(class, &boxes),
            }
        })
        .collect())
}

/// Boxes as the truth keeps them: six decimals, enough to rebuild the annotation.
pub fn truth_texts(boxes: &[SourceBox]) -> Vec<String> {
    let text = |b: &SourceBox| {
        let numbers = b.numbers().map(|v| format!("{}", (v * 1e6).round() / 1e6));
        format!("[{}]", numbers.join(", "))
    };
    boxes.iter().map(text).collect()
}

/// A few-shot example's answer: the boxes as radio-llava writes them, or that there are none.
pub fn context_answer(class: SourceClass, boxes: &[SourceBox]) -> String {
    if boxes.is_empty() {
        format!(
            "The image does not contain {} sources.",
            class.name().to_lowercase()
        )
    } else {
        objects::box_list(boxes, class)
    }
}

/// The class an item asks about (`IMAGE:CLASS`).
pub fn subject(task: &TaskSpec, sname: &str) -> Option<SourceClass> {
    SourceClass::parse(task.subject(sname))
}

/// An item's truth boxes.
pub fn truth_boxes(class: SourceClass, truth: &[String]) -> Vec<SourceBox> {
    truth
        .iter()
        .filter_map(|t| parse_boxes(t, ParseMode::Strict))
        .flatten()
        .filter_map(|numbers| SourceBox::new(class, numbers).ok())
        .collect()
}

/// The boxes read from an answer, as texts (`None`: not readable as boxes).
pub fn read_answer(answer: &str, mode: ParseMode) -> Option<Vec<String>> {
    let boxes = parse_boxes(answer, mode)?;
    Some(
        boxes
            .iter()
            .map(|b| format!("[{}]", b.map(|v| v.to_string()).join(", ")))
            .collect(),
    )
}

/// Whether the answer found every true box and no other.
pub fn all_found(task: &TaskSpec, prediction: &Prediction) -> bool {
    let (Some(class), Some(pred)) = (subject(task, &prediction.sname), &prediction.pred) else {
        return false;
    };
    let truth = truth_boxes(class, &prediction.truth);
    let predicted = truth_boxes(class, pred);
    let numbers = |boxes: &[SourceBox]| boxes.iter().map(SourceBox::numbers).collect::<Vec<_>>();
    predicted.len() == truth.len()
        && localisation::match_boxes(&numbers(&predicted), &numbers(&truth)).len() == truth.len()
}

/// Presence metrics (invalid left out, invalid as wrong) and localisation of the asked items;
/// `parsed[i]` is the answer of `asked[i]` read as boxes.
pub fn scores(
    task: &TaskSpec,
    asked: &[&Prediction],
    parsed: &[Option<Vec<String>>],
    invalid_label: &str,
) -> (Metrics, Metrics, LocalisationScore) {
    let presence = |boxes: &[String]| if boxes.is_empty() { ABSENT } else { PRESENT };
    let mut truth = Vec::new();
    let mut pred = Vec::new();
    let mut all_truth = Vec::new();
    let mut all_pred = Vec::new();
    let mut valid_images = Vec::new();
    let mut all_images = Vec::new();
    for (p, q) in asked.iter().zip(parsed) {
        let Some(class) = subject(task, &p.sname) else {
            continue;
        };
        let true_boxes = truth_boxes(class, &p.truth);
        let answered = q.as_deref().map(|q| truth_boxes(class, q));
        all_truth.push(presence(&p.truth).to_string());
        all_pred.push(q.as_deref().map_or(invalid_label, presence).to_string());
        all_images.push(ImageBoxes {
            predicted: answered.clone().unwrap_or_default(),
            truth: true_boxes.clone(),
        });
        if let (Some(q), Some(answered)) = (q, answered) {
            truth.push(presence(&p.truth).to_string());
            pred.push(presence(q).to_string());
            valid_images.push(ImageBoxes {
                predicted: answered,
                truth: true_boxes,
            });
        }
    }
    (
        metrics::single_label(&truth, &pred),
        metrics::single_label(&all_truth, &all_pred),
        LocalisationScore {
            valid_only: localisation::localisation(&valid_images),
            invalid_as_wrong: localisation::localisation(&all_images),
        },
    )
}

#[cfg(test)]
#[path = "box_task_tests.rs"]
mod tests;
