//! A fine-tune job: the generated script, its launch (a detached local process, or `sbatch`),
//! and its state read back (pid or SLURM, exit-code marker, metrics, log tail).

use super::spec::{Launcher, RunSpec, shell_quote};
use crate::slurm;
use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCRIPT_FILE: &str = "job.sh";
pub const JOB_FILE: &str = "job.json";
pub const LOG_FILE: &str = "train.log";
pub const EXIT_FILE: &str = "exit_code";
pub const CANCEL_FILE: &str = "cancelled";
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Where the job runs: what `status` needs to find it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub launcher: Launcher,
    pub pid: Option<u32>,
    /// The process's start time (clock ticks since boot), so a reused pid is not mistaken for it.
    pub pid_start: Option<u64>,
    pub slurm_job: Option<String>,
    pub submitted: String,
}

/// The job script: SLURM directives (ignored by bash), the trainer, then an exit-code marker
/// written atomically, so the state survives the process.
pub fn script(spec: &RunSpec, dir: &Path) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let mut text = String::from("#!/bin/bash\n");
    if spec.launcher == Launcher::Slurm {
        text.push_str(&slurm::directives(&sbatch_options(spec, dir)));
    }
    let command: Vec<String> = std::iter::once(q(&spec.python))
        .chain(spec.trainer_args(dir).iter().map(|a| shell_quote(a)))
        .collect();
    let exit = dir.join(EXIT_FILE);
    let partial = dir.join(format!("{EXIT_FILE}.partial"));
    text.push_str(&format!(
        "cd {dir} || exit 1\n{command}\ncode=$?\necho \"$code\" > {partial} && mv {partial} {exit}\nexit \"$code\"\n",
        dir = q(dir),
        command = command.join(" "),
        partial = q(&partial),
        exit = q(&exit),
    ));
    text
}

fn sbatch_options(spec: &RunSpec, dir: &Path) -> Vec<String> {
    let log = slurm::literal_path(&dir.join(LOG_FILE));
    slurm::sbatch_options(&spec.slurm, "radiochat-finetune", &log)
}

/// Start the job in `dir` (spec.toml and job.sh written), returning how to find it.
pub fn launch(spec: &RunSpec, dir: &Path) -> Result<JobRecord, FileError> {
    let script_path = dir.join(SCRIPT_FILE);
    crate::util::private_file::write_atomically(&script_path, script(spec, dir).as_bytes())
        .map_err(FileError::io(&script_path))?;
    let record = match spec.launcher {
        Launcher::Local => launch_local(&script_path, dir)?,
        Launcher::Slurm => launch_slurm(&script_path, &sbatch_options(spec, dir))?,
    };
    let job_file = dir.join(JOB_FILE);
    crate::util::private_file::write_json_atomically(&job_file, &record)?;
    Ok(record)
}

fn launch_local(script: &Path, dir: &Path) -> Result<JobRecord, FileError> {
    use std::os::unix::process::CommandExt;
    let log_path = dir.join(LOG_FILE);
    // The trainer's log holds prompts and answers from the training data: private.
    let log = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&log_path)
            .map_err(FileError::io(&log_path))?
    };
    let err = log.try_clone().map_err(FileError::io(&log_path))?;
    let mut command = std::process::Command::new("bash");
    command
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err);
    // Its own session: closing the terminal (or the TUI) does not stop the training.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| {
        FileError::invalid(format!("cannot start bash for {}: {e}", script.display()))
    })?;
    let pid = child.id();
    // Reap it when it ends, so a long-lived radiochat (the TUI) leaves no zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(JobRecord {
        launcher: Launcher::Local,
        pid: Some(pid),
        pid_start: process_start(pid),
        slurm_job: None,
        submitted: crate::util::clock::now(),
    })
}

fn launch_slurm(script: &Path, options: &[String]) -> Result<JobRecord, FileError> {
    let id = slurm::submit(script, options, "use --launcher local")?;
    Ok(JobRecord {
        launcher: Launcher::Slurm,
        pid: None,
        pid_start: None,
        slurm_job: Some(id),
        submitted: crate::util::clock::now(),
    })
}

/// Field 22 of /proc/PID/stat: when the process started.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after the name: state is field 3, starttime field 22.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

pub fn read_record(dir: &Path) -> Result<JobRecord, FileError> {
    let path = dir.join(JOB_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        FileError::invalid(format!(
            "{}: {e} (the job was never launched?)",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(FileError::unreadable(&path))
}

/// The run directory's log.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

/// The last `n` lines of the log.
pub fn log_tail(dir: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read(log_path(dir))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_start_time_is_read_and_a_dead_pid_has_none() {
        assert!(process_start(std::process::id()).is_some());
        assert_eq!(process_start(u32::MAX - 1), None);
    }
}
