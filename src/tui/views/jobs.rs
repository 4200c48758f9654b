//! `/jobs`: the fine-tune runs, refreshed every second by a helper thread while the window
//! is open (status reads processes and `squeue`); `c` cancels the selected job.

use super::{Background, Effect, Notice, closes};
use crate::commands::finetune;
use crate::finetune::status::{self, JobState, MetricLine, Status};
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_secs(1);
const LOG_LINES: usize = 12;

/// One run as the jobs window shows it.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub status: Status,
    pub metrics: Vec<MetricLine>,
}

#[derive(Debug, Default)]
pub struct JobsView {
    pub rows: Vec<JobRow>,
    pub selected: usize,
    /// A refresh is on its way.
    pub polling: bool,
    pub last_poll: Option<Instant>,
    /// The first refresh has arrived.
    pub loaded: bool,
    /// Runs that have ended, as last read: they do not change, so a refresh reads only the
    /// runs still going (with 200 runs kept, reading all each second kept a core busy).
    ended: Arc<Mutex<HashMap<PathBuf, JobRow>>>,
}

impl JobsView {
    pub fn selected_row(&self) -> Option<&JobRow> {
        self.rows.get(self.selected)
    }

    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            _ if closes(&key) => return vec![Effect::Close],
            KeyCode::Up => self.move_by(-1),
            KeyCode::Down => self.move_by(1),
            KeyCode::Char('c') => return self.cancel_selected(),
            _ => {}
        }
        vec![]
    }

    /// Each loop turn: a refresh when one is due and none is on its way.
    pub fn tick(&mut self) -> Vec<Effect> {
        let due = !self.polling && self.last_poll.is_none_or(|t| t.elapsed() >= REFRESH);
        if due { self.poll() } else { vec![] }
    }

    pub fn poll(&mut self) -> Vec<Effect> {
        self.polling = true;
        self.last_poll = Some(Instant::now());
        let ended = self.ended.clone();
        vec![Effect::Spawn(Box::new(move || {
            Background::Jobs(read_rows(&ended))
        }))]
    }

    pub fn update(&mut self, rows: Vec<JobRow>) {
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.polling = false;
        self.loaded = true;
    }

    fn move_by(&mut self, by: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + by).clamp(0, last.max(0)) as usize;
    }

    /// Cancel the selected job (off the UI thread: scancel may take a moment).
    fn cancel_selected(&self) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            return vec![];
        };
        if row.status.state.finished() {
            return vec![Effect::Warn(format!(
                "that job has already ended ({})",
                row.status.state
            ))];
        }
        let run = row.status.run.clone();
        vec![Effect::Spawn(Box::new(move || {
            Background::Notice(match status::cancel(&run) {
                Ok(_) => Notice::info(format!("cancelled {}", run.display())),
                Err(e) => Notice::warn(e.to_string()),
            })
        }))]
    }
}

/// Every run's status and metrics (runs under DATA_DIR/finetune, newest first); runs that had
/// ended at the last read are taken from `ended`, not read again.
pub fn read_rows(ended: &Mutex<HashMap<PathBuf, JobRow>>) -> Vec<JobRow> {
    let mut ended = ended
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runs = finetune::runs();
    ended.retain(|run, _| runs.contains(run));
    runs.into_iter()
        .filter_map(|run| {
            if let Some(row) = ended.get(&run) {
                return Some(row.clone());
            }
            let status = finetune::status(&run, LOG_LINES).ok()?;
            let row = JobRow {
                metrics: status::metrics(&run),
                status,
            };
            // Unknown is no end: the scheduler may answer next time.
            if row.status.state.finished() && row.status.state != JobState::Unknown {
                ended.insert(run, row.clone());
            }
            Some(row)
        })
        .collect()
}

/// ETA as the jobs window writes it.
pub fn eta_text(status: &Status) -> String {
    match (status.state, status.eta_s) {
        (JobState::Running, Some(eta)) if eta >= 90.0 => format!("ETA {:.0} min", eta / 60.0),
        (JobState::Running, Some(eta)) => format!("ETA {eta:.0} s"),
        _ => String::new(),
    }
}
