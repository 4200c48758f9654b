//! `radiochat-perf harness`: what the benchmark runner costs beyond the engine, and how its
//! throughput grows with requests in flight (demo model, synthetic sky; a benchmark, not a
//! test).

use radiochat::commands::bench_run::{self, BenchRunArgs, RunFlags};
use radiochat::commands::{CommandError, CommandResult};
use radiochat::config::Settings;
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct HarnessRow {
    pub concurrency: usize,
    pub items: usize,
    pub wall_s: f64,
    /// Seconds inside the engine, summed over items.
    pub engine_s: f64,
    pub items_per_s: f64,
    /// (wall − engine) / wall; meaningful at concurrency 1, where requests do not overlap.
    pub overhead: f64,
}

/// `demo`: the demo model; else the model in `settings`.
pub fn run(
    settings: Settings,
    items: usize,
    levels: &[usize],
    demo: bool,
) -> CommandResult<Vec<HarnessRow>> {
    let failed = |e: String| CommandError::Failed(anyhow::anyhow!(e));
    let scratch = radiochat::util::private_file::scratch_dir("radiochat-perf-harness-")
        .map_err(|e| failed(e.to_string()))?;
    let home = scratch.path().to_path_buf();
    let sky = home.join("sky");
    radiochat::commands::synth::run(&radiochat::commands::synth::SynthArgs {
        out: sky.clone(),
        n: items,
        seed: 1,
        size: 132,
        kind: radiochat::commands::synth::SynthKind::Radio(
            radiochat::imaging::synth::SkyKind::RadioImg,
        ),
        balance: Default::default(),
        option_order: Default::default(),
    })?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| failed(e.to_string()))?;
    let mut rows = Vec::new();
    for &concurrency in levels {
        let args = BenchRunArgs {
            settings: settings.clone(),
            flags: RunFlags {
                task: Some("B3".into()),
                data: Some(sky.join("dataset.json")),
                concurrency,
                retries: Some(0),
                out: Some(home.join(format!("run-{concurrency}"))),
                ..RunFlags::default()
            },
            demo,
        };
        let mut first: Option<Instant> = None;
        let mut on_progress = |_: &bench_run::Progress| {
            first.get_or_insert_with(Instant::now);
        };
        let outcome = bench_run::run(args, &runtime, &mut on_progress)?;
        let wall_s = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let p = &outcome.progress;
        rows.push(HarnessRow {
            concurrency,
            items: p.done,
            wall_s,
            engine_s: p.engine_s,
            items_per_s: p.done as f64 / wall_s.max(1e-9),
            overhead: (wall_s - p.engine_s) / wall_s.max(1e-9),
        });
    }
    Ok(rows)
}

pub fn lines(rows: &[HarnessRow]) -> Vec<String> {
    let base = rows.first().map_or(1.0, |r| r.items_per_s);
    let mut lines = vec![
        "| concurrency | items | wall (s) | engine (s, summed) | items/s | vs 1 | harness overhead |".into(),
        "|---|---|---|---|---|---|---|".into(),
    ];
    for r in rows {
        let overhead = if r.concurrency == 1 {
            format!("{:.2} %", r.overhead * 100.0)
        } else {
            "(requests overlap)".into()
        };
        lines.push(format!(
            "| {} | {} | {:.2} | {:.2} | {:.1} | {:.2}× | {overhead} |",
            r.concurrency,
            r.items,
            r.wall_s,
            r.engine_s,
            r.items_per_s,
            r.items_per_s / base
        ));
    }
    lines
}
