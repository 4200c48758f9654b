//! `radiochat-perf`: radiochat's performance harnesses, kept out of the product's command line.
//! Each prints a table (or `--json`) with the ratio against the named peer measured in the same
//! run; none asserts anything — tests do that.

mod ask;
mod cli;
mod engine;
mod finetune;
mod harness;
mod imaging;
mod memory;
mod peer;
mod roofline;
mod serve;
mod tui;
mod tui_bench;
mod tui_browser;
mod tui_jobs;
mod tui_long;

use clap::Parser;
use cli::{Cli, Command};
use radiochat::commands::flags::{json_text, resolve_settings};
use radiochat::commands::{CommandError, CommandResult};
use radiochat::config::{Flags, Settings};
use std::path::{Path, PathBuf};

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("radiochat-perf: {error}");
            error.exit_code()
        }
    };
    std::process::exit(code);
}

/// The `radiochat` binary beside this one: the harnesses time it as users run it.
pub fn radiochat_exe() -> CommandResult<PathBuf> {
    let me = std::env::current_exe().map_err(|e| CommandError::Failed(e.into()))?;
    let exe = me.with_file_name("radiochat");
    if !exe.is_file() {
        return Err(CommandError::Failed(anyhow::anyhow!(
            "{}: not found beside radiochat-perf (cargo build --bins builds both)",
            exe.display()
        )));
    }
    Ok(exe)
}

fn settings(config: Option<&Path>, flags: Flags) -> CommandResult<Settings> {
    let (settings, warnings) = resolve_settings(config, &flags)?;
    warnings
        .iter()
        .for_each(|w| eprintln!("radiochat-perf: {w}"));
    Ok(settings)
}

fn runtime() -> CommandResult<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().map_err(|e| CommandError::Failed(e.into()))
}

/// `--json`: the report as JSON; else its table.
fn print<T: serde::Serialize>(
    json: bool,
    report: &T,
    table: impl Fn(&T) -> String,
) -> CommandResult<()> {
    if json {
        println!("{}", json_text(report)?);
    } else {
        print!("{}", table(report));
    }
    Ok(())
}

fn lines(lines: Vec<String>) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

fn run(cli: Cli) -> CommandResult<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Engine(args) => run_engine(config, args),
        Command::Imaging(args) => run_imaging(args),
        Command::Serve(args) => run_serve(config, args),
        Command::Peer(args) => run_peer(args),
        Command::Ask(args) => run_ask(args),
        Command::Tui(args) => {
            let report = tui::run(&tui::BenchTuiArgs {
                starts: args.starts,
                keys: args.keys,
                idle_seconds: args.idle_seconds,
                long_turns: args.long_turns,
                bench_items: args.bench_items,
                jobs_runs: args.jobs_runs,
                browser_sessions: args.browser_sessions,
            })?;
            print(args.json, &report, |r| lines(r.lines()))
        }
        Command::Harness {
            items,
            concurrency,
            model,
            json,
        } => {
            if concurrency.contains(&0) || items == 0 {
                return Err(CommandError::bad(
                    "--items and --concurrency must be at least 1",
                ));
            }
            let demo = model.is_none();
            let flags = Flags {
                max_tokens: Some(8),
                model,
                ..Flags::default()
            };
            let rows = harness::run(settings(config, flags)?, items, &concurrency, demo)?;
            print(json, &rows, |rows| lines(harness::lines(rows)))
        }
        Command::Finetune {
            images,
            steps,
            python,
            json,
        } => {
            if images == 0 || steps == 0 {
                return Err(CommandError::bad("--images and --steps must be at least 1"));
            }
            let timing = finetune::run(images, steps, python)?;
            print(json, &timing, |t| lines(finetune::lines(t)))
        }
    }
}

fn run_engine(config: Option<&Path>, args: cli::EngineCli) -> CommandResult<()> {
    let settings = settings(config, args.model.to_flags())?;
    let spec = settings.load_spec().ok_or_else(|| {
        CommandError::bad("radiochat-perf engine needs --model DIR (or `model` in the config)")
    })?;
    let image = args
        .image
        .as_deref()
        .map(radiochat::imaging::load_model_image)
        .transpose()?;
    let report = engine::run(
        engine::BenchArgs {
            spec,
            runs: args.runs,
            load_runs: args.load_runs,
            max_tokens: args.max_tokens,
            image,
            same_image: args.same_image,
            follow_up: args.follow_up,
        },
        &runtime()?,
    )?;
    print(args.json, &report, engine::table)
}

fn run_imaging(args: cli::ImagingCli) -> CommandResult<()> {
    let file = match &args.file {
        Some(file) => file.clone(),
        None => {
            imaging::write_test_image(&args.write, args.size)?;
            args.write.clone()
        }
    };
    let report = imaging::run(&file, args.runs)?;
    print(args.json, &report, imaging::table)
}

fn run_serve(config: Option<&Path>, args: cli::ServeCli) -> CommandResult<()> {
    use radiochat::commands::demo;
    let settings = settings(config, args.model.to_flags())?;
    let spec = match settings.load_spec() {
        Some(spec) => spec,
        None => demo::spec(&settings)?,
    };
    let image = match (&args.image, args.no_image) {
        (_, true) => None,
        (Some(path), false) => Some(radiochat::imaging::load_model_image(path)?),
        (None, false) => Some(radiochat::imaging::load_model_image(&demo::cutout_path()?)?),
    };
    let report = serve::run(
        serve::BenchServeArgs {
            spec,
            clients: args.clients,
            requests: args.requests,
            max_tokens: args.max_tokens,
            rounds: args.rounds,
            image,
        },
        &runtime()?,
    )?;
    print(args.json, &report, serve::table)
}

fn run_ask(args: cli::AskCli) -> CommandResult<()> {
    let scratch = radiochat::util::private_file::scratch_dir("radiochat-perf-ask-")
        .map_err(|e| CommandError::Failed(e.into()))?;
    let written = scratch.path().join("cutout.fits");
    let image = match args.image {
        Some(file) => file,
        None => {
            imaging::write_test_image(&written, args.size)?;
            written
        }
    };
    let report = ask::run(&ask::BenchAskArgs {
        model: args.model,
        image,
        runs: args.runs,
        max_tokens: args.max_tokens,
    })?;
    print(args.json, &report, ask::table)
}

fn run_peer(args: cli::PeerCli) -> CommandResult<()> {
    let model = match args.model {
        Some(dir) => dir,
        None => peer::default_model()?,
    };
    let report = peer::run(&peer::PeerArgs {
        model,
        runs: args.runs,
        max_tokens: args.max_tokens,
        ours: args.ours,
        peers: args.peers,
        python: args.python.unwrap_or_else(peer::default_python),
        same_image: args.same_image,
    })?;
    print(args.json, &report, peer::table)
}
