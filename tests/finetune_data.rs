//! `radiochat finetune data` on the synthetic sky: LLaVA records, the benchmarks' pixels,
//! deterministic splits, no benchmark images in training, and one-line errors.

mod common;

use common::cli::assert_bad_input;
use common::finetune_data::{build, build_ok, read_json, records, synth};
use serde_json::Value;
use std::path::Path;

#[test]
fn records_follow_the_llava_layout_with_the_benchmarks_pixels() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "sky", "radioimg", 24, 1);
    let out = home.path().join("data");
    build_ok(
        home.path(),
        &sky,
        &out,
        &["--describe", "--val", "0.25", "--seed", "3"],
    );
    let all = records(&out);
    assert_eq!(all.len(), 24);
    let dataset = read_json(&sky);
    for record in &all {
        let turns = record["conversations"].as_array().unwrap();
        assert!(turns.len() >= 4 && turns.len() % 2 == 0, "{record}");
        for (i, turn) in turns.iter().enumerate() {
            let from = if i % 2 == 0 { "human" } else { "gpt" };
            assert_eq!(turn["from"], from);
            let value = turn["value"].as_str().unwrap();
            assert_eq!(value.starts_with("<image>\n"), i == 0, "{value}");
            assert_eq!(value.matches("<image>").count(), usize::from(i == 0));
        }
        // The radio-galaxy answer follows the label, and the image is the model input.
        let sname = record["id"].as_str().unwrap();
        let item = dataset["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sname"] == sname)
            .unwrap();
        let galaxy = item["label"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "RADIO-GALAXY");
        let asked = turns
            .iter()
            .position(|t| {
                let text = t["value"].as_str().unwrap();
                text.contains("radio galaxy") && text.ends_with("Yes or No.")
            })
            .unwrap();
        assert_eq!(turns[asked + 1]["value"], if galaxy { "YES" } else { "NO" });
        let png = image::open(out.join(record["image"].as_str().unwrap()))
            .unwrap()
            .to_rgb8();
        let fits = sky
            .parent()
            .unwrap()
            .join(item["filepaths"][0].as_str().unwrap());
        let expected = radiochat::imaging::RadioImage::open(&fits, &Default::default())
            .unwrap()
            .model_input(&Default::default())
            .unwrap();
        assert_eq!(png, expected, "{sname}: not the benchmarks' pixels");
    }
    let summary = read_json(&out.join("data.json"));
    assert_eq!(summary["turns"]["describe"], 24);
    assert_eq!(
        summary["train"].as_u64().unwrap() + summary["val"].as_u64().unwrap(),
        24
    );

    // The same seed gives the same files; another seed another split.
    let again = home.path().join("again");
    let other = home.path().join("other");
    for (dir, seed) in [(&again, "3"), (&other, "4")] {
        build_ok(
            home.path(),
            &sky,
            dir,
            &["--describe", "--val", "0.25", "--seed", seed],
        );
    }
    let read = |dir: &Path, f: &str| std::fs::read(dir.join(f)).unwrap();
    assert_eq!(read(&out, "train.json"), read(&again, "train.json"));
    assert_eq!(read(&out, "val.json"), read(&again, "val.json"));
    assert_ne!(read(&out, "val.json"), read(&other, "val.json"));
}

#[test]
fn benchmark_images_are_left_out_and_tasks_pick_the_questions() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "sky", "radioimg", 12, 5);
    // A "benchmark" set holding copies of three of the training images, renamed.
    let bench_dir = home.path().join("bench");
    std::fs::create_dir_all(&bench_dir).unwrap();
    let dataset = read_json(&sky);
    let items: Vec<Value> = dataset["data"].as_array().unwrap()[..3]
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let from = sky
                .parent()
                .unwrap()
                .join(item["filepaths"][0].as_str().unwrap());
            std::fs::copy(&from, bench_dir.join(format!("b{i}.fits"))).unwrap();
            serde_json::json!({"sname": format!("b{i}"), "filepaths": [format!("b{i}.fits")], "label": item["label"]})
        })
        .collect();
    let bench = bench_dir.join("bench.json");
    std::fs::write(&bench, serde_json::json!({ "data": items }).to_string()).unwrap();
    let out = home.path().join("data");
    let made = build_ok(
        home.path(),
        &sky,
        &out,
        &[
            "--tasks",
            "B3",
            "--exclude",
            bench.to_str().unwrap(),
            "--val",
            "0",
        ],
    );
    let all = records(&out);
    assert_eq!(all.len(), 9, "three benchmark images left out");
    let excluded: Vec<&str> = dataset["data"].as_array().unwrap()[..3]
        .iter()
        .map(|i| i["sname"].as_str().unwrap())
        .collect();
    for record in &all {
        assert!(!excluded.contains(&record["id"].as_str().unwrap()));
        assert_eq!(record["conversations"].as_array().unwrap().len(), 2);
    }
    assert!(String::from_utf8_lossy(&made.stdout).contains("left out 3 image(s)"));

    // RGZ and MiraBest labels get their own questions.
    let rgz = synth(home.path(), "rgz", "rgz", 4, 1);
    let mirabest = synth(home.path(), "mb", "mirabest", 4, 1);
    let mixed = home.path().join("mixed");
    let made = build(
        home.path(),
        &[
            "--from",
            rgz.to_str().unwrap(),
            "--from",
            mirabest.to_str().unwrap(),
            "--out",
            mixed.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let summary: Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(summary["turns"]["rgz-morphology"], 4);
    assert_eq!(summary["turns"]["fr-class"], 4);
    assert!(summary["turns"].get("radio-galaxy").is_none());

    // --single-turn: a conversation per question, each with the image, split by image.
    let single = home.path().join("single");
    build_ok(
        home.path(),
        &sky,
        &single,
        &["--single-turn", "--describe", "--val", "0.3", "--seed", "2"],
    );
    let all = records(&single);
    assert_eq!(
        all.len(),
        12 * 12,
        "12 images × (5 label questions + the anomaly sentence + 5 box questions + the description)"
    );
    for record in &all {
        let turns = record["conversations"].as_array().unwrap();
        assert_eq!(turns.len(), 2);
        assert!(turns[0]["value"].as_str().unwrap().starts_with("<image>\n"));
        assert!(record["id"].as_str().unwrap().contains('#'));
    }
    let val = read_json(&single.join("val.json"));
    let val_images: std::collections::HashSet<&str> = val
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["image"].as_str().unwrap())
        .collect();
    let train = read_json(&single.join("train.json"));
    assert!(
        train
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !val_images.contains(r["image"].as_str().unwrap()))
    );
}

#[test]
fn bad_input_gets_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "sky", "radioimg", 3, 1);
    let out = home.path().join("out");
    let from = |args: &[&str]| {
        let mut all = vec!["--out", out.to_str().unwrap()];
        all.extend_from_slice(args);
        build(home.path(), &all)
    };
    let sky_arg = sky.to_str().unwrap();
    assert_bad_input(
        &from(&["--from", sky_arg, "--tasks", "B9"]),
        &["--tasks: unknown 'B9'", "B3 (radio-galaxy)"],
    );
    assert_bad_input(&from(&["--from", sky_arg, "--val", "1.5"]), &["--val 1.5"]);
    let empty = home.path().join("empty.json");
    std::fs::write(&empty, r#"{"data": []}"#).unwrap();
    assert_bad_input(
        &from(&["--from", empty.to_str().unwrap()]),
        &["empty.json", "no items"],
    );
    let not_json = home.path().join("notes.json");
    std::fs::write(&not_json, "hello").unwrap();
    assert_bad_input(
        &from(&["--from", not_json.to_str().unwrap()]),
        &["notes.json", "not a radio-llava dataset"],
    );
    let missing = home.path().join("missing.json");
    std::fs::write(
        &missing,
        r#"{"data": [{"sname": "x", "filepaths": ["nowhere.fits"], "label": ["COMPACT"]}]}"#,
    )
    .unwrap();
    assert_bad_input(
        &from(&["--from", missing.to_str().unwrap()]),
        &["no training example", "nowhere.fits is missing"],
    );
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    assert_bad_input(&from(&["--from", sky_arg]), &["exists and is not empty"]);
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
}
