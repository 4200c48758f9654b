//! The engine boundary: everything the front-ends need to talk to a model.
//!
//! Front-ends build a [`ChatRequest`], call [`Engine::stream`], and read [`EngineEvent`]s
//! until a `Finished` or `Failed` event. Each implementation (embedded mistralrs today, a
//! remote OpenAI-compatible server later) turns its own failure modes into those events,
//! so a caller never has to know which engine it is talking to and never hangs.

mod arch;
mod events;
pub mod llava_onevision;
mod mistral;
mod mistral_stream;
mod model_dir;
mod remote;
mod sampling;
mod validate;

pub use arch::{Architecture, Backend, Support};
pub use events::{CancelHandle, EngineEvent, FinishReason, Generation, Refused, Usage};
pub use mistral::MistralEngine;
pub use model_dir::{ModelDirError, ValidatedModel};
pub use remote::{RemoteEngine, RemoteSource};
pub use sampling::{DType, Device, IsqKind, Sampling};
pub use validate::validate_model_dir;

use image::DynamicImage;
use std::path::PathBuf;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One turn of a conversation. Images stay attached to the turn that introduced them, so
/// later turns can still ask about them: every request carries the whole history.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub role: Role,
    pub text: String,
    pub images: Vec<DynamicImage>,
}

impl ChatMessage {
    pub fn user(text: impl Into<String>, images: Vec<DynamicImage>) -> Self {
        Self {
            role: Role::User,
            text: text.into(),
            images,
        }
    }
    pub fn assistant(text: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            text: text.into(),
            images: Vec::new(),
        }
    }
    pub fn system(text: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            text: text.into(),
            images: Vec::new(),
        }
    }
}

/// A chat request: the full history plus how to sample the answer.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    pub sampling: Sampling,
}

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local Hugging Face model directory (validated before loading).
    Local(PathBuf),
    /// A Hugging Face hub id, written `hf:owner/name` so that a mistyped local path never
    /// silently turns into a network download.
    Hub(String),
    /// An OpenAI-compatible server, written `remote:URL [MODEL]`.
    Remote(RemoteSource),
}

impl ModelSource {
    /// `hf:owner/name` is a hub id; anything else is a local directory.
    pub fn parse(text: &str) -> Self {
        if let Some(rest) = text.strip_prefix("remote:") {
            return ModelSource::Remote(RemoteSource::parse(rest));
        }
        match text.strip_prefix("hf:") {
            Some(id) => ModelSource::Hub(id.to_string()),
            None => ModelSource::Local(PathBuf::from(text)),
        }
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Local(path) => write!(f, "{}", path.display()),
            ModelSource::Hub(id) => write!(f, "hf:{id}"),
            ModelSource::Remote(remote) => write!(f, "{remote}"),
        }
    }
}

/// Everything needed to load a model.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub source: ModelSource,
    pub device: Device,
    pub dtype: DType,
    pub isq: Option<IsqKind>,
    /// Requests decoded together (continuous batching); 1 is enough for a chat.
    pub max_num_seqs: usize,
    /// Conversations whose KV cache mistral.rs keeps to reuse for a request that starts the
    /// same way (same tokens, same images); 0 turns the prefix cache off.
    pub prefix_cache: usize,
}

impl LoadSpec {
    pub fn new(source: ModelSource) -> Self {
        Self {
            source,
            device: Device::Cpu,
            dtype: DType::Auto,
            isq: None,
            max_num_seqs: 4,
            prefix_cache: 0,
        }
    }
}

/// What the status bar and `--json` outputs say about the loaded model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub source: String,
    pub architecture: String,
    pub device: String,
    pub dtype: String,
    pub isq: Option<String>,
    /// Conversations the prefix cache keeps (0: off).
    pub prefix_cache: usize,
    pub max_context: Option<usize>,
    pub load_seconds: f64,
    /// What the user should know about how the model is reached (key over plain http…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The model directory is wrong; the user must fix it (exit code 2).
    #[error(transparent)]
    BadModel(#[from] ModelDirError),
    /// The engine failed while loading (exit code 1).
    #[error(transparent)]
    Engine(#[from] anyhow::Error),
}

/// Load the model a spec names: local directories are validated first, so a bad directory is
/// a [`LoadError::BadModel`] naming the file, never a network lookup or an engine crash.
pub async fn load(spec: &LoadSpec) -> Result<Box<dyn Engine>, LoadError> {
    let validated = match &spec.source {
        ModelSource::Local(dir) => Some(validate_model_dir(dir)?),
        ModelSource::Hub(_) => None,
        ModelSource::Remote(remote) => return Ok(Box::new(RemoteEngine::connect(remote).await?)),
    };
    if let Some(validated) = validated
        .as_ref()
        .filter(|v| v.architecture.engine == Backend::Candle)
    {
        let (spec, validated) = (spec.clone(), validated.clone());
        // Loading maps and converts the weights: seconds of CPU work, off the async runtime.
        return tokio::task::spawn_blocking(move || {
            llava_onevision::CandleEngine::load(&spec, validated)
        })
        .await
        .map_err(|e| LoadError::Engine(anyhow::anyhow!("the loader crashed: {e}")))?
        .map(|engine| Box::new(engine) as Box<dyn Engine>);
    }
    Ok(Box::new(
        MistralEngine::load_validated(spec, validated).await?,
    ))
}

/// A loaded model that answers chat requests.
pub trait Engine: Send + Sync {
    fn describe(&self) -> ModelInfo;
    /// Whether this engine can take `request` at all (its images fit the model's context, its
    /// template renders): `Err` is the user's input at fault, one line saying why. Callers
    /// that can refuse input (exit code 2, HTTP 400) ask before [`Engine::stream`], which
    /// reports the same problem as `Failed` when not asked.
    fn check(&self, _request: &ChatRequest) -> Result<(), Refused> {
        Ok(())
    }
    /// Start generating. Never blocks on inference: events arrive on the returned
    /// [`Generation`], which always ends with exactly one `Finished` or `Failed`.
    fn stream(&self, request: ChatRequest) -> Generation;
}
