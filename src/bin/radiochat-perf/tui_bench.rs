//! `radiochat-perf tui`'s bench view at scale: a B3 run of 50,000 items (100 synthetic
//! cutouts, each asked 500 times under its own name) with all but the last items already
//! answered, resumed by `/bench --resume DIR` in tmux — how long until the view shows the
//! resumed run (it reads and scores every kept answer), key → frame in the view while the last
//! items are asked, and the chat's peak resident memory.

use super::tui::{Keys, WAIT, quit, read_report};
use radiochat::bench::predictions::Prediction;
use radiochat::commands::synth::{SynthArgs, SynthKind};
use radiochat::testkit::tmux::Tmux;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Items left to ask when the run is resumed: enough to keep it going while keys are typed.
const LEFT: usize = 400;
const KEYS: usize = 60;

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchViewCase {
    pub items: usize,
    pub resumed: usize,
    /// Enter of `/bench --resume` → the view showing the resumed count (tmux polls every 40 ms).
    pub resume_shown_ms: f64,
    pub keys: Keys,
    pub peak_rss_mb: f64,
}

/// `command(extra)`: the chat's command line with `extra` flags.
pub fn measure(
    home: &Path,
    tmux: &Tmux,
    command: &dyn Fn(&str) -> String,
    items: usize,
) -> anyhow::Result<BenchViewCase> {
    let data = big_dataset(&home.join("sky"), items)?;
    let run = home.join("runs/b3-big");
    let ready = |s: &str| s.contains(" ready ");
    // A real run makes the run directory (run.json, the lock, the first answers) and is stopped.
    tmux.respawn(&command(""))?;
    tmux.wait_for("the model", WAIT, ready)?;
    tmux.line("/set max_tokens 2")?;
    tmux.line(&format!(
        "/bench B3 --data {} --out {}",
        data.display(),
        run.display()
    ))?;
    tmux.wait_for("the run", WAIT, |s| s.contains(&format!("/{items} ")))?;
    tmux.type_text("x")?;
    tmux.wait_for("the run to stop", WAIT, |s| s.contains("stopped:"))?;
    quit(tmux)?;
    let resumed = items.saturating_sub(LEFT);
    answer_all_but_the_last(&data, &run.join("predictions.jsonl"), resumed)?;

    tmux.respawn(&command(""))?;
    tmux.wait_for("the model", WAIT, ready)?;
    tmux.type_text(&format!("/bench --resume {}", run.display()))?;
    let asked = Instant::now();
    tmux.keys(&["Enter"])?;
    let shown = format!("{resumed} resumed");
    tmux.wait_for("the resumed run", WAIT, |s| s.contains(&shown))?;
    let resume_shown_ms = asked.elapsed().as_secs_f64() * 1000.0;
    for i in 0..KEYS {
        // Unbound keys in the view: each still draws a frame. Every 20th closes the view and
        // `/bench` opens it again.
        if i % 20 == 19 {
            tmux.keys(&["Escape"])?;
            std::thread::sleep(Duration::from_millis(30));
            tmux.line("/bench")?;
        } else {
            tmux.type_text("j")?;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let peak_rss_mb = super::tui_long::peak_rss_kb(tmux.pane_pid()?)? / 1024.0;
    tmux.type_text("x")?;
    tmux.wait_for("the run to stop", WAIT, |s| {
        s.contains("stopped:") || s.contains("finished in")
    })?;
    quit(tmux)?;
    let keys = read_report(&home.join("timings.json"))?.key_to_frame_idle_ms;
    Ok(BenchViewCase {
        items,
        resumed,
        resume_shown_ms,
        keys: Keys::of(&keys),
        peak_rss_mb,
    })
}

/// `items` dataset entries over 100 synthetic cutouts (radio-llava's dataset JSON), in `dir`.
fn big_dataset(dir: &Path, items: usize) -> anyhow::Result<std::path::PathBuf> {
    let small = radiochat::commands::synth::run(&SynthArgs {
        out: dir.to_path_buf(),
        n: 100,
        seed: 7,
        size: 64,
        kind: "radioimg".parse::<SynthKind>()?,
        balance: Default::default(),
        option_order: Default::default(),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = std::fs::read_to_string(&small)?;
    let sky: serde_json::Value = serde_json::from_str(&text)?;
    let entries = sky["data"]
        .as_array()
        .filter(|entries| !entries.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{}: no data entries", small.display()))?;
    let big: Vec<serde_json::Value> = (0..items)
        .map(|i| {
            let mut entry = entries[i % entries.len()].clone();
            entry["sname"] = format!("big-{i:06}").into();
            entry["id"] = i.into();
            entry
        })
        .collect();
    let path = dir.join("big.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&serde_json::json!({ "data": big }))?,
    )?;
    Ok(path)
}

/// Append a record for each of the first `answered` items, as the run would have written
/// them (five in six right), so the resumed run has that many kept answers to read and score.
fn answer_all_but_the_last(data: &Path, predictions: &Path, answered: usize) -> anyhow::Result<()> {
    let tasks = radiochat::bench::load_tasks(None)?;
    let task = radiochat::bench::find_task(&tasks, "B3")?;
    let dataset = radiochat::bench::dataset::load(data, &task, false)?;
    let mut out = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(predictions)?,
    );
    for (i, item) in dataset.items.iter().take(answered).enumerate() {
        let pred = if i % 6 == 5 {
            let flipped = if item.truth == ["YES"] { "NO" } else { "YES" };
            vec![flipped.to_string()]
        } else {
            item.truth.clone()
        };
        let record = Prediction {
            sname: item.sname.clone(),
            truth: item.truth.clone(),
            raw: pred.join(", "),
            pred: Some(pred),
            attempts: 1,
            latency_ms: 180.0,
            prompt_tokens: 900,
            completion_tokens: 2,
            error: None,
        };
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The bench view's rows of the table in docs/performance.md.
pub fn lines(cases: &[BenchViewCase]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        "| bench view | resumed → shown | key → frame while the run goes, p50 / p99 | peak resident memory |".into(),
        "|---|---|---|---|".into(),
    ];
    lines.extend(cases.iter().map(|case| {
        format!(
            "| {} items, {} kept | {:.0} ms | {} | {:.0} MB |",
            case.items,
            case.resumed,
            case.resume_shown_ms,
            case.keys.cell(),
            case.peak_rss_mb,
        )
    }));
    lines
}
