//! `radiochat serve`: load the model once and answer OpenAI API requests until Ctrl-C or
//! SIGTERM, then finish the requests in flight (up to 30 s) and exit.

use super::{CommandError, CommandResult};
use crate::config::Settings;
use crate::engine::{Engine, ModelInfo};
use crate::serve::{ServeOptions, Server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
pub struct ServeFlags {
    /// Address to bind; anything but loopback needs --api-key-env.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The name clients use for the model (default: the model directory's name).
    #[arg(long, value_name = "NAME")]
    pub served_model_name: Option<String>,
    /// Clients may name image files under DIR (absolute paths or file:// URLs).
    #[arg(long, value_name = "DIR")]
    pub allow_files: Option<PathBuf>,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mb: usize,
    /// Largest image, in megapixels.
    #[arg(long, default_value_t = 64.0)]
    pub max_image_mpix: f64,
}

pub struct ServeArgs {
    pub settings: Settings,
    pub flags: ServeFlags,
    pub demo: bool,
}

/// Load, bind, and serve until a stop signal. `on_ready` gets the bound address and the
/// model (the CLI prints them); `log` one line per request.
pub fn run(
    args: ServeArgs,
    runtime: &tokio::runtime::Runtime,
    on_ready: &mut dyn FnMut(SocketAddr, &ModelInfo),
    log: Arc<dyn Fn(String) + Send + Sync>,
) -> CommandResult<()> {
    // The key is the one thing read before loading: a missing variable fails fast.
    let api_key = match &args.settings.api_key_env.value {
        None => None,
        Some(var) => Some(std::env::var(var).map_err(|_| {
            CommandError::bad(format!(
                "--api-key-env {var}: the environment variable {var} is not set"
            ))
        })?),
    };
    if api_key.as_deref().is_some_and(str::is_empty) {
        return Err(CommandError::bad("--api-key-env: the API key is empty"));
    }
    let spec = if super::demo::uses_demo_model(args.demo, &args.settings) {
        super::demo::spec(&args.settings)?
    } else {
        args.settings.load_spec().ok_or_else(|| {
            CommandError::bad("no model: pass --model DIR, set `model` in the config, or --demo")
        })?
    };
    let options = ServeOptions {
        host: args.flags.host.clone(),
        port: args.flags.port,
        api_key,
        model_name: String::new(),
        allow_files: args.flags.allow_files.clone(),
        max_body_bytes: args.flags.max_body_mb.saturating_mul(1 << 20),
        max_image_pixels: (args.flags.max_image_mpix * 1e6) as u64,
        sampling: args.settings.sampling(),
        transform: args.settings.transform(),
    };
    runtime.block_on(async {
        let server = Server::bind(options).await.map_err(CommandError::bad)?;
        let engine: Arc<dyn Engine> = Arc::from(crate::engine::load(&spec).await?);
        let info = engine.describe();
        let name = args
            .flags
            .served_model_name
            .clone()
            .unwrap_or_else(|| info.name.clone());
        let shown = ModelInfo {
            name: name.clone(),
            ..info
        };
        on_ready(server.local_addr(), &shown);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            let _ = stop_tx.send(true);
        });
        server.run(engine, name, stop_rx, GRACE, log).await;
        Ok(())
    })
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hangup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match &mut term { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        _ = async { match &mut hangup { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
}
