//! What the status bar, the image pane and the preview read of the conversation: the image
//! shown, its pictures under each stretch, the engine's state and speed.

use super::{ConversationState, EngineState};
use crate::chat::worker::WorkerCommand;
use crate::chat::{AnswerState, ImageSettings};
use crate::tui::views::preview::stretch_name;
use crate::tui::views::{Effect, short_name};
use image::RgbImage;

impl ConversationState {
    /// The image the preview and /info refer to: the newest attachment, else the newest
    /// image of the conversation.
    pub fn current_image(&self) -> Option<String> {
        let c = &self.session.conversation;
        c.pending_images
            .last()
            .or_else(|| c.turns.iter().rev().find_map(|t| t.images.last()))
            .map(|i| i.path.clone())
    }

    /// The model input of `path`, if it was read in this run.
    pub fn picture(&self, path: &str) -> Option<&RgbImage> {
        self.pictures.inputs.get(path)
    }

    /// The picture of `path` under the preview's stretch at `index`, if it is ready (the
    /// stretches are rendered by `restretch`).
    pub fn preview_picture(&self, path: &str, index: usize) -> Option<&RgbImage> {
        match index {
            0 => self.picture(path),
            i => self
                .pictures
                .stretched
                .get(&(path.to_string(), stretch_name(i).to_string())),
        }
    }

    /// The header lines `/info` shows for `path`.
    pub fn header_lines(&self, path: &str) -> Vec<String> {
        self.pictures
            .headers
            .get(path)
            .cloned()
            .unwrap_or_else(|| vec![format!("{path}: /image it again to read its header")])
    }

    /// The preview switched to the stretch at `index`: have the worker render it unless it is
    /// the model input or rendered already.
    pub fn restretch(&self, index: usize) -> Vec<Effect> {
        let name = stretch_name(index).to_string();
        let Some(path) = self.current_image() else {
            return vec![];
        };
        let key = (path, name);
        if index == 0 || self.pictures.stretched.contains_key(&key) {
            return vec![];
        }
        let (path, stretch) = key;
        let settings = self.settings_of(&path);
        vec![Effect::Worker(WorkerCommand::Render {
            path,
            settings,
            stretch,
            contrast: self.transform.contrast,
        })]
    }

    /// How `path` was attached (its cutout and stretch), newest attachment first.
    fn settings_of(&self, path: &str) -> ImageSettings {
        let c = &self.session.conversation;
        c.pending_images
            .iter()
            .chain(c.turns.iter().flat_map(|t| &t.images))
            .find(|i| i.path == path)
            .map(|i| i.settings.clone())
            .unwrap_or_default()
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

    /// The engine's state in words (status bar).
    pub fn engine_label(&self) -> String {
        match &self.engine {
            EngineState::NoModel => "no model".into(),
            EngineState::Loading(name) => format!("loading {}", short_name(name)),
            EngineState::Ready => "ready".into(),
            EngineState::Generating { .. } => "generating".into(),
            EngineState::LoadFailed(_) => "load failed".into(),
        }
    }
}
