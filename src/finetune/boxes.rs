//! The box turns of `finetune data`: for an image whose sources are annotated, a question per
//! radio-YOLO class ("provide the bounding boxes of all compact sources…") answered with the
//! class's boxes as radio-llava writes them, or with its "none" sentence. The questions are
//! data (`prompts/finetune/boxes.toml`, built in).

use crate::bench::objects::{SourceBox, SourceClass, box_list};
use crate::util::error::FileError;
use serde::Deserialize;

/// The id `--tasks` picks every box question by.
pub const BOXES: &str = "boxes";

const BUILT_IN: &str = include_str!("../../prompts/finetune/boxes.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoxFile {
    id: String,
    #[allow(dead_code)]
    title: String,
    class: Vec<ClassEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassEntry {
    class: String,
    phrasings: Vec<String>,
    #[serde(default)]
    present: String,
    absent: String,
}

/// Where the sources of one class are.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxQuestion {
    /// `boxes-compact`, `boxes-extended-multisland`, …
    pub id: String,
    pub class: SourceClass,
    pub phrasings: Vec<String>,
    /// Before the boxes when there are some.
    present: String,
    /// The whole answer when there are none.
    absent: String,
}

impl BoxQuestion {
    pub fn answer(&self, boxes: &[SourceBox]) -> String {
        let list = box_list(boxes, self.class);
        if list.is_empty() {
            self.absent.clone()
        } else {
            format!("{}{list}", self.present)
        }
    }
}

/// The built-in box questions, one per class.
pub fn box_questions() -> Result<Vec<BoxQuestion>, FileError> {
    parse(BUILT_IN).map_err(|e| FileError::invalid(format!("boxes.toml: {e}")))
}

fn parse(text: &str) -> Result<Vec<BoxQuestion>, String> {
    let file: BoxFile = toml::from_str(text).map_err(|e| e.to_string())?;
    file.class
        .into_iter()
        .map(|entry| {
            let class = SourceClass::parse(&entry.class)
                .ok_or_else(|| format!("unknown class '{}'", entry.class))?;
            if entry.phrasings.is_empty() {
                return Err(format!("{}: no phrasings", entry.class));
            }
            Ok(BoxQuestion {
                id: format!("{}-{}", file.id, class.name().to_ascii_lowercase()),
                class,
                phrasings: entry.phrasings,
                present: entry.present,
                absent: entry.absent,
            })
        })
        .collect()
}

/// The box questions `wanted` names (`boxes` for all, or their ids); all when it is empty.
pub fn select(all: Vec<BoxQuestion>, wanted: &[String]) -> Vec<BoxQuestion> {
    let every = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case("all") || w.eq_ignore_ascii_case(BOXES));
    all.into_iter()
        .filter(|q| every || wanted.iter().any(|w| w.eq_ignore_ascii_case(&q.id)))
        .collect()
}

/// Whether `name` is a box question id (or `boxes`), for `--tasks`' check.
pub fn names_a_box_question(all: &[BoxQuestion], name: &str) -> bool {
    name.eq_ignore_ascii_case(BOXES) || all.iter().any(|q| q.id.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compact(x: f64) -> SourceBox {
        SourceBox::new(SourceClass::Compact, [x, 0.5, 0.1, 0.1]).unwrap()
    }

    #[test]
    fn every_class_has_radio_llavas_question_first() {
        let all = box_questions().unwrap();
        let ids: Vec<&str> = all.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "boxes-compact",
                "boxes-extended",
                "boxes-extended-multisland",
                "boxes-spurious",
                "boxes-flagged"
            ]
        );
        assert_eq!(
            all[0].phrasings[0],
            "Please provide the bounding box coordinates of all compact sources present in the image."
        );
        assert!(all.iter().all(|q| q.phrasings.len() >= 3));
        // The localisation benchmark asks what training asked first.
        let tasks = crate::bench::load_tasks(None).unwrap();
        let l1 = crate::bench::find_task(&tasks, "L1").unwrap();
        for q in &all {
            assert_eq!(
                l1.prompts["v1"].per_class[q.class.name()],
                q.phrasings[0],
                "{}",
                q.id
            );
        }
    }

    #[test]
    fn answers_list_the_class_boxes_or_say_there_are_none() {
        let all = box_questions().unwrap();
        let boxes = [
            compact(0.25),
            compact(0.75),
            SourceBox::new(SourceClass::Spurious, [0.5, 0.5, 0.6, 0.6]).unwrap(),
        ];
        assert_eq!(
            all[0].answer(&boxes),
            "[0.25, 0.5, 0.1, 0.1], [0.75, 0.5, 0.1, 0.1]"
        );
        assert_eq!(
            all[1].answer(&boxes),
            "The image does not contain single-island extended radio sources."
        );
        assert_eq!(
            all[3].answer(&boxes),
            "The image contains imaging artefacts. Their bounding box coordinates are: [0.5, 0.5, 0.6, 0.6]"
        );
        assert_eq!(
            all[4].answer(&[]),
            "The image does not contain radio sources to be flagged."
        );
    }

    #[test]
    fn tasks_pick_all_box_questions_or_one() {
        let all = box_questions().unwrap();
        assert_eq!(select(all.clone(), &[]).len(), 5);
        assert_eq!(select(all.clone(), &["B3".into(), "boxes".into()]).len(), 5);
        let one = select(all.clone(), &["BOXES-FLAGGED".into()]);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].class, SourceClass::Flagged);
        assert!(select(all.clone(), &["B3".into()]).is_empty());
        assert!(names_a_box_question(&all, "boxes-compact"));
        assert!(!names_a_box_question(&all, "compact"));
    }

    #[test]
    fn bad_question_files_say_what_is_wrong() {
        let unknown = "id = \"boxes\"\ntitle = \"t\"\n[[class]]\nclass = \"BLOB\"\nphrasings = [\"q\"]\nabsent = \"none\"\n";
        assert_eq!(parse(unknown).unwrap_err(), "unknown class 'BLOB'");
        let empty = unknown.replace("BLOB", "COMPACT").replace("[\"q\"]", "[]");
        assert_eq!(parse(&empty).unwrap_err(), "COMPACT: no phrasings");
    }
}
