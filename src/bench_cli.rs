//! `radiochat bench …` and the performance benchmarks (`bench-engine`, `bench-ask`,
//! `bench-peer`, `bench-serve`): run them and print their results.

use crate::cli::{self, BenchCommand, BenchRunCli};
use crate::{model_flags, print_json, print_report, runtime, settings};
use radiochat::commands::{self, CommandError, CommandResult};
use radiochat::config::Flags;
use radiochat::engine::LoadSpec;
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
        BenchCommand::Prompt { flags, json } => {
            let system = settings(config, Flags::default())?.system_prompt.value;
            let shown = commands::bench_prompt::show(&flags, system.as_deref())?;
            if json {
                print_json(&shown)?;
            } else {
                commands::bench_prompt::lines(&shown)
                    .iter()
                    .for_each(|line| println!("{line}"));
            }
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

pub fn run_bench_serve(
    config_path: &Option<PathBuf>,
    bench: cli::BenchServeCli,
) -> CommandResult<i32> {
    let settings = settings(config_path, model_flags(&bench.model))?;
    let spec = match settings.load_spec() {
        Some(spec) => spec,
        None => commands::demo::spec(&settings)?,
    };
    let image = match (&bench.image, bench.no_image) {
        (_, true) => None,
        (Some(path), false) => Some(radiochat::imaging::load_model_image(path)?),
        (None, false) => Some(radiochat::imaging::load_model_image(
            &commands::demo::cutout_path()?,
        )?),
    };
    let runtime = runtime()?;
    let report = commands::bench_serve::run(
        commands::bench_serve::BenchServeArgs {
            spec,
            clients: bench.clients,
            requests: bench.requests,
            max_tokens: bench.max_tokens,
            rounds: bench.rounds,
            image,
        },
        &runtime,
    )?;
    print_report(bench.json, &report, commands::bench_serve::table)
}

pub fn run_bench_ask(bench: cli::BenchAskCli) -> CommandResult<i32> {
    use commands::bench_ask;
    let scratch = radiochat::util::private_file::scratch_dir("radiochat-bench-ask-")
        .map_err(|e| CommandError::Failed(e.into()))?;
    let written = scratch.path().join("cutout.fits");
    let image = match bench.image {
        Some(file) => file,
        None => {
            commands::bench_imaging::write_test_image(&written, bench.size)?;
            written.clone()
        }
    };
    let report = bench_ask::run(&bench_ask::BenchAskArgs {
        model: bench.model,
        image,
        runs: bench.runs,
        max_tokens: bench.max_tokens,
    });
    let _ = std::fs::remove_file(&written);
    print_report(bench.json, &report?, bench_ask::table)
}

pub fn run_bench_peer(bench: cli::BenchPeerCli) -> CommandResult<i32> {
    use commands::bench_peer;
    let model = match bench.model {
        Some(dir) => dir,
        None => bench_peer::default_model()?,
    };
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer_transformers.py");
    let report = bench_peer::run(&bench_peer::PeerArgs {
        model,
        runs: bench.runs,
        max_tokens: bench.max_tokens,
        ours: bench.ours,
        peers: bench.peers,
        python: bench.python.unwrap_or_else(bench_peer::default_python),
        script,
        same_image: bench.same_image,
    })?;
    print_report(bench.json, &report, bench_peer::table)
}

pub fn run_bench_engine(config_path: &Option<PathBuf>, bench: cli::BenchCli) -> CommandResult<i32> {
    let settings = settings(config_path, model_flags(&bench.model))?;
    let spec: LoadSpec = settings.load_spec().ok_or_else(|| {
        CommandError::bad("bench-engine needs --model DIR (or `model` in the config)")
    })?;
    let image = bench
        .image
        .as_deref()
        .map(radiochat::imaging::load_model_image)
        .transpose()?;
    let runtime = runtime()?;
    let report = commands::bench_engine::run(
        commands::bench_engine::BenchArgs {
            spec,
            runs: bench.runs,
            load_runs: bench.load_runs,
            max_tokens: bench.max_tokens,
            image,
            same_image: bench.same_image,
            follow_up: bench.follow_up,
        },
        &runtime,
    )?;
    print_report(bench.json, &report, commands::bench_engine::table)
}
