//! The command line: clap's definition of `radiochat`, one module per command group, each
//! turning its flags into a `radiochat::commands` call and printing the result.

mod ask;
mod bench;
mod chat;
mod config;
mod finetune;
mod image;
mod model;
mod serve;
mod sessions;
pub mod sigpipe;

use clap::{Parser, Subcommand};
use radiochat::commands::flags::{self, GraphicsFlag, ModelFlags};
use radiochat::commands::{CommandError, CommandResult};
use radiochat::config::{Flags, Settings};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "radiochat",
    version,
    about = "Talk to a vision-language model about radio astronomy images"
)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/radiochat/config.toml, or $RADIOCHAT_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where session journals live (default: $XDG_DATA_HOME/radiochat/sessions).
    #[arg(long, global = true, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
    /// Reopen a session: the most recent one, or the one with this id or name.
    #[arg(long, value_name = "ID|NAME", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// Chat with the built-in demo model (radio-llava-nano: radio-llava's architecture in
    /// miniature, trained on synthetic radio cutouts; offline) and its FR-II cutout attached.
    #[arg(long)]
    pub demo: bool,
    /// Images in the chat: auto (from $TERM and friends; half blocks inside tmux) or a
    /// protocol.
    #[arg(long, value_enum, default_value = "auto")]
    pub graphics: GraphicsFlag,
    #[command(flatten)]
    pub model: ModelFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Ask one question about one or more images; the answer streams to stdout.
    Ask(ask::AskCli),
    /// Serve the model over the OpenAI API (/v1/chat/completions, /v1/models) to many clients.
    Serve(serve::ServeCli),
    /// Model directories: write a tiny test model (tiny), check a directory (check), list the
    /// architectures the engine serves (archs).
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// The configuration: every setting and where it came from (show), the file's path (path).
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Show an image in the terminal as the model sees it; --png writes the model input.
    View(image::ViewCli),
    /// Print a FITS header summary (shape, BITPIX, units, axes, beam, frequency, centre).
    Info(image::InfoCli),
    /// Write a synthetic labelled sky: FITS cutouts (PNG for gmnist), a radio-llava dataset
    /// JSON and, for radio skies, each source's box (radio-YOLO label files in labels/).
    Synth(image::SynthCli),
    /// Stored chat sessions: list, show, search, export, rename, delete.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// The radio benchmarks B1–B7, L1 and G1: run a task, merge shards, compare runs, show a
    /// prompt, import a general set, list the tasks, score predictions.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Fine-tuning: build the training set (data), launch a job (run), watch it (status,
    /// logs), stop it (cancel), benchmark it against its base (eval), merge its adapter
    /// (merge).
    #[command(subcommand)]
    Finetune(finetune::FinetuneCommand),
}

/// What every command's handler gets besides its own flags.
pub struct Context {
    pub config: Option<PathBuf>,
    pub sessions_dir: Option<PathBuf>,
}

impl Context {
    /// The settings for `flags`, with the resolver's warnings shown on stderr.
    pub fn settings(&self, flags: Flags) -> CommandResult<Settings> {
        let flags = Flags {
            sessions_dir: flags.sessions_dir.or_else(|| self.sessions_dir.clone()),
            ..flags
        };
        let (settings, warnings) = flags::resolve_settings(self.config.as_deref(), &flags)?;
        warnings
            .iter()
            .for_each(|warning| eprintln!("radiochat: {warning}"));
        Ok(settings)
    }

    /// The settings of a command that loads a model: its model flags and `--max-tokens`.
    pub fn model_settings(
        &self,
        model: &ModelFlags,
        max_tokens: Option<usize>,
    ) -> CommandResult<Settings> {
        self.settings(Flags {
            max_tokens,
            ..model.to_flags()
        })
    }
}

/// Run the parsed command line; the exit code on success.
pub fn run(cli: Cli) -> CommandResult<i32> {
    let context = Context {
        config: cli.config.clone(),
        sessions_dir: cli.sessions_dir.clone(),
    };
    let Some(command) = cli.command else {
        let chat = chat::ChatArgs {
            resume: cli.resume,
            demo: cli.demo,
            graphics: cli.graphics,
            model: cli.model,
        };
        return chat::run(&context, chat);
    };
    match command {
        Command::Ask(ask) => ask::run(&context, ask),
        Command::Serve(serve) => serve::run(&context, serve),
        Command::Model(command) => model::run(command),
        Command::Config(command) => config::run(&context, command),
        Command::View(view) => image::run_view(&context, view),
        Command::Info(info) => image::run_info(info),
        Command::Synth(synth) => image::run_synth(synth),
        Command::Sessions(command) => sessions::run(&context, command),
        Command::Bench(command) => bench::run(&context, command),
        Command::Finetune(command) => finetune::run(&context, command),
    }
}

/// Pretty JSON on stdout (the `--json` form of every command).
pub fn print_json<T: serde::Serialize>(value: &T) -> CommandResult<()> {
    println!("{}", flags::json_text(value)?);
    Ok(())
}

pub fn runtime() -> CommandResult<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().map_err(|e| CommandError::Failed(e.into()))
}

/// Lines on stdout.
pub fn print_lines(lines: &[String]) {
    lines.iter().for_each(|line| println!("{line}"));
}

#[cfg(test)]
mod tests;
