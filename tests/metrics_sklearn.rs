//! radiochat's metrics against scikit-learn on random cases (the reference script runs in the
//! Python environment scripts/setup.sh makes): single-label with 2–7 classes, multi-label with
//! 3 classes and NONE, classes absent from truth or predictions included.

mod common;

use radiochat::bench::metrics::{ClassScore, Metrics, multi_label, single_label};
use radiochat::bench::metrics_class_id::{self, ClassIdMetrics};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const CASES_PER_KIND: usize = 60;

fn sklearn(cases: &Value) -> Vec<Value> {
    let script = common::checkout_file("tests/reference/sklearn_metrics.py");
    let out = common::reference_python(&[&script], &cases.to_string());
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn close(a: f64, b: &Value, what: &str) {
    let b = b.as_f64().unwrap_or_else(|| panic!("{what}: {b}"));
    assert!((a - b).abs() <= 1e-9, "{what}: radiochat {a}, sklearn {b}");
}

/// Precision, recall and F1, weighted and macro-averaged: `ours` serialised, where both kinds
/// of metrics name them alike.
fn close_averages(ours: &impl serde::Serialize, theirs: &Value, c: &dyn Fn(&str) -> String) {
    let ours = serde_json::to_value(ours).unwrap();
    for average in ["weighted", "macro"] {
        for metric in ["precision", "recall", "f1"] {
            let key = format!("{metric}_{average}");
            close(ours[&key].as_f64().unwrap(), &theirs[&key], &c(&key));
        }
    }
}

/// Every class's precision, recall, F1 and support, and no class more or less.
fn compare_classes(per_class: &[ClassScore], theirs: &Value, c: &dyn Fn(&str) -> String) {
    let rows = theirs["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), rows.len(), "{}", c("classes"));
    for (class, row) in per_class.iter().zip(rows) {
        close(class.precision, &row[0], &c("per-class precision"));
        close(class.recall, &row[1], &c("per-class recall"));
        close(class.f1, &row[2], &c("per-class f1"));
        assert_eq!(class.support, row[3].as_u64().unwrap(), "{}", c("support"));
    }
}

fn compare(ours: &Metrics, theirs: &Value, case: usize) {
    let c = |what: &str| format!("case {case} {what}");
    close(ours.accuracy, &theirs["accuracy"], &c("accuracy"));
    close_averages(ours, theirs, &c);
    close(
        ours.precision_micro,
        &theirs["precision_micro"],
        &c("precision_micro"),
    );
    close(
        ours.recall_micro,
        &theirs["recall_micro"],
        &c("recall_micro"),
    );
    close(ours.f1_micro, &theirs["f1_micro"], &c("f1_micro"));
    let labels: Vec<String> = serde_json::from_value(theirs["labels"].clone()).unwrap();
    assert_eq!(ours.labels, labels, "{}", c("labels"));
    compare_classes(&ours.per_class, theirs, &c);
    if let Some(loss) = ours.hamming_loss {
        close(loss, &theirs["hamming_loss"], &c("hamming_loss"));
        close(
            ours.hamming_score.unwrap(),
            &theirs["hamming_score"],
            &c("hamming_score"),
        );
        let matrices: Vec<Vec<Vec<u64>>> =
            serde_json::from_value(theirs["confusion_matrix"].clone()).unwrap();
        assert_eq!(
            ours.confusion_matrix,
            matrices,
            "{}",
            c("multilabel confusion")
        );
    } else {
        let matrix: Vec<Vec<u64>> =
            serde_json::from_value(theirs["confusion_matrix"].clone()).unwrap();
        assert_eq!(ours.confusion_matrix[0], matrix, "{}", c("confusion"));
        for (row, theirs_row) in ours
            .confusion_matrix_normalized
            .iter()
            .zip(theirs["confusion_matrix_normalized"].as_array().unwrap())
        {
            for (a, b) in row.iter().zip(theirs_row.as_array().unwrap()) {
                close(*a, b, &c("normalized confusion"));
            }
        }
    }
}

/// radio-llava's report (every class in class-id order) against sklearn's with `labels=`.
fn compare_by_class_id(ours: &ClassIdMetrics, theirs: &Value, case: usize) {
    let c = |what: &str| format!("case {case} by class id {what}");
    close_averages(ours, theirs, &c);
    compare_classes(&ours.per_class, theirs, &c);
    for (i, accuracy) in ours.accuracy_per_class.iter().enumerate() {
        close(*accuracy, &theirs["accuracy_per_class"][i], &c("accuracy"));
    }
    let matrices: Vec<Vec<Vec<u64>>> =
        serde_json::from_value(theirs["confusion_matrix"].clone()).unwrap();
    assert_eq!(ours.confusion_matrix, matrices, "{}", c("confusion"));
    let normalised: Vec<Vec<Vec<f64>>> =
        serde_json::from_value(theirs["confusion_matrix_normalized"].clone()).unwrap();
    for (a, b) in ours
        .confusion_matrix_normalized
        .iter()
        .flatten()
        .flatten()
        .zip(normalised.iter().flatten().flatten())
    {
        assert!(
            (a - b).abs() <= 1e-9,
            "{}: {a} vs {b}",
            c("normalised confusion")
        );
    }
    match (ours.roc_auc_micro, theirs["roc_auc_micro"].as_f64()) {
        (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-9, "{}: {a} vs {b}", c("roc auc")),
        (a, b) => assert_eq!(a, b, "{}", c("roc auc defined")),
    }
}

#[test]
fn metrics_equal_scikit_learn_on_random_cases() {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let names = ["FR-I", "FR-II", "NONE", "1C-1P", "2C-2P", "3C-3P", "YES"];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let mut by_class_id = Vec::new();
    for _ in 0..CASES_PER_KIND {
        let k = rng.random_range(2..=7);
        let n = rng.random_range(1..=40);
        // Truth and predictions draw from overlapping sub-ranges, so some classes are absent
        // from one side or the other.
        let t_hi = rng.random_range(1..=k);
        let p_lo = rng.random_range(0..k);
        let truth: Vec<String> = (0..n)
            .map(|_| names[rng.random_range(0..t_hi)].to_string())
            .collect();
        let pred: Vec<String> = (0..n)
            .map(|_| names[rng.random_range(p_lo..k)].to_string())
            .collect();
        ours.push(single_label(&truth, &pred));
        let classes: Vec<String> = names[..k].iter().map(|s| s.to_string()).collect();
        by_class_id.push(metrics_class_id::single_label(&truth, &pred, &classes));
        cases.push(json!({"multi": false, "truth": truth, "pred": pred, "classes": classes}));
    }
    let classes: Vec<String> = ["NONE", "EXTENDED", "DIFFUSE", "DIFFUSE-LARGE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for _ in 0..CASES_PER_KIND {
        let n = rng.random_range(1..=40);
        let mut draw = |allow_empty: bool, bias: f64| -> Vec<String> {
            if rng.random_bool(0.2) {
                return vec!["NONE".to_string()];
            }
            let set: Vec<String> = classes[1..]
                .iter()
                .filter(|_| rng.random_bool(bias))
                .cloned()
                .collect();
            if set.is_empty() && !allow_empty {
                vec!["NONE".to_string()]
            } else {
                set
            }
        };
        let truth: Vec<Vec<String>> = (0..n).map(|_| draw(false, 0.4)).collect();
        let pred: Vec<Vec<String>> = (0..n).map(|_| draw(true, 0.3)).collect();
        ours.push(multi_label(&truth, &pred, &classes));
        by_class_id.push(metrics_class_id::multi_label(&truth, &pred, &classes));
        cases.push(json!({"multi": true, "truth": truth, "pred": pred, "classes": classes}));
    }
    let theirs = sklearn(&Value::Array(cases));
    assert_eq!(theirs.len(), ours.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        compare(a, b, i);
        compare_by_class_id(&by_class_id[i], &b["by_class_id"], i);
    }
}

/// Localisation counts and scores against tests/reference/box_matching.py (numpy) on random
/// images: true boxes, jittered copies of most of them (some of another class), false alarms.
#[test]
fn localisation_equals_a_numpy_implementation_on_random_cases() {
    use radiochat::bench::localisation::{ImageBoxes, localisation};
    use radiochat::bench::objects::{SourceBox, SourceClass};
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let random_box = |rng: &mut ChaCha8Rng, class: usize| -> (usize, [f64; 4]) {
        let size = rng.random_range(0.05..0.2);
        (
            class,
            [
                rng.random_range(0.15..0.85),
                rng.random_range(0.15..0.85),
                size,
                size * rng.random_range(0.6..1.4),
            ],
        )
    };
    let mut cases = Vec::new();
    for _ in 0..CASES_PER_KIND {
        let mut images = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            let truth: Vec<(usize, [f64; 4])> = (0..rng.random_range(0..5))
                .map(|_| {
                    let class = rng.random_range(0..3);
                    random_box(&mut rng, class)
                })
                .collect();
            let mut predicted = Vec::new();
            for (class, [x, y, w, h]) in &truth {
                if rng.random_bool(0.75) {
                    let class = if rng.random_bool(0.85) {
                        *class
                    } else {
                        (class + 1) % 3
                    };
                    let jitter = |rng: &mut ChaCha8Rng| rng.random_range(-0.03..0.03);
                    let box_ = [
                        x + jitter(&mut rng),
                        y + jitter(&mut rng),
                        w * rng.random_range(0.8..1.25),
                        h * rng.random_range(0.8..1.25),
                    ];
                    predicted.push((class, box_));
                }
            }
            for _ in 0..rng.random_range(0..3) {
                let class = rng.random_range(0..3);
                predicted.push(random_box(&mut rng, class));
            }
            images.push((predicted, truth));
        }
        cases.push(images);
    }
    let as_json = |boxes: &[(usize, [f64; 4])]| -> Value {
        boxes
            .iter()
            .map(|(c, [x, y, w, h])| json!([SourceClass::ALL[*c].name(), x, y, w, h]))
            .collect()
    };
    let input: Value = cases
        .iter()
        .map(|images| {
            images
                .iter()
                .map(|(p, t)| json!({"predicted": as_json(p), "truth": as_json(t)}))
                .collect::<Value>()
        })
        .collect();
    let script = common::checkout_file("tests/reference/box_matching.py");
    let theirs: Vec<Value> =
        serde_json::from_str(&common::reference_python(&[&script], &input.to_string())).unwrap();
    let to_boxes = |boxes: &[(usize, [f64; 4])]| -> Vec<SourceBox> {
        boxes
            .iter()
            .map(|(c, b)| SourceBox {
                class: SourceClass::ALL[*c],
                x: b[0],
                y: b[1],
                w: b[2],
                h: b[3],
            })
            .collect()
    };
    let mut matched = 0;
    for (n, (images, theirs)) in cases.iter().zip(&theirs).enumerate() {
        let images: Vec<ImageBoxes> = images
            .iter()
            .map(|(p, t)| ImageBoxes {
                predicted: to_boxes(p),
                truth: to_boxes(t),
            })
            .collect();
        let ours = serde_json::to_value(localisation(&images)).unwrap();
        let c = |what: &str| format!("case {n} {what}");
        let rows = theirs["per_class"].as_object().unwrap();
        assert_eq!(
            ours["per_class"].as_object().unwrap().len(),
            rows.len(),
            "{}",
            c("classes")
        );
        for (class, row) in rows
            .iter()
            .map(|(k, v)| (k.clone(), v))
            .chain([("overall".to_string(), &theirs["overall"])])
        {
            let mine = if class == "overall" {
                &ours["overall"]
            } else {
                &ours["per_class"][&class]
            };
            for count in ["true_positives", "false_positives", "false_negatives"] {
                assert_eq!(
                    mine[count],
                    row[count],
                    "{}",
                    c(&format!("{class} {count}"))
                );
            }
            for metric in ["precision", "recall", "f1", "mean_iou"] {
                close(
                    mine[metric].as_f64().unwrap(),
                    &row[metric],
                    &c(&format!("{class} {metric}")),
                );
            }
        }
        matched += ours["overall"]["true_positives"].as_u64().unwrap();
    }
    assert!(matched > 50, "the cases match boxes: {matched}");
}
