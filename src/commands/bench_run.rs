//! `radiochat bench run` and the chat's `/bench`: a benchmark run in a run directory, new or
//! resumed. Both front-ends parse the same [`RunFlags`] and go through [`prepare`] and
//! [`execute`]; only where the engine comes from differs (loaded here, or the chat's own).

use super::bench_prompt::QuestionFlags;
use super::{CommandError, CommandResult};
use crate::bench::dataset;
use crate::bench::predictions::Prediction;
use crate::bench::prompt::Prompter;
use crate::bench::run_dir::{self, PREDICTIONS_FILE, RunInfo};
pub use crate::bench::runner::Progress;
use crate::bench::runner::{self, RunSpec};
use crate::bench::shard::Shard;
use crate::bench::{self, ParseMode, Score};
use crate::config::Settings;
use crate::engine::{Engine, LoadSpec, Sampling};
use crate::imaging::TransformOptions;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What a run is asked to do; the same flags after `radiochat bench run` and `/bench`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct RunFlags {
    /// Task id (B1…B7, L1) or key; not needed with --resume.
    pub task: Option<String>,
    /// radio-llava dataset JSON.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Only the first N items.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub question: QuestionFlags,
    /// Requests in flight to the engine.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Re-asks of an unreadable answer (default: the task's).
    #[arg(long)]
    pub retries: Option<usize>,
    /// strict (radio-llava's rule) or lenient.
    #[arg(long, default_value = "strict")]
    pub parse: String,
    /// Refuse the dataset if any item does not fit the task (instead of skipping it).
    #[arg(long)]
    pub strict: bool,
    #[arg(long, value_name = "DIR")]
    pub tasks_dir: Option<PathBuf>,
    /// Run directory (default: DATA_DIR/runs/TASK-TIME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Ask only positions I, I+K, … of the dataset, into OUT/shard-I-of-K (needs --out); when
    /// all K shards have finished, they are merged into OUT (`bench merge`).
    #[arg(long, value_name = "I/K")]
    pub shard: Option<String>,
    /// Continue the run in DIR: finished items are skipped.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Submit a SLURM job array of K tasks, task I running shard I/K into --out (needs
    /// --out); the last to finish merges them. The resource flags below go to sbatch.
    #[arg(long, value_name = "K")]
    pub slurm_array: Option<usize>,
    #[command(flatten)]
    pub slurm: crate::slurm::SlurmOptions,
}

impl Default for RunFlags {
    /// Every flag at its command-line default (read from clap, so the two cannot differ).
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            flags: RunFlags,
        }
        <Defaults as clap::Parser>::parse_from(["bench-run"]).flags
    }
}

/// The model side of a run: what run.json records and how requests are made.
#[derive(Debug, Clone)]
pub struct RunEnv {
    /// The model as run.json names it: a directory, `hf:ID`, or `demo`.
    pub model: String,
    pub sampling: Sampling,
    pub transform: TransformOptions,
    /// `None`: radio-llava's system prompt.
    pub system_prompt: Option<String>,
}

impl RunEnv {
    pub fn from_settings(settings: &Settings, demo: bool) -> RunEnv {
        let model = super::model_choice::recorded_name(settings, demo);
        RunEnv {
            model,
            sampling: settings.sampling(),
            transform: settings.transform(),
            system_prompt: settings.system_prompt.value.clone(),
        }
    }
}

/// `radiochat bench run`: flags plus where the model comes from.
pub struct BenchRunArgs {
    pub settings: Settings,
    pub flags: RunFlags,
    pub demo: bool,
}

/// A run ready to start: its directory and run.json written, the dataset read.
pub struct PreparedRun {
    pub dir: PathBuf,
    pub info: RunInfo,
    pub spec: RunSpec,
    /// Items the dataset had that do not fit the task (one line), if any.
    pub skipped: Option<String>,
    /// Items finished by an earlier, interrupted run.
    pub finished: Vec<Prediction>,
    /// Held until the run ends: one writer per run directory.
    lock: crate::util::lock::HeldLock,
}

pub struct RunOutcome {
    pub dir: PathBuf,
    /// Over the items finished (all of them unless `stopped`).
    pub score: Score,
    pub progress: Progress,
    /// Items the dataset had that do not fit the task (one line), if any.
    pub skipped: Option<String>,
    /// Stopped before the end: no metrics.json or report; `--resume DIR` continues.
    pub stopped: bool,
    /// A shard that finished last: the whole run, merged into the shards' parent.
    pub merged: Option<super::bench_merge::Merged>,
}

/// The headless run: prepare, load the model, execute.
pub fn run(
    args: BenchRunArgs,
    runtime: &tokio::runtime::Runtime,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> CommandResult<RunOutcome> {
    let env = RunEnv::from_settings(&args.settings, args.demo);
    let prepared = prepare(&args.flags, &env)?;
    let engine: Arc<dyn Engine> =
        Arc::from(runtime.block_on(crate::engine::load(&load_spec(&args, &prepared.info)?))?);
    let never = AtomicBool::new(false);
    runtime.block_on(execute(prepared, engine, &never, on_progress))
}

/// Check the flags, read the dataset, and create (or reopen, with --resume) the run directory.
pub fn prepare(flags: &RunFlags, env: &RunEnv) -> CommandResult<PreparedRun> {
    if flags.concurrency == 0 {
        return Err(CommandError::bad("--concurrency must be at least 1"));
    }
    let parse: ParseMode = flags.parse.parse().map_err(CommandError::bad)?;
    let (dir, info, lock) = match &flags.resume {
        Some(dir) => {
            let info = run_dir::read_info(dir)?;
            (dir.clone(), info, run_dir::lock(dir)?)
        }
        None => new_run(flags, env, parse)?,
    };
    let tasks = bench::load_tasks(info.tasks_dir.as_deref())?;
    let task = bench::find_task(&tasks, &info.task)?;
    let mut data = dataset::load(&info.dataset, &task, info.strict)?;
    if flags.resume.is_some() && data.sha256 != info.dataset_sha256 {
        return Err(CommandError::bad(format!(
            "{}: the dataset changed since the run started (sha256 differs)",
            info.dataset.display()
        )));
    }
    if let Some(limit) = info.limit {
        data.items.truncate(limit);
    }
    if let Some(shard) = info.shard {
        data.items = std::mem::take(&mut data.items)
            .into_iter()
            .enumerate()
            .filter(|(position, _)| shard.keeps(*position))
            .map(|(_, item)| item)
            .collect();
    }
    let shots = super::bench_prompt::few_shot_examples(
        info.context.as_deref(),
        &task,
        info.shots,
        info.shuffle_context,
    )?;
    let predictions_path = dir.join(PREDICTIONS_FILE);
    let (finished, damaged) = if predictions_path.exists() {
        bench::predictions::read(&predictions_path)?
    } else {
        Default::default()
    };
    let skipped = data
        .skipped_summary()
        .into_iter()
        .chain(damaged)
        .collect::<Vec<_>>();
    let skipped = (!skipped.is_empty()).then(|| skipped.join("; "));
    // A resumed run decodes as it started, whatever the settings say now.
    let sampling = Sampling {
        temperature: info.temperature,
        top_p: info.top_p,
        top_k: info.top_k,
        max_tokens: info.max_tokens,
        ..env.sampling.clone()
    };
    let spec = RunSpec {
        task: task.clone(),
        dataset: data,
        shots,
        prompt: info.prompt_choice(),
        retries: info.retries,
        retry: info.retry,
        concurrency: info.concurrency,
        parse: info.parse,
        sampling,
        transform: env.transform,
        system_prompt: info.system_prompt.clone(),
    };
    Ok(PreparedRun {
        dir,
        info,
        spec,
        skipped,
        finished,
        lock,
    })
}

/// Ask every item not yet finished; with all done, write metrics.json, report.md and
/// confusion.png. Setting `stop` ends the run early (finished items stay on disk).
pub async fn execute(
    prepared: PreparedRun,
    engine: Arc<dyn Engine>,
    stop: &AtomicBool,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> CommandResult<RunOutcome> {
    let PreparedRun {
        dir,
        info,
        spec,
        skipped,
        lock: _held_until_the_run_ends,
        ..
    } = prepared;
    let predictions_path = dir.join(PREDICTIONS_FILE);
    let progress = runner::run(&spec, engine, &predictions_path, stop, on_progress).await?;
    let (mut records, _) = bench::predictions::read(&predictions_path)?;
    let order: std::collections::HashMap<&str, usize> = spec
        .dataset
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.sname.as_str(), i))
        .collect();
    records.retain(|r| order.contains_key(r.sname.as_str()));
    records.sort_by_key(|r| order[r.sname.as_str()]);
    let score = bench::score(&spec.task, &records, info.parse);
    let stopped = progress.done < progress.total;
    let mut merged = None;
    if !stopped {
        run_dir::write_results(&dir, &info, &score)?;
        if let (Some(_), Some(parent)) = (info.shard, dir.parent()) {
            merged = super::bench_merge::merge_if_complete(parent)?;
        }
    }
    Ok(RunOutcome {
        dir,
        score,
        progress,
        skipped,
        stopped,
        merged,
    })
}

/// `--model`/`--demo` if given; when resuming without them, the model the run started with.
fn load_spec(args: &BenchRunArgs, info: &RunInfo) -> CommandResult<LoadSpec> {
    let recorded = args.flags.resume.is_some().then_some(info.model.as_str());
    super::model_choice::required_model_spec(&args.settings, args.demo, recorded)
}

fn new_run(
    flags: &RunFlags,
    env: &RunEnv,
    parse: ParseMode,
) -> CommandResult<(PathBuf, RunInfo, crate::util::lock::HeldLock)> {
    let task_id = flags
        .task
        .as_deref()
        .ok_or_else(|| CommandError::bad("which task? e.g. bench run B3"))?;
    let data = flags
        .data
        .clone()
        .ok_or_else(|| CommandError::bad("--data FILE (a radio-llava dataset JSON) is needed"))?;
    let tasks = bench::load_tasks(flags.tasks_dir.as_deref())?;
    let task = bench::find_task(&tasks, task_id)?;
    let dataset = dataset::load(&data, &task, flags.strict)?;
    let question = &flags.question;
    let choice = question.choice(&task);
    Prompter::new(&task, &choice, question.shots)?;
    let retry = question.retry_style(&task)?;
    let started = crate::util::clock::now();
    let dir = flags.out.clone().unwrap_or_else(|| {
        crate::config::data_dir().join("runs").join(format!(
            "{}-{}",
            task.id,
            crate::util::clock::id_stem()
        ))
    });
    let shard: Option<Shard> = match &flags.shard {
        None => None,
        Some(text) => Some(text.parse().map_err(CommandError::bad)?),
    };
    let dir = match shard {
        Some(shard) if flags.out.is_none() => {
            return Err(CommandError::bad(format!(
                "--shard {shard} needs --out RUNDIR: the directory all shards share"
            )));
        }
        Some(shard) => dir.join(shard.dir_name()),
        None => dir,
    };
    run_dir::check_new(&dir)?;
    let lock = run_dir::lock(&dir)?;
    let s = &env.sampling;
    let info = RunInfo {
        task: task.id.clone(),
        task_key: task.key.clone(),
        dataset: std::path::absolute(&data).unwrap_or(data),
        dataset_sha256: dataset.sha256,
        limit: flags.limit,
        items: {
            let n = flags
                .limit
                .map_or(dataset.items.len(), |l| l.min(dataset.items.len()));
            shard.map_or(n, |s| (0..n).filter(|&p| s.keeps(p)).count())
        },
        prompt: choice.version,
        add_options: choice.add_options,
        add_task_description: choice.add_task_description,
        shuffle_options: choice.shuffle_options,
        shuffle_context: question.shuffle_context,
        shots: question.shots,
        context: question
            .context
            .as_ref()
            .map(|c| std::path::absolute(c).unwrap_or(c.clone())),
        retries: flags.retries.unwrap_or(task.defaults.retries),
        retry,
        concurrency: flags.concurrency,
        parse,
        strict: flags.strict,
        tasks_dir: flags.tasks_dir.clone(),
        model: env.model.clone(),
        engine: if env.model.starts_with("remote:") {
            "OpenAI-compatible server".into()
        } else {
            "mistral.rs 0.8.1 (embedded)".into()
        },
        temperature: s.temperature,
        top_p: s.top_p,
        top_k: s.top_k,
        max_tokens: s.max_tokens,
        seed: None,
        system_prompt: env
            .system_prompt
            .clone()
            .or_else(|| Some(runner::RADIO_LLAVA_SYSTEM.to_string())),
        radiochat_version: crate::version().to_string(),
        started,
        shard,
    };
    run_dir::write_info(&dir, &info)?;
    Ok((dir, info, lock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_flags_are_the_command_line_defaults() {
        let flags = RunFlags::default();
        assert_eq!(flags.parse, "strict");
        assert_eq!(flags.concurrency, 1);
        assert_eq!(flags.question.shots, 0);
        assert!(flags.task.is_none() && flags.slurm_array.is_none());
    }
}
