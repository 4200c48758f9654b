//! The conversation's state: the session, what the engine is doing, the pictures read and the
//! answer in flight. The user's requests and the model worker's events change it and return
//! [`Effect`]s (commands for the worker, notices, the clipboard) that the app carries out; it
//! knows nothing of `App`, keys or the terminal, so it is tested on its own.

use super::views::conversation::ConversationView;
use super::views::{Effect, short_name};
use crate::chat::history;
use crate::chat::worker::{AskJob, WorkerCommand, WorkerEvent};
use crate::chat::{Event, ImageSettings, LiveSession};
use crate::engine::{CancelHandle, FinishReason, LoadSpec, ModelInfo, Sampling, Usage};
use crate::imaging::TransformOptions;
use crate::util::clock;
use image::RgbImage;
use std::collections::HashMap;
use std::path::PathBuf;
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

/// Pictures of the images read in this run, by path.
#[derive(Default)]
pub struct Pictures {
    /// Model inputs (thumbnails, the image pane, the preview's first stretch).
    pub inputs: HashMap<String, RgbImage>,
    /// The preview's other stretches, by (path, stretch name).
    stretched: HashMap<(String, String), RgbImage>,
    /// Header lines for `/info`.
    headers: HashMap<String, Vec<String>>,
}

pub struct ConversationState {
    pub session: LiveSession,
    pub engine: EngineState,
    pub model_info: Option<ModelInfo>,
    /// Where the model runs, for the status bar (the settings' device until one has loaded).
    pub device: String,
    pub sampling: Sampling,
    pub transform: TransformOptions,
    pub pictures: Pictures,
    /// Scroll position and `/clear` cut.
    pub view: ConversationView,
    /// An answer was asked for and has not ended yet.
    pub awaiting: bool,
    cancel: Option<CancelHandle>,
    /// A message typed before the model was ready; sent once it is.
    queued: Option<String>,
    pub last_usage: Option<Usage>,
    /// The last `/find`, stepped through with Ctrl-F and Ctrl-G.
    finder: Option<find::Finder>,
}

pub const NO_MODEL: &str = "no model loaded: /model DIR loads one (or start with --demo)";
pub const STILL_STREAMING: &str = "an answer is still streaming: Esc cancels it first";

impl ConversationState {
    pub fn new(
        session: LiveSession,
        sampling: Sampling,
        transform: TransformOptions,
        device: String,
    ) -> ConversationState {
        ConversationState {
            session,
            engine: EngineState::NoModel,
            model_info: None,
            device,
            sampling,
            transform,
            pictures: Pictures::default(),
            view: ConversationView::default(),
            awaiting: false,
            cancel: None,
            queued: None,
            last_usage: None,
            finder: None,
        }
    }

    /// Another session in place of this one (new, opened, forked), shown from its end.
    pub fn replace_session(&mut self, session: LiveSession) {
        self.session = session;
        self.view = ConversationView::default();
        self.finder = None;
    }

    /// A long session's earlier turns, read: in place of their placeholders (the view starts
    /// again from the end if the turns after them moved). True when lines were skipped.
    pub fn fill_earlier(
        &mut self,
        earlier: crate::chat::Conversation,
        warnings: Vec<String>,
    ) -> bool {
        if !self.session.conversation.fill_earlier(earlier) {
            self.view.follow();
        }
        self.finder = None;
        let skipped = !warnings.is_empty();
        self.session.warnings.splice(..0, warnings);
        skipped
    }

    /// What is unusual about the session (skipped lines, read-only, unsaved), if anything.
    pub fn session_warning(&self) -> Option<String> {
        let warnings = &self.session.warnings;
        match warnings.first() {
            Some(first) if warnings.len() > 1 => {
                Some(format!("{first} (and {} more)", warnings.len() - 1))
            }
            Some(first) => Some(first.clone()),
            None => self.session.unsaved.clone(),
        }
    }

    /// The model may be asked (it is loaded and not busy with a load).
    pub fn has_model(&self) -> bool {
        matches!(
            self.engine,
            EngineState::Ready | EngineState::Generating { .. }
        )
    }

    pub fn load_model(&mut self, spec: LoadSpec) -> Vec<Effect> {
        self.engine = EngineState::Loading(spec.source.to_string());
        vec![Effect::Worker(WorkerCommand::Load(spec))]
    }

    /// `/model DIR`: journal the switch and load it.
    pub fn switch_model(&mut self, model: String, spec: LoadSpec) -> Vec<Effect> {
        if self.awaiting {
            return vec![Effect::Warn(STILL_STREAMING.into())];
        }
        self.session.record(Event::Model {
            at: clock::now(),
            model: model.clone(),
        });
        let mut effects = vec![Effect::Info(format!("loading {model}…"))];
        effects.extend(self.load_model(spec));
        effects
    }

    /// Send a chat message (attachments pending in the session go with it).
    pub fn send_message(&mut self, text: String) -> Vec<Effect> {
        match &self.engine {
            EngineState::Loading(_) => {
                self.queued = Some(text);
                return vec![Effect::Info(
                    "queued: it is sent when the model has loaded".into(),
                )];
            }
            EngineState::NoModel | EngineState::LoadFailed(_) => {
                return vec![Effect::Warn(NO_MODEL.into())];
            }
            _ if self.awaiting => {
                return vec![Effect::Warn(
                    "an answer is still streaming: Esc cancels it".into(),
                )];
            }
            _ => {}
        }
        self.session.record(Event::User {
            at: clock::now(),
            text,
        });
        let mut effects = vec![Effect::ClearNotice];
        effects.extend(self.ask());
        effects
    }

    /// Ask for an answer to the last turn, with the newest turns the model's context holds.
    fn ask(&mut self) -> Vec<Effect> {
        let conversation = &self.session.conversation;
        let context = self.model_info.as_ref().and_then(|info| info.max_context);
        // Placeholders of turns still being read are no history to send.
        let recent = history::recent(&conversation.turns[conversation.unread..], context);
        let mut effects = vec![];
        if recent.left_out > 0 {
            effects.push(Effect::Info(format!(
                "the model is asked with the last {} of {} turns (its context holds {} tokens)",
                recent.turns.len(),
                conversation.turns.len(),
                context.unwrap_or(history::UNKNOWN_CONTEXT_TOKENS)
            )));
        }
        let turns = recent.turns;
        let job = AskJob {
            system_prompt: conversation.system_prompt.clone(),
            turns,
            sampling: self.sampling.clone(),
            transform: self.transform,
        };
        self.awaiting = true;
        self.view.follow();
        self.engine = EngineState::Generating {
            started: Instant::now(),
            tokens: 0,
        };
        effects.push(Effect::Worker(WorkerCommand::Ask(job)));
        effects
    }

    /// Ask the last question again (a new turn; the journal never rewrites history).
    pub fn regenerate(&mut self) -> Vec<Effect> {
        if self.awaiting {
            return vec![Effect::Warn(STILL_STREAMING.into())];
        }
        let Some(last) = self.session.conversation.turns.last().cloned() else {
            return vec![Effect::Warn("nothing to regenerate yet".into())];
        };
        for image in &last.images {
            self.session.record(Event::Image {
                at: clock::now(),
                path: image.path.clone(),
                sha256: image.sha256.clone(),
                settings: image.settings.clone(),
            });
        }
        let mut effects = self.send_message(last.question);
        effects.push(Effect::Info("regenerating the last answer".into()));
        effects
    }

    pub fn cancel_generation(&mut self) -> Vec<Effect> {
        let text = match &self.cancel {
            Some(handle) => {
                handle.cancel();
                "cancelling…"
            }
            None => "nothing is being generated",
        };
        vec![Effect::Info(text.into())]
    }

    /// Stop the answer in flight, if any (the chat is closing).
    pub fn cancel_quietly(&self) {
        if let Some(handle) = &self.cancel {
            handle.cancel();
        }
    }

    pub fn copy_last_answer(&self) -> Vec<Effect> {
        match self.session.conversation.turns.last() {
            Some(turn) if !turn.answer.is_empty() => {
                let chars = turn.answer.chars().count();
                vec![
                    Effect::Clipboard(turn.answer.clone()),
                    Effect::Info(format!(
                        "copied the last answer ({chars} characters, OSC 52)"
                    )),
                ]
            }
            _ => vec![Effect::Warn("no answer to copy yet".into())],
        }
    }

    /// `/image PATH`: have the worker read it; it is attached when it has been read.
    pub fn attach(&self, path: PathBuf, settings: ImageSettings) -> Vec<Effect> {
        vec![
            Effect::Info(format!("reading {}…", path.display())),
            Effect::Worker(WorkerCommand::Inspect {
                path,
                settings,
                transform: self.transform,
            }),
        ]
    }

    pub fn detach(&mut self) -> Vec<Effect> {
        let count = self.session.conversation.pending_images.len();
        self.session.record(Event::Detach { at: clock::now() });
        vec![Effect::Info(format!("detached {count} image(s)"))]
    }

    /// `/set KEY VALUE`: change a sampling setting and journal it.
    pub fn set(&mut self, key: crate::commands::slash::SetKey, value: String) -> Vec<Effect> {
        if let Err(message) = key.apply(&mut self.sampling, &value) {
            return vec![Effect::Warn(message.to_string())];
        }
        self.session.record(Event::Set {
            at: clock::now(),
            key: key.name().into(),
            value: value.clone(),
        });
        vec![Effect::Info(format!("{} = {value}", key.name()))]
    }

    /// `/system [TEXT]`: set or clear the system prompt.
    pub fn set_system_prompt(&mut self, text: Option<String>) -> Vec<Effect> {
        let note = match &text {
            Some(_) => "system prompt set",
            None => "system prompt cleared",
        };
        self.session.record(Event::System {
            at: clock::now(),
            text,
        });
        vec![Effect::Info(note.into())]
    }

    /// The open session's new title, journalled.
    pub fn rename(&mut self, title: &str) {
        self.session.record(Event::Renamed {
            at: clock::now(),
            title: title.to_string(),
        });
    }

    /// What the model worker reported.
    pub fn update(&mut self, event: WorkerEvent) -> Vec<Effect> {
        match event {
            WorkerEvent::Loading(name) => {
                self.engine = EngineState::Loading(name);
                vec![]
            }
            WorkerEvent::Loaded(info) => {
                self.engine = EngineState::Ready;
                let verb = if info.device == "remote" {
                    "connected"
                } else {
                    "loaded"
                };
                let mut effects = vec![Effect::Info(format!(
                    "{} {verb} in {:.1} s",
                    info.name, info.load_seconds
                ))];
                effects.extend(info.warnings.iter().cloned().map(Effect::Warn));
                self.device = info.device.clone();
                self.model_info = Some(info);
                if let Some(text) = self.queued.take() {
                    effects.extend(self.send_message(text));
                }
                effects
            }
            WorkerEvent::LoadFailed(message) => {
                self.queued = None;
                let effects = vec![Effect::Warn(format!("model not loaded: {message}"))];
                self.engine = EngineState::LoadFailed(message);
                effects
            }
            WorkerEvent::Started(handle) => {
                self.cancel = Some(handle);
                vec![]
            }
            WorkerEvent::Token(text) => {
                self.session.token(&text);
                if let EngineState::Generating { tokens, .. } = &mut self.engine {
                    *tokens += 1;
                }
                vec![]
            }
            WorkerEvent::Finished { reason, usage } => {
                self.session.record(Event::Done {
                    at: clock::now(),
                    finish: reason,
                    usage: usage.clone(),
                });
                self.end_answer(Some(usage));
                if reason == FinishReason::Cancelled {
                    vec![Effect::Info("cancelled: the partial answer is kept".into())]
                } else {
                    vec![]
                }
            }
            WorkerEvent::Failed(message) => {
                if self.awaiting {
                    self.session.record(Event::Error {
                        at: clock::now(),
                        message: message.clone(),
                    });
                }
                self.end_answer(None);
                vec![Effect::Warn(message)]
            }
            WorkerEvent::Inspected(inspected) => {
                let image = inspected.image;
                let name = short_name(&image.path);
                let pictures = &mut self.pictures;
                pictures
                    .inputs
                    .insert(image.path.clone(), inspected.picture);
                pictures.headers.insert(image.path.clone(), inspected.info);
                self.session.record(Event::Image {
                    at: clock::now(),
                    path: image.path,
                    sha256: image.sha256,
                    settings: image.settings,
                });
                vec![Effect::Info(format!(
                    "attached {name}: it goes with your next message (/preview shows it)"
                ))]
            }
            WorkerEvent::InspectFailed(message) => vec![Effect::Warn(message)],
            WorkerEvent::Rendered {
                path,
                stretch,
                picture,
            } => {
                self.pictures.stretched.insert((path, stretch), picture);
                vec![]
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
}

mod find;
mod images;
#[cfg(test)]
mod tests;
