//! Conversations: sessions kept as append-only journals, the store that lists and finds
//! them, transcripts, and the worker thread that runs the engine for a live chat. Nothing
//! here knows about terminals; the TUI and the CLI both drive it.

pub mod conversation;
pub mod history;
pub mod journal;
pub mod live;
pub mod store;
pub mod tail;
pub mod transcript;
pub mod worker;

pub use conversation::{AnswerState, Conversation, ImageRef, Turn};
pub use journal::{Event, Header, ImageSettings, SamplingRecord};
pub use live::LiveSession;
pub use store::{SessionStore, SessionSummary, StoreError};
