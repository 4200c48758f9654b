//! `radiochat serve`: the model over the OpenAI API.

use super::{Context, runtime};
use clap::Args;
use radiochat::commands::flags::ModelFlags;
use radiochat::commands::{self, CommandResult};

#[derive(Args)]
pub struct ServeCli {
    #[command(flatten)]
    pub model: ModelFlags,
    #[command(flatten)]
    pub serve: commands::serve::ServeFlags,
    /// Serve the built-in demo model.
    #[arg(long)]
    pub demo: bool,
    /// Default max_tokens of a request that sets none.
    #[arg(long)]
    pub max_tokens: Option<usize>,
}

pub fn run(context: &Context, serve: ServeCli) -> CommandResult<i32> {
    let args = commands::serve::ServeArgs {
        settings: context.model_settings(&serve.model, serve.max_tokens)?,
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
