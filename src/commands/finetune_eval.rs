//! `radiochat finetune eval RUN --bench B3,L1,G1=shapes/dataset.json --data DATASET.json`: the
//! run's base and its fine-tuned model (merged first when needed) on the same benchmarks, side
//! by side, and one table of what fine-tuning gained on the radio tasks and lost on the
//! general ones (radio-llava's forgetting check). Each benchmark run lives in
//! RUN/eval/TASK-base and RUN/eval/TASK-tuned, so an interrupted evaluation resumes and a
//! finished one is not run again.

use super::bench::{self as bench_cmd, ComparedRun};
use super::bench_run::{self, BenchRunArgs, Progress, RunFlags};
use super::{CommandError, CommandResult};
use crate::bench::task::Domain;
use crate::bench::{Score, TaskSpec};
use crate::config::{Origin, Settings};
use crate::finetune::spec::RunSpec;
use std::path::{Path, PathBuf};

pub struct EvalArgs {
    pub settings: Settings,
    pub run: PathBuf,
    /// Task ids, each with its own dataset (`TASK=FILE`) or `data`'s.
    pub benches: Vec<String>,
    pub data: Option<PathBuf>,
    pub limit: Option<usize>,
    pub concurrency: usize,
}

/// One benchmark, base then fine-tuned, and its headline metric on each.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalPair {
    pub task: String,
    pub domain: Domain,
    pub metric: &'static str,
    pub base_value: f64,
    pub tuned_value: f64,
    pub base: ComparedRun,
    pub tuned: ComparedRun,
}

/// The number a task is judged by in the gains-and-losses table: a multiple-choice task's
/// accuracy with unreadable answers wrong (as MMBench and ScienceQA count), a box task's box
/// F1, otherwise the weighted F1 over valid answers (radio-llava's).
pub fn headline(task: &TaskSpec, score: &Score) -> (&'static str, f64) {
    if let Some(boxes) = &score.localisation {
        ("box F1", boxes.valid_only.overall.f1)
    } else if task.brings_questions() {
        ("accuracy", score.metrics_invalid_as_wrong.accuracy)
    } else {
        ("F1 (weighted)", score.metrics.f1_weighted)
    }
}

/// `TASK` or `TASK=FILE`: the task and its dataset.
fn task_and_data(bench: &str, data: Option<&Path>) -> CommandResult<(String, PathBuf)> {
    match bench.split_once('=') {
        Some((task, file)) if !task.is_empty() && !file.is_empty() => {
            Ok((task.to_string(), PathBuf::from(file)))
        }
        Some(_) => Err(CommandError::bad(format!(
            "--bench {bench}: expected TASK or TASK=DATASET.json"
        ))),
        None => data
            .map(|d| (bench.to_string(), d.to_path_buf()))
            .ok_or_else(|| {
                CommandError::bad(format!(
                    "--bench {bench} has no dataset: give --data FILE or {bench}=FILE"
                ))
            }),
    }
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
    let asked = args
        .benches
        .iter()
        .map(|b| task_and_data(b, args.data.as_deref()))
        .collect::<CommandResult<Vec<_>>>()?;
    let tasks = crate::bench::load_tasks(None)?;
    let specs = asked
        .iter()
        .map(|(task, _)| crate::bench::find_task(&tasks, task))
        .collect::<Result<Vec<_>, _>>()?;
    let spec = RunSpec::read(&args.run)?;
    let tuned = tuned_model(&args.run)?;
    let mut pairs = Vec::new();
    for ((task, data), task_spec) in asked.iter().zip(&specs) {
        let mut dirs = Vec::new();
        for (model, side) in [(spec.base.clone(), "base"), (tuned.clone(), "tuned")] {
            let dir = args.run.join("eval").join(format!("{task}-{side}"));
            let label = format!("{task} {side}");
            let bench = Benchmark {
                task,
                data,
                model: &model,
                dir: &dir,
            };
            benchmark(args, runtime, &bench, &mut |p| on_progress(&label, p))?;
            dirs.push(dir);
        }
        let mut compared = bench_cmd::compare(&dirs)?.into_iter();
        let (Some(base), Some(tuned)) = (compared.next(), compared.next()) else {
            return Err(CommandError::bad("internal: two runs compared, fewer read"));
        };
        let (metric, base_value) = headline(task_spec, &base.score);
        pairs.push(EvalPair {
            task: task.clone(),
            domain: task_spec.domain,
            metric,
            base_value,
            tuned_value: headline(task_spec, &tuned.score).1,
            base,
            tuned,
        });
    }
    Ok(pairs)
}

/// One benchmark run of the evaluation.
struct Benchmark<'a> {
    task: &'a str,
    data: &'a Path,
    model: &'a Path,
    dir: &'a Path,
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
    bench: &Benchmark,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> CommandResult<()> {
    let (task, model, dir) = (bench.task, bench.model, bench.dir);
    if dir.join("metrics.json").is_file() {
        return Ok(());
    }
    let resume = dir.join("run.json").is_file();
    let mut settings = args.settings.clone();
    settings.model.value = Some(model.display().to_string());
    settings.model.origin = Origin::Flag;
    let flags = RunFlags {
        task: (!resume).then(|| task.to_string()),
        data: (!resume).then(|| bench.data.to_path_buf()),
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

/// Radio gains and general losses: a row per task (its headline metric before, after, Δ),
/// then the mean change of each domain.
pub fn summary_lines(pairs: &[EvalPair], markdown: bool) -> Vec<String> {
    let domain = |d: Domain| match d {
        Domain::Radio => "radio",
        Domain::General => "general",
    };
    let mut rows = vec![["task", "domain", "metric", "base", "tuned", "Δ"].map(String::from)];
    for p in pairs {
        rows.push([
            p.task.clone(),
            domain(p.domain).into(),
            p.metric.into(),
            format!("{:.4}", p.base_value),
            format!("{:.4}", p.tuned_value),
            format!("{:+.4}", p.tuned_value - p.base_value),
        ]);
    }
    let mut lines = crate::util::text::table(&rows, markdown);
    let means: Vec<String> = [Domain::Radio, Domain::General]
        .into_iter()
        .filter_map(|d| {
            let changes: Vec<f64> = pairs
                .iter()
                .filter(|p| p.domain == d)
                .map(|p| p.tuned_value - p.base_value)
                .collect();
            (!changes.is_empty()).then(|| {
                let mean = changes.iter().sum::<f64>() / changes.len() as f64;
                format!(
                    "{}: mean Δ {mean:+.4} over {} task(s)",
                    domain(d),
                    changes.len()
                )
            })
        })
        .collect();
    lines.push(String::new());
    lines.push(means.join(" · "));
    lines
}

/// The gains-and-losses table, then the compare table of each benchmark (base first, then
/// fine-tuned with its changes).
pub fn eval_lines(pairs: &[EvalPair], markdown: bool) -> Vec<String> {
    let mut lines = summary_lines(pairs, markdown);
    for pair in pairs {
        lines.push(String::new());
        lines.extend(bench_cmd::compare_lines(
            &[pair.base.clone(), pair.tuned.clone()],
            markdown,
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bench_names_its_own_dataset_or_takes_the_default() {
        let default = Path::new("sky.json");
        assert_eq!(
            task_and_data("B3", Some(default)).unwrap(),
            ("B3".to_string(), PathBuf::from("sky.json"))
        );
        assert_eq!(
            task_and_data("G1=shapes/d.json", Some(default)).unwrap(),
            ("G1".to_string(), PathBuf::from("shapes/d.json"))
        );
        let err = |b: &str| task_and_data(b, None).unwrap_err().to_string();
        assert_eq!(
            err("B3"),
            "--bench B3 has no dataset: give --data FILE or B3=FILE"
        );
        assert_eq!(
            err("G1="),
            "--bench G1=: expected TASK or TASK=DATASET.json"
        );
    }
}
