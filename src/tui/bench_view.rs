//! The chat's `/bench`: a benchmark run on the loaded model, on a thread of its own (the
//! same `prepare` + `execute` as `radiochat bench run`), reported to the bench view.
//! Chatting goes on meanwhile; the engine batches the chat's requests with the run's.

use super::app::{App, Background, Overlay};
use crate::bench::{self, Score};
use crate::chat::worker::{EngineJob, SharedEngine, WorkerCommand};
use crate::commands::bench_run::{self, Progress, RunEnv, RunFlags, RunOutcome};
use crate::engine::{ModelSource, Sampling};
use crate::imaging::TransformOptions;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Live scores are recomputed (on the run's thread) at most this often.
const SCORE_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, PartialEq)]
pub enum BenchState {
    /// Reading the dataset, creating the run directory.
    Preparing,
    Running,
    /// Asked to stop; items in flight are being dropped.
    Stopping,
    Finished,
    /// Stopped before the end: `/bench --resume DIR` continues.
    Stopped,
    Failed(String),
}

/// The run the bench view shows: the current one, or the last.
pub struct BenchRun {
    /// Task id, and its key and title once the run has started.
    pub task: String,
    pub title: String,
    pub model: String,
    pub dataset: Option<PathBuf>,
    pub dir: Option<PathBuf>,
    pub progress: Progress,
    /// Over the items finished so far (invalid answers excluded, as in radio-llava).
    pub score: Option<Score>,
    pub state: BenchState,
    /// Dataset items that do not fit the task (one line).
    pub skipped: Option<String>,
    pub stop: Arc<AtomicBool>,
    pub started: Instant,
}

impl BenchRun {
    pub fn running(&self) -> bool {
        matches!(
            self.state,
            BenchState::Preparing | BenchState::Running | BenchState::Stopping
        )
    }
}

/// What the run's thread reports, in order.
pub enum BenchEvent {
    Started {
        dir: PathBuf,
        task: String,
        title: String,
        model: String,
        dataset: PathBuf,
        progress: Progress,
        skipped: Option<String>,
        score: Option<Score>,
    },
    Progress {
        progress: Progress,
        score: Option<Score>,
    },
    Finished(Box<RunOutcome>),
    /// `/bench … --slurm-array K` queued the run on SLURM: the submission, in one line.
    Submitted(String),
    Failed(String),
}

/// How the chat's requests are made, which the run's requests copy (the system prompt is
/// radio-llava's, not the chat's).
pub struct RunSettings {
    pub sampling: Sampling,
    pub transform: TransformOptions,
    /// What a SLURM array's tasks load the model with, and the config they read.
    pub load_template: crate::engine::LoadSpec,
    pub config_path: PathBuf,
}

/// The work handed to the engine thread: prepare, execute, and report to `reports`.
pub fn job(
    flags: RunFlags,
    settings: RunSettings,
    stop: Arc<AtomicBool>,
    reports: mpsc::Sender<Background>,
) -> EngineJob {
    Box::new(move |shared| {
        let send = |event: BenchEvent| {
            let _ = reports.send(Background::Bench(Box::new(event)));
        };
        if let Err(message) = run_job(flags, settings, &stop, shared, &send) {
            send(BenchEvent::Failed(message));
        }
    })
}

fn run_job(
    flags: RunFlags,
    settings: RunSettings,
    stop: &AtomicBool,
    shared: Result<SharedEngine, String>,
    send: &(dyn Fn(BenchEvent) + Sync),
) -> Result<(), String> {
    let shared = shared?;
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
    let mut on_progress = |p: &Progress| {
        if let Some(latest) = &p.latest {
            records.push(latest.clone());
        }
        let due = last_sent.is_none_or(|t| t.elapsed() >= SCORE_EVERY) || p.done == p.total;
        if due && p.latest.is_some() {
            last_sent = Some(Instant::now());
            send(BenchEvent::Progress {
                progress: Progress {
                    latest: None,
                    ..p.clone()
                },
                score: score_of(&records),
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

impl App {
    pub fn bench_running(&self) -> bool {
        self.bench.as_ref().is_some_and(BenchRun::running)
    }

    pub fn start_bench(&mut self, flags: RunFlags) {
        if self.bench_running() {
            self.warn("a benchmark is running: /bench shows it, /bench stop ends it");
            return;
        }
        if !matches!(self.engine, super::app::EngineState::Ready)
            && !matches!(self.engine, super::app::EngineState::Generating { .. })
        {
            self.warn("no model loaded: /model DIR loads one (or start with --demo)");
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let settings = RunSettings {
            sampling: self.sampling.clone(),
            transform: self.transform,
            load_template: self.load_template.clone(),
            config_path: self.config_path.clone(),
        };
        let task = flags
            .task
            .clone()
            .unwrap_or_else(|| "resumed run".to_string());
        self.bench = Some(BenchRun {
            task,
            title: String::new(),
            model: String::new(),
            dataset: flags.data.clone(),
            dir: flags.resume.clone(),
            progress: Progress::default(),
            score: None,
            state: BenchState::Preparing,
            skipped: None,
            stop: stop.clone(),
            started: Instant::now(),
        });
        self.outbox.push(WorkerCommand::WithEngine(job(
            flags,
            settings,
            stop,
            self.background_tx.clone(),
        )));
        self.overlay = Some(Overlay::Bench);
    }

    pub fn stop_bench(&mut self) {
        match &mut self.bench {
            Some(run) if run.running() => {
                run.stop.store(true, Ordering::Relaxed);
                run.state = BenchState::Stopping;
                self.info("stopping the benchmark: finished items are kept");
            }
            _ => self.info("no benchmark is running"),
        }
    }

    pub fn show_bench(&mut self) {
        if self.bench.is_some() {
            self.overlay = Some(Overlay::Bench);
        } else {
            self.bench_tasks();
        }
    }

    /// The tasks and how to run one, in the info window.
    pub fn bench_tasks(&mut self) {
        match crate::commands::bench::tasks(None) {
            Ok(tasks) => {
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
                self.overlay = Some(Overlay::info("benchmark tasks", lines));
            }
            Err(e) => self.warn(e.to_string()),
        }
    }

    /// `/bench prompt TASK …`: what an item of a `/bench` run would send (the chat's runs
    /// use radio-llava's system prompt).
    pub fn bench_prompt(&mut self, flags: &crate::commands::bench_prompt::PromptFlags) {
        use crate::commands::bench_prompt::{lines, show};
        match show(flags, None) {
            Ok(shown) => self.overlay = Some(Overlay::info("bench prompt", lines(&shown))),
            Err(e) => self.warn(e.to_string()),
        }
    }

    pub fn on_bench(&mut self, event: BenchEvent) {
        let Some(run) = &mut self.bench else {
            return;
        };
        match event {
            BenchEvent::Started {
                dir,
                task,
                title,
                model,
                dataset,
                progress,
                skipped,
                score,
            } => {
                run.dir = Some(dir);
                run.task = task;
                run.title = title;
                run.model = model;
                run.dataset = Some(dataset);
                run.progress = progress;
                run.skipped = skipped;
                run.score = score;
                if run.state == BenchState::Preparing {
                    run.state = BenchState::Running;
                }
            }
            BenchEvent::Progress { progress, score } => {
                run.progress = progress;
                run.score = score;
            }
            BenchEvent::Finished(outcome) => {
                let RunOutcome {
                    dir,
                    score,
                    progress,
                    stopped,
                    ..
                } = *outcome;
                run.progress = Progress {
                    latest: None,
                    ..progress
                };
                run.score = Some(score);
                run.state = if stopped {
                    BenchState::Stopped
                } else {
                    BenchState::Finished
                };
                let text = if stopped {
                    format!(
                        "benchmark stopped at {}/{}: /bench --resume {} continues",
                        run.progress.done,
                        run.progress.total,
                        dir.display()
                    )
                } else {
                    format!(
                        "benchmark finished: accuracy {:.3} · report in {}",
                        run.score.as_ref().map_or(0.0, |s| s.metrics.accuracy),
                        dir.display()
                    )
                };
                self.info(text);
            }
            BenchEvent::Submitted(text) => {
                self.bench = None;
                self.overlay = None;
                self.info(text);
            }
            BenchEvent::Failed(message) => {
                run.state = BenchState::Failed(message.clone());
                self.warn(format!("benchmark failed: {message}"));
            }
        }
    }
}
