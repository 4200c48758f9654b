//! radiochat's metrics against scikit-learn on random cases (the reference script runs in the
//! Python environment scripts/setup.sh makes): single-label with 2–7 classes, multi-label with
//! 3 classes and NONE, classes absent from truth or predictions included.

mod common;

use radiochat::bench::metrics::{Metrics, multi_label, single_label};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const CASES_PER_KIND: usize = 60;

fn sklearn(cases: &Value) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/sklearn_metrics.py"
    );
    let out = common::reference_python(&[script], &cases.to_string());
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn close(a: f64, b: &Value, what: &str) {
    let b = b.as_f64().unwrap_or_else(|| panic!("{what}: {b}"));
    assert!((a - b).abs() <= 1e-9, "{what}: radiochat {a}, sklearn {b}");
}

fn compare(ours: &Metrics, theirs: &Value, case: usize) {
    let c = |what: &str| format!("case {case} {what}");
    close(ours.accuracy, &theirs["accuracy"], &c("accuracy"));
    for (key, value) in [
        ("precision_weighted", ours.precision_weighted),
        ("recall_weighted", ours.recall_weighted),
        ("f1_weighted", ours.f1_weighted),
        ("precision_macro", ours.precision_macro),
        ("recall_macro", ours.recall_macro),
        ("f1_macro", ours.f1_macro),
        ("precision_micro", ours.precision_micro),
        ("recall_micro", ours.recall_micro),
        ("f1_micro", ours.f1_micro),
    ] {
        close(value, &theirs[key], &c(key));
    }
    let labels: Vec<String> = serde_json::from_value(theirs["labels"].clone()).unwrap();
    assert_eq!(ours.labels, labels, "{}", c("labels"));
    for (i, class) in ours.per_class.iter().enumerate() {
        let row = &theirs["per_class"][i];
        close(class.precision, &row[0], &c("per-class precision"));
        close(class.recall, &row[1], &c("per-class recall"));
        close(class.f1, &row[2], &c("per-class f1"));
        assert_eq!(class.support, row[3].as_u64().unwrap(), "{}", c("support"));
    }
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

#[test]
fn metrics_equal_scikit_learn_on_random_cases() {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let names = ["FR-I", "FR-II", "NONE", "1C-1P", "2C-2P", "3C-3P", "YES"];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
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
        cases.push(json!({"multi": false, "truth": truth, "pred": pred}));
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
        cases.push(json!({"multi": true, "truth": truth, "pred": pred, "classes": classes}));
    }
    let theirs = sklearn(&Value::Array(cases));
    assert_eq!(theirs.len(), ours.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        compare(a, b, i);
    }
}
