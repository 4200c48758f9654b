//! `radiochat finetune …`: training sets, LoRA jobs (local or SLURM), their status, evaluation
//! and merging.

use super::{Context, print_json, print_lines, runtime};
use clap::{Args, Subcommand};
use radiochat::commands::flags::ImageFlags;
use radiochat::commands::{self, CommandResult};
use radiochat::config::Flags;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum FinetuneCommand {
    /// LLaVA conversation JSON (train.json, val.json, images/) from labelled radio-llava datasets.
    Data(Box<FinetuneDataCli>),
    /// Launch a LoRA (or full) fine-tune, locally (detached) or on SLURM.
    Run(Box<FinetuneRunCli>),
    /// State, progress, loss and ETA of a run (all runs without RUN).
    Status {
        run: Option<PathBuf>,
        /// Log lines shown for a failed job.
        #[arg(long, default_value_t = 10)]
        lines: usize,
        #[arg(long)]
        json: bool,
    },
    /// The end of a run's log.
    Logs {
        run: PathBuf,
        #[arg(long, short = 'n', default_value_t = 40)]
        lines: usize,
    },
    /// Stop a running job (its process group, or scancel).
    Cancel { run: PathBuf },
    /// Benchmark the run's base and fine-tuned model (merged if needed) side by side.
    Eval {
        run: PathBuf,
        /// Benchmark tasks, comma-separated (B1…B7, L1, G1), each `TASK` or `TASK=DATASET`
        /// (e.g. `B3,L1,G1=shapes/dataset.json`): radio tasks show the gains, general ones
        /// (G1) what fine-tuning forgot.
        #[arg(long, value_delimiter = ',', required = true)]
        bench: Vec<String>,
        /// radio-llava dataset JSON (held out from training), for tasks without their own.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long)]
        max_tokens: Option<usize>,
        /// Markdown tables.
        #[arg(long)]
        md: bool,
        #[arg(long)]
        json: bool,
    },
    /// Merge a LoRA adapter into its base model's weights (a directory the engine loads).
    Merge {
        /// A fine-tune run directory (its adapter/), or a PEFT adapter directory.
        run: PathBuf,
        /// The base model directory (default: the one the adapter names).
        #[arg(long)]
        base: Option<PathBuf>,
        /// Where the merged model goes (default: RUN/merged, or ADAPTER-merged).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct FinetuneRunCli {
    #[command(flatten)]
    pub flags: radiochat::commands::finetune::LaunchFlags,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct FinetuneDataCli {
    /// Labelled radio-llava dataset JSON (repeat for several; not needed with --captions).
    #[arg(
        long,
        required_unless_present = "captions",
        value_name = "DATASET.json"
    )]
    pub from: Vec<PathBuf>,
    /// Output directory (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Questions to ask: benchmark ids (B1,B3,…), question ids (border, anomaly-text, …),
    /// boxes (where the sources of each class are, for annotated images; or boxes-compact, …)
    /// or all.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub tasks: Vec<String>,
    /// Add the rule-based description turn.
    #[arg(long)]
    pub describe: bool,
    /// Figure–caption pairs to add as "describe the image" conversations (radioimg-arxiv's
    /// JSON or [{"image", "caption"}]; repeat for several).
    #[arg(long)]
    pub captions: Vec<PathBuf>,
    /// The share of caption conversations among all, e.g. 0.3 (a seeded choice of captions;
    /// default: every caption).
    #[arg(long)]
    pub caption_ratio: Option<f64>,
    /// The share of annotated images asked the box questions, e.g. 0.2 (a seeded choice;
    /// default: every annotated image).
    #[arg(long)]
    pub box_ratio: Option<f64>,
    /// Turn order: radiochat (questions, boxes, the description last) or radio-llava (the
    /// description first).
    #[arg(long, value_enum, default_value_t)]
    pub order: radiochat::finetune::data::TurnOrder,
    /// One conversation per question (each with the image) instead of one per image.
    #[arg(long)]
    pub single_turn: bool,
    /// Fraction of images for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Benchmark dataset whose images are left out (repeat for several).
    #[arg(long, value_name = "DATASET.json")]
    pub exclude: Vec<PathBuf>,
    /// Add question–answer pairs a model writes about each image from its labels or caption
    /// (radio-llava's method): a model directory, hf:OWNER/NAME, or demo.
    #[arg(long, value_name = "MODEL", conflicts_with = "remote")]
    pub generate_with: Option<String>,
    /// … or an OpenAI-compatible server writes them, e.g. http://gpu07:8000/v1.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// The server's model (default: the first it lists).
    #[arg(long, value_name = "NAME", requires = "remote")]
    pub remote_model: Option<String>,
    /// The environment variable holding the server's API key.
    #[arg(long, value_name = "VAR", requires = "remote")]
    pub api_key_env: Option<String>,
    /// Pairs asked for per image (at least).
    #[arg(long, default_value_t = 5)]
    pub generate_k: usize,
    /// Where answers are kept so a rerun asks nothing twice [default: generated-qa.jsonl in
    /// radiochat's data directory].
    #[arg(long, value_name = "FILE")]
    pub generate_cache: Option<PathBuf>,
    /// A prompt file in place of radio-llava's (the fields of prompts/finetune/generate.toml),
    /// e.g. a shorter one for a model with a small context.
    #[arg(long, value_name = "FILE")]
    pub generate_prompt: Option<PathBuf>,
    /// Most tokens of a generated answer [default: 1024, radio-llava's].
    #[arg(long)]
    pub max_tokens: Option<usize>,
    #[command(flatten)]
    pub image: ImageFlags,
    #[arg(long)]
    pub json: bool,
}

pub fn run(context: &Context, command: FinetuneCommand) -> CommandResult<i32> {
    match command {
        FinetuneCommand::Eval {
            run,
            bench,
            data,
            limit,
            concurrency,
            max_tokens,
            md,
            json,
        } => {
            let flags = Flags {
                max_tokens,
                ..Flags::default()
            };
            let args = commands::finetune_eval::EvalArgs {
                settings: context.settings(flags)?,
                run,
                benches: bench,
                data,
                limit,
                concurrency,
            };
            let runtime = runtime()?;
            let mut on_progress = |label: &str, p: &commands::bench_run::Progress| {
                if p.done == p.total {
                    eprintln!("{label}: {}/{} items", p.done, p.total);
                }
            };
            let pairs = commands::finetune_eval::eval(&args, &runtime, &mut on_progress)?;
            if json {
                print_json(&pairs)?;
            } else {
                print_lines(&commands::finetune_eval::eval_lines(&pairs, md));
            }
            Ok(0)
        }
        FinetuneCommand::Run(run) => run_finetune(*run),
        FinetuneCommand::Status { run, lines, json } => {
            let runs = match run {
                Some(run) => vec![run],
                None => commands::finetune::runs(),
            };
            let statuses = runs
                .iter()
                .map(|r| commands::finetune::status(r, lines))
                .collect::<Result<Vec<_>, _>>()?;
            if json {
                print_json(&statuses)?;
            } else if statuses.is_empty() {
                println!("no fine-tune runs yet (radiochat finetune run starts one)");
            } else {
                statuses
                    .iter()
                    .flat_map(commands::finetune::status_lines)
                    .for_each(|l| println!("{l}"));
            }
            Ok(0)
        }
        FinetuneCommand::Logs { run, lines } => {
            radiochat::finetune::job::read_record(&run)?;
            print_lines(&radiochat::finetune::job::log_tail(&run, lines));
            Ok(0)
        }
        FinetuneCommand::Cancel { run } => {
            commands::finetune::cancel(&run)?;
            println!("{}: cancelled", run.display());
            Ok(0)
        }
        FinetuneCommand::Merge {
            run,
            base,
            out,
            json,
        } => {
            let merged = commands::finetune::merge(&run, base.as_deref(), out.as_deref())?;
            if json {
                print_json(&merged)?;
            } else {
                println!(
                    "{}: {} tensors merged, {} replaced",
                    merged.out.display(),
                    merged.merged,
                    merged.replaced
                );
            }
            Ok(0)
        }
        FinetuneCommand::Data(data) => {
            let spec = radiochat::finetune::data::DataSpec {
                sources: data.from,
                out: data.out,
                tasks: data.tasks,
                describe: data.describe,
                order: data.order,
                single_turn: data.single_turn,
                val: data.val,
                seed: data.seed,
                exclude: data.exclude,
                captions: data.captions,
                caption_ratio: data.caption_ratio,
                box_ratio: data.box_ratio,
                transform: context
                    .settings(data.image.over(Flags::default()))?
                    .transform(),
            };
            let generate = (data.generate_with.is_some() || data.remote.is_some())
                .then(|| -> CommandResult<_> {
                    let demo = data.generate_with.as_deref() == Some("demo");
                    let flags = Flags {
                        model: data.generate_with.clone().filter(|_| !demo),
                        remote: data.remote.clone(),
                        remote_model: data.remote_model.clone(),
                        api_key_env: data.api_key_env.clone(),
                        max_tokens: Some(data.max_tokens.unwrap_or(1024)),
                        ..Flags::default()
                    };
                    Ok(commands::finetune_generate::GenerateArgs {
                        settings: context.settings(flags)?,
                        demo,
                        k: data.generate_k,
                        cache: data.generate_cache.clone(),
                        prompt: data.generate_prompt.clone(),
                    })
                })
                .transpose()?;
            let mut on_progress = |g: &radiochat::finetune::generate::Generated| {
                if g.images.is_multiple_of(10) {
                    eprintln!(
                        "writing Q&A: {} images ({} cached), {} pairs kept, {} answers not JSON, {} pairs contradicting the labels",
                        g.images, g.cached, g.pairs, g.invalid_json, g.contradictions
                    );
                }
            };
            let summary = commands::finetune_generate::data_with_pairs(
                &spec,
                generate,
                &runtime()?,
                &mut on_progress,
            )?;
            if data.json {
                print_json(&summary)?;
            } else {
                print_lines(&commands::finetune::data_lines(&spec, &summary));
            }
            Ok(0)
        }
    }
}

fn run_finetune(run: FinetuneRunCli) -> CommandResult<i32> {
    let args = run.flags.into_args()?;
    let launched = commands::finetune::run(args)?;
    if run.json {
        print_json(&launched)?;
    } else {
        let how = match (&launched.job.slurm_job, launched.job.pid) {
            (Some(id), _) => format!("SLURM job {id}"),
            (None, Some(pid)) => format!("pid {pid}"),
            _ => "started".into(),
        };
        println!("{}: launched ({how})", launched.run.display());
        println!(
            "watch it: radiochat finetune status {}",
            launched.run.display()
        );
    }
    Ok(0)
}
