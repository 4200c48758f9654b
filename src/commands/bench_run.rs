//! `radiochat bench run`: a benchmark run in a run directory, new or resumed.

use super::{CommandError, CommandResult};
use crate::bench::dataset::{self, Dataset};
use crate::bench::run_dir::{self, PREDICTIONS_FILE, RunInfo};
pub use crate::bench::runner::Progress;
use crate::bench::runner::{self, RunSpec};
use crate::bench::{self, ParseMode, Score};
use crate::config::{Origin, Settings};
use crate::engine::LoadSpec;
use std::path::PathBuf;
use std::sync::Arc;

pub struct BenchRunArgs {
    pub settings: Settings,
    pub task: Option<String>,
    pub data: Option<PathBuf>,
    pub limit: Option<usize>,
    pub prompt: Option<String>,
    pub shots: usize,
    pub context: Option<PathBuf>,
    pub concurrency: usize,
    pub retries: Option<usize>,
    pub add_options: bool,
    pub parse: ParseMode,
    pub strict: bool,
    pub tasks_dir: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub demo: bool,
}

pub struct RunOutcome {
    pub dir: PathBuf,
    pub score: Score,
    pub progress: Progress,
    /// Items the dataset had that do not fit the task (one line), if any.
    pub skipped: Option<String>,
}

pub fn run(
    args: BenchRunArgs,
    runtime: &tokio::runtime::Runtime,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> CommandResult<RunOutcome> {
    if args.concurrency == 0 {
        return Err(CommandError::bad("--concurrency must be at least 1"));
    }
    let (dir, info) = match &args.resume {
        Some(dir) => (
            dir.clone(),
            run_dir::read_info(dir).map_err(CommandError::bad)?,
        ),
        None => new_run(&args)?,
    };
    let tasks = bench::load_tasks(info.tasks_dir.as_deref()).map_err(CommandError::bad)?;
    let task = bench::find_task(&tasks, &info.task).map_err(CommandError::bad)?;
    let mut data = dataset::load(&info.dataset, &task, info.strict).map_err(CommandError::bad)?;
    if args.resume.is_some() && data.sha256 != info.dataset_sha256 {
        return Err(CommandError::bad(format!(
            "{}: the dataset changed since the run started (sha256 differs)",
            info.dataset.display()
        )));
    }
    if let Some(limit) = info.limit {
        data.items.truncate(limit);
    }
    let shots = match (&info.context, info.shots) {
        (_, 0) => Vec::new(),
        (None, _) => {
            return Err(CommandError::bad(
                "--shots needs --context FILE (the example images)",
            ));
        }
        (Some(context), k) => {
            let examples: Dataset =
                dataset::load(context, &task, false).map_err(CommandError::bad)?;
            examples.items.into_iter().take(k).collect()
        }
    };
    let skipped = data.skipped_summary();
    let engine: Arc<dyn crate::engine::Engine> =
        Arc::from(runtime.block_on(crate::engine::load(&load_spec(&args, &info)?))?);
    let spec = RunSpec {
        task: task.clone(),
        dataset: data,
        shots,
        prompt_version: info.prompt.clone(),
        add_options: info.add_options,
        retries: info.retries,
        concurrency: info.concurrency,
        parse: info.parse,
        sampling: args.settings.sampling(),
        transform: args.settings.transform(),
        system_prompt: info.system_prompt.clone(),
    };
    let predictions_path = dir.join(PREDICTIONS_FILE);
    let progress = runtime
        .block_on(runner::run(&spec, engine, &predictions_path, on_progress))
        .map_err(|e| CommandError::Failed(anyhow::anyhow!(e)))?;
    let (mut records, _) =
        bench::predictions::read(&predictions_path).map_err(CommandError::bad)?;
    let order: std::collections::HashMap<&str, usize> = spec
        .dataset
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.sname.as_str(), i))
        .collect();
    records.retain(|r| order.contains_key(r.sname.as_str()));
    records.sort_by_key(|r| order[r.sname.as_str()]);
    let score = bench::score(&task, &records, info.parse);
    run_dir::write_results(&dir, &info, &score)
        .map_err(|e| CommandError::Failed(anyhow::anyhow!(e)))?;
    Ok(RunOutcome {
        dir,
        score,
        progress,
        skipped,
    })
}

/// `--model`/`--demo` if given; when resuming without them, the model the run started with.
fn load_spec(args: &BenchRunArgs, info: &RunInfo) -> CommandResult<LoadSpec> {
    let flagged = args.settings.model.origin == Origin::Flag;
    let resumed_demo = args.resume.is_some() && !flagged && info.model == "demo";
    if (args.demo && !flagged) || resumed_demo {
        return super::ask::demo_spec(&args.settings);
    }
    if args.resume.is_some() && !flagged && !info.model.is_empty() {
        let mut settings = args.settings.clone();
        settings.model.value = Some(info.model.clone());
        if let Some(spec) = settings.load_spec() {
            return Ok(spec);
        }
    }
    args.settings.load_spec().ok_or_else(|| {
        CommandError::bad("no model: pass --model DIR, set `model` in the config, or --demo")
    })
}

fn new_run(args: &BenchRunArgs) -> CommandResult<(PathBuf, RunInfo)> {
    let task_id = args
        .task
        .as_deref()
        .ok_or_else(|| CommandError::bad("which task? e.g. bench run B3"))?;
    let data = args
        .data
        .clone()
        .ok_or_else(|| CommandError::bad("--data FILE (a radio-llava dataset JSON) is needed"))?;
    let tasks = bench::load_tasks(args.tasks_dir.as_deref()).map_err(CommandError::bad)?;
    let task = bench::find_task(&tasks, task_id).map_err(CommandError::bad)?;
    let dataset = dataset::load(&data, &task, args.strict).map_err(CommandError::bad)?;
    let prompt = args
        .prompt
        .clone()
        .unwrap_or_else(|| task.defaults.prompt.clone());
    task.prompt(&prompt, None).map_err(CommandError::bad)?;
    let started = crate::chat::clock::now();
    let dir = args.out.clone().unwrap_or_else(|| {
        crate::config::data_dir().join("runs").join(format!(
            "{}-{}",
            task.id,
            crate::chat::clock::id_stem()
        ))
    });
    run_dir::check_new(&dir).map_err(CommandError::bad)?;
    let s = &args.settings;
    let model = if args.demo && s.model.origin != Origin::Flag {
        "demo".to_string()
    } else {
        s.model.value.clone().unwrap_or_default()
    };
    let info = RunInfo {
        task: task.id.clone(),
        task_key: task.key.clone(),
        dataset: std::path::absolute(&data).unwrap_or(data),
        dataset_sha256: dataset.sha256,
        limit: args.limit,
        items: args
            .limit
            .map_or(dataset.items.len(), |l| l.min(dataset.items.len())),
        prompt,
        add_options: args.add_options || task.defaults.add_options,
        shots: args.shots,
        context: args
            .context
            .as_ref()
            .map(|c| std::path::absolute(c).unwrap_or(c.clone())),
        retries: args.retries.unwrap_or(task.defaults.retries),
        concurrency: args.concurrency,
        parse: args.parse,
        strict: args.strict,
        tasks_dir: args.tasks_dir.clone(),
        model,
        engine: "mistral.rs 0.8.1 (embedded)".into(),
        temperature: s.temperature.value,
        top_p: s.top_p.value,
        top_k: s.top_k.value,
        max_tokens: s.max_tokens.value,
        seed: None,
        system_prompt: s
            .system_prompt
            .value
            .clone()
            .or_else(|| Some(runner::RADIO_LLAVA_SYSTEM.to_string())),
        radiochat_version: crate::version().to_string(),
        started,
    };
    run_dir::write_info(&dir, &info).map_err(CommandError::bad)?;
    Ok((dir, info))
}
