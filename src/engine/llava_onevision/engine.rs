//! LLaVA-OneVision behind the [`Engine`] trait. Inference runs on one worker thread (the async
//! runtime and the UI never compute), which batches every request in flight (`batch`).

use super::generate::Loaded;
use super::model::{ModelError, OnevisionModel};
use super::preprocess::ImageProcessor;
use super::prompt::ChatTemplate;
use crate::engine::events::GenerationSink;
use crate::engine::model_dir::{ModelDirError, ValidatedModel};
use crate::engine::{
    ChatRequest, DType, Device, Engine, Generation, LoadError, LoadSpec, ModelInfo, Refused,
};
use candle_core::quantized::GgmlDType;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;
use tokenizers::Tokenizer;

pub struct CandleEngine {
    jobs: Mutex<mpsc::Sender<(ChatRequest, GenerationSink)>>,
    loaded: Arc<Loaded>,
    info: ModelInfo,
}

fn bad(path: &Path, problem: impl Into<String>) -> LoadError {
    LoadError::BadModel(ModelDirError::Invalid(path.to_path_buf(), problem.into()))
}

/// A model that does not load, as the directory error the user sees.
fn dir_error(error: ModelError) -> ModelDirError {
    match error {
        ModelError::Config(e) => ModelDirError::Invalid(e.path.into(), e.problem),
        ModelError::Weights(e) => ModelDirError::Invalid(e.path, e.problem),
        ModelError::Read(path, problem) => ModelDirError::Invalid(path, problem),
    }
}

/// What loading reads besides the weights, each file checked: config, image processor, chat
/// template, tokenizer (holding the image token).
fn read_dir(dir: &Path) -> Result<(ImageProcessor, ChatTemplate, Tokenizer), ModelDirError> {
    let invalid = |path: std::path::PathBuf, problem: String| ModelDirError::Invalid(path, problem);
    let config_path = dir.join("config.json");
    let json: serde_json::Value = std::fs::read_to_string(&config_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| invalid(config_path.clone(), "cannot be read as JSON".into()))?;
    let config = super::config::OnevisionConfig::parse(&config_path, &json)
        .map_err(|e| invalid(config_path.clone(), e.problem))?;
    let processor =
        ImageProcessor::from_dir(dir).map_err(|e| invalid(e.path.clone(), e.problem))?;
    let template = ChatTemplate::from_dir(dir).map_err(|e| invalid(e.path.clone(), e.problem))?;
    let tokenizer_path = dir.join("tokenizer.json");
    let tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| {
        invalid(
            tokenizer_path.clone(),
            format!("not a usable tokenizer: {e}"),
        )
    })?;
    if tokenizer.id_to_token(config.image_token_index).is_none() {
        return Err(invalid(
            config_path,
            format!(
                "image_token_index {} is not a token of tokenizer.json ({} tokens)",
                config.image_token_index,
                tokenizer.get_vocab_size(true)
            ),
        ));
    }
    Ok((processor, template, tokenizer))
}

/// Everything loading checks, the weights' names and shapes included, without reading the
/// weights: what `model check` (and validation before a load) runs.
pub fn check_dir(dir: &Path) -> Result<(), ModelDirError> {
    read_dir(dir)?;
    OnevisionModel::check(dir).map_err(dir_error)
}

/// The ggml formats the own engine quantizes to (candle's quantized matmul).
fn isq_format(kind: crate::engine::IsqKind) -> anyhow::Result<GgmlDType> {
    match kind.name() {
        "q8_0" => Ok(GgmlDType::Q8_0),
        "q4k" => Ok(GgmlDType::Q4K),
        other => anyhow::bail!(
            "--isq {other}: radiochat's LLaVA-OneVision engine quantizes to q8_0 or q4k"
        ),
    }
}

fn candle_device(device: Device) -> Result<candle_core::Device, String> {
    match device {
        Device::Cpu => Ok(candle_core::Device::Cpu),
        Device::Cuda if cfg!(feature = "candle-cuda") => candle_core::Device::new_cuda(0)
            .map_err(|e| format!("--device cuda: no usable GPU: {e}")),
        Device::Cuda => Err(
            "--device cuda: this radiochat was built without CUDA; rebuild with `cargo build --release --features cuda`"
                .into(),
        ),
    }
}

/// f32 on CPU (half-precision weights are widened on load); bf16 by default on CUDA.
fn candle_dtype(device: Device, dtype: DType) -> candle_core::DType {
    match (device, dtype) {
        (Device::Cpu, _) | (_, DType::F32) => candle_core::DType::F32,
        (_, DType::F16) => candle_core::DType::F16,
        (_, DType::Bf16 | DType::Auto) => candle_core::DType::BF16,
    }
}

impl Loaded {
    /// Load a model directory for direct use (the engine, the parity tests, the perf harness).
    pub fn open(
        dir: &Path,
        device: candle_core::Device,
        dtype: candle_core::DType,
        eos: Vec<u32>,
    ) -> Result<Loaded, LoadError> {
        Loaded::open_quantized(dir, device, dtype, None, eos)
    }

    /// [`Loaded::open`] with the language model's linear layers quantized to `isq`.
    pub fn open_quantized(
        dir: &Path,
        device: candle_core::Device,
        dtype: candle_core::DType,
        isq: Option<GgmlDType>,
        eos: Vec<u32>,
    ) -> Result<Loaded, LoadError> {
        // Loading checks every tensor's shape itself: no shapes-only pass first.
        let (processor, template, tokenizer) = read_dir(dir)?;
        let model = OnevisionModel::load(dir, device, dtype, isq).map_err(dir_error)?;
        Ok(Loaded {
            model,
            tokenizer,
            processor,
            template,
            eos,
        })
    }
}

impl CandleEngine {
    pub fn load(spec: &LoadSpec, validated: ValidatedModel) -> Result<CandleEngine, LoadError> {
        let dir = validated.dir.clone();
        let isq = spec
            .isq
            .map(isq_format)
            .transpose()
            .map_err(|e| bad(&dir, e.to_string()))?;
        let device =
            candle_device(spec.device).map_err(|e| LoadError::Engine(anyhow::anyhow!(e)))?;
        let dtype = candle_dtype(spec.device, spec.dtype);
        let started = Instant::now();
        let loaded =
            Loaded::open_quantized(&dir, device, dtype, isq, validated.eos_token_ids.clone())?;
        let info = ModelInfo {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string()),
            source: spec.source.to_string(),
            architecture: validated.architecture.hf_class.to_string(),
            device: spec.device.to_string(),
            dtype: match (spec.dtype, spec.device) {
                (DType::Auto, Device::Cpu) => "f32 (auto)".to_string(),
                (DType::Auto, Device::Cuda) => "bf16 (auto)".to_string(),
                (d, Device::Cpu) if d != DType::F32 => format!("f32 (from {d}: CPU runs f32)"),
                (d, _) => d.to_string(),
            },
            isq: spec.isq.map(|i| i.to_string()),
            prefix_cache: 0,
            max_context: Some(loaded.model.config.text.max_positions),
            load_seconds: started.elapsed().as_secs_f64(),
            warnings: Vec::new(),
        };
        let loaded = Arc::new(loaded);
        let worker = Arc::clone(&loaded);
        let (jobs, queue) = mpsc::channel::<(ChatRequest, GenerationSink)>();
        std::thread::Builder::new()
            .name("llava-onevision".into())
            .spawn(move || super::batch::Batcher::new(&worker).run(&queue))
            .map_err(|e| LoadError::Engine(anyhow::anyhow!("starting the engine thread: {e}")))?;
        Ok(CandleEngine {
            jobs: Mutex::new(jobs),
            loaded,
            info,
        })
    }
}

impl Engine for CandleEngine {
    fn describe(&self) -> ModelInfo {
        self.info.clone()
    }

    fn check(&self, request: &ChatRequest) -> Result<(), Refused> {
        request.sampling.check()?;
        self.loaded.plan(request).map(|_| ())
    }

    fn stream(&self, request: ChatRequest) -> Generation {
        if let Err(e) = request.sampling.check() {
            return Generation::failed(e);
        }
        let (generation, sink) = Generation::channel();
        let sent = self
            .jobs
            .lock()
            .map(|jobs| jobs.send((request, sink)).is_ok())
            .unwrap_or(false);
        if !sent {
            return Generation::failed("the engine thread has stopped");
        }
        generation
    }
}
