//! `radiochat bench …`: the radio benchmarks B1–B7, L1 and G1.

use super::{Context, print_json, print_lines, runtime};
use clap::{Args, Subcommand};
use radiochat::bench::parse::ParseMode;
use radiochat::commands::flags::ModelFlags;
use radiochat::commands::{self, CommandResult};
use radiochat::config::Flags;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Run a benchmark task over a dataset (new, or --resume DIR).
    Run(Box<BenchRunCli>),
    /// Combine the finished shards of a sharded run (RUNDIR/shard-I-of-K) into RUNDIR.
    Merge {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Side-by-side main metrics of finished runs, with changes against the first.
    Compare {
        #[arg(required = true, num_args = 1..)]
        runs: Vec<PathBuf>,
        /// A Markdown table.
        #[arg(long)]
        md: bool,
    },
    /// What an item of a run sends: system prompt, turns, images.
    Prompt {
        #[command(flatten)]
        flags: commands::bench_prompt::PromptFlags,
        /// {"task", "prompt", "system", "text", "messages"}.
        #[arg(long)]
        json: bool,
    },
    /// Convert a public general multiple-choice set into a dataset for G1.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// The benchmark tasks (built in, plus --tasks-dir).
    Tasks {
        #[arg(long, value_name = "DIR")]
        tasks_dir: Option<PathBuf>,
    },
    /// Recompute metrics from a predictions.jsonl file alone.
    Score {
        predictions: PathBuf,
        /// Task id (B1…B7, L1) or key.
        #[arg(long)]
        task: String,
        /// How answers are read: strict is radio-llava's rule.
        #[arg(long, value_enum, default_value = "strict")]
        parse: ParseMode,
        #[arg(long, value_name = "DIR")]
        tasks_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ImportSource {
    /// MMBench's TSV (images base64 in it; decoded into OUT/images/).
    Mmbench {
        tsv: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// ScienceQA's problems.json; only questions with an image.
    Scienceqa {
        problems: PathBuf,
        /// Its images folder (SPLIT/PID/image.png); default: images/ beside problems.json.
        #[arg(long)]
        images: Option<PathBuf>,
        /// Only this split (train, val, test, minival…).
        #[arg(long)]
        split: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct BenchRunCli {
    #[command(flatten)]
    pub run: commands::bench_run::RunFlags,
    /// Use the built-in demo model.
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub model: ModelFlags,
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Print the final score as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(context: &Context, command: BenchCommand) -> CommandResult<i32> {
    match command {
        BenchCommand::Run(run) => return run_bench_run(context, *run),
        BenchCommand::Merge { dir, json } => {
            let merged = commands::bench_merge::merge(&dir)?;
            print_merged(&merged, json)?;
        }
        BenchCommand::Compare { runs, md } => {
            let compared = commands::bench::compare(&runs)?;
            print_lines(&commands::bench::compare_lines(&compared, md));
        }
        BenchCommand::Prompt { flags, json } => {
            let system = context.settings(Flags::default())?.system_prompt.value;
            let shown = commands::bench_prompt::show(&flags, system.as_deref())?;
            if json {
                print_json(&shown)?;
            } else {
                print_lines(&commands::bench_prompt::lines(&shown));
            }
        }
        BenchCommand::Import { source } => {
            let imported = match source {
                ImportSource::Mmbench { tsv, out } => commands::bench::import_mmbench(&tsv, &out)?,
                ImportSource::Scienceqa {
                    problems,
                    images,
                    split,
                    out,
                } => commands::bench::import_scienceqa(
                    &problems,
                    images.as_deref(),
                    split.as_deref(),
                    &out,
                )?,
            };
            for (at, why) in imported.skipped.iter().take(5) {
                eprintln!("skipped {at}: {why}");
            }
            println!(
                "wrote {} ({} items, {} skipped): radiochat bench run G1 --data {}",
                imported.dataset.display(),
                imported.items,
                imported.skipped.len(),
                imported.dataset.display()
            );
        }
        BenchCommand::Tasks { tasks_dir } => {
            for task in commands::bench::tasks(tasks_dir.as_deref())? {
                let kind = if task.multi_label {
                    "multi-label"
                } else {
                    "single-label"
                };
                println!(
                    "{:<4} {:<26} {:<13} {}  [{}]",
                    task.id,
                    task.key,
                    kind,
                    task.title,
                    task.classes.join(", ")
                );
            }
        }
        BenchCommand::Score {
            predictions,
            task,
            parse,
            tasks_dir,
            json,
        } => {
            let mut warn = |w: &str| eprintln!("warning: {w}");
            let score = commands::bench::score(
                &predictions,
                &task,
                parse,
                tasks_dir.as_deref(),
                &mut warn,
            )?;
            if json {
                print_json(&score)?;
            } else {
                print_lines(&commands::bench::score_lines(&score));
            }
        }
    }
    Ok(0)
}

fn run_bench_run(context: &Context, run: BenchRunCli) -> CommandResult<i32> {
    use std::io::IsTerminal;
    let args = commands::bench_run::BenchRunArgs {
        settings: context.model_settings(&run.model, run.max_tokens)?,
        flags: run.run,
        demo: run.demo,
    };
    if args.flags.slurm_array.is_some() {
        return submit_array(&args, run.json);
    }
    let mut progress = RunProgress::new(std::io::stderr().is_terminal());
    let runtime = runtime()?;
    let outcome = commands::bench_run::run(args, &runtime, &mut |p| progress.show(p));
    progress.finish();
    let outcome = outcome?;
    if let Some(skipped) = &outcome.skipped {
        eprintln!("note: {skipped}");
    }
    if let Some(merged) = &outcome.merged {
        eprintln!(
            "all {} shards finished: merged into {}",
            merged.shards,
            merged.dir.display()
        );
    }
    if run.json {
        print_json(&outcome.score)?;
    } else {
        print_lines(&commands::bench::score_lines(&outcome.score));
        println!("run directory: {}", outcome.dir.display());
    }
    Ok(0)
}

fn submit_array(args: &commands::bench_run::BenchRunArgs, json: bool) -> CommandResult<i32> {
    use commands::bench_array::{self, ArrayTaskCommand};
    let env = commands::bench_run::RunEnv::from_settings(&args.settings, args.demo);
    let spec = args.settings.load_spec();
    let command = ArrayTaskCommand::for_this_process(&args.settings.config_path, spec.as_ref())?;
    let submitted = bench_array::submit(&args.flags, &env, &command)?;
    if json {
        print_json(&submitted)?;
    } else {
        print_lines(&bench_array::submitted_lines(&submitted));
    }
    Ok(0)
}

fn print_merged(merged: &commands::bench_merge::Merged, json: bool) -> CommandResult<()> {
    if json {
        return print_json(&merged.score);
    }
    print_lines(&commands::bench::score_lines(&merged.score));
    println!(
        "run directory: {} ({} shards merged)",
        merged.dir.display(),
        merged.shards
    );
    Ok(())
}

/// `bench run`'s progress on stderr: a live bar on a terminal, a plain line every tenth of the
/// items otherwise (logs, SLURM output files).
enum RunProgress {
    Bar(indicatif::ProgressBar),
    Lines { last_shown: usize },
}

impl RunProgress {
    fn new(terminal: bool) -> Self {
        if !terminal {
            return RunProgress::Lines { last_shown: 0 };
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} items {msg}")
                .expect("a valid progress template"),
        );
        RunProgress::Bar(bar)
    }

    fn show(&mut self, p: &commands::bench_run::Progress) {
        let facts = format!(
            "({} resumed) · {:.1} items/s · ETA {:.0} s · accuracy {:.3} · {} invalid · {} errors",
            p.resumed,
            p.items_per_s,
            p.eta_s,
            p.accuracy(),
            p.invalid,
            p.errors
        );
        match self {
            RunProgress::Bar(bar) => {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(facts);
            }
            RunProgress::Lines { last_shown } => {
                let step = p.total.div_ceil(10).max(1);
                if p.done == p.total || p.done >= *last_shown + step {
                    *last_shown = p.done;
                    eprintln!("{}/{} items {facts}", p.done, p.total);
                }
            }
        }
    }

    fn finish(&self) {
        if let RunProgress::Bar(bar) = self {
            bar.finish();
        }
    }
}
