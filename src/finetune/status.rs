//! What a fine-tune job is doing: its state (from the pid or SLURM, and the exit-code marker),
//! progress and loss from metrics.jsonl, the log tail; and cancelling it.

use super::job::{self, CANCEL_FILE, EXIT_FILE, JobRecord, METRICS_FILE};
use super::spec::Launcher;
use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobState {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Timeout,
    Unknown,
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).unwrap_or_default();
        f.write_str(text.trim_matches('"'))
    }
}

impl JobState {
    pub fn finished(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }

    fn from_slurm(text: &str) -> JobState {
        match text.trim() {
            "PENDING" | "CONFIGURING" | "REQUEUED" | "RESV_DEL_HOLD" | "SUSPENDED" => {
                JobState::Pending
            }
            "RUNNING" | "COMPLETING" | "STAGE_OUT" => JobState::Running,
            "COMPLETED" => JobState::Completed,
            "CANCELLED" => JobState::Cancelled,
            "TIMEOUT" | "DEADLINE" => JobState::Timeout,
            "FAILED" | "NODE_FAIL" | "OUT_OF_MEMORY" | "BOOT_FAIL" | "PREEMPTED" => {
                JobState::Failed
            }
            _ => JobState::Unknown,
        }
    }
}

/// One line of metrics.jsonl (training steps; the last holds val_loss).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricLine {
    pub step: usize,
    #[serde(default)]
    pub epoch: Option<f64>,
    #[serde(default)]
    pub loss: Option<f64>,
    #[serde(default)]
    pub lr: Option<f64>,
    #[serde(default)]
    pub grad_norm: Option<f64>,
    #[serde(default)]
    pub samples_per_s: Option<f64>,
    #[serde(default)]
    pub elapsed_s: Option<f64>,
    #[serde(default)]
    pub total_steps: Option<usize>,
    #[serde(default)]
    pub val_loss: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub run: PathBuf,
    pub state: JobState,
    pub launcher: Launcher,
    pub pid: Option<u32>,
    pub slurm_job: Option<String>,
    pub exit_code: Option<i32>,
    pub step: usize,
    pub total_steps: Option<usize>,
    pub loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub samples_per_s: Option<f64>,
    pub elapsed_s: Option<f64>,
    pub eta_s: Option<f64>,
    pub log_tail: Vec<String>,
}

/// The steps logged so far (lines cut off by a running writer are skipped).
pub fn metrics(dir: &Path) -> Vec<MetricLine> {
    std::fs::read_to_string(dir.join(METRICS_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn status(dir: &Path, log_lines: usize) -> Result<Status, FileError> {
    let record = job::read_record(dir)?;
    let exit_code = std::fs::read_to_string(dir.join(EXIT_FILE))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    let cancelled = dir.join(CANCEL_FILE).exists();
    let state = match record.launcher {
        Launcher::Local => local_state(&record, exit_code, cancelled),
        Launcher::Slurm => slurm_state(&record, exit_code, cancelled),
    };
    let lines = metrics(dir);
    let last_step = lines.iter().rev().find(|l| l.loss.is_some());
    let step = last_step.map_or(0, |l| l.step);
    let total_steps = last_step.and_then(|l| l.total_steps);
    let elapsed_s = last_step.and_then(|l| l.elapsed_s);
    let eta_s = match (elapsed_s, total_steps) {
        (Some(e), Some(t)) if step > 0 && !state.finished() => {
            Some(e / step as f64 * t.saturating_sub(step) as f64)
        }
        _ => None,
    };
    Ok(Status {
        run: dir.to_path_buf(),
        state,
        launcher: record.launcher,
        pid: record.pid,
        slurm_job: record.slurm_job.clone(),
        exit_code,
        step,
        total_steps,
        loss: last_step.and_then(|l| l.loss),
        val_loss: lines.iter().rev().find_map(|l| l.val_loss),
        samples_per_s: last_step.and_then(|l| l.samples_per_s),
        elapsed_s,
        eta_s,
        log_tail: job::log_tail(dir, log_lines),
    })
}

fn ended(exit_code: Option<i32>, cancelled: bool) -> JobState {
    match exit_code {
        Some(0) => JobState::Completed,
        _ if cancelled => JobState::Cancelled,
        _ => JobState::Failed,
    }
}

fn local_state(record: &JobRecord, exit_code: Option<i32>, cancelled: bool) -> JobState {
    let alive = record.pid.is_some_and(|pid| {
        record.pid_start.is_some() && job::process_start(pid) == record.pid_start
    });
    if alive && exit_code.is_none() {
        JobState::Running
    } else {
        ended(exit_code, cancelled)
    }
}

fn slurm_state(record: &JobRecord, exit_code: Option<i32>, cancelled: bool) -> JobState {
    let Some(id) = &record.slurm_job else {
        return JobState::Unknown;
    };
    let queued = std::process::Command::new("squeue")
        .args(["-h", "-j", id, "-o", "%T"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !queued.is_empty() {
        return JobState::from_slurm(&queued);
    }
    if exit_code.is_some() {
        return ended(exit_code, cancelled);
    }
    // Gone from the queue without a marker: scontrol remembers it for a while.
    let shown = std::process::Command::new("scontrol")
        .args(["show", "job", id, "-o"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    match shown
        .split_whitespace()
        .find_map(|w| w.strip_prefix("JobState="))
    {
        Some(state) => JobState::from_slurm(state),
        None if cancelled => JobState::Cancelled,
        None => JobState::Unknown,
    }
}

/// Stop the job: SIGTERM to the local process group, or `scancel`.
pub fn cancel(dir: &Path) -> Result<JobState, FileError> {
    let current = status(dir, 0)?;
    if current.state.finished() {
        return Err(FileError::invalid(format!(
            "{}: the job has already ended ({})",
            dir.display(),
            current.state
        )));
    }
    let record = job::read_record(dir)?;
    std::fs::write(dir.join(CANCEL_FILE), crate::util::clock::now()).map_err(FileError::io(dir))?;
    match (record.launcher, record.pid, &record.slurm_job) {
        (Launcher::Local, Some(pid), _) => {
            // The job leads its own session: the whole group (bash and the trainer) goes.
            let sent = unsafe { libc::kill(-(pid as i32), libc::SIGTERM) };
            if sent != 0 {
                return Err(FileError::invalid(format!(
                    "cannot signal process group {pid}: {}",
                    std::io::Error::last_os_error()
                )));
            }
        }
        (Launcher::Slurm, _, Some(id)) => {
            let out = std::process::Command::new("scancel")
                .arg(id)
                .output()
                .map_err(FileError::io(Path::new("scancel")))?;
            if !out.status.success() {
                return Err(FileError::invalid(format!(
                    "scancel {id}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        _ => {
            return Err(FileError::invalid(format!(
                "{}: job.json names no process",
                dir.display()
            )));
        }
    }
    Ok(JobState::Cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_states_map_to_ours() {
        assert_eq!(JobState::from_slurm("PENDING"), JobState::Pending);
        assert_eq!(JobState::from_slurm("COMPLETING"), JobState::Running);
        assert_eq!(JobState::from_slurm("TIMEOUT"), JobState::Timeout);
        assert_eq!(JobState::from_slurm("OUT_OF_MEMORY"), JobState::Failed);
        assert_eq!(JobState::from_slurm("CANCELLED"), JobState::Cancelled);
        assert_eq!(JobState::from_slurm("???"), JobState::Unknown);
    }

    #[test]
    fn a_torn_metrics_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(METRICS_FILE),
            "{\"step\": 1, \"loss\": 2.0, \"total_steps\": 4, \"elapsed_s\": 1.0}\n{\"step\": 2, \"lo",
        )
        .unwrap();
        let lines = metrics(dir.path());
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].loss, Some(2.0));
    }
}
