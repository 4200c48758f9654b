//! Scoring source localisation: box lists read from answers, predicted boxes matched to true
//! ones per class at IoU ≥ 0.5, and precision, recall, F1 and the mean IoU of the matches, per
//! class and over all classes (counts summed, as detection benchmarks do).
//!
//! Matching without confidences: every (predicted, true) pair of a class with IoU ≥ the
//! threshold, taken in order of falling IoU (ties: earlier prediction, then earlier truth), each
//! box used once — the greedy assignment detection evaluations make when all scores are equal.

use super::objects::{SourceBox, SourceClass};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The IoU a predicted box needs to count as finding a true one.
pub const IOU_THRESHOLD: f64 = 0.5;

/// Intersection over union of two boxes (centre and size).
pub fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let edges = |[x, y, w, h]: [f64; 4]| (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0);
    let (ax0, ay0, ax1, ay1) = edges(a);
    let (bx0, by0, bx1, by1) = edges(b);
    let iw = (ax1.min(bx1) - ax0.max(bx0)).max(0.0);
    let ih = (ay1.min(by1) - ay0.max(by0)).max(0.0);
    let inter = iw * ih;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// The pairs (prediction index, truth index, IoU) matched, in the order they were taken.
pub fn match_boxes(predicted: &[[f64; 4]], truth: &[[f64; 4]]) -> Vec<(usize, usize, f64)> {
    let mut pairs: Vec<(usize, usize, f64)> = predicted
        .iter()
        .enumerate()
        .flat_map(|(p, a)| {
            truth
                .iter()
                .enumerate()
                .map(move |(t, b)| (p, t, iou(*a, *b)))
        })
        .filter(|&(_, _, v)| v >= IOU_THRESHOLD)
        .collect();
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let (mut used_p, mut used_t) = (vec![false; predicted.len()], vec![false; truth.len()]);
    let mut matched = Vec::new();
    for (p, t, v) in pairs {
        if !used_p[p] && !used_t[t] {
            used_p[p] = true;
            used_t[t] = true;
            matched.push((p, t, v));
        }
    }
    matched
}

/// Counts and scores of one class, or of all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Mean IoU of the matched pairs (0 when none matched).
    pub mean_iou: f64,
}

impl Detection {
    /// True positives, false positives, false negatives.
    pub fn counts(&self) -> [usize; 3] {
        [
            self.true_positives,
            self.false_positives,
            self.false_negatives,
        ]
    }

    fn from_counts(tp: usize, fp: usize, fn_: usize, iou_sum: f64) -> Detection {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Detection {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            precision,
            recall,
            f1,
            mean_iou: if tp == 0 { 0.0 } else { iou_sum / tp as f64 },
        }
    }
}

/// Localisation scores: per class (by name) and overall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Localisation {
    pub per_class: BTreeMap<String, Detection>,
    pub overall: Detection,
}

impl Localisation {
    /// Rows for tables: each class, then `overall`.
    pub fn rows(&self) -> Vec<(&str, &Detection)> {
        self.per_class
            .iter()
            .map(|(name, d)| (name.as_str(), d))
            .chain(std::iter::once(("overall", &self.overall)))
            .collect()
    }
}

/// One image's boxes, predicted and true (any classes).
pub struct ImageBoxes {
    pub predicted: Vec<SourceBox>,
    pub truth: Vec<SourceBox>,
}

/// Match every image's boxes class by class and sum the counts.
pub fn localisation(images: &[ImageBoxes]) -> Localisation {
    #[derive(Default)]
    struct Sums {
        tp: usize,
        fp: usize,
        fn_: usize,
        iou: f64,
    }
    let mut sums: BTreeMap<SourceClass, Sums> = BTreeMap::new();
    for image in images {
        for class in SourceClass::ALL {
            let of = |boxes: &[SourceBox]| -> Vec<[f64; 4]> {
                boxes
                    .iter()
                    .filter(|b| b.class == class)
                    .map(SourceBox::numbers)
                    .collect()
            };
            let (predicted, truth) = (of(&image.predicted), of(&image.truth));
            if predicted.is_empty() && truth.is_empty() {
                continue;
            }
            let matched = match_boxes(&predicted, &truth);
            let s = sums.entry(class).or_default();
            s.tp += matched.len();
            s.fp += predicted.len() - matched.len();
            s.fn_ += truth.len() - matched.len();
            s.iou += matched.iter().map(|m| m.2).sum::<f64>();
        }
    }
    let mut all = Sums::default();
    let per_class = sums
        .into_iter()
        .map(|(class, s)| {
            all.tp += s.tp;
            all.fp += s.fp;
            all.fn_ += s.fn_;
            all.iou += s.iou;
            let scored = Detection::from_counts(s.tp, s.fp, s.fn_, s.iou);
            (class.name().to_string(), scored)
        })
        .collect();
    Localisation {
        per_class,
        overall: Detection::from_counts(all.tp, all.fp, all.fn_, all.iou),
    }
}

#[cfg(test)]
#[path = "localisation_tests.rs"]
mod tests;
