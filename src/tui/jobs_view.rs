//! `/finetune` and `/jobs`: fine-tunes launched from the chat (checks and launch on a helper
//! thread: hashing the base and importing torch take seconds), and the jobs window, refreshed
//! every second by a helper thread while it is open (status reads processes and `squeue`).

use super::app::{App, Background, Overlay};
use crate::commands::finetune::{self, LaunchFlags, Launched};
use crate::finetune::status::{self, JobState, MetricLine, Status};
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
}

impl JobsView {
    pub fn selected_row(&self) -> Option<&JobRow> {
        self.rows.get(self.selected)
    }
}

/// Every run's status and metrics (runs under DATA_DIR/finetune, newest first).
pub fn read_rows() -> Vec<JobRow> {
    finetune::runs()
        .into_iter()
        .filter_map(|run| {
            let status = finetune::status(&run, LOG_LINES).ok()?;
            Some(JobRow {
                metrics: status::metrics(&run),
                status,
            })
        })
        .collect()
}

impl App {
    pub fn launch_finetune(&mut self, flags: LaunchFlags) {
        let tx = self.background_tx.clone();
        self.info("checking the base, the data and Python, then launching…");
        std::thread::spawn(move || {
            let launched = flags
                .into_args()
                .and_then(finetune::run)
                .map_err(|e| e.to_string());
            let _ = tx.send(Background::Launched(launched));
        });
    }

    pub fn on_launched(&mut self, launched: Result<Launched, String>) {
        match launched {
            Ok(l) => {
                let how = match (&l.job.slurm_job, l.job.pid) {
                    (Some(id), _) => format!("SLURM job {id}"),
                    (None, Some(pid)) => format!("pid {pid}"),
                    _ => "started".into(),
                };
                self.info(format!("launched {} ({how})", l.run.display()));
                self.show_jobs();
            }
            Err(message) => self.warn(format!("fine-tune not launched: {message}")),
        }
    }

    pub fn show_jobs(&mut self) {
        self.overlay = Some(Overlay::Jobs(JobsView::default()));
        self.poll_jobs();
    }

    /// Called every loop turn: refresh the jobs window when it is open and due.
    pub fn tick(&mut self) {
        let due = matches!(&self.overlay, Some(Overlay::Jobs(view))
            if !view.polling && view.last_poll.is_none_or(|t| t.elapsed() >= REFRESH));
        if due {
            self.poll_jobs();
        }
    }

    fn poll_jobs(&mut self) {
        let Some(Overlay::Jobs(view)) = &mut self.overlay else {
            return;
        };
        view.polling = true;
        view.last_poll = Some(Instant::now());
        let tx = self.background_tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(Background::Jobs(read_rows()));
        });
    }

    pub fn on_jobs(&mut self, rows: Vec<JobRow>) {
        if let Some(Overlay::Jobs(view)) = &mut self.overlay {
            view.rows = rows;
            view.selected = view.selected.min(view.rows.len().saturating_sub(1));
            view.polling = false;
            view.loaded = true;
        }
    }

    pub fn jobs_move(&mut self, by: isize) {
        if let Some(Overlay::Jobs(view)) = &mut self.overlay {
            let last = view.rows.len().saturating_sub(1) as isize;
            view.selected = (view.selected as isize + by).clamp(0, last.max(0)) as usize;
        }
    }

    /// Cancel the selected job (off the UI thread: scancel may take a moment).
    pub fn cancel_selected_job(&mut self) {
        let Some(Overlay::Jobs(view)) = &self.overlay else {
            return;
        };
        let Some(row) = view.selected_row() else {
            return;
        };
        if row.status.state.finished() {
            self.warn(format!("that job has already ended ({})", row.status.state));
            return;
        }
        let run = row.status.run.clone();
        let tx = self.background_tx.clone();
        std::thread::spawn(move || {
            let result = status::cancel(&run)
                .map(|_| format!("cancelled {}", run.display()))
                .map_err(|e| e.to_string());
            let _ = tx.send(Background::Notice(result));
        });
    }
}

/// ETA as the jobs window writes it.
pub fn eta_text(status: &Status) -> String {
    match (status.state, status.eta_s) {
        (JobState::Running, Some(eta)) if eta >= 90.0 => format!("ETA {:.0} min", eta / 60.0),
        (JobState::Running, Some(eta)) => format!("ETA {eta:.0} s"),
        _ => String::new(),
    }
}
