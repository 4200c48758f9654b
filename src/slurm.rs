//! SLURM submission shared by fine-tune jobs and benchmark job arrays: the resource flags,
//! sbatch's options (on its command line and as `#SBATCH` lines), and `sbatch` itself.

use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// SLURM resources; `None` leaves the cluster's default. The same flags after
/// `finetune run --launcher slurm` and `bench run --slurm-array K`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlurmOptions {
    /// SLURM partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// GPUs per job (per array task).
    #[arg(long)]
    pub gpus: Option<usize>,
    /// CPUs per job (per array task).
    #[arg(long)]
    pub cpus: Option<usize>,
    /// Memory per job, e.g. 16G.
    #[arg(long)]
    pub mem: Option<String>,
    /// Wall-time limit, HH:MM(:SS).
    #[arg(long)]
    pub time: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long)]
    pub qos: Option<String>,
}

impl SlurmOptions {
    /// The flags as typed, to drop them from a command line handed on to a job.
    pub const FLAGS: [&'static str; 7] = [
        "--partition",
        "--gpus",
        "--cpus",
        "--mem",
        "--time",
        "--account",
        "--qos",
    ];
}

/// sbatch's options: given on its command line (argv needs no quoting, and `%` in a path is
/// escaped for SLURM's filename patterns unless `log_pattern` says the path is one), and
/// repeated as `#SBATCH` lines in the script by [`directives`].
pub fn sbatch_options(slurm: &SlurmOptions, job_name: &str, log: &str) -> Vec<String> {
    let mut options = vec![format!("--job-name={job_name}"), format!("--output={log}")];
    let mut add = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            options.push(format!("--{name}={v}"));
        }
    };
    add("partition", slurm.partition.clone());
    add("gpus", slurm.gpus.map(|g| g.to_string()));
    add("cpus-per-task", slurm.cpus.map(|c| c.to_string()));
    add("mem", slurm.mem.clone());
    add("time", slurm.time.clone());
    add("account", slurm.account.clone());
    add("qos", slurm.qos.clone());
    options
}

/// A path as a literal in sbatch's `--output` (its `%` patterns escaped).
pub fn literal_path(path: &Path) -> String {
    path.display().to_string().replace('%', "%%")
}

/// `#SBATCH` lines for the options that are safe there (sbatch splits those lines at
/// spaces), so a script documents itself and can be resubmitted by hand.
pub fn directives(options: &[String]) -> String {
    options
        .iter()
        .filter(|o| !o.contains(|c: char| c.is_whitespace() || c == '"' || c == '\''))
        .map(|o| format!("#SBATCH {o}\n"))
        .collect()
}

/// Submit `script` with `options`; the job id. `fallback` is the advice when SLURM is absent.
pub fn submit(script: &Path, options: &[String], fallback: &str) -> Result<String, FileError> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(options)
        .arg(script)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                FileError::invalid(format!("SLURM not found on PATH (no sbatch); {fallback}"))
            }
            _ => FileError::io(Path::new("sbatch"))(e),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(FileError::invalid(format!(
            "sbatch rejected the job: {}",
            stderr.trim().replace('\n', " ")
        )));
    }
    let id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if id.is_empty() {
        return Err(FileError::invalid("sbatch printed no job id"));
    }
    Ok(id)
}

/// `'text'` for bash: safe for any characters, spaces, quotes, `$()` and `;` included.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `args` without the flags in `drop` (each taking one value, as `--flag V` or `--flag=V`).
pub fn without_flags(args: &[String], drop: &[&str]) -> Vec<String> {
    let mut kept = Vec::with_capacity(args.len());
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if drop.contains(&arg.as_str()) {
            skip_value = true;
        } else if !drop
            .iter()
            .any(|flag| arg.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
        {
            kept.push(arg.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_what_a_path_may_hold() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        let nasty = r#"dir $(touch x); rm -rf "q" `id` 'z'"#;
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(nasty)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), nasty);
    }

    #[test]
    fn flags_are_dropped_in_both_spellings_and_values_that_look_alike_stay() {
        let args: Vec<String> = [
            "bench",
            "run",
            "B1",
            "--partition",
            "gpu",
            "--out",
            "dir",
            "--time=1:00",
            "--timeout",
            "3",
            "--partitions=x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let kept = without_flags(&args, &["--partition", "--time"]);
        assert_eq!(
            kept,
            [
                "bench",
                "run",
                "B1",
                "--out",
                "dir",
                "--timeout",
                "3",
                "--partitions=x"
            ]
        );
    }

    #[test]
    fn options_skip_unset_resources_and_directives_skip_unsafe_values() {
        let slurm = SlurmOptions {
            partition: Some("gpu".into()),
            cpus: Some(4),
            ..Default::default()
        };
        let options = sbatch_options(&slurm, "radiochat-bench", "/runs/a b/%a.log");
        assert_eq!(
            options,
            [
                "--job-name=radiochat-bench",
                "--output=/runs/a b/%a.log",
                "--partition=gpu",
                "--cpus-per-task=4"
            ]
        );
        let lines = directives(&options);
        assert!(lines.contains("#SBATCH --partition=gpu\n"));
        assert!(!lines.contains("a b"), "{lines}");
        assert_eq!(literal_path(Path::new("/x/100%")), "/x/100%%");
    }
}
