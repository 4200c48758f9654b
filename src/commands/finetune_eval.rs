//! `radiochat finetune eval RUN --bench B3,B1 --data DATASET.json`: the run's base and its
//! fine-tuned model (merged first when needed) on the same benchmarks, side by side. Each
//! benchmark run lives in RUN/eval/TASK-base and RUN/eval/TASK-tuned, so an interrupted
//! evaluation resumes and a finished one is not run again.

use super::bench::{self as bench_cmd, ComparedRun};
use super::bench_run::{self, BenchRunArgs, Progress, RunFlags};
use super::{CommandError, CommandResult};
use crate::config::{Origin, Settings};
use crate::finetune::spec::RunSpec;
use std::path::{Path, PathBuf};

pub struct EvalArgs {
    pub settings: Settings,
    pub run: PathBuf,
    pub benches: Vec<String>,
    pub data: PathBuf,
    pub limit: Option<usize>,
    pub concurrency: usize,
}

/// One benchmark, base then fine-tuned.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalPair {
    pub task: String,
    pub base: ComparedRun,
    pub tuned: ComparedRun,
}

pub fn eval(
    args: &EvalArgs,
    runtime: &tokio::runtime::Runtime,
    on_progress: &mut (dyn FnMut(&str, &Progress) + Send),
) -> CommandResult<Vec<EvalPair>> {
    if args.benches.is_empty() {
        return Err(CommandError::bad(
            "--bench needs at least one task, e.g. B3",
        ));
    }
    let spec = RunSpec::read(&args.run)?;
    let tuned = tuned_model(&args.run)?;
    let mut pairs = Vec::new();
    for task in &args.benches {
        let mut dirs = Vec::new();
        for (model, side) in [(spec.base.clone(), "base"), (tuned.clone(), "tuned")] {
            let dir = args.run.join("eval").join(format!("{task}-{side}"));
            let label = format!("{task} {side}");
            benchmark(args, runtime, task, &model, &dir, &mut |p| {
                on_progress(&label, p)
            })?;
            dirs.push(dir);
        }
        let mut compared = bench_cmd::compare(&dirs)?.into_iter();
        let (Some(base), Some(tuned)) = (compared.next(), compared.next()) else {
            return Err(CommandError::bad("internal: two runs compared, fewer read"));
        };
        pairs.push(EvalPair {
            task: task.clone(),
            base,
            tuned,
        });
    }
    Ok(pairs)
}

/// The fine-tuned model: RUN/model (full fine-tune), else RUN/merged, merged now if needed.
fn tuned_model(run: &Path) -> CommandResult<PathBuf> {
    if run.join("model/config.json").is_file() {
        return Ok(run.join("model"));
    }
    let merged = run.join("merged");
    if !merged.join("config.json").is_file() {
        if !run.join("adapter/adapter_config.json").is_file() {
            return Err(CommandError::bad(format!(
                "{}: no adapter/ or model/ yet (is the job finished? radiochat finetune status {})",
                run.display(),
                run.display()
            )));
        }
        super::finetune::merge(run, None, Some(&merged))?;
    }
    Ok(merged)
}

fn benchmark(
    args: &EvalArgs,
    runtime: &tokio::runtime::Runtime,
    task: &str,
    model: &Path,
    dir: &Path,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> CommandResult<()> {
    if dir.join("metrics.json").is_file() {
        return Ok(());
    }
    let resume = dir.join("run.json").is_file();
    let mut settings = args.settings.clone();
    settings.model.value = Some(model.display().to_string());
    settings.model.origin = Origin::Flag;
    let flags = RunFlags {
        task: (!resume).then(|| task.to_string()),
        data: (!resume).then(|| args.data.clone()),
        limit: args.limit,
        concurrency: args.concurrency,
        out: (!resume).then(|| dir.to_path_buf()),
        resume: resume.then(|| dir.to_path_buf()),
        ..RunFlags::default()
    };
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| CommandError::bad(format!("{}: {e}", parent.display())))?;
    }
    let run_args = BenchRunArgs {
        settings,
        flags,
        demo: false,
    };
    bench_run::run(run_args, runtime, on_progress).map(|_| ())
}

/// The compare table of each benchmark (base first, then fine-tuned with its changes).
pub fn eval_lines(pairs: &[EvalPair], markdown: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for pair in pairs {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(bench_cmd::compare_lines(
            &[pair.base.clone(), pair.tuned.clone()],
            markdown,
        ));
    }
    lines
}
