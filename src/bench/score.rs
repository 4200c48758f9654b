//! Metrics of a set of predictions: invalid answers excluded (radio-llava's convention) and,
//! separately, counted as wrong; the invalid rate under both parsers.

use super::box_task::{self, LocalisationScore};
use super::metrics::{self, Metrics};
use super::metrics_class_id::{self, ClassIdMetrics};
use super::parse::{self, ParseMode};
use super::predictions::Prediction;
use super::task::TaskSpec;
use serde::{Deserialize, Serialize};

/// What a wrong-because-invalid single-label answer is scored as.
pub const INVALID_LABEL: &str = "(invalid)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub task: String,
    pub parse: ParseMode,
    /// Predictions read.
    pub items: usize,
    /// Items that could not be asked (image or engine errors); in no metric.
    pub errors: usize,
    /// Answers the parser could not read.
    pub invalid: usize,
    /// invalid / (items − errors).
    pub invalid_rate: f64,
    /// Unreadable under the strict and the lenient parser, whichever is in use.
    pub invalid_strict: usize,
    pub invalid_lenient: usize,
    /// Invalid answers left out (radio-llava's numbers).
    pub metrics: Metrics,
    /// Invalid answers counted as wrong.
    pub metrics_invalid_as_wrong: Metrics,
    /// radio-llava's report over the valid answers: every class in class-id order.
    #[serde(default)]
    pub radio_llava: Option<ClassIdMetrics>,
    /// A box task's boxes matched to the truth (its `metrics` are then presence, YES/NO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localisation: Option<LocalisationScore>,
}

impl Score {
    /// The main metrics as (name, invalid excluded, invalid counted as wrong), for tables.
    pub fn headline(&self) -> [(&'static str, f64, f64); 6] {
        let (m, w) = (&self.metrics, &self.metrics_invalid_as_wrong);
        [
            ("accuracy", m.accuracy, w.accuracy),
            (
                "precision (weighted)",
                m.precision_weighted,
                w.precision_weighted,
            ),
            ("recall (weighted)", m.recall_weighted, w.recall_weighted),
            ("F1 (weighted)", m.f1_weighted, w.f1_weighted),
            ("F1 (macro)", m.f1_macro, w.f1_macro),
            ("F1 (micro)", m.f1_micro, w.f1_micro),
        ]
    }
}

/// An answer as the task reads it: labels, or a box task's boxes as texts.
pub fn read(task: &TaskSpec, answer: &str, mode: ParseMode) -> Option<Vec<String>> {
    if task.asks_for_boxes() {
        box_task::read_answer(answer, mode)
    } else {
        parse::parse(task, answer, mode)
    }
}

/// Whether a finished item was answered right: its labels, or every box found and no other.
pub fn is_correct(task: &TaskSpec, prediction: &Prediction) -> bool {
    if task.asks_for_boxes() {
        return box_task::all_found(task, prediction);
    }
    prediction.error.is_none() && prediction.pred.as_ref() == Some(&prediction.truth)
}

pub fn score(task: &TaskSpec, predictions: &[Prediction], mode: ParseMode) -> Score {
    let asked: Vec<&Prediction> = predictions.iter().filter(|p| p.error.is_none()).collect();
    let read = |p: &Prediction, mode| read(task, &p.raw, mode);
    let parsed: Vec<Option<Vec<String>>> = asked.iter().map(|p| read(p, mode)).collect();
    let count_invalid = |mode| asked.iter().filter(|p| read(p, mode).is_none()).count();
    let invalid = parsed.iter().filter(|p| p.is_none()).count();
    let valid: Vec<(&Prediction, &Vec<String>)> = asked
        .iter()
        .zip(&parsed)
        .filter_map(|(p, q)| q.as_ref().map(|q| (*p, q)))
        .collect();
    let mut localisation = None;
    let (metrics, as_wrong, by_class_id) = if task.asks_for_boxes() {
        let (presence, presence_as_wrong, boxes) =
            box_task::scores(task, &asked, &parsed, INVALID_LABEL);
        localisation = Some(boxes);
        (presence, presence_as_wrong, None)
    } else if task.multi_label {
        let truth: Vec<Vec<String>> = valid.iter().map(|(p, _)| p.truth.clone()).collect();
        let pred: Vec<Vec<String>> = valid.iter().map(|(_, q)| (*q).clone()).collect();
        let all_truth: Vec<Vec<String>> = asked.iter().map(|p| p.truth.clone()).collect();
        let all_pred: Vec<Vec<String>> = parsed
            .iter()
            .map(|q| q.clone().unwrap_or_default())
            .collect();
        let valid_only = metrics::multi_label(&truth, &pred, &task.classes);
        let by_class_id = metrics_class_id::from_multi_label(&valid_only);
        (
            valid_only,
            metrics::multi_label(&all_truth, &all_pred, &task.classes),
            Some(by_class_id),
        )
    } else {
        let first = |labels: &Vec<String>| labels.first().cloned().unwrap_or_default();
        let truth: Vec<String> = valid.iter().map(|(p, _)| first(&p.truth)).collect();
        let pred: Vec<String> = valid.iter().map(|(_, q)| first(q)).collect();
        let all_truth: Vec<String> = asked.iter().map(|p| first(&p.truth)).collect();
        let all_pred: Vec<String> = parsed
            .iter()
            .map(|q| {
                q.as_ref()
                    .map(first)
                    .unwrap_or_else(|| INVALID_LABEL.into())
            })
            .collect();
        (
            metrics::single_label(&truth, &pred),
            metrics::single_label(&all_truth, &all_pred),
            Some(metrics_class_id::single_label(&truth, &pred, &task.classes)),
        )
    };
    Score {
        task: task.id.clone(),
        parse: mode,
        items: predictions.len(),
        errors: predictions.len() - asked.len(),
        invalid,
        invalid_rate: if asked.is_empty() {
            0.0
        } else {
            invalid as f64 / asked.len() as f64
        },
        invalid_strict: count_invalid(ParseMode::Strict),
        invalid_lenient: count_invalid(ParseMode::Lenient),
        metrics,
        metrics_invalid_as_wrong: as_wrong,
        radio_llava: by_class_id,
        localisation,
    }
}
