//! Figure–caption pairs for `finetune data --captions FILE`: radioimg-arxiv's JSON
//! (`{"data": [{"filepath", "figures": [{"figure_path", "caption_text", "caption_text_nwords"}]}]}`)
//! or a plain list (`[{"image", "caption"}]`), image paths relative to the file's folder. Each
//! pair becomes a "describe the image" conversation answered with the caption, its phrasing
//! short or long by the caption's length as radio-llava chooses (`prompts/finetune/captions.toml`).
//! Entries without an image or with an empty caption are skipped with the file and entry.

use super::data_io::{file_stem, unique_id};
use super::turns::{Planned, Turn, unit};
use crate::util::error::FileError;
use crate::util::hash::stable_u64;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const PHRASINGS: &str = include_str!("../../prompts/finetune/captions.toml");

/// The counted name of caption turns (`data.json`'s turns).
pub const CAPTION: &str = "caption";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrasings {
    pub long_above_words: usize,
    pub short: Vec<String>,
    pub long: Vec<String>,
}

pub fn phrasings() -> Result<Phrasings, FileError> {
    let read: Phrasings =
        toml::from_str(PHRASINGS).map_err(|e| FileError::invalid(format!("captions.toml: {e}")))?;
    if read.short.is_empty() || read.long.is_empty() {
        return Err(FileError::invalid("captions.toml: no phrasings"));
    }
    Ok(read)
}

impl Phrasings {
    /// The question for a caption of `words` words, picked by `which` in [0, 1).
    pub fn question(&self, words: usize, which: f64) -> &str {
        let list = if words > self.long_above_words {
            &self.long
        } else {
            &self.short
        };
        &list[((which * list.len() as f64) as usize).min(list.len() - 1)]
    }
}

/// A figure and its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    /// `FILE-STEM#N`: the entry's place, unique within a file.
    pub id: String,
    pub image: PathBuf,
    pub text: String,
    /// The file's word count if it has one (radioimg-arxiv's), else the caption's.
    pub words: usize,
}

/// A caption file as read.
#[derive(Debug)]
pub struct CaptionFile {
    pub captions: Vec<Caption>,
    /// Entries left out, one line each naming the file and entry.
    pub skipped: Vec<String>,
    pub sha256: String,
}

/// The captions of a file.
pub fn read(path: &Path) -> Result<CaptionFile, FileError> {
    let bytes = std::fs::read(path).map_err(FileError::io(path))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| FileError::invalid(format!("{}: not JSON: {e}", path.display())))?;
    let entries = entries(&value).ok_or_else(|| {
        FileError::invalid(format!(
            "{}: not a caption file (radioimg-arxiv's {{\"data\": [{{\"figures\": […]}}]}} or [{{\"image\", \"caption\"}}])",
            path.display()
        ))
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut captions = Vec::new();
    let mut skipped = Vec::new();
    for (n, entry) in entries.into_iter().enumerate() {
        let place = format!("{} entry {}", path.display(), n + 1);
        let Some((image, text, words)) = entry else {
            skipped.push(format!("{place}: no image path or caption text"));
            continue;
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            skipped.push(format!("{place}: empty caption"));
            continue;
        }
        let image = base.join(image);
        if !image.is_file() {
            skipped.push(format!("{place}: image {} is missing", image.display()));
            continue;
        }
        let words = words.unwrap_or_else(|| text.split_whitespace().count());
        captions.push(Caption {
            id: format!("{stem}#{}", n + 1),
            image,
            text,
            words,
        });
    }
    Ok(CaptionFile {
        captions,
        skipped,
        sha256: crate::util::hash::sha256_hex(&bytes),
    })
}

type Entry = Option<(String, String, Option<usize>)>;

/// Each entry's image path, caption and word count, in either layout; `None` for the list when
/// it is neither.
fn entries(value: &Value) -> Option<Vec<Entry>> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(papers) = value.get("data").and_then(Value::as_array) {
        let figures = papers
            .iter()
            .flat_map(|paper| {
                paper
                    .get("figures")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|figure| {
                let words = figure
                    .get("caption_text_nwords")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize);
                Some((
                    text(&figure, "figure_path")?,
                    text(&figure, "caption_text")?,
                    words,
                ))
            });
        return Some(figures.collect());
    }
    let list = value.as_array()?;
    Some(
        list.iter()
            .map(|e| Some((text(e, "image")?, text(e, "caption")?, None)))
            .collect(),
    )
}

/// Which captions go in so that they make `ratio` of all conversations beside `others` Q&A
/// ones: a seeded choice, all of them when there are too few. `None`: all.
pub fn mix(captions: Vec<Caption>, others: usize, ratio: Option<f64>, seed: u64) -> Vec<Caption> {
    let Some(ratio) = ratio else {
        return captions;
    };
    let wanted = if others == 0 {
        captions.len()
    } else {
        (ratio / (1.0 - ratio) * others as f64).round() as usize
    };
    let mut keyed: Vec<(u64, Caption)> = captions
        .into_iter()
        .map(|c| (stable_u64(seed, &["caption", &c.id]), c))
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    keyed.into_iter().take(wanted).map(|(_, c)| c).collect()
}

/// The conversations of the captions chosen, their images numbered on from `first` in the
/// output, split by `(seed, validation share)` as the other images are.
pub(super) fn plans(
    chosen: Vec<Caption>,
    phrasings: &Phrasings,
    first: usize,
    (seed, val): (u64, f64),
    ids: &mut HashSet<String>,
) -> Vec<Planned> {
    chosen
        .into_iter()
        .enumerate()
        .map(|(n, caption)| {
            let id = unique_id(ids, &caption.id);
            let question = phrasings.question(caption.words, unit(seed, &[&id, CAPTION]));
            Planned {
                file: format!("images/{:06}-{}.png", first + n, file_stem(&id)),
                val: unit(seed, &["split", &id]) < val,
                turns: vec![
                    Turn {
                        from: "human".into(),
                        value: format!("<image>\n{question}"),
                    },
                    Turn {
                        from: "gpt".into(),
                        value: caption.text.clone(),
                    },
                ],
                id,
                image: caption.image,
                counted: vec![CAPTION.into()],
                boxes: Vec::new(),
                box_answers: Vec::new(),
                tags: Vec::new(),
                caption: Some(caption.text),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_captions_get_radio_llavas_long_questions() {
        let p = phrasings().unwrap();
        assert_eq!(p.short.len(), 12);
        assert_eq!(p.long.len(), 17);
        assert_eq!(p.question(30, 0.0), "Can you describe the image?");
        assert_eq!(p.question(31, 0.0), "Can you describe the image in detail?");
        assert_eq!(
            p.question(5, 0.999),
            "Create a compact narrative representing the image presented."
        );
    }

    #[test]
    fn both_layouts_are_read_and_bad_entries_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"x").unwrap();
        let arxiv = serde_json::json!({"data": [
            {"filepath": "paper1.pdf", "figures": [
                {"figure_path": "a.png", "caption_text": "Radio map of the cluster.", "caption_text_nwords": 42},
                {"figure_path": "a.png", "caption_text": "  "},
                {"figure_path": "gone.png", "caption_text": "Missing."}]},
            {"filepath": "paper2.pdf", "figures": [{"caption_text": "No image."}]}]});
        let path = dir.path().join("arxiv.json");
        std::fs::write(&path, arxiv.to_string()).unwrap();
        let CaptionFile {
            captions, skipped, ..
        } = read(&path).unwrap();
        assert_eq!(captions.len(), 1);
        assert_eq!(captions[0].words, 42, "the file's own count");
        assert_eq!(captions[0].id, "arxiv#1");
        assert_eq!(captions[0].image, dir.path().join("a.png"));
        assert!(
            skipped[0].ends_with("arxiv.json entry 2: empty caption"),
            "{skipped:?}"
        );
        assert!(
            skipped[1].contains("entry 3: image") && skipped[1].ends_with("gone.png is missing")
        );
        assert!(skipped[2].ends_with("entry 4: no image path or caption text"));

        let plain = serde_json::json!([{"image": "a.png", "caption": "Two lobes and a core."}]);
        let path = dir.path().join("plain.json");
        std::fs::write(&path, plain.to_string()).unwrap();
        let CaptionFile {
            captions, skipped, ..
        } = read(&path).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(captions[0].words, 5);

        std::fs::write(&path, "{\"images\": 3}").unwrap();
        let wrong = read(&path).unwrap_err().to_string();
        assert!(wrong.contains("plain.json: not a caption file"), "{wrong}");
    }

    #[test]
    fn the_ratio_picks_a_seeded_share() {
        let captions: Vec<Caption> = (0..100)
            .map(|i| Caption {
                id: format!("c#{i}"),
                image: PathBuf::from("x.png"),
                text: "t".into(),
                words: 1,
            })
            .collect();
        // 30 Q&A conversations, captions a quarter of all: 10.
        let some = mix(captions.clone(), 30, Some(0.25), 1);
        assert_eq!(some.len(), 10);
        assert_eq!(mix(captions.clone(), 30, Some(0.25), 1), some);
        assert_ne!(mix(captions.clone(), 30, Some(0.25), 2), some);
        assert_eq!(
            mix(captions.clone(), 1000, Some(0.5), 1).len(),
            100,
            "all there are"
        );
        assert_eq!(mix(captions.clone(), 30, None, 1).len(), 100);
    }
}
