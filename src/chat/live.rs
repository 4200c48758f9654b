//! The session a front-end is working in: the conversation in memory, mirrored event by
//! event into its journal. When the journal cannot be written (read-only directory, full
//! disk) the chat goes on in memory and `unsaved` says why, for the screen to show.

use super::conversation::Conversation;
use super::journal::{Event, Header, JournalError, JournalWriter};
use super::store::{SessionStore, SessionSummary};
use super::tail::EarlierPart;
use crate::util::clock;
use std::time::{Duration, Instant};

/// Streamed text reaches the journal at least this often.
pub const TOKEN_FLUSH: Duration = Duration::from_millis(250);

pub struct LiveSession {
    pub conversation: Conversation,
    writer: Option<JournalWriter>,
    /// Why events are not being saved, if they are not.
    pub unsaved: Option<String>,
    /// Lines skipped while loading (corrupt or cut off).
    pub warnings: Vec<String>,
    /// A long session's earlier turns, still to read (off the UI thread) and fill in.
    pub earlier: Option<EarlierPart>,
    pending_tokens: String,
    last_flush: Instant,
}

impl LiveSession {
    /// A new session in `store`; if it cannot be created the session is kept in memory.
    pub fn start(store: &SessionStore, header: Header) -> LiveSession {
        match store.create(header.clone()) {
            Ok((writer, conversation)) => Self::with(conversation, Some(writer), None),
            Err(e) => Self::with(
                Conversation::new(Header {
                    id: "unsaved".into(),
                    ..header
                }),
                None,
                Some(format!("not saved: {e}")),
            ),
        }
    }

    /// Reopen a stored session. If another radiochat holds it, it opens read-only.
    pub fn open(summary: &SessionSummary) -> Result<LiveSession, JournalError> {
        Self::open_path(&summary.path)
    }

    /// Reopen the session whose journal is at `path` (see [`LiveSession::open`]).
    pub fn open_path(path: &std::path::Path) -> Result<LiveSession, JournalError> {
        let opened = Conversation::open(path)?;
        let (writer, unsaved) = match JournalWriter::append(path) {
            Ok(writer) => (Some(writer), None),
            Err(JournalError::Locked(_, holder)) => (
                None,
                Some(format!("read-only: {holder} has this session open")),
            ),
            Err(e) => (None, Some(format!("not saved: {e}"))),
        };
        let mut live = Self::with(opened.conversation, writer, unsaved);
        live.warnings = opened.warnings;
        live.earlier = opened.earlier;
        Ok(live)
    }

    /// A session that is not stored anywhere (and says so).
    pub fn in_memory(conversation: Conversation, why: String) -> LiveSession {
        Self::with(conversation, None, Some(why))
    }

    /// Wrap an already opened journal (after `SessionStore::fork`).
    pub fn from_writer(conversation: Conversation, writer: JournalWriter) -> LiveSession {
        Self::with(conversation, Some(writer), None)
    }

    fn with(
        conversation: Conversation,
        writer: Option<JournalWriter>,
        unsaved: Option<String>,
    ) -> LiveSession {
        LiveSession {
            conversation,
            writer,
            unsaved,
            warnings: Vec::new(),
            earlier: None,
            pending_tokens: String::new(),
            last_flush: Instant::now(),
        }
    }

    pub fn is_saved(&self) -> bool {
        self.writer.is_some()
    }

    /// Apply an event and append it to the journal (streamed text first, to keep order).
    pub fn record(&mut self, event: Event) {
        self.flush_tokens();
        self.conversation.apply(&event);
        self.write(&event);
    }

    /// A piece of the answer: shown at once, journalled in batches.
    pub fn token(&mut self, text: &str) {
        self.conversation.apply(&Event::Tokens {
            at: String::new(),
            text: text.to_string(),
        });
        self.pending_tokens.push_str(text);
        self.tick();
    }

    /// Flush streamed text if it has waited [`TOKEN_FLUSH`]; call this from the event loop.
    pub fn tick(&mut self) {
        if !self.pending_tokens.is_empty() && self.last_flush.elapsed() >= TOKEN_FLUSH {
            self.flush_tokens();
        }
    }

    pub fn flush_tokens(&mut self) {
        self.last_flush = Instant::now();
        if self.pending_tokens.is_empty() {
            return;
        }
        let event = Event::Tokens {
            at: clock::now(),
            text: std::mem::take(&mut self.pending_tokens),
        };
        self.write(&event);
    }

    fn write(&mut self, event: &Event) {
        if let Some(writer) = &mut self.writer
            && let Err(e) = writer.write(event)
        {
            self.unsaved = Some(format!("not saved any more: {e}"));
            self.writer = None;
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.flush_tokens();
    }
}
