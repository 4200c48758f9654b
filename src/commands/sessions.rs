//! `radiochat sessions list|show|search|export|rename|delete`, and `/sessions` in the chat.

use super::{CommandError, CommandResult};
use crate::chat::conversation::AnswerState;
use crate::chat::journal::{self, JournalError, Loaded};
use crate::chat::transcript::{self, Exported};
use crate::chat::{Conversation, SessionStore, SessionSummary, StoreError};
use crate::engine::FinishReason;
use crate::util::error::BadValue;
use std::path::{Path, PathBuf};

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Journal(JournalError::Io(..)) => CommandError::Failed(e.into()),
            other => CommandError::BadInput(other.into()),
        }
    }
}

impl From<JournalError> for CommandError {
    fn from(e: JournalError) -> Self {
        StoreError::from(e).into()
    }
}

/// Transcript formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

impl std::str::FromStr for Format {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            other => Err(BadValue::unknown("--format", other, "md or json")),
        }
    }
}

impl Format {
    /// From an output file's extension (`.json` → JSON, anything else Markdown).
    pub fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            _ => Format::Markdown,
        }
    }
}

/// Load a session by id, id prefix or title.
pub fn load(store: &SessionStore, query: &str) -> CommandResult<(SessionSummary, Loaded)> {
    let summary = store.resolve(query)?;
    let loaded = journal::read(&summary.path)?;
    Ok((summary, loaded))
}

/// `sessions show`: the conversation as plain text.
pub fn render_plain(conversation: &Conversation) -> String {
    let mut out = format!(
        "# {} ({})\nmodel: {}\n",
        conversation.title,
        conversation.header.id,
        conversation.model.as_deref().unwrap_or("(none)")
    );
    for turn in &conversation.turns {
        out.push_str(&format!("\n[{}] you:\n", turn.asked_at));
        for image in &turn.images {
            out.push_str(&format!("  (image {})\n", image.path));
        }
        out.push_str(turn.question.trim_end());
        out.push_str("\n\nradiochat:\n");
        out.push_str(turn.answer.trim_end());
        out.push('\n');
        match &turn.state {
            AnswerState::Done {
                finish: FinishReason::Cancelled,
                ..
            } => out.push_str("[cancelled]\n"),
            AnswerState::Interrupted => out.push_str("[interrupted]\n"),
            AnswerState::Failed(message) => out.push_str(&format!("[error: {message}]\n")),
            _ => {}
        }
    }
    out
}

/// Write a transcript; without `out` it goes to `ID.md` / `ID.json` in the current
/// directory.
pub fn export(loaded: &Loaded, format: Format, out: Option<PathBuf>) -> CommandResult<Exported> {
    let extension = match format {
        Format::Markdown => "md",
        Format::Json => "json",
    };
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}.{extension}", loaded.header.id)));
    let failed =
        |e: std::io::Error| CommandError::bad(format!("{}: cannot write: {e}", out.display()));
    match format {
        Format::Json => transcript::write_json(loaded, &out).map_err(failed),
        Format::Markdown => {
            let conversation = Conversation::replay(loaded.header.clone(), &loaded.events);
            transcript::write_markdown(&conversation, &out).map_err(failed)
        }
    }
}

/// `sessions list` as a table.
pub fn table(sessions: &[SessionSummary]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<22} {:<24} {:>5}  {:<19}  {}",
        "ID", "UPDATED", "TURNS", "", "TITLE"
    )];
    for s in sessions {
        let open = s
            .locked_by
            .as_ref()
            .map(|holder| match holder.is_local() {
                true => format!("open in pid {}", holder.pid),
                false => format!("open on {}", holder.host),
            })
            .unwrap_or_default();
        lines.push(format!(
            "{:<22} {:<24} {:>5}  {:<19}  {}",
            s.id, s.updated, s.turns, open, s.title
        ));
    }
    lines
}
