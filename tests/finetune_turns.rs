//! `radiochat finetune data`'s turns beyond the label questions, against radio-llava's
//! builders: source boxes from radio-YOLO label files and `objects` lists, the free-text
//! anomaly sentence and `--order radio-llava`, figure captions, `--box-ratio`.

mod common;

use common::finetune_data::{build, build_ok, read_json, records, synth};
use serde_json::Value;

/// Box turns from radio-YOLO label files, answer for answer as radio-llava's builder writes
/// them (tests/reference/radioyolo_boxes.py), bad label lines skipped and counted with the
/// file and line; the dataset's own `objects` win over label files.
#[test]
fn box_turns_follow_radio_llavas_builder() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "sky", "radioimg", 10, 8);
    let folder = sky.parent().unwrap().to_path_buf();
    // The label files only: drop the dataset's own `objects`.
    let mut dataset = read_json(&sky);
    for item in dataset["data"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("objects");
    }
    std::fs::write(&sky, dataset.to_string()).unwrap();
    let bad = folder.join("labels/radioimg-000003.txt");
    let mut text = std::fs::read_to_string(&bad).unwrap();
    let good_lines = text.lines().count();
    text.push_str("7 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1\n1 0.5 1.5 0.1 0.1\n");
    std::fs::write(&bad, text).unwrap();
    // An image with no label file: its sources are unknown, so it gets no box turns.
    std::fs::remove_file(folder.join("labels/radioimg-000005.txt")).unwrap();

    let out = home.path().join("data");
    let made = build_ok(
        home.path(),
        &sky,
        &out,
        &["--tasks", "boxes", "--val", "0", "--json"],
    );
    let summary: Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(summary["annotated"], 9, "{summary}");
    assert_eq!(summary["skipped_boxes"], 3, "{summary}");
    let examples = summary["skipped_box_examples"].to_string();
    for line in good_lines + 1..=good_lines + 3 {
        let place = format!("labels/radioimg-000003.txt:{line}: ");
        assert!(examples.contains(&place), "{place} in {examples}");
    }
    assert!(
        examples.contains("class id 7 is out of range"),
        "{examples}"
    );
    assert_eq!(summary["turns"]["boxes-compact"], 9);

    let all = records(&out);
    assert_eq!(
        all.len(),
        9,
        "the image without labels fits no chosen question"
    );
    let label_texts: Vec<String> = all
        .iter()
        .map(|r| {
            let labels = folder.join(format!("labels/{}.txt", r["id"].as_str().unwrap()));
            std::fs::read_to_string(labels).unwrap()
        })
        .collect();
    let script = common::checkout_file("tests/reference/radioyolo_boxes.py");
    let expected: Vec<Vec<String>> = serde_json::from_str(&common::reference_python(
        &[script.as_str()],
        &serde_json::to_string(&label_texts).unwrap(),
    ))
    .unwrap();
    let mut with_boxes = 0;
    for (record, expected) in all.iter().zip(&expected) {
        let turns = record["conversations"].as_array().unwrap();
        let answers: Vec<&str> = turns
            .iter()
            .skip(1)
            .step_by(2)
            .map(|t| t["value"].as_str().unwrap())
            .collect();
        assert_eq!(answers, *expected, "{}", record["id"]);
        with_boxes += answers.iter().filter(|a| a.contains('[')).count();
    }
    assert!(
        with_boxes >= 9,
        "most images hold some source: {with_boxes}"
    );

    // The dataset's `objects` list is read before any label file.
    let listed = synth(home.path(), "listed", "radioimg", 3, 8);
    std::fs::remove_dir_all(listed.parent().unwrap().join("labels")).unwrap();
    let out = home.path().join("listed-data");
    let made = build_ok(
        home.path(),
        &listed,
        &out,
        &["--tasks", "boxes-compact", "--json"],
    );
    let summary: Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(summary["annotated"], 3, "{summary}");
    assert_eq!(summary["questions"], serde_json::json!(["boxes-compact"]));
}

/// `--box-ratio`: the box questions are asked of a seeded share of the annotated images (the
/// same images again for the same seed), every image still asked the other questions.
#[test]
fn box_ratio_asks_the_box_questions_of_a_seeded_share_of_the_images() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "sky", "radioimg", 40, 5);
    let run = |name: &str, seed: &str| {
        let out = home.path().join(name);
        let made = build_ok(
            home.path(),
            &sky,
            &out,
            &[
                "--tasks",
                "B3,boxes",
                "--box-ratio",
                "0.25",
                "--val",
                "0",
                "--seed",
                seed,
                "--json",
            ],
        );
        let summary: Value = serde_json::from_slice(&made.stdout).unwrap();
        let boxed: Vec<String> = records(&out)
            .iter()
            .filter(|r| r["conversations"].as_array().unwrap().len() > 2)
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        (summary, boxed)
    };
    let (summary, boxed) = run("first", "0");
    let annotated = summary["annotated"].as_u64().unwrap();
    assert!(
        (4..=16).contains(&annotated),
        "about a quarter of 40: {summary}"
    );
    assert_eq!(summary["turns"]["boxes-compact"], annotated);
    assert_eq!(summary["turns"]["radio-galaxy"], 40, "{summary}");
    assert_eq!(boxed.len() as u64, annotated);
    assert_eq!(run("again", "0").1, boxed, "the same seed, the same images");
    assert_ne!(run("other", "1").1, boxed, "another seed, another choice");

    let refused = build(
        home.path(),
        &[
            "--from",
            sky.to_str().unwrap(),
            "--out",
            home.path().join("x").to_str().unwrap(),
            "--box-ratio",
            "0",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("--box-ratio 0: expected a share in (0, 1)")
    );
}

/// `--order radio-llava`: the description first, with the image; the free-text anomaly turn
/// right before the peculiarity class, its sentence chosen by radio-llava's rule.
#[test]
fn radio_llava_order_puts_the_description_first_and_the_anomaly_sentence_before_its_class() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "sky", "radioimg", 8, 4);
    let out = home.path().join("data");
    let made = build_ok(
        home.path(),
        &sky,
        &out,
        &[
            "--describe",
            "--order",
            "radio-llava",
            "--tasks",
            "B5,anomaly-text",
            "--json",
        ],
    );
    let summary: Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(summary["description_first"], true);
    assert_eq!(
        summary["questions"],
        serde_json::json!(["peculiarity", "anomaly-text"])
    );
    let dataset = read_json(&sky);
    for record in records(&out) {
        let turns = record["conversations"].as_array().unwrap();
        let text = |i: usize| turns[i]["value"].as_str().unwrap().to_string();
        assert_eq!(turns.len(), 6, "{record}");
        assert!(text(0).starts_with("<image>\n"));
        assert!(text(1).starts_with("The image is a radio astronomical image cutout"));
        let item = dataset["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sname"] == record["id"])
            .unwrap();
        let tags: Vec<&str> = item["label"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let complex = ["EXTENDED", "DIFFUSE", "RADIO-GALAXY"]
            .iter()
            .any(|t| tags.contains(t));
        let sentence = text(3);
        assert_eq!(
            sentence.contains("extended or diffuse morphology"),
            complex,
            "{tags:?}: {sentence}"
        );
        assert_eq!(sentence.contains("very peculiar"), tags.contains(&"WTF"));
        let class = text(5);
        assert!(
            ["ORDINARY", "COMPLEX", "PECULIAR"].contains(&class.as_str()),
            "{class}"
        );
        assert_eq!(class == "COMPLEX", complex && !tags.contains(&"WTF"));
    }
    // The default order keeps the description last.
    let last = home.path().join("last");
    build_ok(home.path(), &sky, &last, &["--describe", "--tasks", "B3"]);
    for record in records(&last) {
        let turns = record["conversations"].as_array().unwrap();
        assert!(
            turns[3]["value"]
                .as_str()
                .unwrap()
                .starts_with("The image is a radio")
        );
    }
}

/// `--captions`: figure–caption pairs (radioimg-arxiv's layout and a plain list) become
/// "describe the image" conversations, the long phrasings for long captions, colour figures as
/// they are; `--caption-ratio` sets their share; bad entries are skipped and counted.
#[test]
fn captions_become_description_conversations() {
    let home = tempfile::tempdir().unwrap();
    let figures = synth(home.path(), "figures", "gmnist", 6, 2);
    let folder = figures.parent().unwrap();
    let long = "A radio continuum map of the field with contours of the extended emission overlaid \
                on the optical image, showing two lobes, a bright core and a faint bridge between \
                them that reaches the edge of the cluster.";
    let arxiv = serde_json::json!({"data": [{"filepath": "p.pdf", "figures": [
        {"figure_path": "images/gmnist-000000.png", "caption_text": long},
        {"figure_path": "images/gmnist-000001.png", "caption_text": "Short caption.", "caption_text_nwords": 2},
        {"figure_path": "images/none.png", "caption_text": "Lost figure."},
        {"figure_path": "images/gmnist-000002.png", "caption_text": ""}]}]});
    std::fs::write(folder.join("arxiv.json"), arxiv.to_string()).unwrap();
    let plain: Vec<Value> = (3..6)
        .map(|i| serde_json::json!({"image": format!("images/gmnist-{i:06}.png"), "caption": format!("Figure {i}.")}))
        .collect();
    std::fs::write(folder.join("plain.json"), Value::from(plain).to_string()).unwrap();
    let (arxiv, plain) = (folder.join("arxiv.json"), folder.join("plain.json"));

    let out = home.path().join("captions-only");
    let made = build(
        home.path(),
        &[
            "--captions",
            arxiv.to_str().unwrap(),
            "--captions",
            plain.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--val",
            "0",
            "--json",
        ],
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let summary: Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(summary["turns"]["caption"], 5, "{summary}");
    assert_eq!(summary["skipped"], 2, "{summary}");
    let why = summary["skipped_examples"].to_string();
    assert!(
        why.contains("arxiv.json entry 3: image") && why.contains("entry 4: empty caption"),
        "{why}"
    );
    let all = records(&out);
    assert_eq!(all.len(), 5);
    let phrasings: toml::Value =
        toml::from_str(include_str!("../prompts/finetune/captions.toml")).unwrap();
    let list = |key: &str| -> Vec<String> {
        phrasings[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("<image>\n{}", v.as_str().unwrap()))
            .collect()
    };
    for record in &all {
        let turns = record["conversations"].as_array().unwrap();
        assert_eq!(turns.len(), 2);
        let (question, answer) = (
            turns[0]["value"].as_str().unwrap(),
            turns[1]["value"].as_str().unwrap(),
        );
        let asked_long = answer.starts_with("A radio continuum map");
        assert!(
            list(if asked_long { "long" } else { "short" }).contains(&question.to_string()),
            "{question}"
        );
        if answer == "Short caption." {
            assert_eq!(record["id"], "arxiv#2");
        }
    }
    // A colour figure is written as it is.
    let first = all.iter().find(|r| r["id"] == "arxiv#1").unwrap();
    let written = image::open(out.join(first["image"].as_str().unwrap()))
        .unwrap()
        .to_rgb8();
    let original = image::open(folder.join("images/gmnist-000000.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(written, original);

    // Mixed with labelled data: captions a quarter of all conversations (12 images → 4).
    let sky = synth(home.path(), "sky", "radioimg", 12, 3);
    let mixed = home.path().join("mixed");
    build_ok(
        home.path(),
        &sky,
        &mixed,
        &[
            "--tasks",
            "B3",
            "--captions",
            plain.to_str().unwrap(),
            "--captions",
            arxiv.to_str().unwrap(),
            "--caption-ratio",
            "0.25",
            "--val",
            "0",
        ],
    );
    let summary = read_json(&mixed.join("data.json"));
    assert_eq!(summary["turns"]["caption"], 4, "{summary}");
    assert_eq!(summary["caption_files"].as_array().unwrap().len(), 2);
    let bad = build(
        home.path(),
        &[
            "--captions",
            plain.to_str().unwrap(),
            "--out",
            home.path().join("x").to_str().unwrap(),
            "--caption-ratio",
            "1.5",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--caption-ratio 1.5"));
}
