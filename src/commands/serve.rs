//! `radiochat serve`: load the model once and answer OpenAI API requests until Ctrl-C or
//! SIGTERM, then finish the requests in flight (up to 30 s) and exit.

use super::{CommandError, CommandResult};
use crate::config::Settings;
use crate::engine::{Engine, ModelInfo};
use crate::serve::limits::Limits;
use crate::serve::{ServeOptions, Server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
pub struct ServeFlags {
    /// Address to bind (loopback by default; every user of the node can reach any port).
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
    /// No API key (single-user machines only; refused beyond loopback). Without it and
    /// without --api-key-env, a key is made at start, printed and written 0600 to the data
    /// directory.
    #[arg(long)]
    pub no_auth: bool,
    /// Another name clients may use in the Host header (e.g. the node's DNS alias).
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mb: usize,
    /// Largest total size of the images of one request, in megapixels.
    #[arg(long, default_value_t = 64.0)]
    pub max_image_mpix: f64,
    /// Images in one request.
    #[arg(long, default_value_t = 8)]
    pub max_images: usize,
    /// Largest max_tokens a client may ask for.
    #[arg(long, default_value_t = 4096)]
    pub max_tokens_cap: usize,
    /// Connections open at once; beyond, new ones get 503.
    #[arg(long, default_value_t = 2048)]
    pub max_connections: usize,
    /// Let clients set ignore_eos (generate to max_tokens whatever the model says).
    #[arg(long)]
    pub allow_ignore_eos: bool,
    /// Seconds a client has to send a request head, and then its body, and for each write
    /// of an answer to make progress; also how long an idle connection stays open.
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub client_timeout: f64,
}

/// What the front-end shows once the server is up.
pub struct Ready<'a> {
    pub address: SocketAddr,
    pub model: &'a ModelInfo,
    /// The key made for this run, and the file holding it (removed at exit).
    pub generated_key: Option<(&'a str, &'a std::path::Path)>,
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
    on_ready: &mut dyn FnMut(&Ready),
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
    if api_key.is_some() && args.flags.no_auth {
        return Err(CommandError::bad(
            "--no-auth and --api-key-env contradict each other",
        ));
    }
    let generated = (api_key.is_none() && !args.flags.no_auth).then(new_key);
    if !(args.flags.client_timeout > 0.0 && args.flags.client_timeout <= 3600.0) {
        return Err(CommandError::bad(
            "--client-timeout: give seconds between 0 and 3600",
        ));
    }
    let client_timeout = Duration::from_secs_f64(args.flags.client_timeout);
    let api_key = api_key.or_else(|| generated.clone());
    let spec = super::model_choice::required_model_spec(&args.settings, args.demo, None)?;
    let options = ServeOptions {
        host: args.flags.host.clone(),
        port: args.flags.port,
        api_key,
        model_name: String::new(),
        allow_files: args.flags.allow_files.clone(),
        allowed_hosts: args.flags.allowed_host.clone(),
        limits: Limits {
            max_body_bytes: args.flags.max_body_mb.saturating_mul(1 << 20),
            max_total_pixels: (args.flags.max_image_mpix * 1e6) as u64,
            max_images: args.flags.max_images,
            max_tokens: args.flags.max_tokens_cap,
            max_connections: args.flags.max_connections,
            allow_ignore_eos: args.flags.allow_ignore_eos,
            header_timeout: client_timeout,
            body_timeout: client_timeout,
            write_timeout: client_timeout,
        },
        sampling: args.settings.sampling(),
        transform: args.settings.transform(),
    };
    let descriptors = raise_descriptor_limit(options.limits.max_connections as u64 + 256);
    if descriptors < options.limits.max_connections as u64 {
        log(format!(
            "note: {descriptors} file descriptors allowed (ulimit -n) for --max-connections {}; accept waits when they run out",
            options.limits.max_connections
        ));
    }
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
        let key_file = match &generated {
            Some(key) => Some(write_key(server.local_addr(), key)?),
            None => None,
        };
        // The handlers go in before the server says it is ready: a SIGTERM right after the
        // announcement must already mean "finish and exit", not the default kill.
        let stop_signals = StopSignals::install();
        on_ready(&Ready {
            address: server.local_addr(),
            model: &shown,
            generated_key: generated.as_deref().zip(key_file.as_deref()),
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signals.wait().await;
            let _ = stop_tx.send(true);
        });
        server.run(engine, name, stop_rx, GRACE, log).await;
        if let Some(file) = key_file {
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    })
}

/// Raise the soft open-file limit towards `wanted` (never past the hard limit, which only
/// the administrator sets); the limit now in force.
fn raise_descriptor_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reading and setting this process's own limit through valid pointers.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

/// A key for this run: 192 random bits.
fn new_key() -> String {
    let bytes: [u8; 24] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("rc-{hex}")
}

/// `DATA/serve/PORT.key`, 0600, for the user's clients to read.
fn write_key(address: SocketAddr, key: &str) -> CommandResult<PathBuf> {
    let dir = crate::config::data_dir().join("serve");
    let failed =
        |e: std::io::Error| CommandError::Failed(anyhow::anyhow!("{}: {e}", dir.display()));
    crate::util::private_file::create_private_dir(&dir).map_err(failed)?;
    let file = dir.join(format!("{}.key", address.port()));
    crate::util::private_file::write_atomically(&file, format!("{key}\n").as_bytes())
        .map_err(failed)?;
    Ok(file)
}

/// SIGTERM, SIGHUP and Ctrl-C, registered with the runtime when made.
struct StopSignals {
    term: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            term: signal(SignalKind::terminate()).ok(),
            hangup: signal(SignalKind::hangup()).ok(),
        }
    }

    async fn wait(mut self) {
        async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = next(&mut self.term) => {}
            _ = next(&mut self.hangup) => {}
        }
    }
}
