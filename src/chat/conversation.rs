//! A session's conversation rebuilt from its journal events: what the screen shows, what
//! transcripts print, and what the next request sends as history.

use super::journal::{self, Event, Header, ImageSettings, JournalError};
use crate::engine::{FinishReason, Usage};
use std::path::Path;

/// An image a turn referred to.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub path: String,
    pub sha256: String,
    pub settings: ImageSettings,
}

/// How a turn's answer stands.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerState {
    /// Tokens are still arriving (only in a live session).
    Streaming,
    Done {
        finish: FinishReason,
        usage: Usage,
    },
    /// The process ended mid-answer (crash, kill, SSH drop): the text is what was saved.
    Interrupted,
    Failed(String),
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub asked_at: String,
    pub question: String,
    pub images: Vec<ImageRef>,
    pub answer: String,
    pub state: AnswerState,
    pub answered_at: Option<String>,
}

impl Turn {
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self.state,
            AnswerState::Done {
                finish: FinishReason::Cancelled,
                ..
            }
        )
    }
}

/// Everything a session holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub header: Header,
    pub title: String,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    /// `/set` values in force, in order of setting (key, value).
    pub settings: Vec<(String, String)>,
    pub turns: Vec<Turn>,
    /// Attached, not yet sent.
    pub pending_images: Vec<ImageRef>,
    /// The first `unread` turns are placeholders while a long session's earlier part is read
    /// (see `chat::tail`).
    pub unread: usize,
    /// Renames, system prompts, `/set`s and model switches applied since the placeholders'
    /// end: they outrank the earlier part's when it is put in place.
    pub(super) since_split: Vec<Event>,
}

impl Conversation {
    pub fn new(header: Header) -> Conversation {
        Conversation {
            title: header.title.clone(),
            model: header.model.clone(),
            system_prompt: header.system_prompt.clone(),
            header,
            settings: Vec::new(),
            turns: Vec::new(),
            pending_images: Vec::new(),
            unread: 0,
            since_split: Vec::new(),
        }
    }

    /// Replay a journal. A turn whose answer never ended was interrupted.
    pub fn replay(header: Header, events: &[Event]) -> Conversation {
        let mut conversation = Conversation::new(header);
        for event in events {
            conversation.apply(event);
        }
        conversation.ended();
        conversation
    }

    /// Replay the journal at `path` as it is read, holding no more than the conversation
    /// (a long session's journal is mostly streamed pieces); with the skipped lines' warnings.
    pub fn load(path: &Path) -> Result<(Conversation, Vec<String>), JournalError> {
        let (mut conversation, warnings) = journal::fold(
            path,
            |_| true,
            Conversation::new,
            |conversation, event| conversation.apply(&event),
        )?;
        conversation.ended();
        Ok((conversation, warnings))
    }

    /// The journal ends here: an answer still streaming was interrupted.
    pub(super) fn ended(&mut self) {
        if let Some(turn) = self.turns.last_mut()
            && turn.state == AnswerState::Streaming
        {
            turn.state = AnswerState::Interrupted;
        }
    }

    /// Apply one event, live or replayed.
    pub fn apply(&mut self, event: &Event) {
        if self.unread > 0
            && matches!(
                event,
                Event::Renamed { .. }
                    | Event::System { .. }
                    | Event::Set { .. }
                    | Event::Model { .. }
            )
        {
            self.since_split.push(event.clone());
        }
        match event {
            Event::User { at, text } => {
                if let Some(turn) = self.turns.last_mut()
                    && turn.state == AnswerState::Streaming
                {
                    turn.state = AnswerState::Interrupted;
                }
                self.turns.push(Turn {
                    asked_at: at.clone(),
                    question: text.clone(),
                    images: std::mem::take(&mut self.pending_images),
                    answer: String::new(),
                    state: AnswerState::Streaming,
                    answered_at: None,
                });
            }
            Event::Image {
                path,
                sha256,
                settings,
                ..
            } => self.pending_images.push(ImageRef {
                path: path.clone(),
                sha256: sha256.clone(),
                settings: settings.clone(),
            }),
            Event::Detach { .. } => self.pending_images.clear(),
            Event::Tokens { text, .. } => {
                if let Some(turn) = self.turns.last_mut() {
                    turn.answer.push_str(text);
                }
            }
            Event::Done { at, finish, usage } => {
                if let Some(turn) = self.turns.last_mut() {
                    turn.state = AnswerState::Done {
                        finish: *finish,
                        usage: usage.clone(),
                    };
                    turn.answered_at = Some(at.clone());
                }
            }
            Event::Error { at, message } => {
                if let Some(turn) = self.turns.last_mut() {
                    turn.state = AnswerState::Failed(message.clone());
                    turn.answered_at = Some(at.clone());
                }
            }
            Event::Renamed { title, .. } => self.title = title.clone(),
            Event::System { text, .. } => self.system_prompt = text.clone(),
            Event::Set { key, value, .. } => {
                self.settings.retain(|(k, _)| k != key);
                self.settings.push((key.clone(), value.clone()));
            }
            Event::Model { model, .. } => self.model = Some(model.clone()),
        }
    }

    /// Every image the conversation refers to, in order, without repeats.
    pub fn images(&self) -> Vec<&ImageRef> {
        let mut seen = Vec::<&ImageRef>::new();
        for image in self.turns.iter().flat_map(|t| &t.images) {
            if !seen.iter().any(|s| s.path == image.path) {
                seen.push(image);
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: u32) -> String {
        format!("2026-11-26T22:00:{n:02}.000Z")
    }

    pub fn header() -> Header {
        Header {
            id: "s1".into(),
            created: at(0),
            ..Header::new("first")
        }
    }

    #[test]
    fn replay_builds_turns_and_marks_an_unfinished_answer_interrupted() {
        let events = vec![
            Event::Image {
                at: at(1),
                path: "a.fits".into(),
                sha256: "00".into(),
                settings: ImageSettings::default(),
            },
            Event::User {
                at: at(2),
                text: "what is it?".into(),
            },
            Event::Tokens {
                at: at(3),
                text: "A radio ".into(),
            },
            Event::Tokens {
                at: at(3),
                text: "galaxy.".into(),
            },
            Event::Done {
                at: at(4),
                finish: FinishReason::Stop,
                usage: Usage::default(),
            },
            Event::Renamed {
                at: at(5),
                title: "FR-II".into(),
            },
            Event::User {
                at: at(6),
                text: "and the core?".into(),
            },
            Event::Tokens {
                at: at(7),
                text: "The co".into(),
            },
        ];
        let c = Conversation::replay(header(), &events);
        assert_eq!(c.title, "FR-II");
        assert_eq!(c.turns.len(), 2);
        assert_eq!(c.turns[0].answer, "A radio galaxy.");
        assert_eq!(c.turns[0].images[0].path, "a.fits");
        assert!(matches!(c.turns[0].state, AnswerState::Done { .. }));
        assert_eq!(c.turns[1].answer, "The co");
        assert_eq!(c.turns[1].state, AnswerState::Interrupted);
        assert!(c.turns[1].images.is_empty());
        assert_eq!(c.images().len(), 1);
    }
}
