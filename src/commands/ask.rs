//! `radiochat ask`: one question (with images) to the model, answer streamed.

use super::{CommandError, CommandResult};
use crate::config::Settings;
use crate::engine::{ChatMessage, ChatRequest, EngineEvent, FinishReason, ModelInfo, Usage};
use crate::imaging;
use std::path::PathBuf;
use std::time::Instant;
use tokio::runtime::Runtime;

pub struct AskArgs {
    pub settings: Settings,
    pub question: String,
    pub images: Vec<PathBuf>,
    /// How FITS images are read (HDU, plane, pixel budget).
    pub fits: imaging::FitsOptions,
    /// Use the demo model (written on first use) unless `--model` is given, and the demo
    /// cutout when no image is given.
    pub demo: bool,
    pub ignore_eos: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AskOutcome {
    pub answer: String,
    pub model: ModelInfo,
    pub usage: Usage,
    pub finish_reason: FinishReason,
    pub stages: Stages,
}

/// Where the wall time of one `ask` went, in milliseconds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stages {
    /// Reading the image files (FITS decode included).
    pub read_ms: f64,
    /// radio-llava's transform to the model input.
    pub transform_ms: f64,
    /// Loading the model (or connecting to the server).
    pub load_ms: f64,
    /// Request sent → first token: the engine's image preprocessing, vision encoder, prefill.
    pub first_token_ms: f64,
    /// First token → last.
    pub decode_ms: f64,
    /// Start of the command → last token.
    pub total_ms: f64,
}

/// Check the input, load the model, stream the answer through `on_token`. `on_loaded` gets
/// the cancel switch once generation starts (the CLI wires Ctrl-C to it).
pub fn run(
    mut args: AskArgs,
    runtime: &Runtime,
    on_started: &mut dyn FnMut(crate::engine::CancelHandle),
    on_token: &mut dyn FnMut(&str),
) -> CommandResult<AskOutcome> {
    let question = args.question.trim();
    if question.is_empty() {
        return Err(CommandError::bad(
            "empty question: say what you want to know about the image",
        ));
    }
    let mut images = args.images.clone();
    if args.demo && images.is_empty() {
        images.push(super::demo::cutout_path()?);
    }
    let started = Instant::now();
    let ms = |from: Instant| from.elapsed().as_secs_f64() * 1000.0;
    let mut stages = Stages::default();
    let mut pictures = Vec::with_capacity(images.len());
    for path in &images {
        let read = Instant::now();
        let image = imaging::RadioImage::open(path, &args.fits)?;
        stages.read_ms += ms(read);
        let transform = Instant::now();
        let input = image.model_input(&args.settings.transform())?;
        stages.transform_ms += ms(transform);
        pictures.push(image::DynamicImage::ImageRgb8(input));
    }
    if super::demo::uses_demo_model(args.demo, &args.settings) {
        super::demo::fill_system_prompt(&mut args.settings);
    }
    let spec = super::model_choice::required_model_spec(&args.settings, args.demo, None)?;
    let load = Instant::now();
    let engine = runtime.block_on(crate::engine::load(&spec))?;
    stages.load_ms = ms(load);

    let mut messages = Vec::new();
    if let Some(system) = &args.settings.system_prompt.value {
        messages.push(ChatMessage::system(system.clone()));
    }
    messages.push(ChatMessage::user(question, pictures));
    let mut sampling = args.settings.sampling();
    sampling.ignore_eos = args.ignore_eos;
    let request = ChatRequest { messages, sampling };
    engine.check(&request).map_err(CommandError::bad)?;
    let sent = Instant::now();
    let mut generation = engine.stream(request);
    on_started(generation.cancel_handle());

    let mut answer = String::new();
    let mut first_token = None;
    while let Some(event) = generation.blocking_next() {
        match event {
            EngineEvent::Token(text) => {
                first_token.get_or_insert_with(Instant::now);
                on_token(&text);
                answer.push_str(&text);
            }
            EngineEvent::Finished { reason, usage } => {
                let first = first_token.unwrap_or_else(Instant::now);
                stages.first_token_ms = (first - sent).as_secs_f64() * 1000.0;
                stages.decode_ms = ms(first);
                stages.total_ms = ms(started);
                return Ok(AskOutcome {
                    answer,
                    model: engine.describe(),
                    usage,
                    finish_reason: reason,
                    stages,
                });
            }
            EngineEvent::Failed(message) => {
                return Err(CommandError::Failed(anyhow::anyhow!("{message}")));
            }
        }
    }
    Err(CommandError::Failed(anyhow::anyhow!(
        "the engine closed the answer stream unexpectedly"
    )))
}
