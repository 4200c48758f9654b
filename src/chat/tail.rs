//! A long session opened from its end. Replaying a 10,000-turn journal (15 MB) takes a fifth
//! of a second, all before the first frame; the screen shows the last turns, so those are read
//! first: the last [`TAIL_BYTES`] from the first question in them, with the earlier turns
//! counted (a byte search for question lines, no parsing) and held as placeholders at their
//! own indices. The earlier part is then replayed off the UI thread ([`EarlierPart::read`])
//! and put in place ([`Conversation::fill_earlier`]); nothing shifts on screen.

use super::conversation::{AnswerState, Conversation, Turn};
use super::journal::{self, JournalError, LineRange};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Journals longer than this open from their end (about 650 turns of a typical session:
/// far more than a screen shows or a model's context takes).
pub const TAIL_BYTES: u64 = 1 << 20;

/// How a question's line starts, after the newline before it (serde writes the tag first).
const QUESTION: &[u8] = b"\n{\"type\":\"user\"";

/// The journal's lines before the tail, to replay later.
#[derive(Debug, Clone)]
pub struct EarlierPart {
    pub path: PathBuf,
    pub lines: LineRange,
    /// The questions counted in it: the placeholders standing for its turns.
    pub turns: usize,
}

impl EarlierPart {
    /// Replay the earlier part (off the UI thread: this is the slow read).
    pub fn read(&self) -> Result<(Conversation, Vec<String>), JournalError> {
        journal::fold_range(
            &self.path,
            Some(self.lines),
            |_| true,
            Conversation::new,
            |conversation, event| conversation.apply(&event),
        )
    }
}

/// A journal cut where its tail starts.
#[derive(Debug, Clone)]
pub struct Split {
    pub earlier: EarlierPart,
    /// The tail: from its first question to the end.
    pub tail: LineRange,
}

/// Where the tail of a journal longer than `tail_bytes` starts, and what comes before it;
/// `None` when the journal is shorter, or its end holds no question, or nothing precedes it.
pub fn split(path: &Path, tail_bytes: u64) -> Result<Option<Split>, JournalError> {
    let io = |e| JournalError::Io(path.to_path_buf(), e);
    let mut file = File::open(path).map_err(io)?;
    let length = file.metadata().map_err(io)?.len();
    if length <= tail_bytes {
        return Ok(None);
    }
    let tail_from = length - tail_bytes;
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(tail_from - 1)).map_err(io)?;
    (&mut file)
        .take(tail_bytes + 1)
        .read_to_end(&mut tail)
        .map_err(io)?;
    let Some(found) = memchr::memmem::find(&tail, QUESTION) else {
        return Ok(None);
    };
    // The newline found is the one before the question's line.
    let until = tail_from + found as u64;
    let (turns, newlines) = count_before(&mut file, until).map_err(io)?;
    if turns == 0 {
        return Ok(None);
    }
    Ok(Some(Split {
        earlier: EarlierPart {
            path: path.to_path_buf(),
            lines: LineRange {
                from: 0,
                until,
                first_line: 2,
            },
            turns,
        },
        tail: LineRange {
            from: until,
            until: u64::MAX,
            first_line: newlines + 1,
        },
    }))
}

/// Questions and newlines in the first `until` bytes, read a megabyte at a time.
fn count_before(file: &mut File, until: u64) -> std::io::Result<(usize, usize)> {
    file.seek(SeekFrom::Start(0))?;
    let finder = memchr::memmem::Finder::new(QUESTION);
    let mut reader = file.take(until);
    let mut buffer = vec![0u8; 1 << 20];
    // The end of the last chunk, so that a question line split across chunks is found.
    let keep = QUESTION.len() - 1;
    let (mut carried, mut questions, mut newlines) = (0usize, 0usize, 0usize);
    loop {
        let read = reader.read(&mut buffer[carried..])?;
        if read == 0 {
            break;
        }
        let filled = carried + read;
        newlines += memchr::memchr_iter(b'\n', &buffer[carried..filled]).count();
        questions += finder.find_iter(&buffer[..filled]).count();
        carried = keep.min(filled);
        buffer.copy_within(filled - carried..filled, 0);
    }
    Ok((questions, newlines))
}

/// A session's conversation as opened: whole, or its tail with the earlier part to read.
pub struct Opened {
    pub conversation: Conversation,
    /// Lines skipped (corrupt or cut off) in what was read.
    pub warnings: Vec<String>,
    pub earlier: Option<EarlierPart>,
}

/// The tail of a split journal, the turns before it as placeholders.
fn read_tail(path: &Path, split: &Split) -> Result<(Conversation, Vec<String>), JournalError> {
    let placeholders = split.earlier.turns;
    let (mut conversation, warnings) = journal::fold_range(
        path,
        Some(split.tail),
        |_| true,
        |header| {
            let mut conversation = Conversation::new(header);
            conversation.turns = vec![placeholder(); placeholders];
            conversation.unread = placeholders;
            conversation
        },
        |conversation, event| conversation.apply(&event),
    )?;
    conversation.ended();
    Ok((conversation, warnings))
}

/// The turn standing for one not read yet.
fn placeholder() -> Turn {
    Turn {
        asked_at: String::new(),
        question: String::new(),
        images: Vec::new(),
        answer: String::new(),
        state: AnswerState::Interrupted,
        answered_at: None,
    }
}

impl Conversation {
    /// Open the journal at `path`: whole when it is short, else its tail, the earlier turns
    /// as placeholders to fill with [`EarlierPart::read`] and [`Conversation::fill_earlier`].
    pub fn open(path: &Path) -> Result<Opened, JournalError> {
        let Some(split) = split(path, TAIL_BYTES)? else {
            let (conversation, warnings) = Conversation::load(path)?;
            return Ok(Opened {
                conversation,
                warnings,
                earlier: None,
            });
        };
        let (conversation, warnings) = read_tail(path, &split)?;
        Ok(Opened {
            conversation,
            warnings,
            earlier: Some(split.earlier),
        })
    }

    /// Put the earlier part in place of the placeholders. False when it holds another number
    /// of turns than were counted (a question line that did not parse): the turns after it
    /// moved, and a view holding a place among them should start again from the end.
    pub fn fill_earlier(&mut self, mut earlier: Conversation) -> bool {
        let placeholders = std::mem::take(&mut self.unread);
        // The tail's first question interrupted an answer still open before it.
        earlier.ended();
        // Images are journalled before the question they go with.
        if let Some(first) = self.turns.get_mut(placeholders) {
            let mut images = std::mem::take(&mut earlier.pending_images);
            images.append(&mut first.images);
            first.images = images;
        }
        let same = earlier.turns.len() == placeholders;
        self.turns.splice(..placeholders, earlier.turns);
        self.title = earlier.title;
        self.model = earlier.model;
        self.system_prompt = earlier.system_prompt;
        self.settings = earlier.settings;
        for event in std::mem::take(&mut self.since_split) {
            self.apply(&event);
        }
        same
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::journal::{Event, Header, JournalWriter};
    use crate::engine::{FinishReason, Usage};

    fn at(n: usize) -> String {
        format!("2026-12-03T10:{:02}:{:02}.000Z", n / 60 % 60, n % 60)
    }

    /// A session of `turns` turns (an image before every third question, a rename at turn 5,
    /// a system prompt at turn 7, the last answer cut off), written as radiochat writes it.
    fn write_session(path: &Path, turns: usize) {
        let mut writer = JournalWriter::create(path, &Header::new("first title")).unwrap();
        for n in 0..turns {
            if n % 3 == 0 {
                writer
                    .write(&Event::Image {
                        at: at(n),
                        path: format!("/data/cutout-{n}.fits"),
                        sha256: "00".repeat(32),
                        settings: Default::default(),
                    })
                    .unwrap();
            }
            if n == 5 {
                let title = "renamed".to_string();
                writer.write(&Event::Renamed { at: at(n), title }).unwrap();
            }
            if n == 7 {
                let text = Some("be brief".to_string());
                writer.write(&Event::System { at: at(n), text }).unwrap();
            }
            let text = format!("question {n}: is there a radio galaxy?");
            writer.write(&Event::User { at: at(n), text }).unwrap();
            for piece in ["Yes, ", "an FR-II ", &"with lobes. ".repeat(4)] {
                let text = piece.to_string();
                writer.write(&Event::Tokens { at: at(n), text }).unwrap();
            }
            if n + 1 < turns {
                let (finish, usage) = (FinishReason::Stop, Usage::default());
                writer
                    .write(&Event::Done {
                        at: at(n),
                        finish,
                        usage,
                    })
                    .unwrap();
            }
        }
    }

    #[test]
    fn a_long_journal_opened_from_its_end_equals_the_whole_replay_once_filled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        write_session(&path, 60);
        let (whole, _) = Conversation::load(&path).unwrap();
        let length = std::fs::metadata(&path).unwrap().len();
        for tail_bytes in [length / 10, length / 3, length - 2000, 1000] {
            let split = split(&path, tail_bytes).unwrap().unwrap();
            let placeholders = split.earlier.turns;
            assert!(
                (1..60).contains(&placeholders),
                "{placeholders} at {tail_bytes}"
            );
            let (mut tail, warnings) = read_tail(&path, &split).unwrap();
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(tail.turns.len(), 60);
            assert_eq!(
                tail.turns[59], whole.turns[59],
                "the last turn reads at once"
            );
            let (earlier, _) = split.earlier.read().unwrap();
            assert!(
                tail.fill_earlier(earlier),
                "the count matched at {tail_bytes}"
            );
            assert_eq!(tail, whole, "filled from a tail of {tail_bytes} bytes");
        }
    }

    #[test]
    fn a_short_journal_opens_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        write_session(&path, 4);
        let opened = Conversation::open(&path).unwrap();
        assert!(opened.earlier.is_none());
        assert_eq!(opened.conversation.unread, 0);
        assert_eq!(opened.conversation.turns.len(), 4);
    }

    #[test]
    fn what_changed_after_the_split_outranks_the_earlier_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        write_session(&path, 60);
        let length = std::fs::metadata(&path).unwrap().len();
        let split = split(&path, length / 4).unwrap().unwrap();
        let (mut tail, _) = read_tail(&path, &split).unwrap();
        assert_eq!(
            tail.title, "first title",
            "the rename is in the earlier part"
        );
        tail.apply(&Event::System {
            at: at(99),
            text: Some("be thorough".into()),
        });
        let (earlier, _) = split.earlier.read().unwrap();
        tail.fill_earlier(earlier);
        assert_eq!(tail.title, "renamed");
        assert_eq!(tail.system_prompt.as_deref(), Some("be thorough"));
        assert_eq!(tail.unread, 0);
    }

    #[test]
    fn a_question_line_counted_but_unreadable_is_reported_as_a_shift() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        write_session(&path, 30);
        let text = std::fs::read_to_string(&path).unwrap();
        // Break the third question's JSON: counted by the byte search, skipped by the replay.
        let broken = text.replacen("question 2: is", "question 2\": is", 1);
        std::fs::write(&path, broken).unwrap();
        let split = split(&path, 1000).unwrap().unwrap();
        let (earlier, warnings) = split.earlier.read().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line "), "{warnings:?}");
        let mut opened = Conversation::new(earlier.header.clone());
        opened.turns = vec![placeholder(); split.earlier.turns];
        opened.unread = split.earlier.turns;
        assert!(!opened.fill_earlier(earlier));
        assert_eq!(
            opened.turns.len(),
            split.earlier.turns - 1,
            "one unreadable"
        );
    }
}
