//! The embedded engine: mistralrs 0.8.1 running in this process.

use super::mistral_stream::{EngineProbe, drive};
use super::model_dir::ValidatedModel;
use super::{
    ChatRequest, DType, Device, Engine, EngineEvent, Generation, LoadSpec, ModelInfo, ModelSource,
};
use anyhow::{Context, anyhow, bail};
use mistralrs::{MultimodalModelBuilder, TokenSource};
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Handle;

pub struct MistralEngine {
    model: Arc<mistralrs::Model>,
    probe: Arc<EngineProbe>,
    runtime: Handle,
    info: ModelInfo,
    eos_token_ids: Arc<Vec<u32>>,
    /// One request in the engine at a time (see [`drive`]'s `request_gate`).
    request_gate: Arc<tokio::sync::Semaphore>,
}

impl MistralEngine {
    /// Load a model whose directory was already validated (or a hub id, when `None`).
    pub async fn load_validated(
        spec: &LoadSpec,
        validated: Option<ValidatedModel>,
    ) -> anyhow::Result<Self> {
        if spec.device == Device::Cuda && !cfg!(feature = "cuda") {
            bail!(
                "--device cuda: this radiochat was built without CUDA; rebuild with `cargo build --release --features cuda`"
            );
        }
        if spec.max_num_seqs == 0 {
            bail!("max_num_seqs must be at least 1");
        }
        let model_id = match &spec.source {
            ModelSource::Local(dir) => dir.to_string_lossy().into_owned(),
            ModelSource::Hub(id) => id.clone(),
            ModelSource::Remote(remote) => {
                bail!("{remote} is a remote server, not weights the embedded engine loads")
            }
        };
        let mut builder = MultimodalModelBuilder::new(&model_id)
            .with_dtype(match spec.dtype {
                // mistralrs's auto picks F16 on CPU, which decodes at half the speed of F32
                // there (measured: 6 vs 12 tok/s, SmolVLM-256M dims, 2 cores).
                DType::Auto if spec.device == Device::Cpu => mistralrs::ModelDType::F32,
                DType::Auto => mistralrs::ModelDType::Auto,
                DType::F32 => mistralrs::ModelDType::F32,
                DType::F16 => mistralrs::ModelDType::F16,
                DType::Bf16 => mistralrs::ModelDType::BF16,
            })
            .with_max_num_seqs(spec.max_num_seqs)
            .with_prefix_cache_n(prefix_cache(spec, validated.as_ref()));
        builder = match &spec.source {
            ModelSource::Local(_) | ModelSource::Remote(_) => {
                builder.with_token_source(TokenSource::None)
            }
            ModelSource::Hub(_) => {
                builder.with_token_source(TokenSource::EnvVar("HF_TOKEN".into()))
            }
        };
        if let Some(loader) = validated
            .as_ref()
            .and_then(|v| v.architecture.loader_type())
        {
            builder = builder.with_loader_type(loader);
        }
        if std::env::var_os("RADIOCHAT_ENGINE_LOG").is_some() {
            // mistralrs's own tracing output, for diagnosing engine failures.
            builder = builder.with_logging();
        }
        if spec.device == Device::Cpu {
            builder = builder.with_force_cpu();
        }
        if let Some(isq) = spec.isq {
            builder = builder.with_isq(isq.to_mistralrs());
        }

        let started = Instant::now();
        // mistralrs may panic while loading malformed weights; a panic inside the spawned
        // task becomes a JoinError we can report instead of taking the process down.
        let model = tokio::spawn(async move { builder.build().await })
            .await
            .map_err(|e| anyhow!("the engine crashed while loading: {}", panic_text(e)))?
            .with_context(|| format!("loading {model_id}"))?;
        let load_seconds = started.elapsed().as_secs_f64();

        let name = match &spec.source {
            ModelSource::Local(dir) => dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| model_id.clone()),
            ModelSource::Hub(_) | ModelSource::Remote(_) => model_id.clone(),
        };
        let info = ModelInfo {
            name,
            source: spec.source.to_string(),
            architecture: validated
                .as_ref()
                .map(|v| v.architecture.hf_class.to_string())
                .unwrap_or_else(|| "auto-detected".into()),
            device: spec.device.to_string(),
            dtype: match (spec.dtype, spec.device) {
                (DType::Auto, Device::Cpu) => "f32 (auto)".to_string(),
                (dtype, _) => dtype.to_string(),
            },
            isq: spec.isq.map(|i| i.to_string()),
            prefix_cache: prefix_cache(spec, validated.as_ref()).unwrap_or(0),
            max_context: validated.as_ref().and_then(|v| v.max_context),
            warnings: Vec::new(),
            load_seconds,
        };
        let eos_token_ids = Arc::new(validated.map(|v| v.eos_token_ids).unwrap_or_default());
        let probe = Arc::new(
            EngineProbe::new(&model).map_err(|e| anyhow!("engine not running after load: {e}"))?,
        );
        Ok(Self {
            model: Arc::new(model),
            probe,
            runtime: Handle::current(),
            info,
            eos_token_ids,
            request_gate: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }
}

/// The prefix cache's size, where asked for and proven harmless for the architecture (an
/// auto-detected hub model gets none).
fn prefix_cache(spec: &LoadSpec, validated: Option<&ValidatedModel>) -> Option<usize> {
    let proven = validated.is_some_and(|v| v.architecture.prefix_cache);
    (spec.prefix_cache > 0 && proven).then_some(spec.prefix_cache)
}

fn panic_text(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into()),
        Err(e) => e.to_string(),
    }
}

impl Engine for MistralEngine {
    fn describe(&self) -> ModelInfo {
        self.info.clone()
    }

    fn stream(&self, request: ChatRequest) -> Generation {
        if let Err(e) = request.sampling.check() {
            return Generation::failed(e);
        }
        let (generation, sink) = Generation::channel();
        let model = Arc::clone(&self.model);
        let probe = Arc::clone(&self.probe);
        let eos = Arc::clone(&self.eos_token_ids);
        let gate = Arc::clone(&self.request_gate);
        self.runtime.spawn(async move {
            let mut sink = sink;
            if let Err(message) = drive(&model, &probe, &request, &eos, &gate, &mut sink).await {
                sink.send(EngineEvent::Failed(message));
            }
        });
        generation
    }
}
