//! The bench view's run: the benchmark running on the chat's model (started by `/bench`,
//! run by `tui::bench_job`), or the last one; its live progress, scores and end.

use super::{Effect, closes};
use crate::bench::Score;
use crate::commands::bench_run::{Progress, RunOutcome};
use crossterm::event::{KeyCode, KeyEvent};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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
    /// A run being prepared for `task` (the flags' task, or a resumed run's directory).
    pub fn preparing(task: String, dataset: Option<PathBuf>, dir: Option<PathBuf>) -> BenchRun {
        BenchRun {
            task,
            title: String::new(),
            model: String::new(),
            dataset,
            dir,
            progress: Progress::default(),
            score: None,
            state: BenchState::Preparing,
            skipped: None,
            stop: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
        }
    }

    pub fn running(&self) -> bool {
        matches!(
            self.state,
            BenchState::Preparing | BenchState::Running | BenchState::Stopping
        )
    }

    /// Ask the run's thread to stop; items in flight are dropped, finished ones kept.
    pub fn stop(&mut self) -> Vec<Effect> {
        if !self.running() {
            return vec![Effect::Info("no benchmark is running".into())];
        }
        self.stop.store(true, Ordering::Relaxed);
        self.state = BenchState::Stopping;
        vec![Effect::Info(
            "stopping the benchmark: finished items are kept".into(),
        )]
    }

    /// A report from the run's thread. After `Submitted` (queued on SLURM) the app forgets
    /// the run: it is not this chat's to show.
    pub fn update(&mut self, event: BenchEvent) -> Vec<Effect> {
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
                self.dir = Some(dir);
                self.task = task;
                self.title = title;
                self.model = model;
                self.dataset = Some(dataset);
                self.progress = progress;
                self.skipped = skipped;
                self.score = score;
                if self.state == BenchState::Preparing {
                    self.state = BenchState::Running;
                }
                vec![]
            }
            BenchEvent::Progress { progress, score } => {
                self.progress = progress;
                self.score = score;
                vec![]
            }
            BenchEvent::Finished(outcome) => self.finish(*outcome),
            BenchEvent::Submitted(text) => vec![Effect::Info(text)],
            BenchEvent::Failed(message) => {
                self.state = BenchState::Failed(message.clone());
                vec![Effect::Warn(format!("benchmark failed: {message}"))]
            }
        }
    }

    fn finish(&mut self, outcome: RunOutcome) -> Vec<Effect> {
        let RunOutcome {
            dir,
            score,
            progress,
            stopped,
            ..
        } = outcome;
        self.progress = Progress {
            latest: None,
            ..progress
        };
        self.score = Some(score);
        self.state = if stopped {
            BenchState::Stopped
        } else {
            BenchState::Finished
        };
        let text = if stopped {
            format!(
                "benchmark stopped at {}/{}: /bench --resume {} continues",
                self.progress.done,
                self.progress.total,
                dir.display()
            )
        } else {
            let headline = match self.score.as_ref() {
                Some(Score {
                    localisation: Some(boxes),
                    ..
                }) => format!("box F1 {:.3}", boxes.valid_only.overall.f1),
                score => format!("accuracy {:.3}", score.map_or(0.0, |s| s.metrics.accuracy)),
            };
            format!(
                "benchmark finished: {headline} · report in {}",
                dir.display()
            )
        };
        vec![Effect::Info(text)]
    }
}

/// The bench window's keys: `x` stops the run.
pub fn key(key: KeyEvent) -> Vec<Effect> {
    match key.code {
        _ if closes(&key) => vec![Effect::Close],
        KeyCode::Char('x') => vec![Effect::StopBench],
        _ => vec![],
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
