//! The conversation's flow: messages out to the model worker, its answers, images and
//! failures back in; what the preview and the status bar read of it.

use super::app::{App, EngineState, short_name};
use super::views::preview::stretch_name;
use crate::chat::worker::{AskJob, HistoryTurn, WorkerCommand, WorkerEvent};
use crate::chat::{AnswerState, Event};
use crate::engine::{FinishReason, LoadSpec, Usage};
use crate::util::clock;
use image::RgbImage;
use std::time::Instant;

impl App {
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
        self.chat_view.follow();
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

    /// The image the preview and /info refer to: the newest attachment, else the newest
    /// image of the conversation.
    pub fn current_image(&self) -> Option<String> {
        let c = &self.session.conversation;
        c.pending_images
            .last()
            .or_else(|| c.turns.iter().rev().find_map(|t| t.images.last()))
            .map(|i| i.path.clone())
    }

    /// The picture of `path` under the preview's stretch at `index`, if it is ready (the
    /// stretches are rendered by `restretch`).
    pub fn preview_picture(&self, path: &str, index: usize) -> Option<&RgbImage> {
        match index {
            0 => self.pictures.get(path),
            i => self
                .stretched
                .get(&(path.to_string(), stretch_name(i).to_string())),
        }
    }

    /// The preview switched to the stretch at `index`: render it off the UI thread unless
    /// it is the model input or rendered already.
    pub fn restretch(&mut self, index: usize) {
        let name = stretch_name(index).to_string();
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
