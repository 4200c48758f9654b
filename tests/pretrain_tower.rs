//! `finetune run --stage tower` (trainer/pretrain_tower.py), the demo model's first stage
//! (scripts/make-demo-model.sh): on a question a mean of patch features can answer (a bright
//! source or none), its held-out accuracy reaches 1; it takes the closed questions and leaves the
//! free descriptions out; its run directory is read by `finetune status` as any run's; it
//! replaces the tower's tensors and no other, in a model the engine still loads and answers
//! with; data without a closed question ends the job with its path named, and a base that is no
//! LLaVA-OneVision is refused before launch.

mod common;

use common::cli::{assert_bad_input, finetune_run, wait_for_finetune};
use common::{greedy_answer, tiny_model};
use image::{Rgb, RgbImage};
use radiochat::engine::ChatMessage;
use safetensors::SafeTensors;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const SIDE: u32 = 48;

/// Noise, and with `source` a bright disc somewhere in it.
fn cutout(index: u32, source: bool) -> RgbImage {
    let (cx, cy) = (12 + (index * 7) % 24, 12 + (index * 13) % 24);
    RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let noise = ((x * 7919 + y * 104_729 + index * 31) % 61) as u8;
        let (dx, dy) = (x as i64 - cx as i64, y as i64 - cy as i64);
        let v = if source && dx * dx + dy * dy < 64 {
            250
        } else {
            noise
        };
        Rgb([v, v, v])
    })
}

/// A `finetune data`-shaped directory: per image a closed question (`#radio-galaxy`, YES when it
/// holds a source) and a free description; `train` images in train.json, 48 in val.json.
fn data_dir(home: &Path, train: u32, closed: bool) -> std::path::PathBuf {
    let dir = home.join("data");
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut splits = (Vec::new(), Vec::new());
    for i in 0..train + 48 {
        let source = i % 2 == 0;
        let image = format!("images/{i:04}.png");
        cutout(i, source).save(dir.join(&image)).unwrap();
        let answer = if source { "YES" } else { "NO" };
        let description = format!("The image is a radio astronomical image cutout number {i}.");
        let mut records = vec![json!({"id": format!("sky-{i}#describe"), "image": image,
            "conversations": [{"from": "human", "value": "<image>\nDescribe the input image."},
                              {"from": "gpt", "value": description}]})];
        if closed {
            records.push(
                json!({"id": format!("sky-{i}#radio-galaxy"), "image": image,
                "conversations": [{"from": "human", "value": "<image>\nIs there a radio galaxy?"},
                                  {"from": "gpt", "value": answer}]}),
            );
        }
        let split = if i < train {
            &mut splits.0
        } else {
            &mut splits.1
        };
        split.extend(records);
    }
    for (name, records) in [("train.json", &splits.0), ("val.json", &splits.1)] {
        std::fs::write(dir.join(name), serde_json::to_vec(records).unwrap()).unwrap();
    }
    dir
}

fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path.join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut all: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    all.sort();
    all
}

/// Launches the tower stage and waits for it to end; its final `finetune status` row.
fn tower_stage(
    home: &Path,
    base: &Path,
    data: &Path,
    run: &Path,
    epochs: &str,
) -> serde_json::Value {
    let launched = finetune_run(
        home,
        base,
        data,
        run,
        &["--stage", "tower", "--epochs", epochs],
    );
    assert_eq!(launched.status.code(), Some(0), "{launched:?}");
    wait_for_finetune(
        home,
        run,
        Duration::from_secs(600),
        Duration::from_millis(500),
        |s| !matches!(s["state"].as_str(), Some("RUNNING" | "PENDING")),
    )
}

#[test]
fn the_tower_learns_a_closed_question_and_nothing_else_changes() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let base = tiny_model(home.path(), "llava_onevision");
    let data = data_dir(home.path(), 512, true);
    let run = home.path().join("run");
    let status = tower_stage(home.path(), &base, &data, &run, "10");
    let log = std::fs::read_to_string(run.join("train.log")).unwrap();
    assert_eq!(status["state"], "COMPLETED", "{status}\n{log}");
    assert!(
        log.lines()
            .any(|l| l == "questions: radio-galaxy (2 answers)"),
        "the description is not a closed question: {log}"
    );
    let last = log
        .lines()
        .rfind(|l| l.starts_with("epoch 10:"))
        .unwrap_or_default();
    assert!(
        last.contains("held-out accuracy radio-galaxy 1.000"),
        "a source or none, averaged over the patches, is not learnt: {log}"
    );
    // 512 images in batches of 32, ten epochs; the held-out scores after each epoch.
    assert_eq!(status["total_steps"], 160, "{status}");
    assert_eq!(status["step"], 160, "{status}");
    assert!(
        status["val_loss"].as_f64().is_some_and(|v| v < 0.1),
        "{status}"
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let scored: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l.get("val_accuracy").is_some())
        .collect();
    assert_eq!(scored.len(), 10, "{metrics}");
    assert_eq!(scored[9]["val_accuracy"]["radio-galaxy"], 1.0, "{metrics}");

    let out = run.join("model");
    let (before, after) = (tensors(&base), tensors(&out));
    assert_eq!(
        before.iter().map(|t| &t.0).collect::<Vec<_>>(),
        after.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    let changed: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0.as_str())
        .collect();
    assert!(
        changed.contains(&"vision_tower.embeddings.patch_embedding.weight"),
        "{changed:?}"
    );
    assert!(
        changed.iter().all(|name| name.starts_with("vision_tower.")),
        "tensors outside the tower changed: {changed:?}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let picture = image::DynamicImage::ImageRgb8(cutout(0, true));
    let message = ChatMessage::user("Is there a radio galaxy?", vec![picture]);
    let answer = greedy_answer(&runtime, &out, message, 4);
    assert_eq!(answer.tokens.len(), 4, "{answer:?}");
}

#[test]
fn data_without_a_closed_question_fails_by_name_and_other_bases_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let base = tiny_model(home.path(), "llava_onevision");
    let data = data_dir(home.path(), 40, false);
    let run = home.path().join("run");
    let status = tower_stage(home.path(), &base, &data, &run, "1");
    assert_eq!(status["state"], "FAILED", "{status}");
    assert_eq!(status["exit_code"], 1, "{status}");
    let train = data.join("train.json");
    let log = std::fs::read_to_string(run.join("train.log")).unwrap();
    assert_eq!(
        log.trim().lines().last().unwrap_or_default(),
        format!(
            "pretrain_tower.py: {}: no question with a closed set of answers",
            train.display()
        )
    );
    assert!(
        !run.join("model").exists(),
        "a failed stage wrote its model"
    );

    let other = tiny_model(home.path(), "idefics3");
    let refused = finetune_run(
        home.path(),
        &other,
        &data,
        &home.path().join("refused"),
        &["--stage", "tower"],
    );
    assert_bad_input(&refused, &["config.json", "--stage tower", "Idefics3"]);
    assert!(!home.path().join("refused").exists());
}
