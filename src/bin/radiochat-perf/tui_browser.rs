//! `radiochat-perf tui`'s sessions browser at scale: N stored sessions (the testkit's, ten
//! turns each, about 15 KB of journal), `/sessions` opened in tmux and filtered by typing —
//! key → frame over every key (the Enter that lists the sessions is the slowest), and the
//! chat's peak resident memory once the helper has read what every session says.

use super::tui::{Keys, WAIT, quit, read_report};
use radiochat::chat::SessionStore;
use radiochat::testkit::long_session::write_long_session;
use radiochat::testkit::tmux::Tmux;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, serde::Serialize)]
pub struct BrowserCase {
    pub sessions: usize,
    pub stored_mb: f64,
    pub keys: Keys,
    pub peak_rss_mb: f64,
}

/// `command(extra)`: the chat's command line with `extra` flags.
pub fn measure(
    home: &Path,
    tmux: &Tmux,
    command: &dyn Fn(&str) -> String,
    sessions: usize,
) -> anyhow::Result<BrowserCase> {
    let dir = home.join("data/sessions");
    let store = SessionStore::new(&dir);
    for _ in 0..sessions {
        write_long_session(&store, 10)?;
    }
    let stored_mb = std::fs::read_dir(&dir)?
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|meta| meta.len() as f64)
        .sum::<f64>()
        / 1e6;
    tmux.respawn(&command(""))?;
    tmux.wait_for("the model", WAIT, |s| s.contains(" ready "))?;
    tmux.type_text("/sessions")?;
    tmux.keys(&["Enter"])?;
    tmux.wait_for("the browser", WAIT, |s| s.contains("type to filter"))?;
    // What the sessions say is read by a helper thread; filter once it has.
    std::thread::sleep(Duration::from_secs(3));
    for c in "turn 7".chars() {
        tmux.type_text(&c.to_string())?;
        std::thread::sleep(Duration::from_millis(30));
    }
    for _ in 0..20 {
        tmux.keys(&["Down"])?;
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..6 {
        tmux.keys(&["BSpace"])?;
        std::thread::sleep(Duration::from_millis(30));
    }
    let peak_rss_mb = super::tui_long::peak_rss_kb(tmux.pane_pid()?)? / 1024.0;
    tmux.keys(&["Escape"])?;
    std::thread::sleep(Duration::from_millis(100));
    quit(tmux)?;
    let keys = read_report(&home.join("timings.json"))?.key_to_frame_idle_ms;
    Ok(BrowserCase {
        sessions,
        stored_mb,
        keys: Keys::of(&keys),
        peak_rss_mb,
    })
}

/// The browser's rows of the table in docs/performance.md.
pub fn lines(cases: &[BrowserCase]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        "| sessions browser | stored | key → frame p50 / p99 | slowest key (the Enter of /sessions) | peak resident memory |".into(),
        "|---|---|---|---|---|".into(),
    ];
    lines.extend(cases.iter().map(|case| {
        format!(
            "| {} sessions | {:.0} MB | {} | {:.1} ms | {:.0} MB |",
            case.sessions,
            case.stored_mb,
            case.keys.cell(),
            case.keys.max_ms,
            case.peak_rss_mb,
        )
    }));
    lines
}
