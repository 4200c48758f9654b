//! The general multiple-choice task (G1), the forgetting check's other side: `synth --kind
//! shapes` writes a set whose answers are true by construction, each item brings its own
//! question and options, put as LLaVA puts MMBench questions; bad items are skipped with the
//! reason; the run scores letters.

mod common;

use common::cli::{assert_bad_input, radiochat};
use serde_json::{Value, json};

/// `bench prompt G1 --shots 1 --context DATA --json`: the first example's question.
fn one_shot_question(home: &std::path::Path, data: &str) -> Value {
    let args = [
        "bench",
        "prompt",
        "G1",
        "--shots",
        "1",
        "--context",
        data,
        "--json",
    ];
    let out = radiochat(&args, home);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["messages"].clone()
}

/// `bench run G1 --demo --json` on DATA, as it exited.
fn run_g1_output(home: &std::path::Path, data: &str, extra: &[&str]) -> std::process::Output {
    let args = [
        "bench",
        "run",
        "G1",
        "--demo",
        "--max-tokens",
        "2",
        "--data",
        data,
        "--json",
    ];
    radiochat(&[&args[..], extra].concat(), home)
}

/// `bench run G1 --demo` on DATA, its score.
fn run_g1(home: &std::path::Path, data: &str, extra: &[&str]) -> Value {
    let ran = run_g1_output(home, data, extra);
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    serde_json::from_slice(&ran.stdout).unwrap()
}

#[test]
fn a_shapes_set_runs_as_g1_with_each_items_own_question() {
    let home = tempfile::tempdir().unwrap();
    let data = common::cli::synth_sky(home.path(), "shapes", "shapes", 6, 4);
    let dataset: Value = serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
    let items = dataset["data"].as_array().unwrap();
    let first = &items[0];
    assert_eq!(
        first["question"],
        "What shape are the objects in the image?"
    );
    assert_eq!(first["options"].as_array().unwrap().len(), 4);
    assert!(["A", "B", "C", "D"].contains(&first["label"].as_str().unwrap()));
    let image = data.with_file_name(first["filepaths"][0].as_str().unwrap());
    let picture = image::open(&image).unwrap().to_rgb8();
    assert_eq!(picture.dimensions(), (64, 64));

    // A one-shot prompt: the example's question and answer, then the item's question.
    let d = data.to_str().unwrap();
    let messages = one_shot_question(home.path(), d);
    let options = first["options"].as_array().unwrap();
    let lettered: Vec<String> = ["A", "B", "C", "D"]
        .iter()
        .zip(options)
        .map(|(l, o)| format!("{l}. {}", o.as_str().unwrap()))
        .collect();
    assert_eq!(
        messages[1]["content"],
        format!(
            "What shape are the objects in the image?\n{}\nAnswer with the option's letter from the given choices directly.",
            lettered.join("\n")
        )
    );
    assert_eq!(messages[2]["content"], first["label"]);

    let run = home.path().join("runs/g1");
    let score = run_g1(home.path(), d, &["--out", run.to_str().unwrap()]);
    assert_eq!(score["task"], "G1");
    assert_eq!(score["items"], 6);
    let records = std::fs::read_to_string(run.join("predictions.jsonl")).unwrap();
    for (line, item) in records.lines().zip(items) {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["sname"], item["sname"]);
        assert_eq!(record["truth"], json!([item["label"]]));
    }
}

#[test]
fn multiple_choice_items_that_cannot_be_asked_are_skipped_with_the_reason() {
    let home = tempfile::tempdir().unwrap();
    let data = common::cli::synth_sky(home.path(), "shapes", "shapes", 4, 4);
    let mut dataset: Value =
        serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
    dataset["data"][0]["options"] = json!(["1", "2", "3", "4", "5"]);
    dataset["data"][1]["label"] = json!("E");
    dataset["data"][2]
        .as_object_mut()
        .unwrap()
        .remove("question");
    let edited = data.with_file_name("edited.json");
    std::fs::write(&edited, dataset.to_string()).unwrap();
    let e = edited.to_str().unwrap();
    let out = run_g1_output(home.path(), e, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 item(s) skipped"), "{stderr}");
    assert!(
        stderr.contains("shapes-000000: 5 options; G1 takes at most 4"),
        "{stderr}"
    );
    assert!(
        stderr.contains("shapes-000001: label 'E' is not a class of G1"),
        "{stderr}"
    );
    assert!(stderr.contains("shapes-000002: no `question`"), "{stderr}");
    let score: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(score["items"], 1);
    assert_bad_input(
        &run_g1_output(home.path(), e, &["--strict"]),
        &["item shapes-000000: 5 options"],
    );
}

#[test]
fn an_imported_mmbench_file_runs_as_g1() {
    use base64::Engine as _;
    let home = tempfile::tempdir().unwrap();
    let mut png = Vec::new();
    image::RgbImage::from_pixel(32, 32, image::Rgb([30, 200, 40]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let picture = base64::engine::general_purpose::STANDARD.encode(&png);
    let tsv = home.path().join("mmbench_dev_en.tsv");
    let text = format!(
        "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\n\
         0\tWhat colour is the picture?\tnan\tred\tgreen\tblue\tnan\tB\tcolour\t{picture}\n\
         1\tWhich word names a colour?\t\"Read \"\"all\"\" options.\"\tgreen\trun\t\t\tA\tword\t{picture}\n\
         2\tNo picture\t\ta\tb\t\t\tA\tx\t\n"
    );
    std::fs::write(&tsv, text).unwrap();
    let out = home.path().join("mmbench");
    let args = [
        "bench",
        "import",
        "mmbench",
        tsv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let imported = radiochat(&args, home.path());
    assert_eq!(imported.status.code(), Some(0), "{imported:?}");
    let said = String::from_utf8_lossy(&imported.stdout);
    assert!(said.contains("(2 items, 1 skipped)"), "{said}");
    assert!(
        String::from_utf8_lossy(&imported.stderr).contains("skipped row 4 (index 2): no image"),
        "{imported:?}"
    );
    let dataset = out.join("dataset.json");
    let d = dataset.to_str().unwrap();
    assert_eq!(
        one_shot_question(home.path(), d)[1]["content"],
        "What colour is the picture?\nA. red\nB. green\nC. blue\nAnswer with the option's letter from the given choices directly."
    );
    let score = run_g1(home.path(), d, &[]);
    assert_eq!(score["items"], 2);
}

#[test]
fn multiple_choice_items_train_with_the_benchmarks_own_question() {
    let home = tempfile::tempdir().unwrap();
    let data = common::cli::synth_sky(home.path(), "shapes", "shapes", 5, 4);
    let out = home.path().join("train");
    let args = [
        "finetune",
        "data",
        "--from",
        data.to_str().unwrap(),
        "--val",
        "0",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    let built = radiochat(&args, home.path());
    assert_eq!(built.status.code(), Some(0), "{built:?}");
    let summary: Value = serde_json::from_slice(&built.stdout).unwrap();
    assert_eq!(summary["turns"]["G1"], 5, "{summary}");
    let train: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train.json")).unwrap()).unwrap();
    let dataset: Value = serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
    let first = &train[0]["conversations"];
    assert_eq!(
        first.as_array().unwrap().len(),
        2,
        "only the G1 turn: {first}"
    );
    // The question the benchmark asks, answered with the letter.
    let asked = one_shot_question(home.path(), data.to_str().unwrap());
    assert_eq!(
        first[0]["value"],
        format!("<image>\n{}", asked[1]["content"].as_str().unwrap())
    );
    assert_eq!(first[1]["value"], dataset["data"][0]["label"]);
}

#[test]
fn fixed_options_keep_the_pictures_and_answers_in_one_order() {
    let home = tempfile::tempdir().unwrap();
    let shuffled = common::cli::synth_sky(home.path(), "shuffled", "shapes", 9, 4);
    let fixed =
        common::cli::synth_sky_with(home.path(), "fixed", "shapes", 9, 4, &["--fixed-options"]);
    let items = |path: &std::path::Path| -> Vec<Value> {
        let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        data["data"].as_array().unwrap().clone()
    };
    let right = |item: &Value| -> String {
        let at = item["label"].as_str().unwrap().as_bytes()[0] - b'A';
        item["options"][at as usize].as_str().unwrap().to_string()
    };
    let orders: std::collections::HashSet<String> = items(&fixed)
        .iter()
        .map(|item| item["options"].to_string())
        .collect();
    assert_eq!(
        orders,
        [
            r#"["circle","square","triangle","diamond"]"#,
            r#"["red","green","blue","yellow"]"#,
            r#"["1","2","3","4"]"#,
        ]
        .map(String::from)
        .into()
    );
    for (a, b) in items(&shuffled).iter().zip(items(&fixed).iter()) {
        assert_eq!(right(a), right(b), "{a} vs {b}");
        let picture = |root: &str, item: &Value| {
            std::fs::read(
                home.path()
                    .join(root)
                    .join(item["filepaths"][0].as_str().unwrap()),
            )
            .unwrap()
        };
        assert_eq!(picture("shuffled", a), picture("fixed", b));
    }
    let radio = home.path().join("radio");
    let refused = radiochat(
        &["synth", "--out", radio.to_str().unwrap(), "--fixed-options"],
        home.path(),
    );
    assert_bad_input(&refused, &["--fixed-options is for --kind shapes"]);
    assert!(!radio.exists());
}
