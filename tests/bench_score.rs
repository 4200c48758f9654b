//! `radiochat bench score` on a predictions file alone: stable JSON keys, both parsers,
//! invalid answers excluded and counted as wrong, a torn last line ignored.

mod common;

use common::cli::{assert_bad_input, radiochat, score_json};
use serde_json::Value;

/// `bench score FILE --task TASK EXTRA… --json`, parsed.
fn line(sname: &str, truth: &str, raw: &str, error: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "sname": sname, "truth": [truth], "pred": null, "raw": raw, "attempts": 1,
        "latency_ms": 12.5, "prompt_tokens": 40, "completion_tokens": 2
    });
    if let Some(e) = error {
        v["error"] = Value::from(e);
    }
    v.to_string() + "\n"
}

#[test]
fn score_recomputes_metrics_from_predictions_alone() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("predictions.jsonl");
    let mut text = String::new();
    text += &line("a", "YES", "Yes.", None);
    text += &line("b", "YES", "No", None);
    text += &line("c", "NO", "no", None);
    text += &line("d", "NO", "There is no radio galaxy.", None);
    text += &line("e", "YES", "", Some("image failed to load"));
    text += "{\"sname\":\"f\",\"truth\":[\"YES\"],\"pr";
    std::fs::write(&file, text).unwrap();

    let out = radiochat(
        &[
            "bench",
            "score",
            file.to_str().unwrap(),
            "--task",
            "B3",
            "--json",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 6: ignored (cut off"));
    let score: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(score["items"], 5);
    assert_eq!(score["errors"], 1);
    assert_eq!(score["invalid"], 1, "d is unreadable to the strict parser");
    assert_eq!(
        score["invalid_lenient"], 0,
        "the lenient parser finds the word NO in d"
    );
    let m = &score["metrics"];
    // Valid: a YES/YES, b YES/NO, c NO/NO.
    assert_eq!(m["accuracy"].as_f64().unwrap(), 2.0 / 3.0);
    let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "accuracy",
        "precision_weighted",
        "recall_weighted",
        "f1_weighted",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "f1_micro",
        "per_class",
        "confusion_matrix",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(
        m["confusion_matrix"][0],
        serde_json::json!([[1, 0], [1, 1]])
    );
    // Counted as wrong: d becomes "(invalid)" → 2 right of 4.
    assert_eq!(
        score["metrics_invalid_as_wrong"]["accuracy"]
            .as_f64()
            .unwrap(),
        0.5
    );

    let text = radiochat(
        &[
            "bench",
            "score",
            file.to_str().unwrap(),
            "--task",
            "galaxydet-radioimg",
        ],
        home.path(),
    );
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.contains("B3: 5 items, 1 errors, 1 invalid (25.0 %"),
        "{table}"
    );
    assert!(
        table.contains("accuracy                   0.6667           0.5000"),
        "{table}"
    );

    assert_bad_input(
        &radiochat(
            &["bench", "score", file.to_str().unwrap(), "--task", "B9"],
            home.path(),
        ),
        &["unknown task 'B9'"],
    );
    assert_bad_input(
        &radiochat(
            &["bench", "score", "nope.jsonl", "--task", "B3"],
            home.path(),
        ),
        &["nope.jsonl"],
    );
    assert_bad_input(
        &radiochat(
            &[
                "bench",
                "score",
                file.to_str().unwrap(),
                "--task",
                "B3",
                "--parse",
                "loose",
            ],
            home.path(),
        ),
        &["invalid value 'loose' for '--parse", "strict, lenient"],
    );
    let empty = home.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    assert_bad_input(
        &radiochat(
            &["bench", "score", empty.to_str().unwrap(), "--task", "B3"],
            home.path(),
        ),
        &["no predictions to score"],
    );
}

#[test]
fn multi_label_scores_carry_the_hamming_metrics() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("p.jsonl");
    // One record per item: a later line of the same item would replace it.
    let rec = |sname: &str, truth: &[&str], raw: &str| {
        serde_json::json!({"sname": sname, "truth": truth, "pred": null, "raw": raw, "attempts": 1,
            "latency_ms": 1.0, "prompt_tokens": 1, "completion_tokens": 1})
        .to_string()
            + "\n"
    };
    let text = rec("a", &["EXTENDED"], "EXTENDED")
        + &rec("b", &["EXTENDED", "DIFFUSE"], "DIFFUSE")
        + &rec("c", &["NONE"], "NONE, EXTENDED");
    std::fs::write(&file, text).unwrap();
    // Strict is radio-llava's reader: "NONE, EXTENDED" is both labels.
    let score = score_json(home.path(), &file, "B1", &[]);
    assert_eq!(score["invalid"], 0);
    let m = &score["metrics"];
    assert_eq!(m["exact_match"].as_f64().unwrap(), 1.0 / 3.0);
    assert!((m["hamming_score"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((m["hamming_loss"].as_f64().unwrap() - 2.0 / 12.0).abs() < 1e-12);
    let ids = &score["radio_llava"];
    assert_eq!(
        ids["labels"],
        serde_json::json!(["NONE", "EXTENDED", "DIFFUSE", "DIFFUSE-LARGE"])
    );
    // NONE: one true, one predicted, the same item.
    assert_eq!(
        ids["confusion_matrix"][0],
        serde_json::json!([[2, 0], [0, 1]])
    );
    assert_eq!(
        ids["per_class"][3]["support"], 0,
        "zero-support classes are reported"
    );
    // Lenient reads "NONE, EXTENDED" as EXTENDED: item c is wrong on both columns.
    let score = score_json(home.path(), &file, "B1", &["--parse", "lenient"]);
    assert_eq!(score["invalid"], 0);
    assert_eq!(score["metrics"]["n"], 3);
    assert!((score["metrics"]["hamming_loss"].as_f64().unwrap() - 3.0 / 12.0).abs() < 1e-12);
}
