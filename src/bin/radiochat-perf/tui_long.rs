//! `radiochat-perf tui`'s long sessions: a session of N turns (the testkit's, about 1.5 KB of
//! journal a turn) resumed in tmux — time to first frame, key → frame while idle (typing,
//! then paging back through the history) and while an answer streams at the end of the
//! history, and the chat's peak resident memory.

use super::tui::{Keys, WAIT, mark, quit, read_report};
use crate::engine::Stat;
use radiochat::chat::SessionStore;
use radiochat::testkit::long_session::write_long_session;
use radiochat::testkit::tmux::Tmux;
use std::path::Path;
use std::time::Duration;

/// The goals for a resumed long session.
pub const MEMORY_GOAL_MB: f64 = 100.0;
/// Keys typed while the answer streams (a 3,000-token answer outlasts them).
const STREAMING_KEYS: usize = 60;

#[derive(Debug, Clone, serde::Serialize)]
pub struct LongCase {
    pub turns: usize,
    pub journal_mb: f64,
    /// `main` → first frame, per start, with `--resume`.
    pub first_frame_ms: Stat,
    pub key_idle: Keys,
    /// Keys typed while the tiny model's answer to a new question streams.
    pub key_streaming: Keys,
    /// Peak resident memory (VmHWM) of the chat, model loaded, largest of the starts.
    pub peak_rss_mb: f64,
    /// The same once a question has been answered: the engine's prefill of a prompt that
    /// fills the model's context with the history comes on top.
    pub answering_rss_mb: f64,
}

/// `command(extra)`: the chat's command line with `extra` flags.
pub fn measure(
    home: &Path,
    tmux: &Tmux,
    command: &dyn Fn(&str) -> String,
    turns: usize,
    starts: usize,
) -> anyhow::Result<LongCase> {
    let store = SessionStore::new(home.join("data/sessions"));
    let id = write_long_session(&store, turns)?;
    let journal_mb = std::fs::metadata(store.path_of(&id))?.len() as f64 / 1e6;
    let resume = command(&format!("--resume {id}"));
    let ready = |s: &str| s.contains(" ready ");
    // The first start warms the page cache; it is not counted.
    tmux.respawn(&resume)?;
    tmux.wait_for("the model", WAIT, ready)?;
    quit(tmux)?;
    let timings = home.join("timings.json");
    let (mut first, mut peak_rss_mb) = (Vec::new(), 0.0f64);
    for _ in 0..starts.max(1) {
        tmux.respawn(&resume)?;
        tmux.wait_for("the model", WAIT, ready)?;
        peak_rss_mb = peak_rss_mb.max(peak_rss_kb(tmux.pane_pid()?)? / 1024.0);
        quit(tmux)?;
        first.push(read_report(&timings)?.first_frame_ms);
    }
    tmux.respawn(&resume)?;
    tmux.wait_for("the model", WAIT, ready)?;
    for _ in 0..30 {
        tmux.type_text("y")?;
        std::thread::sleep(Duration::from_millis(20));
    }
    tmux.keys(&["C-u"])?;
    for _ in 0..20 {
        tmux.keys(&["PPage"])?;
        std::thread::sleep(Duration::from_millis(20));
    }
    tmux.keys(&["Home"])?;
    std::thread::sleep(Duration::from_millis(50));
    tmux.keys(&["End"])?;
    std::thread::sleep(Duration::from_millis(50));
    peak_rss_mb = peak_rss_mb.max(peak_rss_kb(tmux.pane_pid()?)? / 1024.0);
    // A random model's answer runs to max_tokens: keys land while it streams.
    tmux.line("/set max_tokens 3000")?;
    tmux.line("Describe this radio source in detail.")?;
    tmux.wait_for("streaming", WAIT, |s| s.contains("generating"))?;
    for _ in 0..STREAMING_KEYS {
        tmux.type_text("x")?;
        std::thread::sleep(Duration::from_millis(12));
    }
    tmux.keys(&["C-u", "C-c"])?;
    tmux.wait_for("the answer to stop", WAIT, |s| !s.contains("generating"))?;
    let answering_rss_mb = peak_rss_kb(tmux.pane_pid()?)? / 1024.0;
    quit(tmux)?;
    let report = read_report(&timings)?;
    let (idle, streaming) = (
        report.key_to_frame_idle_ms,
        report.key_to_frame_streaming_ms,
    );
    Ok(LongCase {
        turns,
        journal_mb,
        first_frame_ms: Stat::of(&first),
        key_idle: Keys::of(&idle),
        key_streaming: Keys::of(&streaming),
        peak_rss_mb,
        answering_rss_mb,
    })
}

/// VmHWM of a process, in kB.
pub fn peak_rss_kb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/status has no VmHWM"))
}

/// The long-session rows of the table in docs/performance.md.
pub fn lines(cases: &[LongCase]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        "| resumed session | journal | first frame, main → frame | key → frame idle, p50 / p99 | key → frame streaming, p50 / p99 | peak resident memory | … after an answer over the full context |".into(),
        "|---|---|---|---|---|---|---|".into(),
    ];
    lines.extend(cases.iter().map(|case| {
        format!(
            "| {} turns | {:.1} MB | {:.1} ms ({:.1}–{:.1}), ≤ {} ms {} | {} | {} | {:.0} MB, ≤ {MEMORY_GOAL_MB} MB {} | {:.0} MB |",
            case.turns,
            case.journal_mb,
            case.first_frame_ms.median,
            case.first_frame_ms.min,
            case.first_frame_ms.max,
            super::tui::FIRST_FRAME_GOAL_MS,
            mark(case.first_frame_ms.median <= super::tui::FIRST_FRAME_GOAL_MS),
            case.key_idle.cell(),
            case.key_streaming.cell(),
            case.peak_rss_mb,
            mark(case.peak_rss_mb <= MEMORY_GOAL_MB),
            case.answering_rss_mb,
        )
    }));
    lines
}
