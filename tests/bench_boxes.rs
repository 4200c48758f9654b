//! The localisation task (L1) end to end: an item per image and source class whose truth is
//! the boxes `synth` drew (from the dataset's `objects` or the radio-YOLO label files alike),
//! the run directory's report with the box table, and `bench score` on box answers worked by
//! hand.

mod common;

use common::cli::{assert_bad_input, radiochat};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const CLASSES: [&str; 5] = [
    "SPURIOUS",
    "COMPACT",
    "EXTENDED",
    "EXTENDED-MULTISLAND",
    "FLAGGED",
];

fn run_l1(home: &Path, data: &Path, out: &Path) -> Value {
    let args = [
        "bench",
        "run",
        "L1",
        "--demo",
        "--max-tokens",
        "8",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    let ran = radiochat(&args, home);
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    serde_json::from_slice(&ran.stdout).unwrap()
}

/// Each item's truth boxes, by item name.
fn truths(run: &Path) -> BTreeMap<String, Vec<[f64; 4]>> {
    let text = std::fs::read_to_string(run.join("predictions.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|r| {
            let boxes = r["truth"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let v: Vec<f64> = serde_json::from_str(t.as_str().unwrap()).unwrap();
                    [v[0], v[1], v[2], v[3]]
                })
                .collect();
            (r["sname"].as_str().unwrap().to_string(), boxes)
        })
        .collect()
}

#[test]
fn the_localisation_task_asks_every_class_of_every_annotated_image() {
    let home = tempfile::tempdir().unwrap();
    let data = common::cli::synth_sky(home.path(), "sky", "radioimg", 3, 11);
    let dataset: Value = serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
    let run = home.path().join("runs/l1");
    let score = run_l1(home.path(), &data, &run);
    assert_eq!(score["task"], "L1");
    assert_eq!(score["items"], 15, "{score}");
    assert!(score["localisation"]["valid_only"]["overall"].is_object());
    common::assert_run_dir_complete(&run);
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("Boxes matched to the truth at IoU ≥ 0.5"),
        "{report}"
    );
    assert!(
        report.lines().any(|l| l.starts_with("| overall ")),
        "{report}"
    );

    // The truth is the boxes synth drew, class by class.
    let by_item = truths(&run);
    let mut boxes_seen = 0;
    for item in dataset["data"].as_array().unwrap() {
        let sname = item["sname"].as_str().unwrap();
        for class in CLASSES {
            let expected: Vec<Vec<f64>> = item["objects"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["class"] == class)
                .map(|o| serde_json::from_value(o["bbox"].clone()).unwrap())
                .collect();
            let got = &by_item[&format!("{sname}:{class}")];
            assert_eq!(got.len(), expected.len(), "{sname}:{class}");
            for (g, e) in got.iter().zip(&expected) {
                for (a, b) in g.iter().zip(e) {
                    assert!((a - b).abs() < 1e-6, "{sname}:{class}: {g:?} vs {e:?}");
                }
            }
            boxes_seen += expected.len();
        }
    }
    assert!(boxes_seen >= 3, "the sky has sources: {boxes_seen}");

    // Without `objects`, the radio-YOLO label files beside the images give the same truth.
    let mut bare = dataset.clone();
    for item in bare["data"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("objects");
    }
    let bare_path = data.with_file_name("bare.json");
    std::fs::write(&bare_path, bare.to_string()).unwrap();
    let from_labels = home.path().join("runs/l1-labels");
    run_l1(home.path(), &bare_path, &from_labels);
    assert_eq!(truths(&from_labels), by_item);

    // With neither, no image fits: one line naming the label file looked for.
    std::fs::remove_dir_all(data.with_file_name("labels")).unwrap();
    let args = [
        "bench",
        "run",
        "L1",
        "--demo",
        "--data",
        bare_path.to_str().unwrap(),
    ];
    assert_bad_input(
        &radiochat(&args, home.path()),
        &["no item fits task L1", "no source boxes"],
    );
}

fn answer(sname: &str, truth: &[&str], raw: &str) -> String {
    let v = serde_json::json!({
        "sname": sname, "truth": truth, "pred": null, "raw": raw, "attempts": 1,
        "latency_ms": 10.0, "prompt_tokens": 40, "completion_tokens": 9
    });
    v.to_string() + "\n"
}

#[test]
fn bench_score_matches_answered_boxes_to_the_truth() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("predictions.jsonl");
    let text = [
        answer(
            "a:COMPACT",
            &["[0.5, 0.5, 0.2, 0.2]"],
            "[0.5, 0.5, 0.2, 0.2]",
        ),
        answer(
            "a:EXTENDED",
            &[],
            "The image does not contain single-island extended radio sources.",
        ),
        answer(
            "b:COMPACT",
            &["[0.3, 0.3, 0.2, 0.2]", "[0.7, 0.7, 0.1, 0.1]"],
            "[0.35, 0.3, 0.2, 0.2]",
        ),
        answer("b:SPURIOUS", &[], "[0.1, 0.1, 0.1, 0.1]"),
    ]
    .concat();
    std::fs::write(&file, text).unwrap();
    let score = |json: bool| {
        let mut args = vec![
            "bench",
            "score",
            file.to_str().unwrap(),
            "--task",
            "sourcedet-radioyolo",
        ];
        if json {
            args.push("--json");
        }
        let out = radiochat(&args, home.path());
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let value: Value = serde_json::from_str(&score(true)).unwrap();
    let overall = &value["localisation"]["valid_only"]["overall"];
    assert_eq!(overall["true_positives"], 2);
    assert_eq!(overall["false_positives"], 1);
    assert_eq!(overall["false_negatives"], 1);
    let near = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-9;
    assert!(near(&overall["f1"], 2.0 / 3.0), "{overall}");
    assert!(near(&overall["mean_iou"], 0.8), "{overall}");
    let compact = &value["localisation"]["valid_only"]["per_class"]["COMPACT"];
    assert!(near(&compact["recall"], 2.0 / 3.0), "{compact}");
    assert!(near(&value["metrics"]["accuracy"], 0.75), "{value}");
    let table = score(false);
    assert!(table.contains("labels: presence"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("COMPACT") && l.contains("0.8000") && l.contains("1.0000")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("overall")), "{table}");
}
