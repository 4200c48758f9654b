//! Every architecture the embedded engine serves can be fine-tuned end to end: a tiny model of
//! it is trained a few LoRA steps by the real trainer (`finetune run`), the adapter is merged
//! (`finetune merge`, which maps transformers' module names back to the checkpoint's), and the
//! merged directory loads in the engine and answers about an image, otherwise than its base
//! (the engine runs the trained weights). A full fine-tune's saved model (transformers' own
//! files) loads and answers otherwise than its base too. A high learning rate makes a few
//! steps move the weights far enough to change a greedy answer.

mod common;

use common::cli::{radiochat, synth_sky};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

use radiochat::testkit::tiny::TINY_ARCHS;

/// Full fine-tunes: a Llama-text layout, a LLaVA one (transformers 5 rewrites both configs),
/// and LLaVA-OneVision on radiochat's own engine (radio-llava's architecture).
const FULL_ARCHS: [&str; 3] = ["idefics3", "llava", "llava_onevision"];

#[test]
fn every_engine_architecture_trains_merges_and_answers() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let sky = synth_sky(home.path(), "sky", "radioimg", 6, 3);
    let data = home.path().join("data");
    let args = [
        "finetune",
        "data",
        "--from",
        sky.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
    ];
    let made = radiochat(&[&args[..], &["--tasks", "B3"]].concat(), home.path());
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    // All jobs at once: they run detached, side by side.
    for arch in TINY_ARCHS {
        let base = home.path().join(format!("base-{arch}"));
        let made = radiochat(
            &["model", "tiny", "--arch", arch, base.to_str().unwrap()],
            home.path(),
        );
        assert_eq!(made.status.code(), Some(0), "{arch}: {made:?}");
        let run = home.path().join(format!("run-{arch}"));
        let launched = common::cli::finetune_run(
            home.path(),
            &base,
            &data,
            &run,
            &["--max-steps", "5", "--lr", "0.05"],
        );
        assert_eq!(launched.status.code(), Some(0), "{arch}: {launched:?}");
    }
    for arch in FULL_ARCHS {
        let base = home.path().join(format!("base-{arch}"));
        let run = home.path().join(format!("full-{arch}"));
        let launched = common::cli::finetune_run(
            home.path(),
            &base,
            &data,
            &run,
            &["--max-steps", "2", "--full", "--lr", "0.05"],
        );
        assert_eq!(launched.status.code(), Some(0), "{arch}: {launched:?}");
    }
    // Every job shares the CPUs; the released-size towers (Phi-3.5 vision's CLIP, Phi-4's
    // SigLIP) make theirs the slowest.
    let deadline = Instant::now() + Duration::from_secs(1200);
    let wait = |arch: &str, run: &Path| {
        let done = loop {
            let s = common::cli::finetune_status(home.path(), run);
            if s["state"] != "RUNNING" && s["state"] != "PENDING" {
                break s;
            }
            assert!(Instant::now() < deadline, "{arch}: still {s}");
            std::thread::sleep(Duration::from_millis(500));
        };
        assert_eq!(done["state"], "COMPLETED", "{arch}: {done}");
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answers = |arch: &str, model: &Path| {
        let picture = image::DynamicImage::ImageRgb8(radiochat::imaging::demo_cutout().to_rgb8());
        let question =
            radiochat::engine::ChatMessage::user("Is there a radio galaxy?", vec![picture]);
        let answer = common::greedy_answer(&runtime, model, question, 6);
        let (_, usage) = answer.finished.clone().unwrap();
        assert_eq!(usage.completion_tokens, 6, "{arch}: {answer:?}");
        answer.text()
    };
    let base_answer = |arch: &str| answers(arch, &home.path().join(format!("base-{arch}")));
    for arch in FULL_ARCHS {
        let run = home.path().join(format!("full-{arch}"));
        wait(arch, &run);
        let tuned = answers(arch, &run.join("model"));
        assert_ne!(
            tuned,
            base_answer(arch),
            "{arch}: full fine-tune answers as its base"
        );
    }
    for arch in TINY_ARCHS {
        let run = home.path().join(format!("run-{arch}"));
        wait(arch, &run);
        let merged = radiochat(&["finetune", "merge", run.to_str().unwrap()], home.path());
        assert_eq!(merged.status.code(), Some(0), "{arch}: {merged:?}");
        assert!(
            String::from_utf8_lossy(&merged.stdout).contains("tensors merged"),
            "{arch}: {merged:?}"
        );
        let tuned = answers(arch, &run.join("merged"));
        assert_ne!(
            tuned,
            base_answer(arch),
            "{arch}: the merged model answers as its base"
        );
    }
    // radio-llava's architecture through `finetune eval`: base and tuned benchmarked side by
    // side on the own engine.
    let run = home.path().join("run-llava_onevision");
    let args = [
        "finetune",
        "eval",
        run.to_str().unwrap(),
        "--bench",
        "B3",
        "--data",
        sky.to_str().unwrap(),
        "--max-tokens",
        "4",
        "--json",
    ];
    let eval = radiochat(&args, home.path());
    assert_eq!(eval.status.code(), Some(0), "{eval:?}");
    let pairs: Value = serde_json::from_slice(&eval.stdout).unwrap();
    for side in ["base", "tuned"] {
        let accuracy = &pairs[0][side]["score"]["metrics_invalid_as_wrong"]["accuracy"];
        assert!(accuracy.is_number(), "{side}: {}", pairs[0][side]);
    }
}
