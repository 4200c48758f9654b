//! A session on disk: an append-only JSON Lines journal. Line 1 is the [`Header`]; every
//! later line is one [`Event`]. Appending one line per event means a killed process loses at
//! most the line it was writing, and a reader skips such a line (or any garbage) with a
//! warning instead of refusing the whole session. The format is documented, with an
//! example, in `sessions/README.md`.

use crate::engine::{FinishReason, Usage};
use crate::util::lock::{self, HeldLock, Holder, LockError};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
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

/// A journal as read back.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub header: Header,
    pub events: Vec<Event>,
    /// One line per skipped line: `PATH line N: skipped (why)`.
    pub warnings: Vec<String>,
}

/// Read a journal, skipping unreadable lines after the header.
pub fn read(path: &Path) -> Result<Loaded, JournalError> {
    read_collected(path, |_| true)
}

/// Read a journal's header alone.
pub fn read_header(path: &Path) -> Result<Header, JournalError> {
    let nothing = LineRange {
        from: 0,
        until: 0,
        first_line: 2,
    };
    fold_range(path, Some(nothing), |_| false, |header| header, |_, _| {}).map(|(h, _)| h)
}

/// Read a journal's header and only the events that name a session in a list (questions,
/// renames, model switches): streamed text, the bulk of a long session, is passed over
/// unparsed. Serde writes the `type` tag first; a line laid out otherwise is parsed anyway.
pub fn read_outline(path: &Path) -> Result<Loaded, JournalError> {
    read_collected(path, |line| {
        let Some(rest) = line.strip_prefix("{\"type\":\"") else {
            return true;
        };
        ["user", "renamed", "model"]
            .iter()
            .any(|kind| rest.strip_prefix(kind).is_some_and(|r| r.starts_with('"')))
    })
}

fn read_collected(path: &Path, wanted: impl Fn(&str) -> bool) -> Result<Loaded, JournalError> {
    let ((header, events), warnings) = fold(
        path,
        wanted,
        |header| (header, Vec::new()),
        |(_, events), event| events.push(event),
    )?;
    Ok(Loaded {
        header,
        events,
        warnings,
    })
}

/// Whole lines of a journal, by byte offset: `from` starts line number `first_line`, and the
/// lines end at `until` (a long session is opened from its end; see `chat::tail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRange {
    pub from: u64,
    pub until: u64,
    pub first_line: usize,
}

/// A journal read a line at a time, never whole: `start` makes the state from the header,
/// `each` takes every event after it whose line is `wanted`, in order. Lines that do not
/// parse are skipped, each with a warning (`PATH line N: skipped (why)`).
pub fn fold<T>(
    path: &Path,
    wanted: impl Fn(&str) -> bool,
    start: impl FnOnce(Header) -> T,
    each: impl FnMut(&mut T, Event),
) -> Result<(T, Vec<String>), JournalError> {
    fold_range(path, None, wanted, start, each)
}

/// [`fold`] over the events of `range` only (the header is always read), or of every line.
pub fn fold_range<T>(
    path: &Path,
    range: Option<LineRange>,
    wanted: impl Fn(&str) -> bool,
    start: impl FnOnce(Header) -> T,
    mut each: impl FnMut(&mut T, Event),
) -> Result<(T, Vec<String>), JournalError> {
    let io = |e| JournalError::Io(path.to_path_buf(), e);
    let mut file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    let header_length = std::io::BufReader::new(&mut file)
        .read_until(b'\n', &mut bytes)
        .map_err(io)?;
    if header_length == 0 {
        return Err(JournalError::NotASession(
            path.to_path_buf(),
            "empty file".into(),
        ));
    }
    let header: Header = serde_json::from_slice(&bytes).map_err(|e| {
        JournalError::NotASession(path.to_path_buf(), format!("line 1 is no header: {e}"))
    })?;
    let range = range.unwrap_or(LineRange {
        from: 0,
        until: u64::MAX,
        first_line: 2,
    });
    let from = range.from.max(header_length as u64);
    file.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut reader = std::io::BufReader::new(file.take(range.until.saturating_sub(from)));
    let mut state = start(header);
    let mut warnings = Vec::new();
    let mut number = range.first_line;
    loop {
        bytes.clear();
        if reader.read_until(b'\n', &mut bytes).map_err(io)? == 0 {
            break;
        }
        // A last line without its newline was being written when the writer died.
        let complete = bytes.pop_if(|b| *b == b'\n').is_some();
        let line = String::from_utf8_lossy(&bytes);
        if !line.trim().is_empty() && wanted(&line) {
            match parse_event(&line) {
                Ok(event) if complete => each(&mut state, event),
                parsed => {
                    let why = match parsed {
                        Err(e) if complete => e.to_string(),
                        _ => "cut off while being written".to_string(),
                    };
                    warnings.push(format!("{} line {number}: skipped ({why})", path.display()));
                }
            }
        }
        number += 1;
    }
    Ok((state, warnings))
}

/// A streamed piece of an answer, the line most of a long journal is made of. Serde reads an
/// internally tagged enum by buffering every field before it picks the variant; these are
/// read straight into their own shape.
#[derive(Deserialize)]
struct TokensLine {
    at: String,
    text: String,
}

fn parse_event(line: &str) -> serde_json::Result<Event> {
    if line.starts_with("{\"type\":\"tokens\",")
        && let Ok(TokensLine { at, text }) = serde_json::from_str(line)
    {
        return Ok(Event::Tokens { at, text });
    }
    serde_json::from_str(line)
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

    #[test]
    fn streamed_pieces_read_the_same_by_the_short_path_as_by_the_enum() {
        let pieces = [
            "{\"type\":\"tokens\",\"at\":\"2026-11-26T22:19:07.000Z\",\"text\":\"a \\\"quoted\\\"\\n\\u00e9 piece\"}",
            // Another field order and spacing: not what radiochat writes, read all the same.
            "{\"type\":\"tokens\", \"text\": \"x\", \"at\": \"t\"}",
            "{\"type\":\"tokens\",\"text\":\"y\",\"at\":\"t\",\"extra\":1}",
        ];
        for line in pieces {
            let by_enum: Event = serde_json::from_str(line).unwrap();
            assert_eq!(parse_event(line).unwrap(), by_enum, "{line}");
        }
        let written = Event::Tokens {
            at: "2026-11-26T22:19:07.000Z".into(),
            text: "line\n\ttab {\"json\"}".into(),
        };
        let line = serde_json::to_string(&written).unwrap();
        assert!(line.starts_with("{\"type\":\"tokens\","), "{line}");
        assert_eq!(parse_event(&line).unwrap(), written);
        // A broken piece fails with the enum's own message, not the short path's.
        let broken = "{\"type\":\"tokens\",\"at\":\"t\",\"text\":7}";
        assert_eq!(
            parse_event(broken).unwrap_err().to_string(),
            serde_json::from_str::<Event>(broken)
                .unwrap_err()
                .to_string()
        );
    }
}
