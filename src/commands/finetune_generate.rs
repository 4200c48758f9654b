//! `finetune data --generate-with MODEL` (or `--remote URL`): the model that writes Q&A pairs,
//! loaded as `ask` loads one (the embedded engine, the demo model, or an OpenAI-compatible
//! server), asked one image at a time.

use super::{CommandError, CommandResult};
use crate::config::Settings;
use crate::engine::{ChatMessage, ChatRequest, Engine, Sampling};
use crate::finetune::data::{self, DataSpec, DataSummary};
use crate::finetune::generate::{Ask, Cache, Generated, Generator, Prompt};
use std::path::{Path, PathBuf};

/// Which model writes the pairs, and how many it is asked for.
pub struct GenerateArgs {
    /// `--generate-with` (or `--remote`) applied, as every command resolves a model.
    pub settings: Settings,
    /// `--generate-with demo`.
    pub demo: bool,
    pub k: usize,
    /// The answers kept across runs (default: generated-qa.jsonl in radiochat's data dir).
    pub cache: Option<PathBuf>,
    /// A prompt file in place of radio-llava's (prompts/finetune/generate.toml's fields).
    pub prompt: Option<PathBuf>,
}

/// The cache used when none is named.
pub fn default_cache() -> PathBuf {
    crate::config::data_dir().join("generated-qa.jsonl")
}

struct EngineAsk<'r> {
    runtime: &'r tokio::runtime::Runtime,
    engine: Box<dyn Engine>,
    name: String,
    sampling: Sampling,
    system: Option<String>,
}

impl Ask for EngineAsk<'_> {
    fn model(&self) -> String {
        self.name.clone()
    }

    fn ask(&mut self, query: &str, image: &Path) -> Result<String, String> {
        let picture = image::open(image).map_err(|e| format!("{}: {e}", image.display()))?;
        let mut messages: Vec<ChatMessage> = self
            .system
            .iter()
            .map(|s| ChatMessage::system(s.clone()))
            .collect();
        messages.push(ChatMessage::user(query, vec![picture]));
        let request = ChatRequest {
            messages,
            sampling: self.sampling.clone(),
        };
        self.engine.check(&request).map_err(|e| e.to_string())?;
        let generation = self.engine.stream(request);
        let (answer, _usage) = self.runtime.block_on(generation.answer())?;
        Ok(answer)
    }
}

/// Build the training set, with pairs written by the model when `generate` is given;
/// `on_progress` sees the counts after each image.
pub fn data_with_pairs(
    spec: &DataSpec,
    generate: Option<GenerateArgs>,
    runtime: &tokio::runtime::Runtime,
    on_progress: &mut dyn FnMut(&Generated),
) -> CommandResult<DataSummary> {
    let Some(mut args) = generate else {
        return data::build(spec, None).map_err(CommandError::from);
    };
    if args.k == 0 {
        return Err(CommandError::bad("--generate-k must be at least 1"));
    }
    if super::demo::uses_demo_model(args.demo, &args.settings) {
        super::demo::fill_system_prompt(&mut args.settings);
    }
    let name = super::model_choice::recorded_name(&args.settings, args.demo);
    let load = super::model_choice::required_model_spec(&args.settings, args.demo, None)?;
    let engine = runtime.block_on(crate::engine::load(&load))?;
    let mut asker = EngineAsk {
        runtime,
        engine,
        name,
        sampling: args.settings.sampling(),
        system: args.settings.system_prompt.value.clone(),
    };
    let cache_path = args.cache.unwrap_or_else(default_cache);
    let mut generator = Generator {
        prompt: match &args.prompt {
            Some(path) => Prompt::from_file(path)?,
            None => Prompt::built_in()?,
        },
        k: args.k,
        cache: Cache::open(&cache_path)?,
        ask: &mut asker,
        counts: Generated::default(),
        on_progress,
    };
    let summary = data::build(spec, Some(&mut generator))?;
    if summary.generated.as_ref().is_some_and(|g| g.pairs == 0) {
        let g = summary.generated.as_ref().cloned().unwrap_or_default();
        return Err(CommandError::bad(format!(
            "the model wrote no usable pair for {} image(s) ({} not JSON, {} contradicting the labels, {} failed{}); the set without them is in {}",
            g.images,
            g.invalid_json,
            g.contradictions,
            g.failed,
            g.dropped_examples
                .first()
                .map(|e| format!(", e.g. {e}"))
                .unwrap_or_default(),
            spec.out.display()
        )));
    }
    Ok(summary)
}
