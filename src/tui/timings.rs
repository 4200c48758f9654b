//! Frame timings for `radiochat-perf tui`: when `RADIOCHAT_TUI_TIMINGS=FILE` is set, the
//! event loop notes when the first frame was drawn and how long each key took to reach the
//! screen, and writes them to FILE as JSON when the chat ends.

use std::sync::OnceLock;
use std::time::Instant;

static PROCESS_START: OnceLock<Instant> = OnceLock::new();

/// Call first thing in `main`: the reference for time to first frame.
pub fn mark_process_start() {
    let _ = PROCESS_START.set(Instant::now());
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// From `main` starting to the first frame on screen.
    pub first_frame_ms: f64,
    /// From the process being started by the kernel (10 ms resolution) to the first frame.
    pub first_frame_since_exec_ms: Option<f64>,
    /// Key read → the frame showing it drawn, while an answer streamed.
    pub key_to_frame_streaming_ms: Vec<f64>,
    /// The same, while idle.
    pub key_to_frame_idle_ms: Vec<f64>,
    /// Tokens streamed and the time they took (for the tok/s during the measurement).
    pub streamed_tokens: usize,
    pub streamed_seconds: f64,
}

pub struct Timings {
    path: Option<std::path::PathBuf>,
    report: Report,
    first_frame_done: bool,
    pending_key: Option<(Instant, bool)>,
}

impl Timings {
    pub fn from_env() -> Timings {
        Timings {
            path: std::env::var_os("RADIOCHAT_TUI_TIMINGS").map(Into::into),
            report: Report::default(),
            first_frame_done: false,
            pending_key: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    /// A key was read; `streaming` says whether an answer was arriving.
    pub fn key_read(&mut self, streaming: bool) {
        if self.enabled() && self.pending_key.is_none() {
            self.pending_key = Some((Instant::now(), streaming));
        }
    }

    pub fn frame_drawn(&mut self) {
        if !self.enabled() {
            return;
        }
        if !self.first_frame_done {
            self.first_frame_done = true;
            if let Some(start) = PROCESS_START.get() {
                self.report.first_frame_ms = start.elapsed().as_secs_f64() * 1e3;
            }
            self.report.first_frame_since_exec_ms = since_exec_ms();
        }
        if let Some((at, streaming)) = self.pending_key.take() {
            let ms = at.elapsed().as_secs_f64() * 1e3;
            if streaming {
                self.report.key_to_frame_streaming_ms.push(ms);
            } else {
                self.report.key_to_frame_idle_ms.push(ms);
            }
        }
    }

    pub fn streamed(&mut self, tokens: usize, seconds: f64) {
        self.report.streamed_tokens += tokens;
        self.report.streamed_seconds += seconds;
    }

    pub fn write(&self) {
        if let Some(path) = &self.path
            && let Ok(json) = serde_json::to_string(&self.report)
        {
            let _ = crate::util::private_file::write_atomically(path, json.as_bytes());
        }
    }
}

/// Milliseconds since the kernel started this process (/proc/self/stat field 22).
fn since_exec_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((uptime - start_ticks / ticks_per_second) * 1e3)
}
