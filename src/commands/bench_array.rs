//! `bench run … --slurm-array K --out RUNDIR`: a benchmark as a SLURM job array. Every shard's
//! directory and run.json are written here, before anything is queued, so every mistake
//! (task, dataset, prompt, an existing run) is reported at once and all tasks run with the
//! settings of this moment; array task i then resumes shard i (`bench run --resume
//! RUNDIR/shard-i-of-K`), which also makes a requeued task carry on where it stopped. The
//! shard that finishes last merges the run (as any sharded run).

use super::bench_run::{self, RunEnv, RunFlags};
use super::{CommandError, CommandResult};
use crate::bench::shard::Shard;
use crate::engine::LoadSpec;
use crate::slurm::{self, shell_quote};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCRIPT_FILE: &str = "slurm-array.sh";
pub const JOB_FILE: &str = "slurm-array.json";
/// Each task's log, in its shard directory.
pub const LOG_FILE: &str = "slurm.log";

/// What was submitted (also written to RUNDIR/slurm-array.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submitted {
    pub slurm_job: String,
    pub tasks: usize,
    pub dir: PathBuf,
    pub items: usize,
    pub script: PathBuf,
    pub submitted: String,
}

/// How the array's tasks find radiochat and its model settings.
pub struct ArrayTaskCommand {
    /// The radiochat binary the tasks run (this one).
    pub exe: PathBuf,
    /// The config file the tasks read, when there is one.
    pub config: Option<PathBuf>,
    /// Device, dtype and ISQ, as the tasks' flags.
    pub engine_flags: Vec<String>,
    /// Where the tasks start (relative paths in the config resolve as here).
    pub cwd: PathBuf,
}

impl ArrayTaskCommand {
    /// This radiochat, the config at `config` if it exists, the engine settings of `spec`.
    pub fn for_this_process(config: &Path, spec: Option<&LoadSpec>) -> CommandResult<Self> {
        let exe = std::env::current_exe()
            .map_err(|e| CommandError::Failed(anyhow::anyhow!("where is radiochat? {e}")))?;
        let cwd = std::env::current_dir()
            .map_err(|e| CommandError::Failed(anyhow::anyhow!("current directory: {e}")))?;
        let mut engine_flags = Vec::new();
        if let Some(spec) = spec {
            engine_flags.extend(["--device".into(), spec.device.to_string()]);
            engine_flags.extend(["--dtype".into(), spec.dtype.to_string()]);
            if let Some(isq) = spec.isq {
                engine_flags.extend(["--isq".into(), isq.to_string()]);
            }
        }
        Ok(ArrayTaskCommand {
            exe,
            config: config
                .exists()
                .then(|| std::path::absolute(config).unwrap_or(config.to_path_buf())),
            engine_flags,
            cwd,
        })
    }
}

/// Prepare the K shards of `flags` (which names --slurm-array K and --out) and submit the array.
pub fn submit(
    flags: &RunFlags,
    env: &RunEnv,
    command: &ArrayTaskCommand,
) -> CommandResult<Submitted> {
    let count = flags.slurm_array.unwrap_or(0);
    if count == 0 {
        return Err(CommandError::bad("--slurm-array K needs K ≥ 1 tasks"));
    }
    let Some(dir) = flags.out.clone() else {
        return Err(CommandError::bad(
            "--slurm-array needs --out RUNDIR: the directory all the tasks share",
        ));
    };
    // The tasks, their logs and the report name it whatever directory they start in.
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    if flags.shard.is_some() || flags.resume.is_some() {
        return Err(CommandError::bad(
            "--slurm-array cannot go with --shard or --resume: it makes the shards itself",
        ));
    }
    if env.model.is_empty() {
        return Err(CommandError::bad(
            "no model: pass --model DIR, set `model` in the config, or --demo",
        ));
    }
    // Nothing is left behind when a shard or sbatch refuses: the same command can be rerun.
    let mut created = CreatedDirs(Vec::new());
    let mut items = 0;
    for index in 0..count {
        let shard = Shard { index, count };
        let shard_flags = RunFlags {
            shard: Some(shard.to_string()),
            slurm_array: None,
            out: Some(dir.clone()),
            ..flags.clone()
        };
        let prepared = bench_run::prepare(&shard_flags, env)?;
        created.0.push(prepared.dir.clone());
        if prepared.spec.dataset.items.is_empty() {
            return Err(CommandError::bad(format!(
                "--slurm-array {count}: more tasks than items ({} in the dataset); use fewer",
                items
            )));
        }
        items += prepared.spec.dataset.items.len();
    }
    let script_path = dir.join(SCRIPT_FILE);
    let log = format!(
        "{}/shard-%a-of-{count}/{LOG_FILE}",
        slurm::literal_path(&dir)
    );
    let mut options = slurm::sbatch_options(&flags.slurm, "radiochat-bench", &log);
    options.push(format!("--array=0-{}", count - 1));
    let script = script(&dir, count, command, &options);
    crate::util::private_file::write_atomically(&script_path, script.as_bytes())
        .map_err(|e| CommandError::bad(format!("{}: {e}", script_path.display())))?;
    created.0.push(script_path.clone());
    let job = slurm::submit(
        &script_path,
        &options,
        "run the shards with --shard I/K instead",
    )
    .map_err(CommandError::bad)?;
    created.0.clear();
    let submitted = Submitted {
        slurm_job: job,
        tasks: count,
        dir: dir.clone(),
        items,
        script: script_path,
        submitted: crate::util::clock::now(),
    };
    let record = dir.join(JOB_FILE);
    let text = serde_json::to_string_pretty(&submitted)
        .map_err(|e| CommandError::Failed(anyhow::anyhow!(e)))?;
    crate::util::private_file::write_atomically(&record, text.as_bytes())
        .map_err(|e| CommandError::bad(format!("{}: {e}", record.display())))?;
    Ok(submitted)
}

/// Shard directories and the script made by a submission that then failed.
struct CreatedDirs(Vec<PathBuf>);

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
        }
    }
}

/// The array's script: task i resumes shard i. sbatch reads the `#SBATCH` lines when the
/// script is resubmitted by hand (`sbatch RUNDIR/slurm-array.sh`).
fn script(dir: &Path, count: usize, command: &ArrayTaskCommand, options: &[String]) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let mut argv = vec![q(&command.exe)];
    if let Some(config) = &command.config {
        argv.extend(["--config".to_string(), q(config)]);
    }
    argv.extend(["bench", "run", "--resume"].map(String::from));
    argv.push(format!(
        "{}/shard-\"$SLURM_ARRAY_TASK_ID\"-of-{count}",
        q(dir)
    ));
    argv.extend(command.engine_flags.iter().map(|f| shell_quote(f)));
    format!(
        "#!/bin/bash\n{directives}cd {cwd} || exit 1\nexec {argv}\n",
        directives = slurm::directives(options),
        cwd = q(&command.cwd),
        argv = argv.join(" "),
    )
}

/// The CLI's report of a submission, one fact a line.
pub fn submitted_lines(s: &Submitted) -> Vec<String> {
    vec![
        format!(
            "submitted SLURM array job {}: {} tasks, {} items, into {}",
            s.slurm_job,
            s.tasks,
            s.items,
            s.dir.display()
        ),
        format!(
            "logs: {}/shard-I-of-{}/{LOG_FILE} · watch: squeue -j {}",
            s.dir.display(),
            s.tasks,
            s.slurm_job
        ),
        format!(
            "the last task to finish merges the shards into {}/metrics.json (by hand: radiochat bench merge {})",
            s.dir.display(),
            s.dir.display()
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_resumes_the_task_s_own_shard_whatever_the_paths_hold() {
        let command = ArrayTaskCommand {
            exe: PathBuf::from("/opt/radio chat/radiochat"),
            config: Some(PathBuf::from("/home/u/it's.toml")),
            engine_flags: vec!["--device".into(), "cpu".into()],
            cwd: PathBuf::from("/work"),
        };
        let dir = Path::new("/runs/b3 $(id)");
        let text = script(dir, 3, &command, &["--array=0-2".to_string()]);
        assert!(text.contains("#SBATCH --array=0-2\n"), "{text}");
        let last = text.lines().last().unwrap();
        // Run the command line with a stand-in binary that prints its arguments.
        let shown = last
            .replace("exec ", "printf '%s\\n' ")
            .replace("'/opt/radio chat/radiochat'", "");
        let out = std::process::Command::new("bash")
            .args(["-c", &shown])
            .env("SLURM_ARRAY_TASK_ID", "2")
            .output()
            .unwrap();
        let args: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(
            args,
            [
                "--config",
                "/home/u/it's.toml",
                "bench",
                "run",
                "--resume",
                "/runs/b3 $(id)/shard-2-of-3",
                "--device",
                "cpu"
            ]
        );
    }
}
