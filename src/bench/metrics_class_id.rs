//! The metrics as radio-llava reports them (`multiclass_*_metrics` with `labels` = every class
//! id): the classification report over all of the task's classes in class-id order, those
//! no item has included (so the macro average is over all classes), confusion matrices raw
//! and row-normalised, each class's accuracy on its binarised column, and for multi-label
//! tasks the micro ROC AUC of the hard predictions. Each equals scikit-learn's.

use super::metrics::{self, ClassScore, Metrics};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassIdMetrics {
    /// The task's classes in class-id order (radio-llava's label2id).
    pub labels: Vec<String>,
    pub per_class: Vec<ClassScore>,
    pub precision_macro: f64,
    pub recall_macro: f64,
    pub f1_macro: f64,
    pub precision_weighted: f64,
    pub recall_weighted: f64,
    pub f1_weighted: f64,
    /// Single-label: one `[true][predicted]` matrix; multi-label: `[[tn, fp], [fn, tp]]` per
    /// class.
    pub confusion_matrix: Vec<Vec<Vec<u64>>>,
    /// The same, each row divided by its sum (an empty row stays zeros, as in sklearn).
    pub confusion_matrix_normalized: Vec<Vec<Vec<f64>>>,
    /// Per class: the share of items whose "has this class" is predicted right.
    pub accuracy_per_class: Vec<f64>,
    /// Multi-label: ROC AUC over every (item, class) cell, hard predictions as scores;
    /// `None` when the cells are all positive or all negative (sklearn refuses those).
    pub roc_auc_micro: Option<f64>,
}

/// `part / whole` of counts, 0 for no whole.
fn share(part: u64, whole: u64) -> f64 {
    metrics::divide(part as f64, whole as f64)
}

/// The report's common part: what `m`, computed over every class, already holds.
fn from_metrics(
    m: &Metrics,
    normalized: Vec<Vec<Vec<f64>>>,
    accuracy_per_class: Vec<f64>,
    roc_auc_micro: Option<f64>,
) -> ClassIdMetrics {
    ClassIdMetrics {
        labels: m.labels.clone(),
        per_class: m.per_class.clone(),
        precision_macro: m.precision_macro,
        recall_macro: m.recall_macro,
        f1_macro: m.f1_macro,
        precision_weighted: m.precision_weighted,
        recall_weighted: m.recall_weighted,
        f1_weighted: m.f1_weighted,
        confusion_matrix: m.confusion_matrix.clone(),
        confusion_matrix_normalized: normalized,
        accuracy_per_class,
        roc_auc_micro,
    }
}

/// Single-label: `truth` and `pred` are class names of `classes` (others are left out).
pub fn single_label(truth: &[String], pred: &[String], classes: &[String]) -> ClassIdMetrics {
    let m = metrics::single_label_over(truth, pred, classes.to_vec());
    let matrix = &m.confusion_matrix[0];
    let n: u64 = matrix.iter().flatten().sum();
    // Binarised column i: wrong where exactly one of truth and prediction is class i.
    let accuracy = (0..matrix.len())
        .map(|i| {
            let actual: u64 = matrix[i].iter().sum();
            let predicted: u64 = matrix.iter().map(|row| row[i]).sum();
            share(n + 2 * matrix[i][i] - actual - predicted, n)
        })
        .collect();
    let normalized = vec![m.confusion_matrix_normalized.clone()];
    from_metrics(&m, normalized, accuracy, None)
}

/// Multi-label: each item's label set, binarised over `classes`.
pub fn multi_label(
    truth: &[Vec<String>],
    pred: &[Vec<String>],
    classes: &[String],
) -> ClassIdMetrics {
    from_multi_label(&metrics::multi_label(truth, pred, classes))
}

/// Multi-label, from the metrics over the task's classes (their per-class `[[tn, fp], [fn,
/// tp]]` blocks hold everything else).
pub fn from_multi_label(m: &Metrics) -> ClassIdMetrics {
    let blocks = &m.confusion_matrix;
    let n = m.n as u64;
    let accuracy = blocks.iter().map(|b| share(b[0][0] + b[1][1], n)).collect();
    let sum = |t: usize, p: usize| blocks.iter().map(|b| b[t][p]).sum::<u64>();
    let (positives, negatives) = (sum(1, 0) + sum(1, 1), sum(0, 0) + sum(0, 1));
    // With 0/1 scores the ROC curve has one inner point: AUC = (TPR + 1 − FPR) / 2.
    let roc_auc = (positives > 0 && negatives > 0)
        .then(|| 0.5 * (share(sum(1, 1), positives) + 1.0 - share(sum(0, 1), negatives)));
    let normalized = m
        .confusion_matrix_normalized
        .chunks(2)
        .map(<[Vec<f64>]>::to_vec)
        .collect();
    from_metrics(m, normalized, accuracy, roc_auc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn classes_no_item_has_are_reported_and_averaged_over() {
        let classes = s(&["NONE", "FR-I", "FR-II"]);
        let m = single_label(&s(&["FR-I", "FR-II"]), &s(&["FR-I", "FR-I"]), &classes);
        assert_eq!(m.labels, classes);
        assert_eq!(m.per_class[0].support, 0);
        assert_eq!(m.confusion_matrix[0], [[0, 0, 0], [0, 1, 0], [0, 1, 0]]);
        assert_eq!(m.confusion_matrix_normalized[0][0], [0.0, 0.0, 0.0]);
        assert_eq!(m.confusion_matrix_normalized[0][2], [0.0, 1.0, 0.0]);
        // F1: NONE 0, FR-I 2/3, FR-II 0 — the macro average counts NONE.
        assert!((m.f1_macro - 2.0 / 9.0).abs() < 1e-12);
        assert_eq!(m.accuracy_per_class, [1.0, 0.5, 0.5]);
    }

    #[test]
    fn multi_label_auc_and_normalised_matrices() {
        let classes = s(&["NONE", "EXTENDED", "DIFFUSE"]);
        let truth = vec![s(&["EXTENDED"]), s(&["NONE"])];
        let pred = vec![s(&["EXTENDED", "DIFFUSE"]), s(&["NONE"])];
        let m = multi_label(&truth, &pred, &classes);
        assert_eq!(m.confusion_matrix[2], [[1, 1], [0, 0]]);
        assert_eq!(m.confusion_matrix_normalized[2], [[0.5, 0.5], [0.0, 0.0]]);
        // Cells: 2 positives both found, 4 negatives one predicted: (1 + 1 − 1/4) / 2.
        assert_eq!(m.roc_auc_micro, Some(0.875));
        assert_eq!(m.accuracy_per_class, [1.0, 1.0, 0.5]);
        let all_negative = multi_label(&[s(&[])], &[s(&[])], &classes);
        assert_eq!(all_negative.roc_auc_micro, None);
    }
}
