//! `finetune run --launcher slurm` against the one-node cluster scripts/slurm-local.sh starts
//! (scripts/setup.sh runs it): a real training job through sbatch, polled to the end; another
//! cancelled with scancel; a job sbatch rejects.

mod common;

use common::cli::{assert_bad_input, radiochat};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn setup(home: &Path) -> (PathBuf, PathBuf) {
    common::cli::assert_slurm_cluster();
    common::cli::tiny_base_and_data(home, 12, &[])
}

fn submit(
    home: &Path,
    base: &Path,
    data: &Path,
    run: &Path,
    extra: &[&str],
) -> std::process::Output {
    common::cli::finetune_run(
        home,
        base,
        data,
        run,
        &[&["--launcher", "slurm"], extra].concat(),
    )
}

fn wait(home: &Path, run: &Path, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    common::cli::wait_for_finetune(home, run, limit, Duration::from_millis(500), done)
}

#[test]
fn a_training_job_runs_through_sbatch_and_another_is_cancelled() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let (base, data) = setup(home.path());
    let run = home.path().join("slurm run 'a'");
    let out = submit(
        home.path(),
        &base,
        &data,
        &run,
        &[
            "--max-steps",
            "20",
            "--cpus",
            "1",
            "--time",
            "00:10:00",
            "--log-every",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("SLURM job"));
    let script = std::fs::read_to_string(run.join("job.sh")).unwrap();
    assert!(
        script.contains("#SBATCH --cpus-per-task=1") && script.contains("#SBATCH --time=00:10:00")
    );
    let done = wait(home.path(), &run, Duration::from_secs(300), |s| {
        !matches!(s["state"].as_str(), Some("PENDING" | "RUNNING"))
    });
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(done["step"], 20);
    assert!(done["slurm_job"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(run.join("adapter/adapter_model.safetensors").exists());

    let long = home.path().join("long");
    let out = submit(
        home.path(),
        &base,
        &data,
        &long,
        &["--max-steps", "1000000", "--cpus", "1"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    wait(home.path(), &long, Duration::from_secs(300), |s| {
        s["step"].as_u64().unwrap_or(0) > 0
    });
    let cancelled = radiochat(&["finetune", "cancel", long.to_str().unwrap()], home.path());
    assert_eq!(cancelled.status.code(), Some(0), "{cancelled:?}");
    let s = wait(home.path(), &long, Duration::from_secs(60), |s| {
        !matches!(s["state"].as_str(), Some("PENDING" | "RUNNING"))
    });
    assert_eq!(s["state"], "CANCELLED", "{s}");
}

#[test]
fn a_job_sbatch_rejects_shows_its_reason() {
    let home = tempfile::tempdir().unwrap();
    let (base, data) = setup(home.path());
    let run = home.path().join("rejected");
    assert_bad_input(
        &submit(
            home.path(),
            &base,
            &data,
            &run,
            &["--partition", "no-such-partition"],
        ),
        &["sbatch rejected the job", "invalid partition"],
    );
    assert!(!run.exists(), "a rejected job leaves no run directory");
}
