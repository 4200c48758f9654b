//! `radiochat bench run` end to end on the synthetic sky with the demo model: every task runs
//! and writes its run directory; kill -9 and --resume give the uninterrupted run's metrics;
//! bad input gets one-line errors.

mod common;

use common::cli::{assert_bad_input, radiochat};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn synth(home: &Path, kind: &str, n: usize) -> PathBuf {
    common::cli::synth_sky(home, kind, kind, n, 11)
}

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["bench", "run", "--demo", "--max-tokens", "6"];
    all.extend_from_slice(args);
    radiochat(&all, home)
}

#[test]
fn every_task_runs_on_the_synthetic_sky_and_writes_its_run_directory() {
    let home = tempfile::tempdir().unwrap();
    let radioimg = synth(home.path(), "radioimg", 6);
    let rgz = synth(home.path(), "rgz", 4);
    let mirabest = synth(home.path(), "mirabest", 4);
    for (task, data) in [
        ("B1", &radioimg),
        ("B2", &rgz),
        ("B3", &radioimg),
        ("B4", &radioimg),
        ("B5", &radioimg),
        ("B6", &mirabest),
    ] {
        let dir = home.path().join(format!("runs/{task}"));
        let out = run(
            home.path(),
            &[
                task,
                "--data",
                data.to_str().unwrap(),
                "--out",
                dir.to_str().unwrap(),
                "--concurrency",
                "2",
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{task}: {out:?}");
        let score: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(score["task"], task);
        let items = score["items"].as_u64().unwrap();
        assert!(items >= 4, "{task}: {score}");
        common::assert_run_dir_complete(&dir);
        let lines = std::fs::read_to_string(dir.join("predictions.jsonl")).unwrap();
        assert_eq!(
            lines.lines().count() as u64,
            items,
            "{task}: one line per item"
        );
        let records: Vec<Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // The score is the predictions' own: unparseable answers counted, and counted wrong,
        // accuracy the share of items whose labels are the truth's (as sets: multi-label too).
        let labels = |v: &Value| -> Option<Vec<String>> {
            let mut l: Vec<String> = v
                .as_array()?
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            l.sort();
            Some(l)
        };
        let invalid = records.iter().filter(|r| r["pred"].is_null()).count();
        let right = records
            .iter()
            .filter(|r| labels(&r["pred"]).is_some_and(|p| Some(p) == labels(&r["truth"])))
            .count();
        assert_eq!(score["invalid"], invalid, "{task}: {score}");
        let accuracy = score["metrics_invalid_as_wrong"]["accuracy"]
            .as_f64()
            .unwrap();
        assert!(
            (accuracy - right as f64 / items as f64).abs() < 1e-12,
            "{task}: accuracy {accuracy}, {right} of {items} right"
        );
        let first = &records[0];
        for key in [
            "sname",
            "truth",
            "pred",
            "raw",
            "attempts",
            "latency_ms",
            "prompt_tokens",
            "completion_tokens",
        ] {
            assert!(first.get(key).is_some(), "{task}: {key} in {first}");
        }
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(report.starts_with(&format!("# {task} (")), "{report}");
        assert!(report.contains("As radio-llava reports it"), "{report}");
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(info["dataset_sha256"].as_str().unwrap().len(), 64);
        image::open(dir.join("confusion.png")).expect("a PNG");
    }
}

#[test]
fn kill_9_then_resume_gives_the_uninterrupted_metrics() {
    let home = tempfile::tempdir().unwrap();
    let data = synth(home.path(), "radioimg", 24);
    let data = data.to_str().unwrap();
    // The random tiny model answers with all 6 tokens, slowly enough to be killed mid-run.
    let model_flag = common::cli::random_model_flag(home.path());
    let model = model_flag.trim_start_matches("--model ").to_string();
    let whole = home.path().join("whole");
    let out = run(
        home.path(),
        &[
            "B5",
            "--model",
            &model,
            "--data",
            data,
            "--out",
            whole.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let broken = home.path().join("broken");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args([
            "bench",
            "run",
            "--model",
            &model,
            "--max-tokens",
            "6",
            "B5",
            "--data",
            data,
        ])
        .args(["--out", broken.to_str().unwrap()])
        .env("RADIOCHAT_CONFIG", home.path().join("config.toml"))
        .env("RADIOCHAT_DATA", home.path().join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let predictions = broken.join("predictions.jsonl");
    let started = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&predictions)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no predictions appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .count();
    assert!(partial < 24, "killed before the end ({partial} lines)");
    // As if the kill had cut a line in half.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&predictions)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"sname\":\"radioimg-0000"))
        .unwrap();

    // Resumed without a model flag: the run's own model is loaded again.
    let resumed = radiochat(
        &[
            "bench",
            "run",
            "--max-tokens",
            "6",
            "--resume",
            broken.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(resumed.status.code(), Some(0), "{resumed:?}");
    let text = std::fs::read_to_string(&predictions).unwrap();
    let mut snames: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["sname"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    snames.sort();
    snames.dedup();
    assert_eq!(snames.len(), 24, "every item exactly once");
    assert_eq!(text.lines().count(), 24);
    let metrics = |dir: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
    };
    assert_eq!(metrics(&whole), metrics(&broken));
    // The progress line's running figures count the answers kept from before the kill.
    let last_progress = |stderr: &[u8]| -> String {
        let text = String::from_utf8_lossy(stderr);
        let line = text
            .lines()
            .rfind(|l| l.starts_with("24/24 items"))
            .unwrap_or_default();
        line.split(" · ")
            .filter(|fact| fact.starts_with("accuracy") || fact.ends_with("invalid"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let expected = last_progress(&out.stderr);
    assert!(expected.starts_with("accuracy"), "{out:?}");
    assert_eq!(last_progress(&resumed.stderr), expected);

    // Side by side: identical runs differ by nothing.
    let compare = radiochat(
        &[
            "bench",
            "compare",
            whole.to_str().unwrap(),
            broken.to_str().unwrap(),
            "--md",
        ],
        home.path(),
    );
    let table = String::from_utf8_lossy(&compare.stdout);
    // One model with one prompt twice: the columns carry the runs' names instead.
    assert!(table.starts_with("| metric"), "{table}");
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("whole v1") && header.contains("broken v1"),
        "{header}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("| accuracy") && l.contains("(+0.0000)")),
        "{table}"
    );
    assert_bad_input(
        &radiochat(
            &["bench", "compare", home.path().to_str().unwrap()],
            home.path(),
        ),
        &["not a run directory"],
    );
}

#[test]
fn bad_benchmark_input_gets_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let data = synth(home.path(), "radioimg", 3);
    let d = data.to_str().unwrap();
    assert_bad_input(
        &run(home.path(), &["B9", "--data", d]),
        &["unknown task 'B9'"],
    );
    let not_json = home.path().join("notes.json");
    std::fs::write(&not_json, "hello").unwrap();
    assert_bad_input(
        &run(home.path(), &["B3", "--data", not_json.to_str().unwrap()]),
        &["notes.json: not a radio-llava dataset"],
    );
    let empty = home.path().join("empty.json");
    std::fs::write(&empty, r#"{"data": []}"#).unwrap();
    assert_bad_input(
        &run(home.path(), &["B3", "--data", empty.to_str().unwrap()]),
        &["the dataset has no items"],
    );
    let occupied = home.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    assert_bad_input(
        &run(
            home.path(),
            &["B3", "--data", d, "--out", occupied.to_str().unwrap()],
        ),
        &["exists and is not a run directory"],
    );
    assert_bad_input(
        &run(home.path(), &["B3", "--data", d, "--concurrency", "0"]),
        &["--concurrency must be at least 1"],
    );
    assert_bad_input(
        &run(home.path(), &["--resume", home.path().to_str().unwrap()]),
        &["not a run directory"],
    );
    // A label outside the vocabulary is skipped (or refused with --strict); an image that
    // fails to load is an error item and the run goes on.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value["data"][0]["label"] = serde_json::json!(["SPIRAL"]);
    let broken_image = home.path().join("radioimg/images/broken.fits");
    std::fs::write(&broken_image, b"SIMPLE  =                    T").unwrap();
    value["data"][1]["filepaths"] = serde_json::json!(["images/broken.fits"]);
    let edited = home.path().join("radioimg/edited.json");
    std::fs::write(&edited, value.to_string()).unwrap();
    let e = edited.to_str().unwrap();
    assert_bad_input(
        &run(home.path(), &["B3", "--data", e, "--strict"]),
        &["tag 'SPIRAL'"],
    );
    let out = run(home.path(), &["B3", "--data", e, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 item(s) skipped"));
    let score: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(score["items"], 2);
    assert_eq!(score["errors"], 1);
}

/// mistralrs 0.8.1 answers image requests batched together differently from the same requests
/// one at a time; radiochat queues them, so --concurrency changes speed, never answers.
#[test]
fn answers_do_not_depend_on_concurrency() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "radioimg", 12);
    let model = home.path().join("random-model");
    let made = radiochat(&["model", "tiny", model.to_str().unwrap()], home.path());
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let answers = |concurrency: &str| {
        let dir = home.path().join(format!("runs/c{concurrency}"));
        let out = radiochat(
            &[
                "bench",
                "run",
                "B3",
                "--model",
                model.to_str().unwrap(),
                "--max-tokens",
                "12",
                "--data",
                sky.to_str().unwrap(),
                "--out",
                dir.to_str().unwrap(),
                "--concurrency",
                concurrency,
            ],
            home.path(),
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let mut raw: Vec<(String, String)> = std::fs::read_to_string(dir.join("predictions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|v| (v["sname"].to_string(), v["raw"].to_string()))
            .collect();
        raw.sort();
        raw
    };
    let one_at_a_time = answers("1");
    assert_eq!(one_at_a_time.len(), 12);
    assert_eq!(answers("4"), one_at_a_time);
}

#[test]
fn resume_is_exclusive_retries_errors_and_skips_damaged_lines() {
    let home = tempfile::tempdir().unwrap();
    let data = synth(home.path(), "radioimg", 6);
    let dir = home.path().join("run");
    let dir_arg = dir.to_str().unwrap();
    let first = run(
        home.path(),
        &["B3", "--data", data.to_str().unwrap(), "--out", dir_arg],
    );
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let metrics = || -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
    };
    let clean = metrics();
    assert!(!dir.join("run.lock").exists(), "the lock goes with the run");
    // Prompts and answers: the run directory and everything in it are private.
    assert_eq!(common::mode(&dir), 0o700);
    for name in ["run.json", "predictions.jsonl", "metrics.json", "report.md"] {
        assert_eq!(common::mode(&dir.join(name)), 0o600, "{name}");
    }

    // Another process (here on "node07") is writing the run: a second resume is refused.
    {
        let _holder = common::ForeignLock::hold(
            &dir.join("run.lock"),
            "node07 4242 2026-11-30T09:00:00.000Z\n",
        );
        let refused = run(home.path(), &["--resume", dir_arg]);
        assert_bad_input(&refused, &["4242 on node07", dir_arg]);
    }

    // A damaged line mid-file, and an item whose last record is an error.
    let predictions = dir.join("predictions.jsonl");
    let text = std::fs::read_to_string(&predictions).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let failed: Value = serde_json::from_str(lines[2]).unwrap();
    let error_record = serde_json::json!({
        "sname": failed["sname"], "truth": failed["truth"], "pred": null, "raw": "",
        "attempts": 1, "latency_ms": 0.0, "prompt_tokens": 0, "completion_tokens": 0,
        "error": "engine unavailable"
    });
    let mut damaged = vec![lines[0], "{\"sname\": \"radioimg-00"];
    damaged.extend(&lines[1..]);
    let error_line = error_record.to_string();
    damaged.push(&error_line);
    std::fs::write(&predictions, damaged.join("\n") + "\n").unwrap();

    let score = common::cli::score_json(home.path(), &predictions, "B3", &[]);
    assert_eq!(score["items"], 6, "last record per item: {score}");
    assert_eq!(score["errors"], 1, "{score}");

    let resumed = run(home.path(), &["--resume", dir_arg]);
    assert_eq!(resumed.status.code(), Some(0), "{resumed:?}");
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        err.contains("line 2: skipped"),
        "the damaged line is reported: {err}"
    );
    let after = std::fs::read_to_string(&predictions).unwrap();
    assert_eq!(
        after.lines().count(),
        9,
        "only the error item was asked again"
    );
    let retried: Value = serde_json::from_str(after.lines().last().unwrap()).unwrap();
    assert_eq!(retried["sname"], failed["sname"]);
    assert!(retried.get("error").is_none(), "{retried}");
    assert_eq!(metrics(), clean, "no double counting, the error retried");
}
