//! `radiochat bench prompt`: what a benchmark item sends equals what radio-llava sends, byte
//! for byte (tests/reference/radio_llava_prompts.json, written from reading its code; the
//! commits are named there), zero-shot for every task and few-shot with a retry turn by turn;
//! the seventh task runs end to end; bad input gets one line.

mod common;

use common::cli::{assert_bad_input, radiochat};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn reference() -> Value {
    let text = include_str!("reference/radio_llava_prompts.json");
    serde_json::from_str(text).unwrap()
}

fn shown(home: &Path, args: &[&str]) -> Value {
    let out = radiochat(&[&["bench", "prompt"], args, &["--json"]].concat(), home);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_tasks_question_is_radio_llavas_byte_for_byte() {
    let home = tempfile::tempdir().unwrap();
    let expected = reference()["zero_shot"].as_object().unwrap().clone();
    assert_eq!(
        expected.len(),
        14,
        "7 tasks, with and without the description"
    );
    for (key, text) in &expected {
        let mut parts = key.split('/');
        let (task, version) = (parts.next().unwrap(), parts.next().unwrap());
        let mut args = vec![task, "--prompt", version];
        if parts.next() == Some("describe") {
            args.push("--add-task-description");
        }
        let got = shown(home.path(), &args);
        assert_eq!(got["text"], *text, "{key}");
        assert_eq!(got["task"], task);
        assert_eq!(got["prompt"], version);
        assert_eq!(
            got["system"],
            "You are an AI assistant specialized in radio astronomical topics."
        );
        let messages = got["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{key}: system and the question");
        assert_eq!(messages[1]["content"], *text);
        assert_eq!(messages[1]["image_of"], "the item");
    }
    // The defaults are radio-llava's: v1, no description.
    let b6 = shown(home.path(), &["galaxymorphclass-mirabest"]);
    assert_eq!(b6["text"], expected["B6/v1"]);
}

/// A context dataset whose items carry `tags`; the images exist but are never read.
fn context(home: &Path, name: &str, tags: &Value) -> PathBuf {
    let dir = home.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let items: Vec<Value> = tags
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, label)| {
            std::fs::write(dir.join(format!("{i}.png")), b"not read").unwrap();
            json!({"sname": format!("shot{i}"), "filepaths": [format!("{i}.png")], "label": label})
        })
        .collect();
    let path = dir.join("context.json");
    std::fs::write(&path, json!({ "data": items }).to_string()).unwrap();
    path
}

fn turns(messages: &Value) -> Vec<(String, String, Option<u64>)> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
                m["image"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn few_shot_items_and_their_retries_are_radio_llavas_turn_by_turn() {
    let home = tempfile::tempdir().unwrap();
    let cases = reference()["few_shot"].as_object().unwrap().clone();
    assert_eq!(cases.len(), 4);
    for (key, case) in &cases {
        let mut parts = key.split('/');
        let task = parts.next().unwrap();
        let describe = key.ends_with("/describe");
        let file = context(home.path(), &key.replace('/', "-"), &case["shot_tags"]);
        let mut args = vec![task, "--shots", "2", "--context", file.to_str().unwrap()];
        if describe {
            args.push("--add-task-description");
        }
        let first = shown(home.path(), &args);
        assert_eq!(turns(&first["messages"]), turns(&case["messages"]), "{key}");
        let retry = shown(home.path(), &[&args[..], &["--retry", "1"]].concat());
        assert_eq!(turns(&retry["messages"]), turns(&case["retry"]), "{key}");
        // Every retry is the same fresh turn (radio-llava asks up to three times).
        let third = shown(home.path(), &[&args[..], &["--retry", "3"]].concat());
        assert_eq!(turns(&third["messages"]), turns(&case["retry"]), "{key}");
    }
}

#[test]
fn the_galaxy_mnist_task_runs_end_to_end_on_synthetic_galaxies() {
    let home = tempfile::tempdir().unwrap();
    let data = common::cli::synth_sky(home.path(), "gmnist", "gmnist", 8, 5);
    let dataset: Value = serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    let labels: Vec<&str> = dataset["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels[..4],
        [
            "SMOOTH_ROUND",
            "SMOOTH_CIGAR",
            "EDGE_ON_DISK",
            "UNBARRED_SPIRAL"
        ]
    );
    let first = data.parent().unwrap().join("images/gmnist-000000.png");
    assert_eq!(image::open(&first).unwrap().color(), image::ColorType::Rgb8);
    let dir = home.path().join("run");
    let out = radiochat(
        &[
            "bench",
            "run",
            "B7",
            "--demo",
            "--max-tokens",
            "6",
            "--data",
            data.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--shuffle-options",
            "3",
            "--json",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    common::assert_run_dir_complete(&dir);
    let run: Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["task_key"], "galaxymorphclass-gmnist");
    assert_eq!(run["shuffle_options"], 3);
    assert_eq!(run["add_options"], true);
    let metrics: Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    let class_ids = &metrics["radio_llava"]["labels"];
    assert_eq!(
        *class_ids,
        json!([
            "NONE",
            "SMOOTH_ROUND",
            "SMOOTH_CIGAR",
            "EDGE_ON_DISK",
            "UNBARRED_SPIRAL"
        ])
    );
}

#[test]
fn bad_prompt_requests_get_one_line_naming_the_choices_or_the_file() {
    let home = tempfile::tempdir().unwrap();
    let out = radiochat(&["bench", "prompt", "B9"], home.path());
    assert_bad_input(&out, &["unknown task 'B9'", "B7 (galaxymorphclass-gmnist)"]);
    let out = radiochat(&["bench", "prompt", "B3", "--prompt", "v9"], home.path());
    assert_bad_input(
        &out,
        &["no prompt version 'v9'", "choices: clean, clean-v2, v1"],
    );
    let out = radiochat(&["bench", "prompt", "B3", "--add-options"], home.path());
    assert_bad_input(
        &out,
        &[
            "B3-galaxydet-radioimg.toml",
            "[prompts.v1] has no `options`",
        ],
    );
    let out = radiochat(&["bench", "prompt", "B1", "--shots", "2"], home.path());
    assert_bad_input(&out, &["--shots needs --context"]);
    let tasks = home.path().join("tasks");
    std::fs::create_dir_all(&tasks).unwrap();
    let b4 = include_str!("../prompts/benchmarks/B4-artefactdet-radioimg.toml").replacen(
        "subfix = \"Answer concisely: Yes or No.\"\n",
        "",
        1,
    );
    std::fs::write(tasks.join("mine.toml"), b4).unwrap();
    let out = radiochat(
        &[
            "bench",
            "prompt",
            "B4",
            "--tasks-dir",
            tasks.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_bad_input(&out, &["mine.toml", "[prompts.v1] has no `subfix`"]);
}
