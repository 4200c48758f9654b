//! A session on disk: an append-only JSON Lines journal. Line 1 is the [`Header`]; every
//! later line is one [`Event`]. Appending one line per event means a killed process loses at
//! most the line it was writing, and a reader skips such a line (or any garbage) with a
//! warning instead of refusing the whole session. The format is documented, with an
//! example, in `sessions/README.md`.

mod read;

pub use read::{LineRange, Loaded, fold, fold_range, read, read_header, read_outline};

use crate::engine::{FinishReason, Usage};
use crate::util::lock::{self, HeldLock, Holder, LockError};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Journal format version, written in every header.
pub const FORMAT: u32 = 1;

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Format version; its presence marks the file as a radiochat session.
    pub radiochat_session: u32,
    pub id: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub title: String,
    pub model: Option<String>,
    pub sampling: SamplingRecord,
    pub system_prompt: Option<String>,
    /// The session this one was forked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<String>,
}

impl Header {
    /// A header for a session created now (the store assigns the id when it creates it).
    pub fn new(title: impl Into<String>) -> Header {
        Header {
            radiochat_session: FORMAT,
            id: String::new(),
            created: crate::util::clock::now(),
            title: title.into(),
            model: None,
            sampling: SamplingRecord::default(),
            system_prompt: None,
            forked_from: None,
        }
    }
}

/// The sampling settings in force when the session was created (later `/set`s are events).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplingRecord {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub max_tokens: usize,
}

/// How an attached image is read and shown; the pixels themselves are never journalled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdu: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plane: Vec<usize>,
    /// The preview stretch chosen with `/image --stretch` (the model input is always the
    /// radio-llava transform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stretch: Option<String>,
}

/// One thing that happened in a session. `at` is RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The user's message; images attached before it belong to it.
    User {
        at: String,
        text: String,
    },
    /// An image attached for the next message.
    Image {
        at: String,
        path: String,
        sha256: String,
        #[serde(default)]
        settings: ImageSettings,
    },
    /// Pending attachments dropped.
    Detach {
        at: String,
    },
    /// A piece of the assistant's answer (flushed at least every 250 ms while streaming).
    Tokens {
        at: String,
        text: String,
    },
    /// The answer ended: stop, length, or cancelled (the text so far is kept).
    Done {
        at: String,
        finish: FinishReason,
        #[serde(default)]
        usage: Usage,
    },
    /// The answer failed; the message is shown to the user.
    Error {
        at: String,
        message: String,
    },
    Renamed {
        at: String,
        title: String,
    },
    /// `None` clears the system prompt.
    System {
        at: String,
        text: Option<String>,
    },
    /// `/set KEY VALUE`.
    Set {
        at: String,
        key: String,
        value: String,
    },
    /// The model was switched.
    Model {
        at: String,
        model: String,
    },
}

/// Why a journal could not be read or opened for writing.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{0}: not a radiochat session ({1})")]
    NotASession(PathBuf, String),
    #[error("{0}: in use by {1}")]
    Locked(PathBuf, Holder),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// The one writer of a journal. Holding it holds the session's lock file.
#[derive(Debug)]
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    _lock: HeldLock,
}

impl JournalWriter {
    /// Start a new journal (mode 0600) with its header.
    pub fn create(path: &Path, header: &Header) -> Result<JournalWriter, JournalError> {
        let io = |e| JournalError::Io(path.to_path_buf(), e);
        let lock = acquire_lock(path)?;
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mut writer = JournalWriter {
            file,
            path: path.to_path_buf(),
            _lock: lock,
        };
        writer.write_line(&serde_json::to_string(header).map_err(|e| io(e.into()))?)?;
        Ok(writer)
    }

    /// Continue an existing journal. A last line cut off by a crash is closed with a newline
    /// first, so the next event starts on a line of its own.
    pub fn append(path: &Path) -> Result<JournalWriter, JournalError> {
        let io = |e| JournalError::Io(path.to_path_buf(), e);
        let lock = acquire_lock(path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let length = file.metadata().map_err(io)?.len();
        if length > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(length - 1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, event: &Event) -> Result<(), JournalError> {
        let line = serde_json::to_string(event)
            .map_err(|e| JournalError::Io(self.path.clone(), e.into()))?;
        self.write_line(&line)
    }

    /// One `write` call per line on an O_APPEND file: lines never interleave.
    fn write_line(&mut self, line: &str) -> Result<(), JournalError> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .map_err(|e| JournalError::Io(self.path.clone(), e))
    }
}

/// `SESSION.jsonl.lock`: an advisory lock (see `util::lock`) held while a writer is open.
fn acquire_lock(journal: &Path) -> Result<HeldLock, JournalError> {
    lock::try_acquire(&lock_path(journal)).map_err(|e| match e {
        LockError::Held(_, holder) => JournalError::Locked(journal.to_path_buf(), holder),
        LockError::Io(path, e) => JournalError::Io(path, e),
    })
}

pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The process holding the journal's lock, if any, on this node or another.
pub fn lock_holder(journal: &Path) -> Option<Holder> {
    lock::holder(&lock_path(journal))
}

/// Hold the journal's lock without writing (to delete it, say).
pub fn lock_for_removal(journal: &Path) -> Result<HeldLock, JournalError> {
    acquire_lock(journal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            id: "20261126-221905-abcd".into(),
            created: "2026-11-26T22:19:05.000Z".into(),
            model: Some("/models/tiny".into()),
            ..Header::new("test")
        }
    }

    fn user(text: &str) -> Event {
        Event::User {
            at: "2026-11-26T22:19:06.000Z".into(),
            text: text.into(),
        }
    }

    #[test]
    fn written_events_read_back_and_the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let mut writer = JournalWriter::create(&path, &header()).unwrap();
            writer.write(&user("hello")).unwrap();
            assert!(lock_path(&path).exists());
        }
        assert!(!lock_path(&path).exists(), "lock released on drop");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = read(&path).unwrap();
        assert_eq!(loaded.header, header());
        assert_eq!(loaded.events, vec![user("hello")]);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn garbage_and_a_cut_off_last_line_are_skipped_with_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        drop(JournalWriter::create(&path, &header()).unwrap());
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"not json\n").unwrap();
        file.write_all(serde_json::to_string(&user("kept")).unwrap().as_bytes())
            .unwrap();
        file.write_all(b"\n{\"type\":\"tokens\",\"at\":\"x\",\"te")
            .unwrap();
        drop(file);
        let loaded = read(&path).unwrap();
        assert_eq!(loaded.events, vec![user("kept")]);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("line 2: skipped"));
        assert!(loaded.warnings[1].contains("line 4: skipped (cut off"));

        // Appending after the crash starts a fresh line.
        let mut writer = JournalWriter::append(&path).unwrap();
        writer.write(&user("after")).unwrap();
        let loaded = read(&path).unwrap();
        assert_eq!(loaded.events, vec![user("kept"), user("after")]);
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_lives_and_a_stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let first = JournalWriter::create(&path, &header()).unwrap();
        match JournalWriter::append(&path) {
            Err(JournalError::Locked(_, holder)) => assert_eq!(holder.pid, std::process::id()),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        // What a killed writer leaves: its record, and no lock (the kernel released it).
        std::fs::write(lock_path(&path), "node07 4242 2026-11-30T09:00:00.000Z\n").unwrap();
        assert!(lock_holder(&path).is_none());
        assert!(JournalWriter::append(&path).is_ok());
    }

    #[test]
    fn a_file_without_a_header_is_not_a_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.jsonl");
        std::fs::write(&path, "{\"hello\": 1}\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("not a radiochat session"), "{err}");
    }
}
