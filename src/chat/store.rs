//! The sessions directory: one `ID.jsonl` journal per session (see `journal.rs`).

use super::conversation::Conversation;
use super::journal::{self, Event, Header, JournalError, JournalWriter, Loaded};
use crate::util::clock;
use std::path::{Path, PathBuf};

/// Why a session could not be found or changed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no session matches '{0}' (radiochat sessions list shows them)")]
    NotFound(String),
    #[error("'{0}' matches several sessions: {1}")]
    Ambiguous(String, String),
    #[error("no sessions yet in {0}")]
    Empty(PathBuf),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// One line of `sessions list`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SessionSummary {
    pub id: String,
    pub title: String,
    pub created: String,
    /// Last write (file modification time), RFC 3339 UTC.
    pub updated: String,
    pub turns: usize,
    pub model: Option<String>,
    pub path: PathBuf,
    /// Held by a running radiochat, on this node or another sharing the directory.
    pub locked_by: Option<crate::util::lock::Holder>,
}

#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

impl SessionStore {
    pub fn new(dir: impl Into<PathBuf>) -> SessionStore {
        SessionStore { dir: dir.into() }
    }

    /// `$RADIOCHAT_DATA/sessions` (or the platform data directory's).
    pub fn default_dir() -> PathBuf {
        crate::config::data_dir().join("sessions")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh session: its journal is created (0600, in a 0700 directory) and locked.
    pub fn create(&self, mut header: Header) -> Result<(JournalWriter, Conversation), StoreError> {
        ensure_private_dir(&self.dir)?;
        // Ids are the second and 16 random bits: sessions made by a script can meet one.
        let mut tries = 0;
        let writer = loop {
            header.id = new_id();
            let created = JournalWriter::create(&self.path_of(&header.id), &header);
            let taken = match &created {
                Err(JournalError::Io(_, e)) => e.kind() == std::io::ErrorKind::AlreadyExists,
                Err(JournalError::Locked(..)) => true,
                _ => false,
            };
            if !taken || tries == 16 {
                break created?;
            }
            tries += 1;
        };
        Ok((writer, Conversation::new(header)))
    }

    /// A copy of `source` under a new id, continuing from where it stands.
    pub fn fork(
        &self,
        source: &Loaded,
        title: &str,
    ) -> Result<(JournalWriter, Conversation), StoreError> {
        let mut header = source.header.clone();
        header.forked_from = Some(source.header.id.clone());
        header.created = clock::now();
        header.title = title.to_string();
        let (mut writer, _) = self.create(header)?;
        for event in &source.events {
            writer.write(event)?;
        }
        let loaded = journal::read(writer.path())?;
        Ok((writer, Conversation::replay(loaded.header, &loaded.events)))
    }

    pub fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.jsonl"))
    }

    /// Every readable session, most recently written first. Files that are not sessions
    /// are left out.
    pub fn list(&self) -> Vec<SessionSummary> {
        let mut sessions: Vec<SessionSummary> = self
            .journal_paths()
            .iter()
            .filter_map(|path| summarize(path).ok())
            .collect();
        sessions.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
        sessions
    }

    /// The journal of a session found as [`SessionStore::resolve`] finds it; an id alone is
    /// checked by its header, not summarised (a summary reads the whole journal).
    pub fn journal_of(&self, query: &str) -> Result<PathBuf, StoreError> {
        let path = self.path_of(query);
        if is_plain_id(query) && journal::read_header(&path).is_ok_and(|h| h.id == query) {
            return Ok(path);
        }
        self.resolve(query).map(|summary| summary.path)
    }

    /// Find a session by id, unique id prefix, or exact title (case-insensitive).
    pub fn resolve(&self, query: &str) -> Result<SessionSummary, StoreError> {
        // An id as the chat prints it names one file: read that one alone.
        if is_plain_id(query)
            && let Ok(summary) = summarize(&self.path_of(query))
            && summary.id == query
        {
            return Ok(summary);
        }
        let sessions = self.list();
        if let Some(exact) = sessions.iter().find(|s| s.id == query) {
            return Ok(exact.clone());
        }
        let lower = query.to_lowercase();
        let matches: Vec<&SessionSummary> = sessions
            .iter()
            .filter(|s| s.id.starts_with(query) || s.title.to_lowercase() == lower)
            .collect();
        match matches.as_slice() {
            [] => Err(StoreError::NotFound(query.to_string())),
            [one] => Ok((*one).clone()),
            many => Err(StoreError::Ambiguous(
                query.to_string(),
                many.iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// The most recently written session.
    pub fn last(&self) -> Result<SessionSummary, StoreError> {
        let mut journals: Vec<(std::time::SystemTime, PathBuf)> = self
            .journal_paths()
            .into_iter()
            .filter_map(|path| Some((std::fs::metadata(&path).ok()?.modified().ok()?, path)))
            .collect();
        journals.sort_by(|a, b| b.cmp(a));
        journals
            .iter()
            .find_map(|(_, path)| summarize(path).ok())
            .ok_or_else(|| StoreError::Empty(self.dir.clone()))
    }

    fn journal_paths(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect()
    }

    /// Sessions whose title or messages contain `text` (case-insensitive), with up to
    /// three matching lines each.
    pub fn search(&self, text: &str) -> Vec<(SessionSummary, Vec<String>)> {
        let needle = text.to_lowercase();
        self.list()
            .into_iter()
            .filter_map(|summary| {
                let (conversation, _) = Conversation::load(&summary.path).ok()?;
                let mut hits: Vec<String> = lines_mentioning(&conversation, &needle)
                    .take(3)
                    .map(|l| l.trim().chars().take(120).collect())
                    .collect();
                if summary.title.to_lowercase().contains(&needle) && hits.is_empty() {
                    hits.push(format!("title: {}", summary.title));
                }
                (!hits.is_empty()).then_some((summary, hits))
            })
            .collect()
    }

    /// Delete a session that no running radiochat holds.
    pub fn delete(&self, query: &str) -> Result<SessionSummary, StoreError> {
        let summary = self.resolve(query)?;
        // Held through the removal: no writer can open the journal in between. Dropping it
        // removes the lock file.
        let _lock = journal::lock_for_removal(&summary.path)?;
        std::fs::remove_file(&summary.path)
            .map_err(|e| JournalError::Io(summary.path.clone(), e))?;
        Ok(summary)
    }

    /// Rename a session that no running radiochat holds (a renamed event is appended).
    pub fn rename(&self, query: &str, title: &str) -> Result<SessionSummary, StoreError> {
        let summary = self.resolve(query)?;
        let mut writer = JournalWriter::append(&summary.path)?;
        writer.write(&Event::Renamed {
            at: clock::now(),
            title: title.to_string(),
        })?;
        Ok(SessionSummary {
            title: title.to_string(),
            ..summary
        })
    }
}

fn summarize(path: &Path) -> Result<SessionSummary, JournalError> {
    let loaded = journal::read_outline(path)?;
    let updated = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| clock::format_millis(d.as_millis() as i64))
        .unwrap_or_default();
    let conversation = Conversation::replay(loaded.header, &loaded.events);
    Ok(SessionSummary {
        id: conversation.header.id.clone(),
        title: conversation.title.clone(),
        created: conversation.header.created.clone(),
        updated,
        turns: conversation.turns.len(),
        model: conversation.model.clone(),
        path: path.to_path_buf(),
        locked_by: journal::lock_holder(path),
    })
}

/// The lines of a conversation's questions and answers that mention `needle` (lower-cased).
/// Turns are searched, not journal lines: streamed pieces split words.
fn lines_mentioning<'a>(
    conversation: &'a Conversation,
    needle: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    conversation
        .turns
        .iter()
        .flat_map(|t| [t.question.as_str(), t.answer.as_str()])
        .flat_map(str::lines)
        .filter(move |line| line.to_lowercase().contains(needle))
}

/// Whether the session at `path` mentions `needle` (lower-cased) in a question or answer; its
/// journal is replayed a line at a time, never held whole.
pub fn mentions(path: &Path, needle: &str) -> bool {
    Conversation::load(path)
        .is_ok_and(|(conversation, _)| lines_mentioning(&conversation, needle).next().is_some())
}

/// An id as the chat prints it: it names one file, and no path can hide in it.
fn is_plain_id(query: &str) -> bool {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    !query.is_empty() && query.chars().all(plain)
}

fn new_id() -> String {
    format!("{}-{:04x}", clock::id_stem(), rand::random::<u16>())
}

fn ensure_private_dir(dir: &Path) -> Result<(), JournalError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| JournalError::Io(dir.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::io::Write;

    fn header(title: &str) -> Header {
        Header::new(title)
    }

    #[test]
    fn many_sessions_made_within_a_second_each_get_their_own_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path());
        // 1,000 ids of 16 random bits within a second or two: a repeat is all but certain
        // (about 1 − e^(−7.6)), and each must be taken again, not fail.
        for n in 0..1000 {
            store.create(header(&format!("scripted {n}"))).unwrap();
        }
        assert_eq!(store.list().len(), 1000);
    }

    #[test]
    fn create_list_resolve_search_rename_fork_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path().join("sessions"));
        let (mut writer, first) = store.create(header("Abell 2255 halo")).unwrap();
        writer
            .write(&Event::User {
                at: clock::now(),
                text: "Is the halo diffuse?".into(),
            })
            .unwrap();
        drop(writer);
        let (writer2, second) = store.create(header("mirabest")).unwrap();
        drop(writer2);
        assert_ne!(first.header.id, second.header.id);
        assert_eq!(store.list().len(), 2);
        assert_eq!(store.resolve("abell 2255 halo").unwrap().turns, 1);
        assert_eq!(
            store
                .resolve(&first.header.id[..first.header.id.len() - 1])
                .ok()
                .map(|s| s.id),
            Some(first.header.id.clone())
        );
        assert!(matches!(
            store.resolve("nothing"),
            Err(StoreError::NotFound(_))
        ));
        let hits = store.search("DIFFUSE");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].1, vec!["Is the halo diffuse?".to_string()]);
        store.rename("mirabest", "FR-I/II").unwrap();
        assert!(store.resolve("fr-i/ii").is_ok());

        let loaded = journal::read(&store.path_of(&first.header.id)).unwrap();
        let (_fork_writer, fork) = store.fork(&loaded, "halo, take 2").unwrap();
        assert_eq!(fork.turns.len(), 1);
        assert_eq!(
            fork.header.forked_from.as_deref(),
            Some(first.header.id.as_str())
        );
        // The fork is open (locked) here, so deleting it is refused.
        assert!(matches!(
            store.delete(&fork.header.id),
            Err(StoreError::Journal(JournalError::Locked(..)))
        ));
        store.delete(&first.header.id).unwrap();
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn a_summary_from_the_outline_equals_one_from_the_whole_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path());
        let (mut writer, conversation) = store.create(header("first title")).unwrap();
        let at = clock::now;
        let events = [
            Event::User {
                at: at(),
                text: "one".into(),
            },
            // Streamed text that looks like the events the outline reads.
            Event::Tokens {
                at: at(),
                text: "{\"type\":\"renamed\",\"at\":\"x\",\"title\":\"not this\"}".into(),
            },
            Event::Renamed {
                at: at(),
                title: "second title".into(),
            },
            Event::Model {
                at: at(),
                model: "/models/radio-llava".into(),
            },
            Event::User {
                at: at(),
                text: "two".into(),
            },
        ];
        events.iter().for_each(|e| writer.write(e).unwrap());
        drop(writer);
        let path = store.path_of(&conversation.header.id);
        // A question line cut in the middle, a line of another layout, and a last line the
        // writer did not finish.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"type\":\"user\",\"at\":\n{\"at\":\"y\",\"type\":\"user\",\"text\":\"three\"}\n{\"type\":\"user\",\"at\":\"z\",\"text\":\"four\"}")
            .unwrap();
        let summary = summarize(&path).unwrap();
        let whole = journal::read(&path).unwrap();
        let replayed = Conversation::replay(whole.header, &whole.events);
        assert_eq!(summary.turns, replayed.turns.len());
        assert_eq!(summary.turns, 3, "one, two and three");
        assert_eq!(summary.title, "second title");
        assert_eq!(summary.model.as_deref(), Some("/models/radio-llava"));
        // The id alone finds it without listing; a path never does.
        assert_eq!(store.resolve(&conversation.header.id).unwrap(), summary);
        assert!(store.resolve("../sessions").is_err());
        assert_eq!(store.journal_of(&conversation.header.id).unwrap(), path);
        assert_eq!(store.journal_of("second title").unwrap(), path);
        assert!(store.journal_of("../sessions").is_err());
        assert_eq!(store.last().unwrap().id, conversation.header.id);
    }
}
