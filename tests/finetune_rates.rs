//! `finetune run --vision-lr`: the vision tower trained whole learns at its own rate. AdamW's
//! first step moves every weight with a gradient by the rate times the gradient's sign (the
//! first moment over the root of the second is ±1; no weight decay), so after one step from
//! the base the largest move in the tower is `--vision-lr` and in the language model `--lr`.

mod common;

use common::cli::{assert_bad_input, radiochat, synth_sky};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const LM_RATE: f64 = 1e-3;
const TOWER_RATE: f64 = 1e-4;

fn weights(dir: &Path) -> HashMap<String, Vec<f32>> {
    let file = dir.join("model.safetensors");
    let tensors = candle_core::safetensors::load(&file, &candle_core::Device::Cpu).unwrap();
    tensors
        .into_iter()
        .map(|(name, t)| {
            let values = t.to_dtype(candle_core::DType::F32).unwrap();
            (name, values.flatten_all().unwrap().to_vec1().unwrap())
        })
        .collect()
}

/// The largest move of any weight whose name holds `part`, and how many tensors it covers.
fn largest_move(
    base: &HashMap<String, Vec<f32>>,
    trained: &HashMap<String, Vec<f32>>,
    part: &str,
) -> (f64, usize) {
    let mut largest = 0f64;
    let mut tensors = 0;
    for (name, before) in base.iter().filter(|(name, _)| name.contains(part)) {
        let after = trained
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the trained model"));
        for (a, b) in after.iter().zip(before) {
            largest = largest.max(f64::from((a - b).abs()));
        }
        tensors += 1;
    }
    (largest, tensors)
}

#[test]
fn the_vision_tower_trains_at_its_own_rate() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let sky = synth_sky(home.path(), "sky", "radioimg", 4, 3);
    let data = home.path().join("data");
    let (s, d) = (sky.to_str().unwrap(), data.to_str().unwrap());
    let made = radiochat(
        &["finetune", "data", "--from", s, "--out", d, "--tasks", "B3"],
        home.path(),
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let base = home.path().join("base");
    let b = base.to_str().unwrap();
    let made = radiochat(
        &["model", "tiny", "--arch", "llava_onevision", b],
        home.path(),
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let (lm, tower) = (LM_RATE.to_string(), TOWER_RATE.to_string());
    let one_step = [
        "--full",
        "--modules-to-save",
        "vision_tower",
        "--max-steps",
        "1",
        "--scheduler",
        "constant",
        "--warmup-ratio",
        "0",
        "--lr",
        &lm,
    ];

    let refused = common::cli::finetune_run(
        home.path(),
        &base,
        &data,
        &home.path().join("refused"),
        &["--vision-lr", "1e-4", "--max-steps", "1"],
    );
    assert_bad_input(&refused, &["--vision-lr", "--modules-to-save"]);
    let refused = common::cli::finetune_run(
        home.path(),
        &base,
        &data,
        &home.path().join("refused"),
        &[&one_step[..], &["--vision-lr", "0"]].concat(),
    );
    assert_bad_input(&refused, &["--vision-lr 0", "positive"]);

    let run = home.path().join("run");
    let launched = common::cli::finetune_run(
        home.path(),
        &base,
        &data,
        &run,
        &[&one_step[..], &["--vision-lr", &tower]].concat(),
    );
    assert_eq!(launched.status.code(), Some(0), "{launched:?}");
    let status = common::cli::wait_for_finetune(
        home.path(),
        &run,
        Duration::from_secs(300),
        Duration::from_millis(300),
        |s| !matches!(s["state"].as_str(), Some("RUNNING" | "PENDING")),
    );
    assert_eq!(status["state"], "COMPLETED", "{status}");

    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert_eq!(first["lr"].as_f64(), Some(LM_RATE), "{first}");
    assert_eq!(first["vision_lr"].as_f64(), Some(TOWER_RATE), "{first}");

    let (before, after) = (weights(&base), weights(&run.join("model")));
    for (part, rate) in [("vision_tower", TOWER_RATE), ("language_model", LM_RATE)] {
        let (moved, tensors) = largest_move(&before, &after, part);
        assert!(tensors > 4, "{part}: {tensors} tensors");
        assert!(
            (moved - rate).abs() < 0.02 * rate,
            "{part}: largest move {moved:e}, rate {rate:e}"
        );
    }
}
