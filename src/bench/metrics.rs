//! Classification metrics, computed as scikit-learn computes them (checked against it to
//! 1e-9 in tests/metrics_sklearn.rs): zero divisions give 0 (sklearn's default), F1 is
//! 2·tp / (true + predicted), weighted averages weigh by true support.
//!
//! Single-label: the labels are those present in truth or predictions, sorted (sklearn's
//! `unique_labels`). Multi-label: one indicator column per task class, in task order
//! (radio-llava's MultiLabelBinarizer over all class ids).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// The JSON keys are part of radiochat's interface (`bench score --json`); see docs/benchmarks.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Items scored.
    pub n: usize,
    /// Single-label: fraction right. Multi-label: exact-match ratio (sklearn's subset accuracy).
    pub accuracy: f64,
    pub precision_weighted: f64,
    pub recall_weighted: f64,
    pub f1_weighted: f64,
    pub precision_macro: f64,
    pub recall_macro: f64,
    pub f1_macro: f64,
    pub precision_micro: f64,
    pub recall_micro: f64,
    pub f1_micro: f64,
    pub per_class: Vec<ClassScore>,
    /// Row/column order of the confusion matrices.
    pub labels: Vec<String>,
    /// Single-label: counts, rows = truth, columns = prediction. Multi-label: one
    /// `[[tn, fp], [fn, tp]]` per label (sklearn's multilabel_confusion_matrix).
    pub confusion_matrix: Vec<Vec<Vec<u64>>>,
    /// Each row divided by its sum (sklearn's normalize="true"; empty rows 0). Multi-label: the
    /// two rows of each label's 2×2 block, stacked in label order.
    pub confusion_matrix_normalized: Vec<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hamming_loss: Option<f64>,
    /// radio-llava's hamming score: mean over items of |truth ∩ pred| / |truth ∪ pred|
    /// (both empty = 1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hamming_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exact_match: Option<f64>,
}

/// `a / b`, or 0 when `b` is 0 (sklearn's zero_division=0).
pub(super) fn divide(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// Per-label counts: (tp, predicted, true).
struct Counts {
    tp: Vec<f64>,
    predicted: Vec<f64>,
    actual: Vec<f64>,
}

impl Counts {
    fn scores(&self, labels: &[String]) -> Vec<ClassScore> {
        labels
            .iter()
            .enumerate()
            .map(|(i, label)| ClassScore {
                label: label.clone(),
                precision: divide(self.tp[i], self.predicted[i]),
                recall: divide(self.tp[i], self.actual[i]),
                f1: divide(2.0 * self.tp[i], self.actual[i] + self.predicted[i]),
                support: self.actual[i] as u64,
            })
            .collect()
    }

    /// (weighted, macro, micro) for precision, recall, F1.
    fn averages(&self, per_class: &[ClassScore]) -> [[f64; 3]; 3] {
        let total: f64 = self.actual.iter().sum();
        let weighted = |f: fn(&ClassScore) -> f64| {
            divide(
                per_class.iter().map(|c| f(c) * c.support as f64).sum(),
                total,
            )
        };
        let macro_ = |f: fn(&ClassScore) -> f64| {
            divide(per_class.iter().map(f).sum(), per_class.len() as f64)
        };
        let (tp, predicted): (f64, f64) = (self.tp.iter().sum(), self.predicted.iter().sum());
        let micro = [
            divide(tp, predicted),
            divide(tp, total),
            divide(2.0 * tp, total + predicted),
        ];
        [
            [
                weighted(|c| c.precision),
                weighted(|c| c.recall),
                weighted(|c| c.f1),
            ],
            [
                macro_(|c| c.precision),
                macro_(|c| c.recall),
                macro_(|c| c.f1),
            ],
            micro,
        ]
    }
}

fn assemble(
    n: usize,
    accuracy: f64,
    labels: Vec<String>,
    counts: &Counts,
    confusion_matrix: Vec<Vec<Vec<u64>>>,
    confusion_matrix_normalized: Vec<Vec<f64>>,
) -> Metrics {
    let per_class = counts.scores(&labels);
    let [[pw, rw, fw], [pm, rm, fm], [pu, ru, fu]] = counts.averages(&per_class);
    Metrics {
        n,
        accuracy,
        precision_weighted: pw,
        recall_weighted: rw,
        f1_weighted: fw,
        precision_macro: pm,
        recall_macro: rm,
        f1_macro: fm,
        precision_micro: pu,
        recall_micro: ru,
        f1_micro: fu,
        per_class,
        labels,
        confusion_matrix,
        confusion_matrix_normalized,
        hamming_loss: None,
        hamming_score: None,
        exact_match: None,
    }
}

/// Single-label metrics of `pred` against `truth` (same length), over the labels either holds
/// (sklearn's default).
pub fn single_label(truth: &[String], pred: &[String]) -> Metrics {
    let mut labels: Vec<String> = truth.iter().chain(pred).cloned().collect();
    labels.sort();
    labels.dedup();
    single_label_over(truth, pred, labels)
}

/// Single-label metrics over `labels` in their order (sklearn's `labels=`): labels no item has
/// are reported with zero support; a pair with a label outside them is left out.
pub fn single_label_over(truth: &[String], pred: &[String], labels: Vec<String>) -> Metrics {
    let index = |l: &String| labels.iter().position(|x| x == l);
    let k = labels.len();
    let mut matrix = vec![vec![0u64; k]; k];
    for (t, p) in truth.iter().zip(pred) {
        if let (Some(t), Some(p)) = (index(t), index(p)) {
            matrix[t][p] += 1;
        }
    }
    let counts = Counts {
        tp: (0..k).map(|i| matrix[i][i] as f64).collect(),
        predicted: (0..k)
            .map(|j| matrix.iter().map(|row| row[j]).sum::<u64>() as f64)
            .collect(),
        actual: matrix
            .iter()
            .map(|row| row.iter().sum::<u64>() as f64)
            .collect(),
    };
    let normalized = row_normalised(&matrix);
    let right = truth.iter().zip(pred).filter(|(t, p)| t == p).count();
    let n = truth.len();
    assemble(
        n,
        divide(right as f64, n as f64),
        labels,
        &counts,
        vec![matrix],
        normalized,
    )
}

/// Each row divided by its sum (sklearn's normalize="true"; an empty row stays zeros).
fn row_normalised(matrix: &[Vec<u64>]) -> Vec<Vec<f64>> {
    matrix
        .iter()
        .map(|row| {
            let sum: u64 = row.iter().sum();
            row.iter().map(|&v| divide(v as f64, sum as f64)).collect()
        })
        .collect()
}

/// Multi-label metrics over the indicator columns `classes`.
pub fn multi_label(truth: &[Vec<String>], pred: &[Vec<String>], classes: &[String]) -> Metrics {
    let k = classes.len();
    let row = |labels: &Vec<String>| -> Vec<bool> {
        classes.iter().map(|c| labels.contains(c)).collect()
    };
    let (t_rows, p_rows): (Vec<Vec<bool>>, Vec<Vec<bool>>) = (
        truth.iter().map(row).collect(),
        pred.iter().map(row).collect(),
    );
    let n = truth.len();
    let mut per_label = vec![[[0u64; 2]; 2]; k];
    let (mut exact, mut mismatched_cells, mut hamming_score) = (0usize, 0usize, 0.0f64);
    for (t, p) in t_rows.iter().zip(&p_rows) {
        if t == p {
            exact += 1;
        }
        let (mut both, mut either) = (0usize, 0usize);
        for j in 0..k {
            per_label[j][usize::from(t[j])][usize::from(p[j])] += 1;
            mismatched_cells += usize::from(t[j] != p[j]);
            both += usize::from(t[j] && p[j]);
            either += usize::from(t[j] || p[j]);
        }
        hamming_score += if either == 0 {
            1.0
        } else {
            both as f64 / either as f64
        };
    }
    let counts = Counts {
        tp: per_label.iter().map(|m| m[1][1] as f64).collect(),
        predicted: per_label
            .iter()
            .map(|m| (m[0][1] + m[1][1]) as f64)
            .collect(),
        actual: per_label
            .iter()
            .map(|m| (m[1][0] + m[1][1]) as f64)
            .collect(),
    };
    let confusion: Vec<Vec<Vec<u64>>> = per_label
        .iter()
        .map(|m| vec![m[0].to_vec(), m[1].to_vec()])
        .collect();
    // Each label's two rows, normalised, stacked in label order.
    let normalized = confusion.iter().flat_map(|m| row_normalised(m)).collect();
    let exact_match = divide(exact as f64, n as f64);
    let mut metrics = assemble(
        n,
        exact_match,
        classes.to_vec(),
        &counts,
        confusion,
        normalized,
    );
    metrics.hamming_loss = Some(divide(mismatched_cells as f64, (n * k) as f64));
    metrics.hamming_score = Some(divide(hamming_score, n as f64));
    metrics.exact_match = Some(exact_match);
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_hand_checked_single_label_case() {
        // truth: A A B C; pred: A B B B → A: tp1 p1 t2; B: tp1 p3 t1; C: tp0 p0 t1.
        let m = single_label(&s(&["A", "A", "B", "C"]), &s(&["A", "B", "B", "B"]));
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.labels, s(&["A", "B", "C"]));
        assert_eq!(
            m.confusion_matrix[0],
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 1, 0]]
        );
        assert_eq!(m.per_class[1].precision, 1.0 / 3.0);
        assert_eq!(m.per_class[2].f1, 0.0);
        assert!((m.precision_weighted - (2.0 * 1.0 + 1.0 / 3.0) / 4.0).abs() < 1e-15);
        assert_eq!(m.f1_micro, 0.5);
        assert_eq!(m.confusion_matrix_normalized[2], vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn a_hand_checked_multi_label_case() {
        let classes = s(&["NONE", "X", "Y"]);
        let truth = vec![s(&["X"]), s(&["X", "Y"]), s(&["NONE"])];
        let pred = vec![s(&["X"]), s(&["Y"]), s(&[])];
        let m = multi_label(&truth, &pred, &classes);
        assert_eq!(m.exact_match, Some(1.0 / 3.0));
        // Cells wrong: item 2 X, item 3 NONE → 2 of 9.
        assert_eq!(m.hamming_loss, Some(2.0 / 9.0));
        // Per item: 1, 1/2, 0 (empty prediction vs NONE).
        assert_eq!(m.hamming_score, Some(0.5));
        assert_eq!(m.confusion_matrix[1], vec![vec![1, 0], vec![1, 1]]);
        assert_eq!(
            m.confusion_matrix_normalized[2..4],
            [[1.0, 0.0], [0.5, 0.5]]
        );
    }
}
