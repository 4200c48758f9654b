//! Gold labels from a dataset item's label, by the task's rule.

use super::task::{LabelRule, TaskSpec};

/// Why an item does not fit a task: its label or its image. A run skips such items (or, with
/// `--strict`, stops at the first), naming the item and this reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Unfit(pub String);

/// A dataset label: one string (rgz, mirabest) or a list of tags (radioimg).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum DatasetLabel {
    One(String),
    Tags(Vec<String>),
}

/// Tags that make an image COMPLEX in radio-llava's peculiarity rule, and the one that makes
/// it PECULIAR.
pub const COMPLEX_TAGS: [&str; 3] = ["EXTENDED", "DIFFUSE", "RADIO-GALAXY"];
pub const PECULIAR_TAG: &str = "WTF";

/// How radio-llava's free-text answers and captions class an image by its tags: complex (an
/// EXTENDED, DIFFUSE or RADIO-GALAXY tag, perhaps peculiar too), peculiar only (WTF), very
/// ordinary (a lone BACKGROUND or COMPACT tag), or ordinary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peculiarity {
    Complex { peculiar: bool },
    Peculiar,
    VeryOrdinary,
    Ordinary,
}

pub fn peculiarity(tags: &[String]) -> Peculiarity {
    let has = |tag: &str| tags.iter().any(|t| t == tag);
    let peculiar = has(PECULIAR_TAG);
    if COMPLEX_TAGS.iter().any(|t| has(t)) {
        Peculiarity::Complex { peculiar }
    } else if peculiar {
        Peculiarity::Peculiar
    } else if tags.len() == 1 && (has("BACKGROUND") || has("COMPACT")) {
        Peculiarity::VeryOrdinary
    } else {
        Peculiarity::Ordinary
    }
}

impl DatasetLabel {
    /// The label's tags, trimmed and upper-case (a single label is one tag).
    pub fn tags(&self) -> Vec<String> {
        match self {
            DatasetLabel::One(s) => vec![s.trim().to_uppercase()],
            DatasetLabel::Tags(t) => t.iter().map(|s| s.trim().to_uppercase()).collect(),
        }
    }
}

/// Tags dropped by radio-llava's filter_smorph_label.
const SMORPH_DROPPED: &[&str] = &[
    "RADIO-GALAXY",
    "DUBIOUS",
    "WTF",
    "FILAMENT",
    "RING",
    "ARC",
    "ARTEFACT",
    "BORDER",
    "MOSAICING",
];

/// The gold labels, or why the item does not fit the task (a tag outside its vocabulary, a
/// label that is no class).
pub fn gold_labels(task: &TaskSpec, label: &DatasetLabel) -> Result<Vec<String>, Unfit> {
    let tags = task_tags(task, label)?;
    let has = |t: &str| tags.iter().any(|x| x == t);
    let labels = match &task.rule {
        LabelRule::Label | LabelRule::Choice => {
            let [one] = tags.as_slice() else {
                return Err(Unfit(format!("expected one label, got {}", tags.join(","))));
            };
            if !task.classes.contains(one) {
                return Err(Unfit(format!(
                    "label '{one}' is not a class of {}",
                    task.id
                )));
            }
            vec![one.clone()]
        }
        LabelRule::TagPresent { tag, yes, no } => {
            vec![if has(tag) { yes.clone() } else { no.clone() }]
        }
        LabelRule::Anomaly => vec![
            if has(PECULIAR_TAG) {
                "PECULIAR"
            } else if COMPLEX_TAGS.iter().any(|t| has(t)) {
                "COMPLEX"
            } else {
                "ORDINARY"
            }
            .to_string(),
        ],
        LabelRule::Smorph => smorph(task, &tags),
        LabelRule::Boxes => {
            return Err(Unfit(format!(
                "{}'s truth is an image's source boxes, not its label",
                task.id
            )));
        }
    };
    Ok(labels)
}

fn task_tags(task: &TaskSpec, label: &DatasetLabel) -> Result<Vec<String>, Unfit> {
    let tags = label.tags();
    if let Some(unknown) = tags
        .iter()
        .find(|t| !task.vocabulary.is_empty() && !task.vocabulary.contains(t))
    {
        return Err(Unfit(format!(
            "tag '{unknown}' is outside the {} vocabulary",
            task.id
        )));
    }
    Ok(tags)
}

/// filter_smorph_label: RADIO-GALAXY ⇒ EXTENDED; drop the non-morphology tags; a lone COMPACT
/// or BACKGROUND ⇒ NONE; drop COMPACT/BACKGROUND — in the label's own order, and, unlike
/// radio-llava (whose ["COMPACT","BACKGROUND"] ends as an all-zero vector), never empty.
fn smorph_kept(task: &TaskSpec, tags: &[String]) -> Vec<String> {
    let none = task.none_class.clone().unwrap_or_else(|| "NONE".into());
    let mut kept: Vec<String> = tags.to_vec();
    if kept.iter().any(|t| t == "RADIO-GALAXY") && !kept.iter().any(|t| t == "EXTENDED") {
        kept.push("EXTENDED".into());
    }
    kept.retain(|t| !SMORPH_DROPPED.contains(&t.as_str()));
    if kept.len() == 1 && (kept[0] == "COMPACT" || kept[0] == "BACKGROUND") {
        return vec![none];
    }
    kept.retain(|t| t != "COMPACT" && t != "BACKGROUND");
    if kept.is_empty() {
        kept.push(none);
    }
    kept
}

/// The gold classes in class order.
fn smorph(task: &TaskSpec, tags: &[String]) -> Vec<String> {
    let kept = smorph_kept(task, tags);
    task.classes
        .iter()
        .filter(|c| kept.contains(c))
        .cloned()
        .collect()
}

/// A few-shot example's answer as radio-llava writes it (`format_context_model_response`):
/// the gold label, or for multi-label the filtered tags in the label's order joined by ",".
pub fn context_answer(task: &TaskSpec, label: &DatasetLabel) -> Result<String, Unfit> {
    match task.rule {
        LabelRule::Smorph => Ok(task.answer_text(&smorph_kept(task, &task_tags(task, label)?))),
        _ => gold_labels(task, label).map(|labels| task.answer_text(&labels)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::task::{find_task, load_tasks};

    fn gold(task: &str, tags: &[&str]) -> Result<Vec<String>, String> {
        let tasks = load_tasks(None).unwrap();
        let task = find_task(&tasks, task).unwrap();
        let label = if tags.len() == 1 && !task.multi_label && task.vocabulary.is_empty() {
            DatasetLabel::One(tags[0].into())
        } else {
            DatasetLabel::Tags(tags.iter().map(|s| s.to_string()).collect())
        };
        gold_labels(&task, &label).map_err(|Unfit(why)| why)
    }

    #[test]
    fn smorph_follows_radio_llava_and_fixes_the_empty_case() {
        assert_eq!(
            gold("B1", &["RADIO-GALAXY", "COMPACT"]).unwrap(),
            ["EXTENDED"]
        );
        assert_eq!(gold("B1", &["COMPACT"]).unwrap(), ["NONE"]);
        assert_eq!(gold("B1", &["BACKGROUND"]).unwrap(), ["NONE"]);
        assert_eq!(gold("B1", &["COMPACT", "BACKGROUND"]).unwrap(), ["NONE"]);
        assert_eq!(gold("B1", &["ARTEFACT", "BORDER"]).unwrap(), ["NONE"]);
        assert_eq!(
            gold("B1", &["DIFFUSE-LARGE", "EXTENDED", "COMPACT", "WTF"]).unwrap(),
            ["EXTENDED", "DIFFUSE-LARGE"]
        );
        assert!(
            gold("B1", &["SPIRAL"])
                .unwrap_err()
                .contains("outside the B1 vocabulary")
        );
    }

    #[test]
    fn detection_anomaly_and_direct_label_rules() {
        assert_eq!(gold("B3", &["COMPACT", "RADIO-GALAXY"]).unwrap(), ["YES"]);
        assert_eq!(gold("B3", &["EXTENDED"]).unwrap(), ["NO"]);
        assert_eq!(gold("B4", &["artefact"]).unwrap(), ["YES"]);
        assert_eq!(gold("B5", &["WTF", "EXTENDED"]).unwrap(), ["PECULIAR"]);
        assert_eq!(gold("B5", &["DIFFUSE"]).unwrap(), ["COMPLEX"]);
        assert_eq!(gold("B5", &["COMPACT", "ARTEFACT"]).unwrap(), ["ORDINARY"]);
        assert_eq!(gold("B6", &["FR-II"]).unwrap(), ["FR-II"]);
        assert_eq!(gold("B2", &["2C-3P"]).unwrap(), ["2C-3P"]);
        assert!(
            gold("B2", &["1C-2C"])
                .unwrap_err()
                .contains("not a class of B2")
        );
    }
}
