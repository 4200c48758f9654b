//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod finetune_data;
pub mod fits;
pub mod serve;
pub mod tui;

use radiochat::engine::{EngineEvent, FinishReason, Generation, Usage};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The checkout under test. Cargo sets `CARGO_MANIFEST_DIR` when it runs a test; the value
/// compiled in can name another clone, since the shared target dir (scripts/env.sh) lets cargo
/// reuse a test binary built from the same source elsewhere.
pub fn checkout() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// A file of the checkout under test, as an argument for a command line.
pub fn checkout_file(relative: &str) -> String {
    checkout().join(relative).display().to_string()
}

/// How long a tiny model's answer about a new image may take before a test calls it a hang.
/// Generous: Phi-4 multimodal's tower is released-size (SigLIP-so400m at 448 px, which
/// mistral.rs 0.8.1 hard-codes) and takes about 55 s per new image on 2 AMD EPYC cores and
/// about 100 s on 2 Intel Xeon ones, more while other tests share the cores; 180 s was once
/// exceeded in CI.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(480);

/// Write a tiny model of `arch` under `dir`.
pub fn tiny_model(dir: &Path, arch: &str) -> PathBuf {
    let out = dir.join(arch);
    radiochat::testkit::tiny::write(arch, radiochat::testkit::tiny::Scale::Tiny, 7, &out, false)
        .expect("writing the tiny model");
    out
}

/// What one generation produced.
#[derive(Debug)]
pub struct Collected {
    pub tokens: Vec<String>,
    pub finished: Option<(FinishReason, Usage)>,
    pub failed: Option<String>,
}

impl Collected {
    pub fn text(&self) -> String {
        self.tokens.concat()
    }
}

/// Read events until the terminal one; panics if none arrives within `limit` (a hang is
/// exactly what the engine must never do). `after_tokens` runs after each token.
pub fn collect(
    mut generation: Generation,
    limit: Duration,
    mut after_token: impl FnMut(usize),
) -> Collected {
    let deadline = Instant::now() + limit;
    let mut out = Collected {
        tokens: Vec::new(),
        finished: None,
        failed: None,
    };
    loop {
        assert!(
            Instant::now() < deadline,
            "no terminal event within {limit:?}; got {out:?}"
        );
        match generation.try_next() {
            Some(EngineEvent::Token(t)) => {
                out.tokens.push(t);
                after_token(out.tokens.len());
            }
            Some(EngineEvent::Finished { reason, usage }) => {
                out.finished = Some((reason, usage));
                return out;
            }
            Some(EngineEvent::Failed(message)) => {
                out.failed = Some(message);
                return out;
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Load the model directory `model` in the embedded engine and ask `message` greedily for
/// exactly `tokens` tokens (EOS ignored); panics if it does not load or the answer fails.
pub fn greedy_answer(
    runtime: &tokio::runtime::Runtime,
    model: &Path,
    message: radiochat::engine::ChatMessage,
    tokens: usize,
) -> Collected {
    let engine = runtime
        .block_on(radiochat::engine::load(&radiochat::engine::LoadSpec::new(
            radiochat::engine::ModelSource::Local(model.to_path_buf()),
        )))
        .unwrap_or_else(|e| panic!("{} does not load: {e}", model.display()));
    let mut request = radiochat::engine::ChatRequest {
        messages: vec![message],
        sampling: Default::default(),
    };
    request.sampling.max_tokens = tokens;
    request.sampling.ignore_eos = true;
    let _guard = runtime.enter();
    let answer = collect(engine.stream(request), ANSWER_LIMIT, |_| {});
    assert!(
        answer.failed.is_none(),
        "{}: {:?}",
        model.display(),
        answer.failed
    );
    answer
}

/// A finished benchmark run directory has all its files.
pub fn assert_run_dir_complete(dir: &Path) {
    for file in [
        "run.json",
        "predictions.jsonl",
        "metrics.json",
        "report.md",
        "confusion.png",
    ] {
        assert!(dir.join(file).exists(), "{}: no {file}", dir.display());
    }
}

/// A process elsewhere holding `lock` with `record` written in it, as a radiochat on another
/// node sharing this home directory would (the `flock` tool opens without truncating).
pub struct ForeignLock(std::process::Child);

impl ForeignLock {
    pub fn hold(lock: &Path, record: &str) -> ForeignLock {
        use std::os::unix::process::CommandExt;
        std::fs::write(lock, record).unwrap();
        let ready = lock.with_extension(format!("ready-{}", rand_suffix()));
        // -o: the lock stays with `flock` itself, so killing its process group frees it.
        let child = std::process::Command::new("flock")
            .args(["-x", "-o"])
            .arg(lock)
            .args(["sh", "-c"])
            .arg(format!("touch '{}'; exec sleep 60", ready.display()))
            .process_group(0)
            .spawn()
            .expect("flock from util-linux");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "flock never took the lock"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&ready);
        ForeignLock(child)
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Drop for ForeignLock {
    fn drop(&mut self) {
        // SAFETY: signalling the process group this helper started.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// Permission bits of a file or directory.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().mode() & 0o777
}

/// The JSON objects a reference script printed, one a line (its other lines skipped).
pub fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Run the project's Python (scripts/setup.sh's venv) with `args`, `input` on its stdin;
/// its stdout, or a panic with its stderr when it fails.
pub fn reference_python(args: &[&str], input: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(serve::venv_python())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Python environment from scripts/setup.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Python reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
