//! `radiochat finetune run|status|logs|cancel` with the local launcher, for real: the trainer
//! trains a tiny model, the adapter is merged and benchmarked against the base (the seed's
//! claim in miniature); cancelled and failed jobs; and the launches that are refused.

mod common;

use common::cli::{assert_bad_input, b3_majority_share, radiochat, synth_sky_with};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Skies where half the cutouts hold a radio galaxy and no other extended source: B3 with
/// its classes balanced, so beating the majority class means reading the image.
const BALANCED_B3: [&str; 2] = ["--balance", "radio-galaxy=0.5,extended=0"];

/// A tiny base, training data for B3 from one synthetic sky, and a second sky held out from
/// it (`--exclude`) for the benchmark.
fn b3_setup(home: &Path, train: usize, test: usize) -> (PathBuf, PathBuf, PathBuf) {
    let held_out = synth_sky_with(home, "test-sky", "radioimg", test, 99, &BALANCED_B3);
    let h = held_out.to_str().unwrap();
    let (base, data) = common::cli::tiny_base_and_sky_data(
        home,
        train,
        &BALANCED_B3,
        &["--tasks", "B3", "--exclude", h],
    );
    (base, data, held_out)
}

fn launch(
    home: &Path,
    base: &Path,
    data: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    common::cli::finetune_run(home, base, data, out, extra)
}

fn wait_until(home: &Path, run: &Path, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    common::cli::wait_for_finetune(home, run, limit, Duration::from_millis(300), done)
}

#[test]
fn a_lora_run_trains_merges_and_beats_its_base_on_b3() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let (base, data, held_out) = b3_setup(home.path(), 450, 160);
    // A run directory whose name needs the script's quoting.
    let run = home.path().join("run $(touch pwned); 'q' x");
    let started = Instant::now();
    let launched = launch(
        home.path(),
        &base,
        &data,
        &run,
        &[
            "--max-steps",
            "1500",
            "--batch-size",
            "8",
            "--lr",
            "2e-3",
            "--warmup-ratio",
            "0.05",
            "--lora-rank",
            "64",
            "--lora-alpha",
            "128",
            // LLaVA-OneVision's recipe: the projector and the vision tower trained whole
            // beside the LoRA (a frozen random tower hides too much of the image).
            "--modules-to-save",
            "lm_head,modality_projection,vision_model",
            "--log-every",
            "10",
            // The same weights on every CI machine, Intel or AMD.
            "--deterministic",
            "--threads",
            "2",
        ],
    );
    assert_eq!(launched.status.code(), Some(0), "{launched:?}");
    // Generous limits: a busy 2-core machine runs this several times slower than an idle one.
    let first = wait_until(home.path(), &run, Duration::from_secs(300), |s| {
        s["step"].as_u64().unwrap() > 0 || s["state"] != "RUNNING"
    });
    let to_first_metrics = started.elapsed();
    eprintln!("first metrics line after {to_first_metrics:?}: {first}");
    let done = wait_until(home.path(), &run, Duration::from_secs(1800), |s| {
        s["state"] != "RUNNING" && s["state"] != "PENDING"
    });
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(done["step"], 1500);
    assert!(run.join("loss.png").exists(), "status draws loss.png");
    assert!(!home.path().join("pwned").exists() && !run.join("pwned").exists());
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for key in ["step", "epoch", "loss", "lr", "grad_norm", "samples_per_s"] {
        assert!(lines[0].get(key).is_some(), "{key} in {}", lines[0]);
    }
    let first_loss = lines[0]["loss"].as_f64().unwrap();
    let last_loss = lines[lines.len() - 2]["loss"].as_f64().unwrap();
    assert!(
        last_loss < first_loss,
        "loss fell: {first_loss} → {last_loss}"
    );
    eprintln!(
        "training: {} samples/s, loss {first_loss:.3} → {last_loss:.3}, val_loss {}",
        done["samples_per_s"], done["val_loss"]
    );

    // `finetune eval` merges the adapter and benchmarks base and fine-tuned model.
    let (r, h) = (run.to_str().unwrap(), held_out.to_str().unwrap());
    let args = [
        "finetune",
        "eval",
        r,
        "--bench",
        "B3",
        "--data",
        h,
        "--max-tokens",
        "8",
    ];
    let eval = radiochat(
        &[&args[..], &["--concurrency", "4", "--json"]].concat(),
        home.path(),
    );
    assert_eq!(eval.status.code(), Some(0), "{eval:?}");
    assert!(run.join("merged/config.json").exists());
    let pairs: Value = serde_json::from_slice(&eval.stdout).unwrap();
    let metric = |side: &str, name: &str| {
        pairs[0][side]["score"]["metrics_invalid_as_wrong"][name]
            .as_f64()
            .unwrap()
    };
    let (base_f1, tuned_f1) = (metric("base", "f1_macro"), metric("tuned", "f1_macro"));
    let tuned_accuracy = metric("tuned", "accuracy");
    let majority = b3_majority_share(&held_out);
    eprintln!(
        "B3 on a held-out balanced sky (invalid = wrong): F1 macro base {base_f1:.3} → \
         fine-tuned {tuned_f1:.3}; accuracy {tuned_accuracy:.3} (majority class {majority:.3})"
    );
    // Measured 0.87–0.90 across seeds and unpinned kernels (docs/finetuning.md): the floors
    // keep a margin of 0.14 below the lowest.
    assert!(
        tuned_f1 >= base_f1 + 0.6,
        "base {base_f1}, fine-tuned {tuned_f1}"
    );
    // Far more than the prior: the answers follow the images.
    assert!(
        tuned_accuracy >= majority + 0.2,
        "accuracy {tuned_accuracy}, majority class {majority}"
    );
    // Run again: both benchmark runs are finished and are read, not repeated; the table prints.
    let table = radiochat(
        &["finetune", "eval", r, "--bench", "B3", "--data", h],
        home.path(),
    );
    let text = String::from_utf8_lossy(&table.stdout);
    eprintln!("{text}");
    assert!(
        text.contains("F1 (weighted)") && text.contains("merged"),
        "{text}"
    );

    // The forgetting check: the radio gains (B3, read again; L1 on the held-out sky's boxes)
    // and a general set (G1 on synthetic shapes) in one table.
    let shapes = common::cli::synth_sky(home.path(), "shapes", "shapes", 12, 3);
    let benches = format!("B3,L1,G1={}", shapes.display());
    let args = [
        "finetune",
        "eval",
        r,
        "--bench",
        &benches,
        "--data",
        h,
        "--limit",
        "20",
        "--max-tokens",
        "24",
        "--concurrency",
        "4",
    ];
    let forgetting = radiochat(&args, home.path());
    assert_eq!(forgetting.status.code(), Some(0), "{forgetting:?}");
    let text = String::from_utf8_lossy(&forgetting.stdout);
    eprintln!("{text}");
    let row = |task: &str, domain: &str, metric: &str| {
        text.lines().any(|l| {
            let cells: Vec<&str> = l.split("  ").filter(|c| !c.trim().is_empty()).collect();
            cells.len() == 6
                && cells[0].trim() == task
                && cells[1].trim() == domain
                && cells[2].trim() == metric
        })
    };
    assert!(row("B3", "radio", "F1 (weighted)"), "{text}");
    assert!(row("L1", "radio", "box F1"), "{text}");
    assert!(row("G1", "general", "accuracy"), "{text}");
    assert!(
        text.contains("radio: mean Δ") && text.contains("over 2 task(s) · general: mean Δ"),
        "{text}"
    );
}

/// The losses a finished run logged, as written (exact: compared run to run).
fn logged_losses(run: &Path) -> Vec<String> {
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    metrics
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|line| format!("{} {} {}", line["step"], line["loss"], line["val_loss"]))
        .collect()
}

#[test]
fn examples_encoded_again_past_the_cache_budget_train_the_same() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    // Two answers a conversation, so each example has two labelled spans to find again.
    let (base, data) = common::cli::tiny_base_and_sky_data(
        home.path(),
        12,
        &[],
        &["--tasks", "B3,B4", "--val", "0.2"],
    );
    let mut losses = Vec::new();
    // 0 MiB: nothing kept, every draw encoded afresh; the default keeps all of this sky.
    for budget in [&["--cache-mb", "0"][..], &[]] {
        let run = home.path().join(format!("run-{}", losses.len()));
        let flags = ["--max-steps", "12", "--batch-size", "4", "--lr", "1e-3"];
        let pinned = ["--log-every", "1", "--deterministic", "--threads", "1"];
        let launched = launch(
            home.path(),
            &base,
            &data,
            &run,
            &[&flags[..], &pinned, budget].concat(),
        );
        assert_eq!(launched.status.code(), Some(0), "{launched:?}");
        let done = wait_until(home.path(), &run, Duration::from_secs(600), |s| {
            s["state"] != "RUNNING" && s["state"] != "PENDING"
        });
        assert_eq!(done["state"], "COMPLETED", "{done}");
        losses.push(logged_losses(&run));
    }
    // Twelve steps of four over the nine or ten training conversations: every example is drawn
    // again in later epochs, from the cache in one run and encoded anew in the other; and the
    // validation loss after them.
    assert_eq!(losses[0].len(), 13, "{:?}", losses[0]);
    assert!(!losses[0][12].ends_with("null"), "{:?}", losses[0]);
    assert_eq!(losses[0], losses[1]);
}

#[test]
fn cancelled_and_failed_jobs_say_so() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let (base, data, _) = b3_setup(home.path(), 20, 4);
    let long = home.path().join("long");
    let launched = launch(
        home.path(),
        &base,
        &data,
        &long,
        &["--max-steps", "1000000"],
    );
    assert_eq!(launched.status.code(), Some(0), "{launched:?}");
    wait_until(home.path(), &long, Duration::from_secs(120), |s| {
        s["step"].as_u64().unwrap() > 0
    });
    let cancelled = radiochat(&["finetune", "cancel", long.to_str().unwrap()], home.path());
    assert_eq!(cancelled.status.code(), Some(0), "{cancelled:?}");
    let s = wait_until(home.path(), &long, Duration::from_secs(30), |s| {
        s["state"] != "RUNNING"
    });
    assert_eq!(s["state"], "CANCELLED", "{s}");
    assert_bad_input(
        &radiochat(&["finetune", "cancel", long.to_str().unwrap()], home.path()),
        &["already ended (CANCELLED)"],
    );

    let broken = home.path().join("broken");
    let launched = launch(
        home.path(),
        &base,
        &data,
        &broken,
        &["--scheduler", "no-such-schedule"],
    );
    assert_eq!(launched.status.code(), Some(0), "{launched:?}");
    let s = wait_until(home.path(), &broken, Duration::from_secs(120), |s| {
        s["state"] != "RUNNING"
    });
    assert_eq!(s["state"], "FAILED", "{s}");
    assert_ne!(s["exit_code"], 0);
    let shown = radiochat(
        &["finetune", "status", broken.to_str().unwrap()],
        home.path(),
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("FAILED (exit code") && text.contains("last log lines:"),
        "{text}"
    );
    assert!(
        text.contains("no-such-schedule"),
        "the trainer's error is in the tail: {text}"
    );
    let logs = radiochat(
        &["finetune", "logs", broken.to_str().unwrap(), "-n", "5"],
        home.path(),
    );
    assert!(String::from_utf8_lossy(&logs.stdout).contains("no-such-schedule"));
}

#[test]
fn launches_that_cannot_work_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let (base, data, _) = b3_setup(home.path(), 6, 2);
    let out = home.path().join("run");
    let nowhere = home.path().join("nowhere");
    assert_bad_input(
        &launch(home.path(), &nowhere, &data, &out, &[]),
        &["config.json"],
    );
    let gpt2 = home.path().join("gpt2");
    std::fs::create_dir_all(&gpt2).unwrap();
    std::fs::write(
        gpt2.join("config.json"),
        r#"{"architectures": ["GPT2LMHeadModel"]}"#,
    )
    .unwrap();
    assert_bad_input(
        &launch(home.path(), &gpt2, &data, &out, &[]),
        &["cannot fine-tune this base"],
    );
    assert!(!out.exists(), "a refused launch leaves no run directory");
    assert_bad_input(
        &launch(home.path(), &base, &nowhere, &out, &[]),
        &["train.json", "finetune data"],
    );
    let empty = home.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("train.json"), "[]").unwrap();
    assert_bad_input(
        &launch(home.path(), &base, &empty, &out, &[]),
        &["no training examples"],
    );
    assert_bad_input(
        &launch(
            home.path(),
            &base,
            &data,
            &out,
            &["--python", "/usr/bin/python3"],
        ),
        &[
            "lacks the trainer's packages",
            "pip install -r trainer/requirements.txt",
        ],
    );
    // No sbatch on PATH.
    let (b, d, o) = (
        base.to_str().unwrap(),
        data.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let no_slurm = std::process::Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args([
            "finetune",
            "run",
            "--base",
            b,
            "--data",
            d,
            "--out",
            o,
            "--launcher",
            "slurm",
        ])
        .env("RADIOCHAT_DATA", home.path().join("data-dir"))
        .env("RADIOCHAT_CONFIG", home.path().join("config.toml"))
        .env("PATH", home.path().join("empty-path"))
        .output()
        .unwrap();
    assert_bad_input(&no_slurm, &["SLURM not found on PATH", "--launcher local"]);
    assert!(!out.exists(), "a refused launch leaves no run directory");
    std::fs::create_dir_all(&out).unwrap();
    assert_bad_input(
        &launch(home.path(), &base, &data, &out, &[]),
        &["exists; choose another --out"],
    );
}
