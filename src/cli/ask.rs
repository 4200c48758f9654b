//! `radiochat ask`: one question, the answer streamed to stdout.

use super::{Context, runtime};
use clap::Args;
use radiochat::commands::flags::{FitsFlags, ImageFlags, ModelFlags};
use radiochat::commands::{self, CommandError, CommandResult};
use radiochat::config::Flags;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct AskCli {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Image to ask about (FITS, PNG, JPEG, …); repeat for several.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub image: Vec<PathBuf>,
    #[command(flatten)]
    pub fits: FitsFlags,
    #[command(flatten)]
    pub transform: ImageFlags,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// 0 (the default) decodes greedily.
    #[arg(long)]
    pub temperature: Option<f64>,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Keep generating past the end-of-sequence token, up to --max-tokens.
    #[arg(long)]
    pub ignore_eos: bool,
    /// The built-in demo model unless --model names one, and its FR-II cutout unless --image
    /// names images.
    #[arg(long)]
    pub demo: bool,
    /// Print one JSON object {answer, model, usage, finish_reason, stages} instead of
    /// streaming.
    #[arg(long)]
    pub json: bool,
    /// The question (several words are joined with spaces).
    #[arg(required = true, num_args = 1..)]
    pub question: Vec<String>,
}

pub fn run(context: &Context, ask: AskCli) -> CommandResult<i32> {
    let flags = Flags {
        system_prompt: ask.system.clone(),
        temperature: ask.temperature,
        top_p: ask.top_p,
        top_k: ask.top_k,
        max_tokens: ask.max_tokens,
        ..ask.transform.over(ask.model.to_flags())
    };
    let settings = context.settings(flags)?;
    let runtime = runtime()?;
    let json = ask.json;
    let args = commands::ask::AskArgs {
        settings,
        question: ask.question.join(" "),
        images: ask.image,
        fits: ask.fits.options()?,
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
        let line = serde_json::to_string(&outcome).map_err(|e| CommandError::Failed(e.into()))?;
        println!("{line}");
    } else {
        println!();
    }
    let cancelled = outcome.finish_reason == radiochat::engine::FinishReason::Cancelled;
    Ok(if cancelled { 130 } else { 0 })
}
