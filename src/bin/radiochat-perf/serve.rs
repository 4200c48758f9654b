//! `radiochat-perf serve`: the cost of the HTTP layer. The same engine answers N concurrent
//! streaming clients twice in each round — called directly, and through `radiochat serve` on
//! loopback by radiochat's own remote backend (PNG data URL, JSON, SSE) — and the table gives
//! tokens/s both ways and the serve path's overhead. A benchmark: it asserts nothing.

use crate::engine::Stat;
use radiochat::commands::{CommandError, CommandResult};
use radiochat::engine::{
    ChatMessage, ChatRequest, Engine, EngineEvent, LoadSpec, RemoteEngine, RemoteSource, Sampling,
};
use radiochat::serve::{ServeOptions, Server};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct BenchServeArgs {
    pub spec: LoadSpec,
    pub clients: Vec<usize>,
    /// Requests each client makes, one after the other.
    pub requests: usize,
    pub max_tokens: usize,
    pub rounds: usize,
    pub image: Option<image::DynamicImage>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ServeRow {
    pub clients: usize,
    pub requests: usize,
    pub direct_tok_per_s: Stat,
    pub serve_tok_per_s: Stat,
    /// 1 − serve / direct of each round (back to back), in percent.
    pub overhead_pct: Stat,
    pub serve_ttft_ms: Stat,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ServeReport {
    pub model: String,
    pub max_tokens: usize,
    pub image: bool,
    pub rows: Vec<ServeRow>,
}

/// One timed batch of clients: completion tokens per second of wall time, and each
/// request's time to first token.
struct Measured {
    tok_per_s: f64,
    ttft_ms: Vec<f64>,
}

pub fn run(args: BenchServeArgs, runtime: &tokio::runtime::Runtime) -> CommandResult<ServeReport> {
    if args.clients.is_empty()
        || args.clients.contains(&0)
        || args.requests == 0
        || args.rounds == 0
    {
        return Err(CommandError::bad(
            "--clients, --requests and --rounds must be at least 1",
        ));
    }
    runtime.block_on(async {
        let engine: Arc<dyn Engine> = Arc::from(radiochat::engine::load(&args.spec).await?);
        let model = engine.describe().name;
        let options = ServeOptions {
            host: "127.0.0.1".into(),
            port: 0,
            // Loopback, for this process alone: the timing measures HTTP, not auth.
            api_key: None,
            model_name: String::new(),
            allow_files: None,
            allowed_hosts: Vec::new(),
            limits: radiochat::serve::limits::Limits {
                max_body_bytes: 256 << 20,
                max_total_pixels: u64::MAX,
                max_tokens: usize::MAX,
                allow_ignore_eos: true,
                ..Default::default()
            },
            sampling: Sampling::default(),
            transform: Default::default(),
        };
        let server = Server::bind(options).await.map_err(CommandError::bad)?;
        let url = format!("http://{}/v1", server.local_addr());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let serving = tokio::spawn(server.run(
            engine.clone(),
            "bench".into(),
            stop_rx,
            Duration::from_secs(5),
            Arc::new(|_| {}),
        ));
        let remote: Arc<dyn Engine> = Arc::new(
            RemoteEngine::connect(&RemoteSource {
                model: Some("bench".into()),
                timeout: Duration::from_secs(600),
                ..RemoteSource::parse(&url)
            })
            .await
            .map_err(CommandError::Failed)?,
        );
        let request = ChatRequest {
            messages: vec![ChatMessage::user(
                "Describe the radio sources in this image.",
                args.image.iter().cloned().collect(),
            )],
            sampling: Sampling {
                max_tokens: args.max_tokens,
                ignore_eos: true,
                ..Sampling::default()
            },
        };
        // Warm both paths (first-request allocations, the connection pool).
        measure(&engine, 1, 1, &request).await?;
        measure(&remote, 1, 1, &request).await?;
        let mut rows = Vec::new();
        for &clients in &args.clients {
            let (mut direct, mut served, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
            let mut overheads = Vec::new();
            for round in 0..args.rounds {
                // Alternate which path goes first, so a drifting machine favours neither.
                let (d, m) = if round % 2 == 0 {
                    let d = measure(&engine, clients, args.requests, &request).await?;
                    (d, measure(&remote, clients, args.requests, &request).await?)
                } else {
                    let m = measure(&remote, clients, args.requests, &request).await?;
                    (measure(&engine, clients, args.requests, &request).await?, m)
                };
                overheads.push((1.0 - m.tok_per_s / d.tok_per_s) * 100.0);
                direct.push(d.tok_per_s);
                served.push(m.tok_per_s);
                ttft.extend(m.ttft_ms);
            }
            rows.push(ServeRow {
                clients,
                requests: clients * args.requests,
                overhead_pct: Stat::of(&overheads),
                direct_tok_per_s: Stat::of(&direct),
                serve_tok_per_s: Stat::of(&served),
                serve_ttft_ms: Stat::of(&ttft),
            });
        }
        let _ = stop_tx.send(true);
        let _ = serving.await;
        Ok(ServeReport {
            model,
            max_tokens: args.max_tokens,
            image: args.image.is_some(),
            rows,
        })
    })
}

async fn measure(
    engine: &Arc<dyn Engine>,
    clients: usize,
    requests: usize,
    request: &ChatRequest,
) -> CommandResult<Measured> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let engine = engine.clone();
        let request = request.clone();
        tasks.spawn(async move {
            let mut results = Vec::new();
            for _ in 0..requests {
                let mut generation = engine.stream(request.clone());
                loop {
                    match generation.next().await {
                        Some(EngineEvent::Token(_)) => {}
                        Some(EngineEvent::Finished { usage, .. }) => {
                            results.push((usage.completion_tokens, usage.ttft_ms));
                            break;
                        }
                        Some(EngineEvent::Failed(message)) => return Err(message),
                        None => return Err("the answer stream closed".to_string()),
                    }
                }
            }
            Ok(results)
        });
    }
    let (mut tokens, mut ttft_ms) = (0, Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let results = joined
            .map_err(|e| CommandError::Failed(anyhow::anyhow!("a client crashed: {e}")))?
            .map_err(|e| CommandError::Failed(anyhow::anyhow!(e)))?;
        for (n, ttft) in results {
            tokens += n;
            ttft_ms.push(ttft);
        }
    }
    Ok(Measured {
        tok_per_s: tokens as f64 / started.elapsed().as_secs_f64(),
        ttft_ms,
    })
}

/// The report as a Markdown table.
pub fn table(report: &ServeReport) -> String {
    let mut out = format!(
        "model {} · {} tokens per answer (EOS ignored) · {}\n\n",
        report.model,
        report.max_tokens,
        if report.image {
            "one image per request"
        } else {
            "text only"
        }
    );
    out.push_str("| clients | requests | direct tok/s (median, min–max) | serve tok/s (median, min–max) | HTTP overhead (median of rounds, min–max) | serve TTFT p50 (ms) |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for row in &report.rows {
        let (d, s) = (&row.direct_tok_per_s, &row.serve_tok_per_s);
        out.push_str(&format!(
            "| {} | {} | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {:.1} % ({:.1}–{:.1}) | {:.1} |\n",
            row.clients,
            row.requests,
            d.median,
            d.min,
            d.max,
            s.median,
            s.min,
            s.max,
            row.overhead_pct.median,
            row.overhead_pct.min,
            row.overhead_pct.max,
            row.serve_ttft_ms.median
        ));
    }
    out
}
