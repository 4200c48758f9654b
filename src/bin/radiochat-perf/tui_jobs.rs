//! `radiochat-perf tui`'s jobs window at scale: N fine-tune runs kept in the data dir (each
//! with 500 metric lines and a log; one of them running, a live process), `/jobs` opened in
//! tmux — how long until the list shows, key → frame walking down the list, and the CPU the
//! open window takes while it refreshes each second.

use super::tui::{Keys, WAIT, cpu_seconds, quit, read_report};
use radiochat::finetune::job::{self, JobRecord};
use radiochat::finetune::spec::Launcher;
use radiochat::testkit::tmux::Tmux;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const METRIC_LINES: usize = 500;
const OPEN_SECONDS: f64 = 5.0;

#[derive(Debug, Clone, serde::Serialize)]
pub struct JobsCase {
    pub runs: usize,
    /// Enter of `/jobs` → the list on screen (tmux polls every 40 ms): every run read once.
    pub list_shown_ms: f64,
    pub keys: Keys,
    /// Share of one core the chat used with the window open and nothing typed.
    pub open_cpu_percent: f64,
}

/// `command(extra)`: the chat's command line with `extra` flags.
pub fn measure(
    home: &Path,
    tmux: &Tmux,
    command: &dyn Fn(&str) -> String,
    runs: usize,
) -> anyhow::Result<JobsCase> {
    let root = home.join("data/finetune");
    // The running one: a live process the window's refresh finds by pid and start time.
    let mut live = std::process::Command::new("sleep").arg("600").spawn()?;
    let written = (0..runs).try_for_each(|i| write_run(&root, i, (i == 0).then_some(live.id())));
    let measured = written.and_then(|()| measure_window(home, tmux, command, runs));
    let _ = live.kill();
    let _ = live.wait();
    measured
}

fn measure_window(
    home: &Path,
    tmux: &Tmux,
    command: &dyn Fn(&str) -> String,
    runs: usize,
) -> anyhow::Result<JobsCase> {
    tmux.respawn(&command(""))?;
    tmux.wait_for("the model", WAIT, |s| s.contains(" ready "))?;
    tmux.type_text("/jobs")?;
    let asked = Instant::now();
    tmux.keys(&["Enter"])?;
    tmux.wait_for("the runs", WAIT, |s| {
        s.contains(&format!("run-{:04}", runs - 1))
    })?;
    let list_shown_ms = asked.elapsed().as_secs_f64() * 1000.0;
    // Let the first full read (it draws each run's loss.png once) finish before timing.
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..runs.min(150) {
        tmux.keys(&["Down"])?;
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = tmux.pane_pid()?;
    let (before, at) = (cpu_seconds(pid)?, Instant::now());
    std::thread::sleep(Duration::from_secs_f64(OPEN_SECONDS));
    let open_cpu_percent = (cpu_seconds(pid)? - before) / at.elapsed().as_secs_f64() * 100.0;
    tmux.keys(&["Escape"])?;
    std::thread::sleep(Duration::from_millis(100));
    quit(tmux)?;
    let keys = read_report(&home.join("timings.json"))?.key_to_frame_idle_ms;
    Ok(JobsCase {
        runs,
        list_shown_ms,
        keys: Keys::of(&keys),
        open_cpu_percent,
    })
}

/// A local run's directory as `finetune run` leaves it: job.json, metrics.jsonl, the log, and
/// the exit code once it has ended (`live`: the pid of the process still running it).
fn write_run(root: &Path, index: usize, live: Option<u32>) -> anyhow::Result<()> {
    let dir = root.join(format!("run-{index:04}"));
    std::fs::create_dir_all(&dir)?;
    let record = JobRecord {
        launcher: Launcher::Local,
        pid: live,
        pid_start: live.and_then(job::process_start),
        slurm_job: None,
        submitted: "2026-12-01T10:00:00Z".into(),
    };
    std::fs::write(dir.join(job::JOB_FILE), serde_json::to_vec(&record)?)?;
    let mut metrics = std::io::BufWriter::new(std::fs::File::create(dir.join(job::METRICS_FILE))?);
    for step in 1..=METRIC_LINES {
        let line = serde_json::json!({
            "step": step,
            "epoch": step as f64 / 100.0,
            "loss": 2.0 / (1.0 + step as f64 / 50.0),
            "lr": 1e-4,
            "samples_per_s": 3.2,
            "elapsed_s": step as f64 * 2.5,
            "total_steps": METRIC_LINES * 2,
        });
        writeln!(metrics, "{line}")?;
    }
    metrics.flush()?;
    let log: String = (1..=200)
        .map(|step| {
            format!(
                "step {step}: loss {:.4}\n",
                2.0 / (1.0 + step as f64 / 50.0)
            )
        })
        .collect();
    std::fs::write(job::log_path(&dir), log)?;
    if live.is_none() {
        std::fs::write(dir.join(job::EXIT_FILE), "0\n")?;
    }
    Ok(())
}

/// The jobs window's rows of the table in docs/performance.md.
pub fn lines(cases: &[JobsCase]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        "| jobs window | /jobs → list shown | key → frame, p50 / p99 | CPU, window open |".into(),
        "|---|---|---|---|".into(),
    ];
    lines.extend(cases.iter().map(|case| {
        format!(
            "| {} runs ({METRIC_LINES} metric lines each, 1 running) | {:.0} ms | {} | {:.1} % of a core ({OPEN_SECONDS:.0} s) |",
            case.runs,
            case.list_shown_ms,
            case.keys.cell(),
            case.open_cpu_percent,
        )
    }));
    lines
}
