//! The `radiochat` binary: argument parsing and printing over `radiochat::commands`.

use clap::Parser;
use radiochat::commands::{self, CommandError, CommandResult};
use radiochat::config::{self, Flags, Settings};
use radiochat::engine::tiny::Scale;
use std::io::Write;
use std::path::PathBuf;

mod bench_cli;
mod chat_cli;
mod cli;
mod cli_finetune;
mod finetune_cli;
mod sigpipe;
use cli::*;

fn main() {
    radiochat::tui::timings::mark_process_start();
    let cli = Cli::parse();
    sigpipe::set_for(&cli.command);
    let code = match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("radiochat: {error}");
            error.exit_code()
        }
    };
    std::process::exit(code);
}

/// Pretty JSON on stdout (the `--json` form of every command).
fn print_json<T: serde::Serialize>(value: &T) -> CommandResult<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CommandError::Failed(e.into()))?;
    println!("{text}");
    Ok(())
}

/// A benchmark's report: JSON, or its table.
fn print_report<T: serde::Serialize>(
    json: bool,
    report: &T,
    table: fn(&T) -> String,
) -> CommandResult<i32> {
    if json {
        print_json(report)?;
    } else {
        print!("{}", table(report));
    }
    Ok(0)
}

fn runtime() -> CommandResult<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().map_err(|e| CommandError::Failed(e.into()))
}

fn settings(cli_config: &Option<PathBuf>, flags: Flags) -> CommandResult<Settings> {
    let path = cli_config
        .clone()
        .unwrap_or_else(config::default_config_path);
    let settings = Settings::resolve(&path, &flags).map_err(CommandError::BadInput)?;
    if let Some(url) = &settings.remote.value {
        let sends_key = settings.api_key_env.value.is_some();
        if let Some(warning) = radiochat::util::url::plain_http_warning(url, sends_key) {
            eprintln!("radiochat: {warning}");
        }
    }
    Ok(settings)
}

fn run_serve(config: &Option<PathBuf>, serve: cli::ServeCli) -> CommandResult<i32> {
    let flags = Flags {
        max_tokens: serve.max_tokens,
        ..model_flags(&serve.model)
    };
    let args = commands::serve::ServeArgs {
        settings: settings(config, flags)?,
        flags: serve.serve,
        demo: serve.demo,
    };
    let runtime = runtime()?;
    let mut on_ready = |ready: &commands::serve::Ready| {
        if let Some((key, file)) = ready.generated_key {
            eprintln!(
                "API key for this run: {key} (also in {}, mode 0600; clients send Authorization: Bearer KEY — radiochat clients: export RC_KEY=$(cat {}) and --api-key-env RC_KEY)",
                file.display(),
                file.display()
            );
        }
        eprintln!(
            "serving {} ({}, {}) at http://{}/v1 — Ctrl-C stops",
            ready.model.name, ready.model.architecture, ready.model.device, ready.address
        );
    };
    let log = std::sync::Arc::new(|line: String| eprintln!("{line}"));
    commands::serve::run(args, &runtime, &mut on_ready, log)?;
    eprintln!("stopped");
    Ok(0)
}

fn model_flags(m: &ModelFlags) -> Flags {
    Flags {
        model: m.model.clone(),
        device: m.device.clone(),
        dtype: m.dtype.clone(),
        isq: m.isq.clone(),
        prefix_cache: m.prefix_cache,
        remote: m.remote.clone(),
        remote_model: m.remote_model.clone(),
        api_key_env: m.api_key_env.clone(),
        remote_timeout: m.remote_timeout,
        ..Flags::default()
    }
}

fn run(cli: Cli) -> CommandResult<i32> {
    let chat_flags = chat_cli::flags(&cli);
    let Some(command) = cli.command else {
        return chat_cli::run_chat(&cli);
    };
    match command {
        Command::Ask(ask) => run_ask(&cli.config, ask),
        Command::Serve(serve) => run_serve(&cli.config, serve),
        Command::Bench(command) => bench_cli::run(&cli.config, command),
        Command::Finetune(command) => finetune_cli::run(&cli.config, command),
        Command::Sessions(command) => chat_cli::run_sessions(&cli.config, chat_flags, command),
        Command::Model(ModelCommand::Tiny {
            arch,
            dims,
            seed,
            force,
            out_dir,
        }) => {
            let scale: Scale = dims.parse().map_err(CommandError::bad)?;
            let written = commands::model::tiny(&arch, scale, seed, &out_dir, force)?;
            println!(
                "wrote {} ({}, {} parameters, {:.1} MB)",
                written.dir.display(),
                written.architecture,
                written.parameters,
                written.bytes as f64 / 1e6
            );
            Ok(0)
        }
        Command::Model(ModelCommand::Check { dir }) => {
            let model = commands::model::check(&dir)?;
            println!(
                "{}: ok ({})",
                model.dir.display(),
                model.architecture.hf_class
            );
            Ok(0)
        }
        Command::Model(ModelCommand::Archs) => {
            commands::model::supported_lines()
                .iter()
                .for_each(|l| println!("{l}"));
            Ok(0)
        }
        Command::Config(ConfigCommand::Show { json }) => {
            let s = settings(&cli.config, Flags::default())?;
            if json {
                print_json(&s)?;
            } else {
                println!("# {}", s.config_path.display());
                for (name, value, origin) in s.describe() {
                    println!(
                        "{name} = {value}  ({})",
                        format!("{origin:?}").to_lowercase()
                    );
                }
            }
            Ok(0)
        }
        Command::Config(ConfigCommand::Path) => {
            let path = cli
                .config
                .clone()
                .unwrap_or_else(config::default_config_path);
            println!("{}", path.display());
            Ok(0)
        }
        Command::BenchEngine(bench) => bench_cli::run_bench_engine(&cli.config, bench),
        Command::BenchAsk(bench) => bench_cli::run_bench_ask(bench),
        Command::BenchServe(bench) => bench_cli::run_bench_serve(&cli.config, bench),
        Command::BenchPeer(bench) => bench_cli::run_bench_peer(bench),
        Command::View(view) => run_view(&cli.config, view),
        Command::Synth(synth) => {
            let args = commands::synth::SynthArgs {
                out: synth.out,
                n: synth.n,
                seed: synth.seed,
                size: synth.size,
                kind: synth.kind.parse().map_err(CommandError::bad)?,
                balance: radiochat::imaging::synth::Balance::with_overrides(&synth.balance)
                    .map_err(CommandError::bad)?,
            };
            let dataset = commands::synth::run(&args)?;
            println!("wrote {} cutouts and {}", args.n, dataset.display());
            Ok(0)
        }
        Command::BenchHarness {
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
            let settings = settings(&cli.config, flags)?;
            let rows = commands::bench_harness::run(settings, items, &concurrency, demo)?;
            if json {
                print_json(&rows)?;
            } else {
                commands::bench_harness::lines(&rows)
                    .iter()
                    .for_each(|l| println!("{l}"));
            }
            Ok(0)
        }
        Command::BenchFinetune {
            images,
            steps,
            python,
            json,
        } => {
            if images == 0 || steps == 0 {
                return Err(CommandError::bad("--images and --steps must be at least 1"));
            }
            let timing = commands::bench_finetune::run(images, steps, python)?;
            if json {
                print_json(&timing)?;
            } else {
                commands::bench_finetune::lines(&timing)
                    .iter()
                    .for_each(|l| println!("{l}"));
            }
            Ok(0)
        }
        Command::BenchTui(bench) => {
            let report = commands::bench_tui::run(&commands::bench_tui::BenchTuiArgs {
                starts: bench.starts,
                keys: bench.keys,
                idle_seconds: bench.idle_seconds,
            })?;
            if bench.json {
                print_json(&report)?;
            } else {
                report.lines().iter().for_each(|l| println!("{l}"));
            }
            Ok(0)
        }
        Command::BenchImaging(bench) => {
            let file = match &bench.file {
                Some(file) => file.clone(),
                None => {
                    commands::bench_imaging::write_test_image(&bench.write, bench.size)?;
                    bench.write.clone()
                }
            };
            let report = commands::bench_imaging::run(&file, bench.runs)?;
            if bench.json {
                print_json(&report)?;
            } else {
                println!(
                    "{} ({} × {}), {} runs: median (min–max) seconds",
                    report.file.display(),
                    report.width,
                    report.height,
                    report.runs
                );
                for (name, s) in [
                    ("read", &report.read_s),
                    ("transform", &report.transform_s),
                    ("total", &report.total_s),
                ] {
                    println!("{name:<10} {:.4} ({:.4}–{:.4})", s.median, s.min, s.max);
                }
            }
            Ok(0)
        }
        Command::Info(info) => {
            let fits = fits_options(&info.fits)?;
            let report = commands::image::info(&info.file, &fits)?;
            if info.json {
                print_json(&report)?;
            } else {
                report.lines().iter().for_each(|l| println!("{l}"));
            }
            Ok(0)
        }
    }
}

fn fits_options(flags: &FitsFlags) -> CommandResult<radiochat::imaging::FitsOptions> {
    let hdu = flags
        .hdu
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(CommandError::bad)?;
    let plane = match &flags.plane {
        None => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|part| part.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                CommandError::bad(format!("--plane '{text}': expected indices like 0,0"))
            })?,
    };
    if flags.max_mpix == 0 {
        return Err(CommandError::bad("--max-mpix must be at least 1"));
    }
    Ok(radiochat::imaging::FitsOptions {
        hdu,
        plane,
        pixel_budget: flags.max_mpix * 1024 * 1024,
    })
}

fn image_flags(flags: &ImageFlags) -> Flags {
    Flags {
        zscale: flags.no_zscale.then_some(false),
        contrast: flags.contrast,
        resize: flags.resize,
        square: flags.square.then_some(true),
        ..Flags::default()
    }
}

/// `model` with the image fields of `image`.
fn merge_flags(model: Flags, image: Flags) -> Flags {
    Flags {
        zscale: image.zscale,
        contrast: image.contrast,
        resize: image.resize,
        square: image.square,
        ..model
    }
}

fn run_view(config_path: &Option<PathBuf>, view: ViewCli) -> CommandResult<i32> {
    use radiochat::preview::{self, Graphics};
    use std::io::IsTerminal;
    let stretch = view.stretch.parse().map_err(CommandError::bad)?;
    let explicit = match view.graphics.as_str() {
        "auto" if !std::io::stdout().is_terminal() => Some(Graphics::None),
        "auto" => None,
        other => Some(other.parse().map_err(CommandError::bad)?),
    };
    let args = commands::image::ViewArgs {
        path: view.file.clone(),
        fits: fits_options(&view.fits)?,
        stretch,
        transform: settings(config_path, image_flags(&view.image))?.transform(),
    };
    let shown = commands::image::view(&args)?;
    if let Some(out) = &view.png {
        commands::image::write_png(&shown.model_input, out)?;
    }
    if let Some(header) = &shown.image.header {
        header.lines().iter().for_each(|l| println!("{l}"));
    }
    if !view.no_preview && explicit != Some(Graphics::None) {
        let terminal_columns = crossterm::terminal::size()
            .map(|(c, _)| c as u32)
            .unwrap_or(80);
        let columns = view
            .width
            .unwrap_or_else(|| terminal_columns.min(64))
            .max(1);
        let (graphics, probe) = preview::choose(explicit, preview::cell_size::probe_for_printing);
        let cell = probe.map_or(preview::CellSize::FALLBACK, |p| p.cell);
        if let Some(warning) = preview::tmux_passthrough_warning(graphics) {
            eprintln!("radiochat: {warning}");
        }
        let max_rows = crossterm::terminal::size()
            .map(|(_, rows)| rows.saturating_sub(2).max(4))
            .unwrap_or(40);
        let mut stdout = std::io::stdout().lock();
        let drawn = preview::draw(
            &mut stdout,
            &shown.preview,
            graphics,
            columns,
            max_rows,
            cell,
            preview::in_tmux(),
        );
        match drawn {
            // `radiochat view … | head` closes the pipe early: not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            other => other.map_err(|e| CommandError::Failed(e.into()))?,
        }
    }
    if let Some(out) = &view.png {
        let (w, h) = shown.model_input.dimensions();
        println!("wrote {} ({w} × {h}, the model input)", out.display());
    }
    Ok(0)
}

fn run_ask(config_path: &Option<PathBuf>, ask: AskCli) -> CommandResult<i32> {
    let flags = Flags {
        system_prompt: ask.system.clone(),
        temperature: ask.temperature,
        top_p: ask.top_p,
        top_k: ask.top_k,
        max_tokens: ask.max_tokens,
        ..merge_flags(model_flags(&ask.model), image_flags(&ask.transform))
    };
    let settings = settings(config_path, flags)?;
    let runtime = runtime()?;
    let json = ask.json;
    let args = commands::ask::AskArgs {
        settings,
        question: ask.question.join(" "),
        images: ask.image,
        fits: fits_options(&ask.fits)?,
        demo: ask.demo,
        ignore_eos: ask.ignore_eos,
    };
    let handle = runtime.handle().clone();
    let mut on_started = |cancel: radiochat::engine::CancelHandle| {
        handle.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
    };
    let mut stdout = std::io::stdout();
    let mut on_token = |text: &str| {
        if !json {
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
    };
    let outcome = commands::ask::run(args, &runtime, &mut on_started, &mut on_token)?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&outcome).map_err(|e| CommandError::Failed(e.into()))?
        );
    } else {
        println!();
    }
    Ok(
        if outcome.finish_reason == radiochat::engine::FinishReason::Cancelled {
            130
        } else {
            0
        },
    )
}
