//! Running the `radiochat` binary the way a user does, in a private home.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Run radiochat with its config and data under `home`; any hub access fails fast.
pub fn radiochat(args: &[&str], home: &Path) -> Output {
    run_in(env!("CARGO_BIN_EXE_radiochat"), args, home)
}

/// `radiochat-perf ARGS` (the performance harnesses), with `home` as for [`radiochat`].
pub fn radiochat_perf(args: &[&str], home: &Path) -> Output {
    run_in(env!("CARGO_BIN_EXE_radiochat-perf"), args, home)
}

fn run_in(exe: &str, args: &[&str], home: &Path) -> Output {
    Command::new(exe)
        .args(args)
        .env("RADIOCHAT_CONFIG", home.join("config.toml"))
        .env("RADIOCHAT_DATA", home.join("data"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap_or_else(|e| panic!("running {exe}: {e}"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2, exactly one line on stderr, containing every `needle`, and no panic.
pub fn assert_bad_input(out: &Output, needles: &[&str]) {
    assert_one_line_error(out, 2, needles);
}

/// The machine failed, not the user's input (a full disk): exit code 1, one line on stderr
/// holding every needle.
pub fn assert_machine_failure(out: &Output, needles: &[&str]) {
    assert_one_line_error(out, 1, needles);
}

fn assert_one_line_error(out: &Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
}

/// `radiochat synth` of `n` 64-pixel cutouts of `kind` into `home/name`; the dataset JSON.
pub fn synth_sky(home: &Path, name: &str, kind: &str, n: usize, seed: u64) -> std::path::PathBuf {
    synth_sky_with(home, name, kind, n, seed, &[])
}

/// [`synth_sky`] with more `radiochat synth` flags (e.g. `--balance`).
pub fn synth_sky_with(
    home: &Path,
    name: &str,
    kind: &str,
    n: usize,
    seed: u64,
    extra: &[&str],
) -> std::path::PathBuf {
    let out = home.join(name);
    let (n, seed) = (n.to_string(), seed.to_string());
    let args = [
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--n",
        &n,
        "--seed",
        &seed,
        "--kind",
        kind,
        "--size",
        "64",
    ];
    let made = radiochat(&[&args[..], extra].concat(), home);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    out.join("dataset.json")
}

/// `exec env … radiochat ARGS` for a tmux pane, so the pane's process is radiochat itself.
pub fn tmux_command(home: &Path, args: &str) -> String {
    format!(
        "cd {home} && exec env RADIOCHAT_DATA={home}/data RADIOCHAT_CONFIG={home}/config.toml \
         HF_HUB_OFFLINE=1 TERM=xterm-256color {bin} {args}",
        home = home.display(),
        bin = env!("CARGO_BIN_EXE_radiochat"),
    )
}

/// A tiny random idefics3 base in `home/base`, and `finetune data` of a `n`-image synthetic
/// sky in `home/data` (`extra` flags added).
pub fn tiny_base_and_data(
    home: &Path,
    n: usize,
    extra: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf) {
    tiny_base_and_sky_data(home, n, &[], extra)
}

/// [`tiny_base_and_data`] from a sky made with extra `radiochat synth` flags.
pub fn tiny_base_and_sky_data(
    home: &Path,
    n: usize,
    sky_flags: &[&str],
    extra: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf) {
    let base = home.join("base");
    let made = radiochat(&["model", "tiny", base.to_str().unwrap()], home);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let sky = synth_sky_with(home, "train-sky", "radioimg", n, 21, sky_flags);
    let data = home.join("data");
    let (s, d) = (sky.to_str().unwrap(), data.to_str().unwrap());
    let args = ["finetune", "data", "--from", s, "--out", d];
    let made = radiochat(&[&args[..], extra].concat(), home);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    (base, data)
}

/// `radiochat finetune run --base BASE --data DATA --out RUN EXTRA…`.
pub fn finetune_run(home: &Path, base: &Path, data: &Path, run: &Path, extra: &[&str]) -> Output {
    let (b, d, r) = (
        base.to_str().unwrap(),
        data.to_str().unwrap(),
        run.to_str().unwrap(),
    );
    let args = ["finetune", "run", "--base", b, "--data", d, "--out", r];
    radiochat(&[&args[..], extra].concat(), home)
}

/// `--model DIR` for a tiny random-weight idefics3 in `home/random-idefics3` (written on first
/// call): for tests that need long streamed answers, which the fine-tuned demo model does not
/// give (it answers and stops).
pub fn random_model_flag(home: &Path) -> String {
    let dir = home.join("random-idefics3");
    if !dir.join("model.safetensors").exists() {
        let made = radiochat(&["model", "tiny", dir.to_str().unwrap()], home);
        assert_eq!(made.status.code(), Some(0), "{made:?}");
    }
    format!("--model {}", dir.display())
}

/// The one-node SLURM cluster scripts/slurm-local.sh starts (scripts/setup.sh runs it) answers.
pub fn assert_slurm_cluster() {
    let cluster = std::process::Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output();
    let states = cluster.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    assert!(
        states
            .as_deref()
            .is_ok_and(|s| s.contains("idle") || s.contains("mix") || s.contains("alloc")),
        "no SLURM cluster answers: run scripts/setup.sh (it starts scripts/slurm-local.sh): {states:?}"
    );
}

/// Cancels, when dropped, every fine-tune job still running in a run directory directly under
/// `home` or under its `data/finetune`: a test that fails mid-way leaves no detached trainer
/// (local process group or SLURM job) behind. Declare it after the `TempDir` it watches.
pub struct CancelJobsOnDrop<'a>(pub &'a Path);

impl Drop for CancelJobsOnDrop<'_> {
    fn drop(&mut self) {
        let home = self.0;
        let parents = [home.to_path_buf(), home.join("data/finetune")];
        let runs = parents
            .iter()
            .filter_map(|p| std::fs::read_dir(p).ok())
            .flat_map(|entries| entries.flatten().map(|e| e.path()))
            .filter(|run| run.join("job.json").is_file() && !run.join("exit_code").exists());
        for run in runs {
            // A job that ended meanwhile is refused ("already ended"): nothing to do.
            let _ = radiochat(&["finetune", "cancel", &run.to_string_lossy()], home);
        }
    }
}

/// The answer journalled so far to the newest user message `question`: its `tokens` events
/// concatenated, read from the session journals under `home/data/sessions` as they are on
/// disk now (lines a writer has not finished are skipped, as radiochat's reader does).
pub fn journalled_answer(home: &Path, question: &str) -> String {
    let journals = std::fs::read_dir(home.join("data/sessions"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"));
    let mut found = String::new();
    for journal in journals {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        let mut answer: Option<String> = None;
        for event in text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        {
            match event["type"].as_str() {
                Some("user") if event["text"] == question => answer = Some(String::new()),
                Some("user") => answer = None,
                Some("tokens") => {
                    if let Some(a) = answer.as_mut() {
                        a.push_str(event["text"].as_str().unwrap_or_default());
                    }
                }
                _ => {}
            }
        }
        found = answer.unwrap_or(found);
    }
    found
}

/// Waits until at least `chars` characters of the answer to `question` are on disk; returns them.
pub fn wait_for_journalled_answer(
    home: &Path,
    question: &str,
    chars: usize,
    limit: std::time::Duration,
) -> String {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let answer = journalled_answer(home, question);
        if answer.chars().count() >= chars {
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{limit:?} passed with {} characters of the answer to {question:?} on disk",
            answer.chars().count()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `bench score FILE --task TASK --json EXTRA…`, which must succeed: the score as JSON.
pub fn score_json(home: &Path, file: &Path, task: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "bench",
        "score",
        file.to_str().unwrap(),
        "--task",
        task,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = radiochat(&args, home);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The run's row of `radiochat finetune status RUN --json`.
pub fn finetune_status(home: &Path, run: &Path) -> serde_json::Value {
    let out = radiochat(
        &["finetune", "status", run.to_str().unwrap(), "--json"],
        home,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

/// Ask `finetune status` every `every` until `done` holds; fails after `limit`.
pub fn wait_for_finetune(
    home: &Path,
    run: &Path,
    limit: std::time::Duration,
    every: std::time::Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let s = finetune_status(home, run);
        if done(&s) {
            return s;
        }
        assert!(std::time::Instant::now() < deadline, "gave up waiting: {s}");
        std::thread::sleep(every);
    }
}

/// The share of the most common answer in a B3 dataset: what always giving it scores.
pub fn b3_majority_share(dataset: &Path) -> f64 {
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dataset).unwrap()).unwrap();
    let items = data["data"].as_array().unwrap();
    let galaxies = items
        .iter()
        .filter(|item| {
            item["label"]
                .as_array()
                .unwrap()
                .contains(&serde_json::Value::from("RADIO-GALAXY"))
        })
        .count() as f64;
    let n = items.len() as f64;
    galaxies.max(n - galaxies) / n
}
