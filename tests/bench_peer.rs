//! `radiochat-perf peer` and `ask` on a tiny model: radiochat and transformers (from the test Python
//! environment) both answer, on the same prompt (same token count), with the roofline beside.

mod common;

use common::cli::{radiochat_perf, random_model_flag};
use serde_json::Value;

#[test]
fn both_engines_run_the_same_prompt_and_the_roofline_is_computed() {
    let home = tempfile::tempdir().unwrap();
    let flag = random_model_flag(home.path());
    let model = flag.trim_start_matches("--model ");
    let python = common::serve::venv_python();
    let out = radiochat_perf(
        &[
            "peer",
            "--model",
            model,
            "--runs",
            "1",
            "--max-tokens",
            "4",
            "--ours",
            "f32,q8_0",
            "--peers",
            "f32",
            "--python",
            python.to_str().unwrap(),
            "--json",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["machine"]["copy_gbs"].as_f64().unwrap() > 0.1,
        "{report}"
    );
    assert!(report["weights"]["decode_params"].as_u64().unwrap() > 0);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{report}");
    for row in rows {
        assert!(row["error"].is_null(), "{row}");
        assert!(
            row["decode_tok_per_s"]["median"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        let (peak, answering) = (
            row["peak_rss_mb"].as_f64().unwrap(),
            row["answering_rss_mb"].as_f64().unwrap(),
        );
        // A part of the process's life cannot peak above the whole (VmHWM lags: a margin).
        assert!(answering > 1.0 && answering <= peak * 1.05 + 16.0, "{row}");
        assert!(row["roofline_tok_per_s"].as_f64().unwrap() > 0.0, "{row}");
    }
    // The peer renders the same chat template over the same image: the same prompt length.
    assert_eq!(
        rows[0]["prompt_tokens"], rows[2]["prompt_tokens"],
        "{report}"
    );
    assert!(
        rows[2]["engine"]
            .as_str()
            .unwrap()
            .starts_with("transformers")
    );
    // A q8_0 weight takes about a quarter of an f32 one: its roofline is about 4× higher.
    let ratio = rows[1]["roofline_tok_per_s"].as_f64().unwrap()
        / rows[0]["roofline_tok_per_s"].as_f64().unwrap();
    assert!((ratio - 4.0 / (34.0 / 32.0)).abs() < 1e-6, "{ratio}");

    let table = radiochat_perf(
        &[
            "peer",
            "--model",
            model,
            "--runs",
            "1",
            "--max-tokens",
            "2",
            "--ours",
            "bogus",
            "--peers",
            "f32",
            "--python",
            "/nonexistent/python",
        ],
        home.path(),
    );
    assert_eq!(
        table.status.code(),
        Some(0),
        "a failed setting is a row, not an abort: {table:?}"
    );
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("bogus (failed:") && text.contains("f32 (cannot start:"),
        "{text}"
    );
}

#[test]
fn bench_ask_splits_the_whole_path_into_stages_that_add_up() {
    let home = tempfile::tempdir().unwrap();
    let out = radiochat_perf(
        &[
            "ask",
            "--runs",
            "2",
            "--max-tokens",
            "4",
            "--size",
            "300",
            "--json",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["completion_tokens"], 4, "{report}");
    let stages: Vec<(String, f64)> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap().to_string(),
                s[1]["median"].as_f64().unwrap(),
            )
        })
        .collect();
    let ms = |name: &str| {
        stages
            .iter()
            .find(|(n, _)| n.starts_with(name))
            .unwrap_or_else(|| panic!("no stage {name}: {report}"))
            .1
    };
    for (name, value) in &stages {
        assert!(*value > 0.0, "{name}: {value} ms in {report}");
    }
    // Two runs: each median is a mean, so the stages of every run adding up carries over.
    let parts =
        ms("FITS read") + ms("radio-llava") + ms("model load") + ms("request") + ms("first →");
    let whole = ms("whole command");
    assert!(
        parts <= whole * 1.001,
        "stages {parts} ms > whole {whole} ms"
    );
    assert!(whole <= ms("process"), "{report}");

    let missing = radiochat_perf(
        &["ask", "--runs", "1", "--image", "/nonexistent/cutout.fits"],
        home.path(),
    );
    assert_ne!(missing.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.trim().lines().count() == 1 && stderr.contains("/nonexistent/cutout.fits"),
        "{stderr}"
    );
}
