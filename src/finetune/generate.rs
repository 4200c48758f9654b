//! LLM-written question–answer pairs (radio-llava's `--generate_qa`): a model is shown each
//! image with radio-llava's query — a figure caption written from the image's labels (or the
//! paper's own caption), a glossary and the task — and answers with a JSON list of
//! `{"question", "answer"}`. Answers that are not such a list, and pairs that contradict the
//! labels, are dropped and counted; every answer is kept in an append-only cache keyed by
//! model, query and image, so a rerun (or a resumed one) asks nothing twice. The texts are data
//! (`prompts/finetune/generate.toml`); asking is the caller's (`Ask`: the embedded engine or
//! an OpenAI-compatible server).

use crate::bench::labels::{Peculiarity, peculiarity};
use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const PROMPT: &str = include_str!("../../prompts/finetune/generate.toml");

#[derive(Debug, Clone, Deserialize)]
struct TagSentence {
    tag: String,
    present: String,
    absent: String,
}

#[derive(Debug, Clone, Deserialize)]
struct CaptionText {
    intro: String,
    tags: Vec<TagSentence>,
    complex: String,
    complex_peculiar: String,
    peculiar: String,
    very_ordinary: String,
    ordinary: String,
}

/// radio-llava's query parts.
#[derive(Debug, Clone, Deserialize)]
pub struct Prompt {
    context: String,
    glossary: String,
    task: String,
    requirements: String,
    caption: CaptionText,
}

impl Prompt {
    pub fn built_in() -> Result<Prompt, FileError> {
        toml::from_str(PROMPT).map_err(|e| FileError::invalid(format!("generate.toml: {e}")))
    }

    /// A user's own prompt file, in the built-in one's shape.
    pub fn from_file(path: &Path) -> Result<Prompt, FileError> {
        let text = std::fs::read_to_string(path).map_err(FileError::io(path))?;
        toml::from_str(&text).map_err(|e| {
            let message = e.message().trim().to_string();
            FileError::invalid(format!(
                "{}: {message} (expected the fields of prompts/finetune/generate.toml)",
                path.display()
            ))
        })
    }

    /// radio-llava's figure caption for an image with these label tags.
    pub fn caption(&self, tags: &[String]) -> String {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let c = &self.caption;
        let mut text = c.intro.clone();
        for sentence in &c.tags {
            text += if has(&sentence.tag) {
                &sentence.present
            } else {
                &sentence.absent
            };
        }
        match peculiarity(tags) {
            Peculiarity::Complex { peculiar } => {
                text += &c.complex;
                if peculiar {
                    text += &c.complex_peculiar;
                }
            }
            Peculiarity::Peculiar => text += &c.peculiar,
            Peculiarity::VeryOrdinary => text += &c.very_ordinary,
            Peculiarity::Ordinary => text += &c.ordinary,
        }
        text
    }

    /// The query sent with the image: `k` pairs asked for at least.
    pub fn query(&self, caption: &str, k: usize) -> String {
        let requirements = self.requirements.replace("{k}", &k.to_string());
        format!(
            "{}\nFigure caption: {caption}\n\n{}\n{}\n{requirements}",
            self.context, self.glossary, self.task
        )
    }
}

/// A question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub question: String,
    pub answer: String,
}

/// The pairs of an answer; `Err`: it is not a JSON list of `{"question", "answer"}`
/// (Markdown code fences around it are taken off first, as radio-llava's clean-up does).
pub fn parse_pairs(answer: &str) -> Result<(Vec<Pair>, usize), String> {
    let text = answer.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .map_or(text, |t| t.trim_end().trim_end_matches("```"))
        .trim();
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Array(entries) = value else {
        return Err("JSON, but not a list of {\"question\", \"answer\"}".into());
    };
    let total = entries.len();
    let pairs: Vec<Pair> = entries
        .into_iter()
        .filter_map(|e| serde_json::from_value::<Pair>(e).ok())
        .filter(|p| !p.question.trim().is_empty() && !p.answer.trim().is_empty())
        .collect();
    if pairs.is_empty() {
        return Err("an empty list, or no entry with a question and an answer".into());
    }
    let malformed = total - pairs.len();
    Ok((pairs, malformed))
}

/// What a pair may not deny or claim against the labels: (tags that make it present, words
/// that name it).
const TOPICS: [(&[&str], &[&str]); 5] = [
    (&["RADIO-GALAXY"], &["radio galax"]),
    (&["ARTEFACT"], &["artefact", "artifact", "sidelobe"]),
    (&["DIFFUSE", "DIFFUSE-LARGE"], &["diffuse"]),
    (&["EXTENDED", "RADIO-GALAXY"], &["extended"]),
    (
        &["BORDER"],
        &["empty pixel", "nan pixel", "blank pixel", "border"],
    ),
];

/// Why a pair contradicts the image's labels, if it does: a yes/no answer about a topic the
/// labels settle, answered the other way.
pub fn contradiction(tags: &[String], pair: &Pair) -> Option<String> {
    let question = pair.question.to_lowercase();
    let answer = pair.answer.trim_start().to_lowercase();
    let says = if answer.starts_with("yes") {
        true
    } else if answer.starts_with("no") && !answer.starts_with("not") {
        false
    } else {
        return None;
    };
    let (present, words) = TOPICS
        .iter()
        .find(|(_, words)| words.iter().any(|w| question.contains(w)))?;
    let is_present = tags.iter().any(|t| present.contains(&t.as_str()));
    (says != is_present).then(|| {
        format!(
            "answers {} about {} where the labels say {}",
            if says { "yes" } else { "no" },
            words[0],
            if is_present { "present" } else { "absent" }
        )
    })
}

/// One cached answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    key: String,
    model: String,
    image: PathBuf,
    answer: String,
}

/// The answers asked before: an append-only JSONL file (a torn last line is ignored).
pub struct Cache {
    path: PathBuf,
    answers: HashMap<String, String>,
    /// The file ends in a cut-off line: the next entry starts on a new one.
    torn: bool,
}

impl Cache {
    pub fn open(path: &Path) -> Result<Cache, FileError> {
        let mut answers = HashMap::new();
        let mut torn = false;
        match std::fs::read_to_string(path) {
            Ok(text) => {
                torn = !text.is_empty() && !text.ends_with('\n');
                for line in text.lines() {
                    if let Ok(entry) = serde_json::from_str::<Cached>(line) {
                        answers.insert(entry.key, entry.answer);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FileError::io(path)(e)),
        }
        Ok(Cache {
            path: path.to_path_buf(),
            answers,
            torn,
        })
    }

    fn get(&self, key: &str) -> Option<&String> {
        self.answers.get(key)
    }

    fn put(&mut self, entry: Cached) -> Result<(), FileError> {
        let path = self.path.clone();
        let io = |e: std::io::Error| FileError::io(&path)(e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::util::private_file::create_private_dir(dir).map_err(FileError::io(dir))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        let mut line = serde_json::to_string(&entry).map_err(|e| io(e.into()))? + "\n";
        if std::mem::take(&mut self.torn) {
            line.insert(0, '\n');
        }
        file.write_all(line.as_bytes()).map_err(io)?;
        self.answers.insert(entry.key, entry.answer);
        Ok(())
    }
}

/// Asks a model one query about one image.
pub trait Ask {
    /// The model's name, part of the cache key.
    fn model(&self) -> String;
    fn ask(&mut self, query: &str, image: &Path) -> Result<String, String>;
}

/// What generation did, for the summary and progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    pub images: usize,
    /// Answers taken from the cache (nothing asked).
    pub cached: usize,
    pub asked: usize,
    pub pairs: usize,
    /// Answers that were not a JSON list of pairs, and entries of a list without both fields.
    pub invalid_json: usize,
    pub malformed_pairs: usize,
    /// Pairs dropped for contradicting the labels.
    pub contradictions: usize,
    /// Requests the model failed.
    pub failed: usize,
    /// The first few drops: image and why.
    pub dropped_examples: Vec<String>,
}

/// Writes pairs image by image: the prompt, the cache, the asker, the counts.
pub struct Generator<'a> {
    pub prompt: Prompt,
    pub k: usize,
    pub cache: Cache,
    pub ask: &'a mut dyn Ask,
    pub counts: Generated,
    pub on_progress: &'a mut dyn FnMut(&Generated),
}

impl Generator<'_> {
    /// The pairs for an image (`tags` from its label, or the paper's `caption`), asking the
    /// model unless the answer is cached; nothing when the answer is dropped.
    pub fn pairs(
        &mut self,
        tags: &[String],
        caption: Option<&str>,
        image: &Path,
    ) -> Result<Vec<Pair>, FileError> {
        let text = match caption {
            Some(caption) => caption.to_string(),
            None => self.prompt.caption(tags),
        };
        let query = self.prompt.query(&text, self.k);
        let model = self.ask.model();
        let image_hash = super::data_io::file_hash(image)?;
        let key =
            crate::util::hash::sha256_hex(format!("{model}\n{image_hash}\n{query}").as_bytes());
        self.counts.images += 1;
        let answer = match self.cache.get(&key) {
            Some(answer) => {
                self.counts.cached += 1;
                answer.clone()
            }
            None => {
                self.counts.asked += 1;
                match self.ask.ask(&query, image) {
                    Ok(answer) => {
                        let entry = Cached {
                            key,
                            model,
                            image: image.to_path_buf(),
                            answer: answer.clone(),
                        };
                        self.cache.put(entry)?;
                        answer
                    }
                    Err(why) => {
                        self.counts.failed += 1;
                        self.drop_example(image, &format!("the model failed: {why}"));
                        (self.on_progress)(&self.counts);
                        return Ok(Vec::new());
                    }
                }
            }
        };
        let kept = self.keep(tags, caption.is_none(), image, &answer);
        (self.on_progress)(&self.counts);
        Ok(kept)
    }

    fn keep(&mut self, tags: &[String], labelled: bool, image: &Path, answer: &str) -> Vec<Pair> {
        let (pairs, malformed) = match parse_pairs(answer) {
            Ok(read) => read,
            Err(why) => {
                self.counts.invalid_json += 1;
                self.drop_example(image, &why);
                return Vec::new();
            }
        };
        self.counts.malformed_pairs += malformed;
        let mut kept = Vec::new();
        for pair in pairs {
            match contradiction(tags, &pair).filter(|_| labelled) {
                Some(why) => {
                    self.counts.contradictions += 1;
                    self.drop_example(image, &format!("\"{}\" {why}", pair.question));
                }
                None => kept.push(pair),
            }
        }
        self.counts.pairs += kept.len();
        kept
    }

    fn drop_example(&mut self, image: &Path, why: &str) {
        if self.counts.dropped_examples.len() < 5 {
            let short: String = why.chars().take(200).collect();
            self.counts
                .dropped_examples
                .push(format!("{}: {short}", image.display()));
        }
    }
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
