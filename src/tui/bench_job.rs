//! The chat's `/bench`: a benchmark run on the loaded model, on the engine's thread (the
//! same `prepare` + `execute` as `radiochat bench run`), reported to the bench view.
//! Chatting goes on meanwhile; the engine batches the chat's requests with the run's.

use super::views::Background;
use super::views::bench::{BenchEvent, BenchRun};
use crate::bench;
use crate::chat::worker::{EngineJob, NoModel, SharedEngine};
use crate::commands::bench_run::{self, Progress, RunEnv, RunFlags};
use crate::engine::{ModelSource, Sampling};
use crate::imaging::TransformOptions;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Live scores are recomputed (on the run's thread) at most this often.
const SCORE_EVERY: Duration = Duration::from_millis(200);
/// ... and at most this share of the time: scoring reads every answer so far, so on a
/// 50,000-item run it would otherwise take the cores the engine needs.
const SCORE_SHARE: u32 = 20;

/// How the chat's requests are made, which the run's requests copy (the system prompt is
/// radio-llava's, not the chat's).
pub struct RunSettings {
    pub sampling: Sampling,
    pub transform: TransformOptions,
    /// What a SLURM array's tasks load the model with, and the config they read.
    pub load_template: crate::engine::LoadSpec,
    pub config_path: PathBuf,
}

/// A run for the bench view, and the work that does it on the engine's thread (reporting to
/// `reports`).
pub fn start(
    flags: RunFlags,
    settings: RunSettings,
    reports: mpsc::Sender<Background>,
) -> (BenchRun, EngineJob) {
    let task = flags
        .task
        .clone()
        .unwrap_or_else(|| "resumed run".to_string());
    let run = BenchRun::preparing(task, flags.data.clone(), flags.resume.clone());
    let stop = run.stop.clone();
    let job: EngineJob = Box::new(move |shared| {
        let send = |event: BenchEvent| {
            let _ = reports.send(Background::Bench(Box::new(event)));
        };
        if let Err(message) = run_job(flags, settings, &stop, shared, &send) {
            send(BenchEvent::Failed(message));
        }
    });
    (run, job)
}

/// The tasks and how to run one, for the info window (`/bench tasks`).
pub fn tasks_lines() -> Result<Vec<String>, crate::commands::CommandError> {
    let tasks = crate::commands::bench::tasks(None)?;
    let mut lines = vec![
        "/bench TASK --data DATASET.json [--limit N] [--prompt v1|clean|clean-v2] [--concurrency N]"
            .to_string(),
        "       [--add-task-description] [--shots K --context FILE] [--retries R] [--out DIR]"
            .to_string(),
        "/bench --resume DIR · /bench prompt TASK [same question flags] shows what is sent"
            .to_string(),
        String::new(),
    ];
    lines.extend(tasks.iter().map(|t| {
        let kind = if t.multi_label { "multi" } else { "single" };
        format!(
            "{:<3} {:<26} {kind:<6} {}",
            t.id,
            t.key,
            t.classes.join(" ")
        )
    }));
    Ok(lines)
}

fn run_job(
    flags: RunFlags,
    settings: RunSettings,
    stop: &AtomicBool,
    shared: Result<SharedEngine, NoModel>,
    send: &(dyn Fn(BenchEvent) + Sync),
) -> Result<(), String> {
    let shared = shared.map_err(|e| e.to_string())?;
    let model = model_name(&shared.source);
    let env = RunEnv {
        model: model.clone(),
        sampling: settings.sampling,
        transform: settings.transform,
        system_prompt: None,
    };
    if flags.slurm_array.is_some() {
        use crate::commands::bench_array::{self, ArrayTaskCommand};
        let command = ArrayTaskCommand::for_this_process(
            &settings.config_path,
            Some(&settings.load_template),
        )
        .and_then(|command| bench_array::submit(&flags, &env, &command))
        .map_err(|e| e.to_string())?;
        send(BenchEvent::Submitted(
            bench_array::submitted_lines(&command).join(" · "),
        ));
        return Ok(());
    }
    let prepared = bench_run::prepare(&flags, &env).map_err(|e| e.to_string())?;
    if flags.resume.is_some() && prepared.info.model != model {
        return Err(format!(
            "{}: the run used the model {}; this chat has {model} (/model {} first)",
            prepared.dir.display(),
            prepared.info.model,
            prepared.info.model
        ));
    }
    let task = prepared.spec.task.clone();
    let parse = prepared.info.parse;
    let wanted: std::collections::HashSet<&str> = prepared
        .spec
        .dataset
        .items
        .iter()
        .map(|i| i.sname.as_str())
        .collect();
    let mut records: Vec<_> = prepared
        .finished
        .iter()
        .filter(|p| wanted.contains(p.sname.as_str()))
        .cloned()
        .collect();
    let score_of =
        |records: &Vec<_>| (!records.is_empty()).then(|| bench::score(&task, records, parse));
    send(BenchEvent::Started {
        dir: prepared.dir.clone(),
        task: format!("{} · {}", task.id, task.key),
        title: task.title.clone(),
        model,
        dataset: prepared.info.dataset.clone(),
        progress: Progress {
            total: prepared.spec.dataset.items.len(),
            done: records.len(),
            resumed: records.len(),
            ..Progress::default()
        },
        skipped: prepared.skipped.clone(),
        score: score_of(&records),
    });
    let mut last_sent: Option<Instant> = None;
    let mut scoring = Duration::ZERO;
    let mut on_progress = |p: &Progress| {
        if let Some(latest) = &p.latest {
            records.push(latest.clone());
        }
        let every = SCORE_EVERY.max(scoring * SCORE_SHARE);
        let due = last_sent.is_none_or(|t| t.elapsed() >= every) || p.done == p.total;
        if due && p.latest.is_some() {
            let started = Instant::now();
            let score = score_of(&records);
            scoring = started.elapsed();
            last_sent = Some(Instant::now());
            send(BenchEvent::Progress {
                progress: Progress {
                    latest: None,
                    ..p.clone()
                },
                score,
            });
        }
    };
    let outcome = shared
        .runtime
        .block_on(bench_run::execute(
            prepared,
            shared.engine,
            stop,
            &mut on_progress,
        ))
        .map_err(|e| e.to_string())?;
    send(BenchEvent::Finished(Box::new(outcome)));
    Ok(())
}

/// The model as run.json names it (`demo` for the built-in demo model).
fn model_name(source: &ModelSource) -> String {
    match source {
        ModelSource::Local(dir) if *dir == crate::commands::demo::model_dir() => "demo".into(),
        other => other.to_string(),
    }
}
