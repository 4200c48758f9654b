//! radio-llava dataset files: `{"data":[{"sname","filepaths":[…],"label":str|[str]}]}`,
//! image paths relative to the file's folder. Only `filepaths[0]` is used, as radio-llava does.

use super::box_task;
use super::choice;
use super::labels::{DatasetLabel, Unfit, context_answer, gold_labels};
use super::objects::{self, Annotations};
use super::task::TaskSpec;
use crate::util::error::FileError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
struct File {
    data: Vec<RawItem>,
}

/// An item as the file has it.
#[derive(Debug, Clone, Deserialize)]
pub struct RawItem {
    pub sname: String,
    pub filepaths: Vec<String>,
    pub label: DatasetLabel,
    /// Source boxes (`[{"class", "bbox": [x, y, w, h]}]`), when the dataset carries them.
    #[serde(default)]
    pub objects: Option<Vec<serde_json::Value>>,
    /// A multiple-choice item's own question, options and hint (the label: the letter).
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub hint: Option<String>,
}

impl RawItem {
    /// The question text of a multiple-choice item.
    pub fn own_question(&self, task: &TaskSpec) -> Result<Option<String>, Unfit> {
        if !task.brings_questions() {
            return Ok(None);
        }
        let own = choice::OwnQuestion {
            question: self.question.as_deref(),
            options: self.options.as_deref(),
            hint: self.hint.as_deref(),
        };
        let letter = gold_labels(task, &self.label)?.concat();
        choice::question_text(task, &own, &letter).map(Some)
    }
}

/// A dataset file as it is, before any task looks at it.
#[derive(Debug, Clone)]
pub struct RawDataset {
    pub path: PathBuf,
    pub sha256: String,
    pub items: Vec<RawItem>,
}

impl RawDataset {
    /// The item's image (`filepaths[0]`, relative to the file's folder), if it is a file.
    pub fn image(&self, item: &RawItem) -> Result<PathBuf, Unfit> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let image = item
            .filepaths
            .first()
            .map(|p| base.join(p))
            .ok_or_else(|| Unfit("no filepaths".into()))?;
        if image.is_file() {
            Ok(image)
        } else {
            Err(Unfit(format!("image {} is missing", image.display())))
        }
    }

    /// The item's source boxes: its `objects` list, else a radio-YOLO label file beside its
    /// `image`; `Ok(None)` when it has neither (its sources are not known, which is not "none").
    pub fn annotations(&self, item: &RawItem, image: &Path) -> Result<Option<Annotations>, String> {
        if let Some(entries) = &item.objects {
            let origin = format!("{} item '{}'", self.path.display(), item.sname);
            return Ok(Some(objects::from_entries(entries, &origin)));
        }
        let labels = objects::yolo_label_path(image);
        match objects::read_yolo(&labels) {
            Ok(read) => Ok(Some(read)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: cannot read: {e}", labels.display())),
        }
    }
}

/// Read a radio-llava dataset file; an empty one is an error.
pub fn read_raw(path: &Path) -> Result<RawDataset, FileError> {
    let bytes = std::fs::read(path).map_err(FileError::io(path))?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| {
        FileError::invalid(format!(
            "{}: not a radio-llava dataset ({{\"data\":[{{\"sname\",\"filepaths\",\"label\"}}]}}): {e}",
            path.display()
        ))
    })?;
    if file.data.is_empty() {
        return Err(FileError::invalid(format!(
            "{}: the dataset has no items",
            path.display()
        )));
    }
    Ok(RawDataset {
        path: path.to_path_buf(),
        sha256: crate::util::hash::sha256_hex(&bytes),
        items: file.data,
    })
}

/// One usable item of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub sname: String,
    pub image: PathBuf,
    pub truth: Vec<String>,
    /// The answer a few-shot turn gives for this item (radio-llava's formatting).
    pub context_answer: String,
    /// A multiple-choice item's question with its lettered options.
    pub question: Option<String>,
}

/// A dataset read for a task.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub path: PathBuf,
    pub sha256: String,
    pub items: Vec<Item>,
    /// Items left out: (sname, why).
    pub skipped: Vec<(String, String)>,
}

impl Dataset {
    /// One line for the user about skipped items: the count and the first examples.
    pub fn skipped_summary(&self) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let examples: Vec<String> = self
            .skipped
            .iter()
            .take(3)
            .map(|(s, why)| format!("{s}: {why}"))
            .collect();
        Some(format!(
            "{}: {} item(s) skipped ({})",
            self.path.display(),
            self.skipped.len(),
            examples.join("; ")
        ))
    }
}

/// Read `path` for `task`. Items whose image is missing or whose label does not fit the task
/// are skipped (listed in `skipped`), or make the whole read fail when `strict`.
pub fn load(path: &Path, task: &TaskSpec, strict: bool) -> Result<Dataset, FileError> {
    let raw = read_raw(path)?;
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for item in &raw.items {
        let checked = raw.image(item).and_then(|image| {
            if task.asks_for_boxes() {
                let annotations = raw.annotations(item, &image);
                let fitting = box_task::items(&item.sname, &image, annotations, task)?;
                let as_item = |b: box_task::BoxItem| Item {
                    sname: b.sname,
                    image: image.clone(),
                    truth: b.truth,
                    context_answer: b.context_answer,
                    question: None,
                };
                return Ok(fitting.into_iter().map(as_item).collect());
            }
            Ok(vec![Item {
                sname: item.sname.clone(),
                truth: gold_labels(task, &item.label)?,
                context_answer: context_answer(task, &item.label)?,
                question: item.own_question(task)?,
                image,
            }])
        });
        match checked {
            Ok(fitting) => items.extend(fitting),
            Err(why) if strict => {
                return Err(FileError::invalid(format!(
                    "{}: item {}: {why}",
                    path.display(),
                    item.sname
                )));
            }
            Err(Unfit(why)) => skipped.push((item.sname.clone(), why)),
        }
    }
    if items.is_empty() {
        return Err(FileError::invalid(format!(
            "{}: no item fits task {} ({} skipped, e.g. {})",
            path.display(),
            task.id,
            skipped.len(),
            skipped.first().map(|(_, w)| w.as_str()).unwrap_or("")
        )));
    }
    Ok(Dataset {
        path: path.to_path_buf(),
        sha256: raw.sha256,
        items,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::task::{find_task, load_tasks};

    #[test]
    fn items_resolve_against_the_file_and_bad_ones_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        std::fs::write(dir.path().join("img/a.fits"), b"x").unwrap();
        std::fs::write(dir.path().join("img/b.fits"), b"x").unwrap();
        let json = r#"{"data":[
            {"sname":"a","filepaths":["img/a.fits"],"label":["RADIO-GALAXY","COMPACT"]},
            {"sname":"b","filepaths":["img/b.fits"],"label":["SPIRAL"]},
            {"sname":"c","filepaths":["img/c.fits"],"label":["COMPACT"]}]}"#;
        let path = dir.path().join("data.json");
        std::fs::write(&path, json).unwrap();
        let tasks = load_tasks(None).unwrap();
        let b3 = find_task(&tasks, "B3").unwrap();
        let data = load(&path, &b3, false).unwrap();
        assert_eq!(data.items.len(), 1);
        assert_eq!(data.items[0].truth, ["YES"]);
        assert_eq!(data.items[0].image, dir.path().join("img/a.fits"));
        let summary = data.skipped_summary().unwrap();
        assert!(summary.contains("2 item(s) skipped"), "{summary}");
        assert!(
            summary.contains("b: tag 'SPIRAL' is outside the B3 vocabulary"),
            "{summary}"
        );
        assert!(summary.contains("c: image"), "{summary}");
        let strict = load(&path, &b3, true).unwrap_err().to_string();
        assert!(strict.contains("item b: tag 'SPIRAL'"), "{strict}");

        std::fs::write(&path, "[1, 2]").unwrap();
        assert!(
            load(&path, &b3, false)
                .unwrap_err()
                .to_string()
                .contains("not a radio-llava dataset")
        );
        std::fs::write(&path, r#"{"data": []}"#).unwrap();
        assert!(
            load(&path, &b3, false)
                .unwrap_err()
                .to_string()
                .contains("no items")
        );
    }
}
