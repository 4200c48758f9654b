//! The TUI's state and how it changes: worker events in, worker commands out. Keys are in
//! `keys.rs`, slash commands in `actions.rs`, drawing in `ui.rs`; the event loop in `mod.rs`
//! moves commands from `outbox` to the worker, so everything here runs in tests without a
//! terminal or a model.

use super::bench_view::{BenchEvent, BenchRun};
use super::input::InputBox;
use super::jobs_view::{JobRow, JobsView};
use super::sessions_browser::SessionsBrowser;
use crate::chat::transcript::Exported;
use crate::chat::worker::{AskJob, HistoryTurn, WorkerCommand, WorkerEvent};
use crate::chat::{AnswerState, Event, LiveSession, SessionStore};
use crate::commands::finetune::Launched;
use crate::engine::{CancelHandle, FinishReason, LoadSpec, ModelInfo, Sampling, Usage};
use crate::imaging::TransformOptions;
use crate::util::clock;
use image::RgbImage;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Instant;

/// What the engine is doing, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineState {
    NoModel,
    Loading(String),
    Ready,
    /// Waiting for or receiving an answer.
    Generating {
        started: Instant,
        tokens: usize,
    },
    LoadFailed(String),
}

/// A full-screen layer over the chat.
#[derive(Debug)]
pub enum Overlay {
    /// Help, scrolled down this many lines.
    Help(u16),
    /// The current image full screen under `PREVIEW_STRETCHES[stretch]`.
    Preview {
        stretch: usize,
    },
    /// Lines of text under a title (`/info`, `/bench tasks`, `/bench prompt`), scrolled by
    /// `scroll` lines.
    Info {
        title: &'static str,
        lines: Vec<String>,
        scroll: u16,
    },
    Sessions(SessionsBrowser),
    /// The benchmark run (`/bench`).
    Bench,
    /// Fine-tune jobs (`/jobs`).
    Jobs(JobsView),
}

impl Overlay {
    /// An [`Overlay::Info`] at its top.
    pub fn info(title: &'static str, lines: Vec<String>) -> Overlay {
        Overlay::Info {
            title,
            lines,
            scroll: 0,
        }
    }
}

/// The one-line message above the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// The stretches the preview cycles through (`s` / `S`); the first is the model input.
pub const PREVIEW_STRETCHES: &[&str] = crate::imaging::stretch::STRETCH_NAMES;

/// Results of work done on short-lived helper threads.
pub enum Background {
    Exported(Result<Exported, String>),
    /// The sessions browser's message index.
    SessionContents(HashMap<String, String>),
    Bench(Box<BenchEvent>),
    Launched(Result<Launched, String>),
    Jobs(Vec<JobRow>),
    /// A one-line result of background work: info, or a warning.
    Notice(Result<String, String>),
}

pub struct App {
    pub session: LiveSession,
    pub store: SessionStore,
    pub sampling: Sampling,
    pub transform: TransformOptions,
    pub device: String,
    /// What `/model DIR` loads with (device, dtype, ISQ from the settings).
    pub load_template: LoadSpec,
    /// The config file this chat read (handed on to SLURM array tasks).
    pub config_path: std::path::PathBuf,
    pub engine: EngineState,
    pub model_info: Option<ModelInfo>,
    pub input: InputBox,
    pub palette_index: usize,
    pub overlay: Option<Overlay>,
    /// Lines scrolled up from the bottom of the conversation (0 = follow new text).
    pub scroll_up: u16,
    pub notice: Option<Notice>,
    /// Model inputs of images seen in this run, by path (thumbnails, preview).
    pub pictures: HashMap<String, RgbImage>,
    /// Display stretches of images for the preview, by (path, stretch name).
    pub stretched: HashMap<(String, String), RgbImage>,
    pub image_info: HashMap<String, Vec<String>>,
    pub cancel: Option<CancelHandle>,
    /// An answer was asked for and has not ended yet.
    pub awaiting: bool,
    /// A message typed before the model was ready; sent once it is.
    pub queued: Option<String>,
    pub quit_armed: Option<Instant>,
    pub should_quit: bool,
    pub outbox: Vec<WorkerCommand>,
    /// Text to put on the clipboard (the loop writes it as OSC 52).
    pub clipboard: Option<String>,
    pub last_usage: Option<Usage>,
    /// Turns before this index are hidden by /clear.
    pub clear_from: usize,
    pub background_tx: mpsc::Sender<Background>,
    pub background_rx: mpsc::Receiver<Background>,
    /// The benchmark running, or the last one run.
    pub bench: Option<BenchRun>,
}

impl App {
    pub fn new(
        session: LiveSession,
        store: SessionStore,
        sampling: Sampling,
        transform: TransformOptions,
        load_template: LoadSpec,
    ) -> App {
        let (background_tx, background_rx) = mpsc::channel();
        let mut app = App {
            device: load_template.device.to_string(),
            session,
            store,
            sampling,
            transform,
            load_template,
            config_path: crate::config::default_config_path(),
            engine: EngineState::NoModel,
            model_info: None,
            input: InputBox::new(),
            palette_index: 0,
            overlay: None,
            scroll_up: 0,
            notice: None,
            pictures: HashMap::new(),
            stretched: HashMap::new(),
            image_info: HashMap::new(),
            cancel: None,
            awaiting: false,
            queued: None,
            quit_armed: None,
            should_quit: false,
            outbox: Vec::new(),
            clipboard: None,
            last_usage: None,
            clear_from: 0,
            background_tx,
            background_rx,
            bench: None,
        };
        app.announce_session();
        app
    }

    /// Say what is unusual about the session just opened (skipped lines, read-only, unsaved).
    pub fn announce_session(&mut self) {
        if let Some(warning) = self.session.warnings.first() {
            let more = self.session.warnings.len() - 1;
            let text = if more > 0 {
                format!("{warning} (and {more} more)")
            } else {
                warning.clone()
            };
            self.warn(text);
        } else if let Some(why) = &self.session.unsaved {
            self.warn(why.clone());
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: false,
        });
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: true,
        });
    }

    pub fn load_model(&mut self, spec: LoadSpec) {
        self.engine = EngineState::Loading(spec.source.to_string());
        self.outbox.push(WorkerCommand::Load(spec));
    }

    /// Send a chat message (attachments pending in the session go with it).
    pub fn send_message(&mut self, text: String) {
        match &self.engine {
            EngineState::Loading(_) => {
                self.queued = Some(text);
                self.info("queued: it is sent when the model has loaded");
                return;
            }
            EngineState::NoModel | EngineState::LoadFailed(_) => {
                self.warn("no model loaded: /model DIR loads one (or start with --demo)");
                return;
            }
            _ if self.awaiting => {
                self.warn("an answer is still streaming: Esc cancels it");
                return;
            }
            _ => {}
        }
        self.session.record(Event::User {
            at: clock::now(),
            text,
        });
        self.notice = None;
        self.ask();
    }

    /// Ask for an answer to the last turn, with the whole history.
    fn ask(&mut self) {
        let conversation = &self.session.conversation;
        let count = conversation.turns.len();
        let turns = conversation
            .turns
            .iter()
            .enumerate()
            .map(|(i, t)| HistoryTurn {
                question: t.question.clone(),
                images: t.images.clone(),
                answer: (i + 1 < count).then(|| t.answer.clone()),
            })
            .collect();
        self.outbox.push(WorkerCommand::Ask(AskJob {
            system_prompt: conversation.system_prompt.clone(),
            turns,
            sampling: self.sampling.clone(),
            transform: self.transform,
        }));
        self.awaiting = true;
        self.scroll_up = 0;
        self.engine = EngineState::Generating {
            started: Instant::now(),
            tokens: 0,
        };
    }

    /// Ask the last question again (a new turn; the journal never rewrites history).
    pub fn regenerate(&mut self) {
        if self.awaiting {
            self.warn("an answer is still streaming: Esc cancels it first");
            return;
        }
        let Some(last) = self.session.conversation.turns.last().cloned() else {
            self.warn("nothing to regenerate yet");
            return;
        };
        for image in &last.images {
            self.session.record(Event::Image {
                at: clock::now(),
                path: image.path.clone(),
                sha256: image.sha256.clone(),
                settings: image.settings.clone(),
            });
        }
        self.send_message(last.question);
        self.info("regenerating the last answer");
    }

    pub fn cancel_generation(&mut self) {
        match &self.cancel {
            Some(handle) => {
                handle.cancel();
                self.info("cancelling…");
            }
            None => self.info("nothing is being generated"),
        }
    }

    pub fn copy_last_answer(&mut self) {
        match self.session.conversation.turns.last() {
            Some(turn) if !turn.answer.is_empty() => {
                let chars = turn.answer.chars().count();
                self.clipboard = Some(turn.answer.clone());
                self.info(format!(
                    "copied the last answer ({chars} characters, OSC 52)"
                ));
            }
            _ => self.warn("no answer to copy yet"),
        }
    }

    pub fn on_worker(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Loading(name) => self.engine = EngineState::Loading(name),
            WorkerEvent::Loaded(info) => {
                self.engine = EngineState::Ready;
                let verb = if info.device == "remote" {
                    "connected"
                } else {
                    "loaded"
                };
                self.info(format!(
                    "{} {verb} in {:.1} s",
                    info.name, info.load_seconds
                ));
                self.device = info.device.clone();
                for warning in &info.warnings {
                    self.warn(warning.clone());
                }
                self.model_info = Some(info);
                if let Some(text) = self.queued.take() {
                    self.send_message(text);
                }
            }
            WorkerEvent::LoadFailed(message) => {
                self.warn(format!("model not loaded: {message}"));
                self.engine = EngineState::LoadFailed(message);
                self.queued = None;
            }
            WorkerEvent::Started(handle) => self.cancel = Some(handle),
            WorkerEvent::Token(text) => {
                self.session.token(&text);
                if let EngineState::Generating { tokens, .. } = &mut self.engine {
                    *tokens += 1;
                }
            }
            WorkerEvent::Finished { reason, usage } => {
                self.session.record(Event::Done {
                    at: clock::now(),
                    finish: reason,
                    usage: usage.clone(),
                });
                if reason == FinishReason::Cancelled {
                    self.info("cancelled: the partial answer is kept");
                }
                self.end_answer(Some(usage));
            }
            WorkerEvent::Failed(message) => {
                if self.awaiting {
                    self.session.record(Event::Error {
                        at: clock::now(),
                        message: message.clone(),
                    });
                }
                self.warn(message);
                self.end_answer(None);
            }
            WorkerEvent::Inspected(inspected) => {
                let image = inspected.image;
                let name = short_name(&image.path);
                self.pictures.insert(image.path.clone(), inspected.picture);
                self.image_info.insert(image.path.clone(), inspected.info);
                self.session.record(Event::Image {
                    at: clock::now(),
                    path: image.path,
                    sha256: image.sha256,
                    settings: image.settings,
                });
                self.info(format!(
                    "attached {name}: it goes with your next message (/preview shows it)"
                ));
            }
            WorkerEvent::InspectFailed(message) => self.warn(message),
            WorkerEvent::Rendered {
                path,
                stretch,
                picture,
            } => {
                self.stretched.insert((path, stretch), picture);
            }
        }
    }

    fn end_answer(&mut self, usage: Option<Usage>) {
        self.awaiting = false;
        self.cancel = None;
        if usage.is_some() {
            self.last_usage = usage;
        }
        if matches!(self.engine, EngineState::Generating { .. }) {
            self.engine = EngineState::Ready;
        }
    }

    pub fn on_background(&mut self, result: Background) {
        match result {
            Background::Exported(Ok(exported)) => {
                let mut text = format!("saved {}", exported.path.display());
                if !exported.thumbnails.is_empty() {
                    text.push_str(&format!(" (+{} thumbnails)", exported.thumbnails.len()));
                }
                if !exported.missing.is_empty() {
                    text.push_str(&format!(
                        "; missing images: {}",
                        exported.missing.join(", ")
                    ));
                }
                self.info(text);
            }
            Background::Exported(Err(message)) => self.warn(message),
            Background::SessionContents(contents) => {
                if let Some(Overlay::Sessions(browser)) = &mut self.overlay {
                    browser.contents = Some(contents);
                }
            }
            Background::Bench(event) => self.on_bench(*event),
            Background::Launched(launched) => self.on_launched(launched),
            Background::Jobs(rows) => self.on_jobs(rows),
            Background::Notice(Ok(text)) => self.info(text),
            Background::Notice(Err(text)) => self.warn(text),
        }
    }

    /// The image the preview and /info refer to: the newest attachment, else the newest
    /// image of the conversation.
    pub fn current_image(&self) -> Option<String> {
        let c = &self.session.conversation;
        c.pending_images
            .last()
            .or_else(|| c.turns.iter().rev().find_map(|t| t.images.last()))
            .map(|i| i.path.clone())
    }

    /// The picture the preview shows under `PREVIEW_STRETCHES[stretch]`, if it is ready;
    /// asks the worker for it otherwise.
    pub fn preview_picture(&self, stretch: usize) -> Option<&RgbImage> {
        let path = self.current_image()?;
        match stretch {
            0 => self.pictures.get(&path),
            i => self.stretched.get(&(
                path,
                PREVIEW_STRETCHES[i % PREVIEW_STRETCHES.len()].to_string(),
            )),
        }
    }

    /// Switch the preview to the next (or previous) stretch, rendering it off the UI thread.
    pub fn cycle_stretch(&mut self, forward: bool) {
        let Some(Overlay::Preview { stretch }) = &mut self.overlay else {
            return;
        };
        let n = PREVIEW_STRETCHES.len();
        *stretch = if forward {
            (*stretch + 1) % n
        } else {
            (*stretch + n - 1) % n
        };
        let index = *stretch;
        let name = PREVIEW_STRETCHES[index].to_string();
        let Some(path) = self.current_image() else {
            return;
        };
        if index == 0 || self.stretched.contains_key(&(path.clone(), name.clone())) {
            return;
        }
        let settings = self
            .session
            .conversation
            .pending_images
            .iter()
            .chain(
                self.session
                    .conversation
                    .turns
                    .iter()
                    .flat_map(|t| &t.images),
            )
            .find(|i| i.path == path)
            .map(|i| i.settings.clone())
            .unwrap_or_default();
        self.outbox.push(WorkerCommand::Render {
            path,
            settings,
            stretch: name,
            contrast: self.transform.contrast,
        });
    }

    /// Tokens per second of the answer streaming now, or of the last one.
    pub fn rate(&self) -> Option<f64> {
        match &self.engine {
            EngineState::Generating { started, tokens } if *tokens > 1 => {
                Some(*tokens as f64 / started.elapsed().as_secs_f64().max(1e-3))
            }
            _ => self.last_usage.as_ref().map(|u| u.decode_tok_per_s),
        }
    }

    /// Whether the last turn's answer is still arriving.
    pub fn streaming(&self) -> bool {
        self.session
            .conversation
            .turns
            .last()
            .is_some_and(|t| t.state == AnswerState::Streaming)
    }
}

pub fn short_name(path: &str) -> String {
    if let Some(remote) = path.strip_prefix("remote:") {
        // `remote:URL [MODEL]`: the model if named, else the server's host and port.
        let source = crate::engine::RemoteSource::parse(remote);
        return source.model.unwrap_or_else(|| {
            let host = source.url.split("://").nth(1).unwrap_or(&source.url);
            host.split('/').next().unwrap_or(host).to_string()
        });
    }
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}
