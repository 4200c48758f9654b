//! `radiochat-perf tui`: the chat's responsiveness in a real terminal (tmux), on a random tiny
//! model — time to first frame (before the model has loaded), key-to-frame latency while an
//! answer streams and while idle, and idle CPU. Then sessions of many turns resumed
//! (`tui_long`), the bench view on a 50,000-item run (`tui_bench`), the jobs window over 200
//! runs (`tui_jobs`) and the sessions browser over 5,000 stored sessions (`tui_browser`). A
//! benchmark, not a test.

use crate::engine::Stat;
use radiochat::commands::{CommandError, CommandResult};
use radiochat::testkit::tmux::Tmux;
use radiochat::tui::timings::Report;
use std::path::Path;
use std::time::{Duration, Instant};

/// The goals.
pub const FIRST_FRAME_GOAL_MS: f64 = 150.0;
pub const KEY_P99_GOAL_MS: f64 = 16.0;
pub const IDLE_CPU_GOAL_PERCENT: f64 = 1.0;

#[derive(Debug, Clone, serde::Serialize)]
pub struct TuiReport {
    /// `main` → first frame, per start.
    pub first_frame_ms: Stat,
    /// Kernel exec → first frame (10 ms resolution), per start.
    pub first_frame_since_exec_ms: Stat,
    pub key_streaming: Keys,
    /// Decode speed of the answers streaming while keys were timed.
    pub streaming_tok_per_s: f64,
    pub key_idle: Keys,
    /// Share of one core used over `idle_seconds` with the chat open and nothing happening.
    pub idle_cpu_percent: f64,
    pub idle_seconds: f64,
    /// Sessions of many turns resumed.
    pub long_sessions: Vec<super::tui_long::LongCase>,
    /// The bench view on a run of many items, most of them resumed.
    pub bench_view: Option<super::tui_bench::BenchViewCase>,
    /// The jobs window over many fine-tune runs.
    pub jobs: Option<super::tui_jobs::JobsCase>,
    /// The sessions browser over many stored sessions.
    pub browser: Option<super::tui_browser::BrowserCase>,
}

pub struct BenchTuiArgs {
    pub starts: usize,
    pub keys: usize,
    pub idle_seconds: f64,
    /// Turns of each long session resumed (0: an empty one, the baseline).
    pub long_turns: Vec<usize>,
    /// Items of the bench view's run (0: not measured).
    pub bench_items: usize,
    /// Fine-tune runs the jobs window is measured over (0: not measured).
    pub jobs_runs: usize,
    /// Stored sessions the browser is measured over (0: not measured).
    pub browser_sessions: usize,
}

pub const WAIT: Duration = Duration::from_secs(60);

pub fn run(args: &BenchTuiArgs) -> CommandResult<TuiReport> {
    if args.starts == 0 || args.keys == 0 {
        return Err(CommandError::bad("--starts and --keys must be at least 1"));
    }
    let failed = |e: anyhow::Error| CommandError::Failed(e.context("perf tui"));
    let scratch = radiochat::util::private_file::scratch_dir("radiochat-perf-tui-")
        .map_err(|e| failed(e.into()))?;
    measure(scratch.path(), args).map_err(failed)
}

fn measure(home: &Path, args: &BenchTuiArgs) -> anyhow::Result<TuiReport> {
    let exe = crate::radiochat_exe().map_err(|e| anyhow::anyhow!("{e}"))?;
    let timings = home.join("timings.json");
    // A random tiny model: its answers run to max_tokens, so keys land while tokens stream
    // (the fine-tuned demo model answers in a few tokens).
    let model = home.join("random-idefics3");
    radiochat::testkit::tiny::write(
        "idefics3",
        radiochat::testkit::tiny::Scale::Tiny,
        0,
        &model,
        true,
    )?;
    let command = |extra: &str| {
        format!(
            "exec env RADIOCHAT_DATA={home}/data RADIOCHAT_CONFIG={home}/config.toml \
             RADIOCHAT_TUI_TIMINGS={timings} TERM=xterm-256color {exe} --model {model} {extra}",
            home = home.display(),
            timings = timings.display(),
            exe = exe.display(),
            model = model.display(),
        )
    };
    // A first start warms the page cache; it is not counted.
    let tmux = Tmux::start("perf-tui", &command(""), 100, 30)?;
    tmux.wait_for("the model", WAIT, |s| s.contains(" ready "))?;
    quit(&tmux)?;

    let mut first = Vec::new();
    let mut first_exec = Vec::new();
    for _ in 0..args.starts {
        tmux.respawn(&command(""))?;
        tmux.wait_for("the model", WAIT, |s| s.contains(" ready "))?;
        quit(&tmux)?;
        let report = read_report(&timings)?;
        first.push(report.first_frame_ms);
        first_exec.extend(report.first_frame_since_exec_ms);
    }

    // Keys while answers stream, then idle keys, then idle CPU.
    tmux.respawn(&command(""))?;
    tmux.wait_for("the model", WAIT, |s| s.contains(" ready "))?;
    tmux.line("/set max_tokens 3000")?;
    let mut typed = 0;
    while typed < args.keys {
        tmux.line("Describe this radio source in detail.")?;
        tmux.wait_for("streaming", WAIT, |s| s.contains("generating"))?;
        while typed < args.keys {
            tmux.type_text("x")?;
            typed += 1;
            std::thread::sleep(Duration::from_millis(12));
            if typed % 10 == 0 && !tmux.screen()?.contains("generating") {
                break;
            }
        }
        tmux.keys(&["C-u"])?;
        tmux.wait_for("the answer to end", WAIT, |s| !s.contains("generating"))?;
    }
    for _ in 0..args.keys.min(50) {
        tmux.type_text("y")?;
        std::thread::sleep(Duration::from_millis(20));
    }
    tmux.keys(&["C-u"])?;
    std::thread::sleep(Duration::from_secs(1));
    let pid = tmux.pane_pid()?;
    let (cpu_before, at) = (cpu_seconds(pid)?, Instant::now());
    std::thread::sleep(Duration::from_secs_f64(args.idle_seconds));
    let idle_cpu_percent = (cpu_seconds(pid)? - cpu_before) / at.elapsed().as_secs_f64() * 100.0;
    quit(&tmux)?;
    let report = read_report(&timings)?;
    let long_sessions = args
        .long_turns
        .iter()
        .map(|&turns| super::tui_long::measure(home, &tmux, &command, turns, args.starts))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bench_view = (args.bench_items > 0)
        .then(|| super::tui_bench::measure(home, &tmux, &command, args.bench_items))
        .transpose()?;
    let jobs = (args.jobs_runs > 0)
        .then(|| super::tui_jobs::measure(home, &tmux, &command, args.jobs_runs))
        .transpose()?;
    // Last: it fills the store with sessions.
    let browser = (args.browser_sessions > 0)
        .then(|| super::tui_browser::measure(home, &tmux, &command, args.browser_sessions))
        .transpose()?;
    let (streaming, idle) = (
        report.key_to_frame_streaming_ms,
        report.key_to_frame_idle_ms,
    );
    Ok(TuiReport {
        first_frame_ms: Stat::of(&first),
        first_frame_since_exec_ms: Stat::of(&first_exec),
        key_streaming: Keys::of(&streaming),
        streaming_tok_per_s: report.streamed_tokens as f64 / report.streamed_seconds.max(1e-9),
        key_idle: Keys::of(&idle),
        idle_cpu_percent,
        idle_seconds: args.idle_seconds,
        long_sessions,
        bench_view,
        jobs,
        browser,
    })
}

/// Ctrl-C until the chat exits (the first may close a window or cancel an answer).
pub fn quit(tmux: &Tmux) -> anyhow::Result<()> {
    let started = Instant::now();
    while !tmux.pane_dead() {
        if started.elapsed() > WAIT {
            anyhow::bail!("radiochat did not exit: {}", tmux.screen()?);
        }
        tmux.keys(&["C-c"])?;
        std::thread::sleep(Duration::from_millis(150));
    }
    Ok(())
}

pub fn read_report(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: no timings written ({e})", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap_or(0) + 2..]
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((ticks(11) + ticks(12)) / per_second)
}

/// Key → frame latencies of one measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Keys {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub samples: usize,
}

impl Keys {
    pub fn of(ms: &[f64]) -> Keys {
        Keys {
            p50_ms: percentile(ms, 50.0),
            p99_ms: percentile(ms, 99.0),
            max_ms: ms.iter().copied().fold(0.0, f64::max),
            samples: ms.len(),
        }
    }

    /// The table cell: p50 / p99, the keys, and the goal's mark.
    pub fn cell(&self) -> String {
        format!(
            "{:.2} / {:.2} ms ({} keys), p99 ≤ {KEY_P99_GOAL_MS} ms {}",
            self.p50_ms,
            self.p99_ms,
            self.samples,
            mark(self.p99_ms <= KEY_P99_GOAL_MS)
        )
    }
}

/// A goal's mark in the tables.
pub fn mark(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// Nearest-rank percentile; 0 for no samples.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

impl TuiReport {
    /// The table in docs/performance.md.
    pub fn lines(&self) -> Vec<String> {
        vec![
            "| measure | result |".into(),
            "|---|---|".into(),
            format!(
                "| time to first frame (model not loaded), main → frame | {:.1} ms ({:.1}–{:.1}), ≤ {FIRST_FRAME_GOAL_MS} ms {} |",
                self.first_frame_ms.median,
                self.first_frame_ms.min,
                self.first_frame_ms.max,
                mark(self.first_frame_ms.median <= FIRST_FRAME_GOAL_MS)
            ),
            format!(
                "| time to first frame, process start → frame (10 ms ticks) | {:.0} ms ({:.0}–{:.0}) |",
                self.first_frame_since_exec_ms.median,
                self.first_frame_since_exec_ms.min,
                self.first_frame_since_exec_ms.max
            ),
            format!(
                "| key → frame while streaming at {:.0} tok/s, p50 / p99 | {} |",
                self.streaming_tok_per_s,
                self.key_streaming.cell()
            ),
            format!("| key → frame idle, p50 / p99 | {} |", self.key_idle.cell()),
            format!(
                "| idle CPU, chat open ({:.0} s) | {:.2} % of a core, < {IDLE_CPU_GOAL_PERCENT} % {} |",
                self.idle_seconds,
                self.idle_cpu_percent,
                mark(self.idle_cpu_percent < IDLE_CPU_GOAL_PERCENT)
            ),
        ]
        .into_iter()
        .chain(super::tui_long::lines(&self.long_sessions))
        .chain(super::tui_bench::lines(self.bench_view.as_slice()))
        .chain(super::tui_jobs::lines(self.jobs.as_slice()))
        .chain(super::tui_browser::lines(self.browser.as_slice()))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
