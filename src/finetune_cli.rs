//! `radiochat finetune …`: runs the fine-tune commands and prints their results.

use crate::cli::{FinetuneCommand, FinetuneRunCli};
use crate::{image_flags, print_json, settings};
use radiochat::commands::{self, CommandError, CommandResult};
use radiochat::config::Flags;
use std::path::PathBuf;

pub fn run(config: &Option<PathBuf>, command: FinetuneCommand) -> CommandResult<i32> {
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
                settings: settings(config, flags)?,
                run,
                benches: bench,
                data,
                limit,
                concurrency,
            };
            let runtime = crate::runtime()?;
            let mut on_progress = |label: &str, p: &commands::bench_run::Progress| {
                if p.done == p.total {
                    eprintln!("{label}: {}/{} items", p.done, p.total);
                }
            };
            let pairs = commands::finetune_eval::eval(&args, &runtime, &mut on_progress)?;
            if json {
                print_json(&pairs)?;
            } else {
                commands::finetune_eval::eval_lines(&pairs, md)
                    .iter()
                    .for_each(|l| println!("{l}"));
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
            radiochat::finetune::job::read_record(&run).map_err(CommandError::bad)?;
            radiochat::finetune::job::log_tail(&run, lines)
                .iter()
                .for_each(|l| println!("{l}"));
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
                single_turn: data.single_turn,
                val: data.val,
                seed: data.seed,
                exclude: data.exclude,
                transform: settings(config, image_flags(&data.image))?.transform(),
            };
            let summary = commands::finetune::data(&spec)?;
            if data.json {
                print_json(&summary)?;
            } else {
                commands::finetune::data_lines(&spec, &summary)
                    .iter()
                    .for_each(|l| println!("{l}"));
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
