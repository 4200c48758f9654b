//! The metrics as radio-llava reports them (`multiclass_*_metrics` with `labels` = every class
//! id): the classification report over all of the task's classes in class-id order, those
//! no item has included (so the macro average is over all classes), confusion matrices raw
//! and row-normalised, each class's accuracy on its binarised column, and for multi-label
//! tasks the micro ROC AUC of the hard predictions. Each equals scikit-learn's.

use super::metrics::{ClassScore, Counts, divide};
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

fn normalised(matrix: &[Vec<u64>]) -> Vec<Vec<f64>> {
    matrix
        .iter()
        .map(|row| {
            let sum: u64 = row.iter().sum();
            row.iter().map(|&v| divide(v as f64, sum as f64)).collect()
        })
        .collect()
}

fn assemble(
    classes: &[String],
    counts: &Counts,
    matrices: Vec<Vec<Vec<u64>>>,
    accuracy_per_class: Vec<f64>,
    roc_auc_micro: Option<f64>,
) -> ClassIdMetrics {
    let per_class = counts.scores(classes);
    let [[pw, rw, fw], [pm, rm, fm], _] = counts.averages(&per_class);
    ClassIdMetrics {
        labels: classes.to_vec(),
        per_class,
        precision_macro: pm,
        recall_macro: rm,
        f1_macro: fm,
        precision_weighted: pw,
        recall_weighted: rw,
        f1_weighted: fw,
        confusion_matrix_normalized: matrices.iter().map(|m| normalised(m)).collect(),
        confusion_matrix: matrices,
        accuracy_per_class,
        roc_auc_micro,
    }
}

/// Single-label: `truth` and `pred` are class names of `classes` (others are left out).
pub fn single_label(truth: &[String], pred: &[String], classes: &[String]) -> ClassIdMetrics {
    let k = classes.len();
    let id = |label: &String| classes.iter().position(|c| c == label);
    let mut matrix = vec![vec![0u64; k]; k];
    let mut n = 0u64;
    for (t, p) in truth.iter().zip(pred) {
        if let (Some(t), Some(p)) = (id(t), id(p)) {
            matrix[t][p] += 1;
            n += 1;
        }
    }
    let column = |j: usize| matrix.iter().map(|row| row[j]).sum::<u64>();
    let counts = Counts {
        tp: (0..k).map(|i| matrix[i][i] as f64).collect(),
        predicted: (0..k).map(|j| column(j) as f64).collect(),
        actual: matrix
            .iter()
            .map(|r| r.iter().sum::<u64>() as f64)
            .collect(),
    };
    // Binarised column i: wrong where exactly one of truth and prediction is class i.
    let accuracy = (0..k)
        .map(|i| {
            let wrong = counts.actual[i] + counts.predicted[i] - 2.0 * counts.tp[i];
            divide(n as f64 - wrong, n as f64)
        })
        .collect();
    assemble(classes, &counts, vec![matrix], accuracy, None)
}

/// Multi-label: each item's label set, binarised over `classes`.
pub fn multi_label(
    truth: &[Vec<String>],
    pred: &[Vec<String>],
    classes: &[String],
) -> ClassIdMetrics {
    let k = classes.len();
    let mut per_label = vec![vec![vec![0u64; 2]; 2]; k];
    for (t, p) in truth.iter().zip(pred) {
        for (j, class) in classes.iter().enumerate() {
            per_label[j][usize::from(t.contains(class))][usize::from(p.contains(class))] += 1;
        }
    }
    let cell = |j: usize, t: usize, p: usize| per_label[j][t][p] as f64;
    let counts = Counts {
        tp: (0..k).map(|j| cell(j, 1, 1)).collect(),
        predicted: (0..k).map(|j| cell(j, 0, 1) + cell(j, 1, 1)).collect(),
        actual: (0..k).map(|j| cell(j, 1, 0) + cell(j, 1, 1)).collect(),
    };
    let n = truth.len() as f64;
    let accuracy = (0..k)
        .map(|j| divide(cell(j, 0, 0) + cell(j, 1, 1), n))
        .collect();
    let sum = |t: usize, p: usize| (0..k).map(|j| cell(j, t, p)).sum::<f64>();
    let (positives, negatives) = (sum(1, 0) + sum(1, 1), sum(0, 0) + sum(0, 1));
    // With 0/1 scores the ROC curve has one inner point: AUC = (TPR + 1 − FPR) / 2.
    let roc_auc = (positives > 0.0 && negatives > 0.0)
        .then(|| 0.5 * (sum(1, 1) / positives + 1.0 - sum(0, 1) / negatives));
    assemble(classes, &counts, per_label, accuracy, roc_auc)
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
