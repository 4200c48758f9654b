//! `radiochat bench …`: runs the benchmark commands and prints their results.

use crate::cli::{BenchCommand, BenchRunCli};
use crate::{model_flags, print_json, runtime, settings};
use radiochat::commands::{self, CommandError, CommandResult};
use radiochat::config::Flags;
use std::path::PathBuf;

pub fn run(config: &Option<PathBuf>, command: BenchCommand) -> CommandResult<i32> {
    match command {
        BenchCommand::Run(run) => return run_bench_run(config, *run),
        BenchCommand::Merge { dir, json } => {
            let merged = commands::bench_merge::merge(&dir)?;
            print_merged(&merged, json)?;
        }
        BenchCommand::Compare { runs, md } => {
            let compared = commands::bench::compare(&runs)?;
            commands::bench::compare_lines(&compared, md)
                .iter()
                .for_each(|l| println!("{l}"));
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
            let mode = parse.parse().map_err(CommandError::bad)?;
            let mut warn = |w: &str| eprintln!("warning: {w}");
            let score =
                commands::bench::score(&predictions, &task, mode, tasks_dir.as_deref(), &mut warn)?;
            if json {
                print_json(&score)?;
            } else {
                commands::bench::score_lines(&score)
                    .iter()
                    .for_each(|l| println!("{l}"));
            }
        }
    }
    Ok(0)
}

fn run_bench_run(config: &Option<PathBuf>, run: BenchRunCli) -> CommandResult<i32> {
    use std::io::IsTerminal;
    let flags = Flags {
        max_tokens: run.max_tokens,
        ..model_flags(&run.model)
    };
    let args = commands::bench_run::BenchRunArgs {
        settings: settings(config, flags)?,
        flags: run.run,
        demo: run.demo,
    };
    if args.flags.slurm_array.is_some() {
        return submit_array(&args, run.json);
    }
    let tty = std::io::stderr().is_terminal();
    let mut last_shown = 0usize;
    let mut on_progress = |p: &commands::bench_run::Progress| {
        let line = format!(
            "{}/{} items ({} resumed) · {:.1} items/s · ETA {:.0} s · accuracy {:.3} · {} invalid · {} errors",
            p.done,
            p.total,
            p.resumed,
            p.items_per_s,
            p.eta_s,
            p.accuracy(),
            p.invalid,
            p.errors
        );
        if tty {
            eprint!("\r{line}\x1b[K");
        } else if p.done == p.total || p.done >= last_shown + p.total.div_ceil(10).max(1) {
            last_shown = p.done;
            eprintln!("{line}");
        }
    };
    let runtime = runtime()?;
    let outcome = commands::bench_run::run(args, &runtime, &mut on_progress)?;
    if tty {
        eprintln!();
    }
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
        commands::bench::score_lines(&outcome.score)
            .iter()
            .for_each(|l| println!("{l}"));
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
        bench_array::submitted_lines(&submitted)
            .iter()
            .for_each(|l| println!("{l}"));
    }
    Ok(0)
}

fn print_merged(merged: &commands::bench_merge::Merged, json: bool) -> CommandResult<()> {
    if json {
        return print_json(&merged.score);
    }
    commands::bench::score_lines(&merged.score)
        .iter()
        .for_each(|l| println!("{l}"));
    println!(
        "run directory: {} ({} shards merged)",
        merged.dir.display(),
        merged.shards
    );
    Ok(())
}
