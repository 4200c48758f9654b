//! Reading a journal back: whole, its header alone, the lines a session list needs, or a
//! line at a time over a byte range (a long session is opened from its end), skipping the
//! lines that do not parse with a warning each.

use super::{Event, Header, JournalError};
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
