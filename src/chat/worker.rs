//! The engine's own thread: loads models, reads and transforms images, runs generations.
//! A front-end sends it [`WorkerCommand`]s and polls [`WorkerEvent`]s, so nothing slow
//! ever runs on the thread that draws the screen.

use super::conversation::ImageRef;
use super::journal::ImageSettings;
use crate::engine::{
    self, CancelHandle, ChatMessage, ChatRequest, Engine, EngineEvent, FinishReason, LoadSpec,
    ModelInfo, ModelSource, Sampling, Usage,
};
use crate::imaging::{FitsOptions, RadioImage, TransformOptions};
use image::DynamicImage;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

/// One earlier (or the current) exchange, as the model gets it.
#[derive(Debug, Clone)]
pub struct HistoryTurn {
    pub question: String,
    pub images: Vec<ImageRef>,
    /// `None` for the turn being answered.
    pub answer: Option<String>,
}

/// A question to answer, with the whole history before it.
#[derive(Debug, Clone)]
pub struct AskJob {
    pub system_prompt: Option<String>,
    pub turns: Vec<HistoryTurn>,
    pub sampling: Sampling,
    pub transform: TransformOptions,
}

/// Work that borrows the loaded model on a thread of its own (a benchmark run): it gets the
/// engine, the model's source, and the runtime; or that there is no model.
pub type EngineJob = Box<dyn FnOnce(Result<SharedEngine, NoModel>) + Send>;

/// Work needing a model arrived while none was loaded (or the last load failed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no model loaded: /model DIR loads one")]
pub struct NoModel;

/// The loaded model, shared with work outside the engine thread.
pub struct SharedEngine {
    pub engine: Arc<dyn Engine>,
    pub source: ModelSource,
    pub runtime: tokio::runtime::Handle,
}

pub enum WorkerCommand {
    Load(LoadSpec),
    Ask(AskJob),
    WithEngine(EngineJob),
    /// The image under another display stretch (for the preview).
    Render {
        path: String,
        settings: ImageSettings,
        stretch: String,
        contrast: f64,
    },
    /// Read an image to attach: checksum, header, and the picture the model will get.
    Inspect {
        path: std::path::PathBuf,
        settings: ImageSettings,
        transform: TransformOptions,
    },
}

/// An image read for attaching.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub image: ImageRef,
    /// The model input (what the preview shows).
    pub picture: image::RgbImage,
    /// Header summary lines (FITS) or format and size.
    pub info: Vec<String>,
}

/// What the worker reports, in order.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    Loading(String),
    Loaded(ModelInfo),
    LoadFailed(String),
    /// Generation started; the handle stops it.
    Started(CancelHandle),
    Token(String),
    Finished {
        reason: FinishReason,
        usage: Usage,
    },
    Failed(String),
    Inspected(Box<Inspected>),
    InspectFailed(String),
    Rendered {
        path: String,
        stretch: String,
        picture: image::RgbImage,
    },
}

pub struct Worker {
    commands: mpsc::Sender<WorkerCommand>,
    events: mpsc::Receiver<WorkerEvent>,
    /// For image reads, which run on threads of their own so that an answer streaming on
    /// the engine thread does not hold them up.
    events_tx: mpsc::Sender<WorkerEvent>,
}

impl Worker {
    /// Start the engine thread.
    pub fn spawn() -> std::io::Result<Worker> {
        let (command_tx, command_rx) = mpsc::channel();
        let (event_tx, event_rx) = mpsc::channel();
        let engine_events = event_tx.clone();
        std::thread::Builder::new()
            .name("radiochat-engine".into())
            .spawn(move || run(command_rx, engine_events))?;
        Ok(Worker {
            commands: command_tx,
            events: event_rx,
            events_tx: event_tx,
        })
    }

    pub fn send(&self, command: WorkerCommand) {
        match command {
            WorkerCommand::Load(_) | WorkerCommand::Ask(_) | WorkerCommand::WithEngine(_) => {
                let _ = self.commands.send(command);
            }
            image_work => {
                let events = self.events_tx.clone();
                std::thread::spawn(move || {
                    let _ = events.send(read_image(image_work));
                });
            }
        }
    }

    pub fn try_recv(&self) -> Option<WorkerEvent> {
        self.events.try_recv().ok()
    }

    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<WorkerEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

fn run(commands: mpsc::Receiver<WorkerCommand>, events: mpsc::Sender<WorkerEvent>) {
    let emit = |event: WorkerEvent| {
        let _ = events.send(event);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            emit(WorkerEvent::LoadFailed(format!(
                "cannot start the engine runtime: {e}"
            )));
            return;
        }
    };
    let mut engine: Option<(Arc<dyn Engine>, ModelSource)> = None;
    let mut pictures = PictureCache::default();
    while let Ok(command) = commands.recv() {
        match command {
            WorkerCommand::Load(spec) => {
                emit(WorkerEvent::Loading(spec.source.to_string()));
                engine = None;
                match runtime.block_on(engine::load(&spec)) {
                    Ok(loaded) => {
                        emit(WorkerEvent::Loaded(loaded.describe()));
                        engine = Some((Arc::from(loaded), spec.source.clone()));
                    }
                    Err(e) => emit(WorkerEvent::LoadFailed(e.to_string())),
                }
            }
            image_work @ (WorkerCommand::Render { .. } | WorkerCommand::Inspect { .. }) => {
                emit(read_image(image_work))
            }
            WorkerCommand::WithEngine(job) => {
                let shared = engine
                    .as_ref()
                    .map(|(engine, source)| SharedEngine {
                        engine: engine.clone(),
                        source: source.clone(),
                        runtime: runtime.handle().clone(),
                    })
                    .ok_or(NoModel);
                let spawned = std::thread::Builder::new()
                    .name("radiochat-engine-job".into())
                    .spawn(move || job(shared));
                if let Err(e) = spawned {
                    emit(WorkerEvent::Failed(format!("cannot start a thread: {e}")));
                }
            }
            WorkerCommand::Ask(job) => {
                let Some((model, _)) = &engine else {
                    emit(WorkerEvent::Failed(NoModel.to_string()));
                    continue;
                };
                let request = match pictures.request(&job) {
                    Ok(request) => request,
                    Err(message) => {
                        emit(WorkerEvent::Failed(message));
                        continue;
                    }
                };
                let mut generation = model.stream(request);
                emit(WorkerEvent::Started(generation.cancel_handle()));
                let _guard = runtime.enter();
                loop {
                    match generation.blocking_next() {
                        Some(EngineEvent::Token(text)) => emit(WorkerEvent::Token(text)),
                        Some(EngineEvent::Finished { reason, usage }) => {
                            emit(WorkerEvent::Finished { reason, usage });
                            break;
                        }
                        Some(EngineEvent::Failed(message)) => {
                            emit(WorkerEvent::Failed(message));
                            break;
                        }
                        None => {
                            emit(WorkerEvent::Failed(
                                "the engine closed the answer stream unexpectedly".into(),
                            ));
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// `Inspect` and `Render`, which need no engine.
fn read_image(command: WorkerCommand) -> WorkerEvent {
    match command {
        WorkerCommand::Render {
            path,
            settings,
            stretch,
            contrast,
        } => match render(&path, &settings, &stretch, contrast) {
            Ok(picture) => WorkerEvent::Rendered {
                path,
                stretch,
                picture,
            },
            Err(message) => WorkerEvent::InspectFailed(message),
        },
        WorkerCommand::Inspect {
            path,
            settings,
            transform,
        } => match inspect(&path, settings, &transform) {
            Ok(inspected) => WorkerEvent::Inspected(Box::new(inspected)),
            Err(message) => WorkerEvent::InspectFailed(message),
        },
        WorkerCommand::Load(_) | WorkerCommand::Ask(_) | WorkerCommand::WithEngine(_) => {
            WorkerEvent::Failed("internal: engine work sent to the image reader".into())
        }
    }
}

fn fits_options(settings: &ImageSettings) -> FitsOptions {
    FitsOptions {
        hdu: settings.hdu.as_deref().and_then(|h| h.parse().ok()),
        plane: settings.plane.clone(),
        ..FitsOptions::default()
    }
}

fn inspect(
    path: &std::path::Path,
    settings: ImageSettings,
    transform: &TransformOptions,
) -> Result<Inspected, String> {
    let Some(text) = path.to_str() else {
        return Err(format!(
            "{}: the path is not valid UTF-8; rename the file",
            path.display()
        ));
    };
    let image = RadioImage::open(path, &fits_options(&settings)).map_err(|e| e.to_string())?;
    let picture = image.model_input(transform).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let info = match &image.header {
        Some(header) => header.lines(),
        None => {
            let (w, h) = image.dimensions();
            vec![format!("{w} × {h} pixels")]
        }
    };
    let absolute = std::path::absolute(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| text.to_string());
    Ok(Inspected {
        image: ImageRef {
            path: absolute,
            sha256: crate::util::hash::sha256_hex(&bytes),
            settings,
        },
        picture,
        info,
    })
}

fn render(
    path: &str,
    settings: &ImageSettings,
    stretch: &str,
    contrast: f64,
) -> Result<image::RgbImage, String> {
    use crate::imaging::Pixels;
    use crate::imaging::stretch::{self, Stretch};
    let chosen: Stretch = stretch.parse()?;
    let image = RadioImage::open(std::path::Path::new(path), &fits_options(settings))
        .map_err(|e| e.to_string())?;
    match &image.pixels {
        Pixels::Rgb(rgb) => Ok(rgb.clone()),
        Pixels::Plane(plane) => {
            let levels =
                stretch::render(plane, chosen, contrast).map_err(|e| format!("{path}: {e}"))?;
            Ok(crate::imaging::transform::grey_to_rgb(
                plane.width,
                plane.height,
                &levels,
            ))
        }
    }
}

/// Model inputs already computed, keyed by file, checksum and read settings.
#[derive(Default)]
struct PictureCache {
    pictures: HashMap<(String, String, String), DynamicImage>,
}

impl PictureCache {
    fn request(&mut self, job: &AskJob) -> Result<ChatRequest, String> {
        let mut messages = Vec::new();
        if let Some(system) = &job.system_prompt {
            messages.push(ChatMessage::system(system.clone()));
        }
        for turn in &job.turns {
            let images = turn
                .images
                .iter()
                .map(|image| self.picture(image, &job.transform))
                .collect::<Result<Vec<_>, _>>()?;
            messages.push(ChatMessage::user(turn.question.clone(), images));
            if let Some(answer) = &turn.answer {
                messages.push(ChatMessage::assistant(answer.clone()));
            }
        }
        Ok(ChatRequest {
            messages,
            sampling: job.sampling.clone(),
        })
    }

    fn picture(
        &mut self,
        image: &ImageRef,
        transform: &TransformOptions,
    ) -> Result<DynamicImage, String> {
        let key = (
            image.path.clone(),
            image.sha256.clone(),
            format!("{:?}{transform:?}", image.settings),
        );
        if let Some(picture) = self.pictures.get(&key) {
            return Ok(picture.clone());
        }
        let picture = RadioImage::open(
            std::path::Path::new(&image.path),
            &fits_options(&image.settings),
        )
        .and_then(|i| i.model_input(transform))
        .map(DynamicImage::ImageRgb8)
        .map_err(|e| e.to_string())?;
        self.pictures.insert(key, picture.clone());
        Ok(picture)
    }
}
