//! The free-text anomaly turn of `finetune data` (radio-llava's "anomaly question"): whether an
//! image with radioimg tags is ordinary or peculiar, answered in a sentence chosen by rule from
//! its tags. The phrasings and sentences are data (`prompts/finetune/anomaly-text.toml`).

use crate::bench::labels::{DatasetLabel, Peculiarity, peculiarity};
use crate::util::error::FileError;
use serde::Deserialize;

const BUILT_IN: &str = include_str!("../../prompts/finetune/anomaly-text.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyText {
    pub id: String,
    pub title: String,
    pub phrasings: Vec<String>,
    answers: Answers,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answers {
    complex: String,
    complex_and_peculiar: String,
    peculiar: String,
    very_ordinary: String,
    ordinary: String,
}

pub fn anomaly_text() -> Result<AnomalyText, FileError> {
    let read: AnomalyText = toml::from_str(BUILT_IN)
        .map_err(|e| FileError::invalid(format!("anomaly-text.toml: {e}")))?;
    if read.phrasings.is_empty() {
        return Err(FileError::invalid("anomaly-text.toml: no phrasings"));
    }
    Ok(read)
}

impl AnomalyText {
    /// The answer for a label; `None` unless it is a tag list (radioimg's labels).
    pub fn answer(&self, label: &DatasetLabel) -> Option<String> {
        if !matches!(label, DatasetLabel::Tags(_)) {
            return None;
        }
        let a = &self.answers;
        Some(match peculiarity(&label.tags()) {
            Peculiarity::Complex { peculiar: true } => {
                format!("{}{}", a.complex, a.complex_and_peculiar)
            }
            Peculiarity::Complex { peculiar: false } => a.complex.clone(),
            Peculiarity::Peculiar => a.peculiar.clone(),
            Peculiarity::VeryOrdinary => a.very_ordinary.clone(),
            Peculiarity::Ordinary => a.ordinary.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> DatasetLabel {
        DatasetLabel::Tags(list.iter().map(|t| t.to_string()).collect())
    }

    #[test]
    fn the_answer_follows_radio_llavas_rule() {
        let q = anomaly_text().unwrap();
        let answer = |list: &[&str]| q.answer(&tags(list)).unwrap();
        assert!(
            answer(&["COMPACT", "EXTENDED"])
                .starts_with("The image contains radio sources with an extended or diffuse")
        );
        assert!(
            answer(&["RADIO-GALAXY", "WTF"])
                .ends_with(" Some of these radio sources have a very peculiar morphology.")
        );
        assert_eq!(
            answer(&["WTF", "COMPACT"]),
            "The image contains radio sources with a very peculiar morphology."
        );
        assert!(answer(&["BACKGROUND"]).starts_with("The image is very ordinary"));
        assert!(answer(&["COMPACT"]).starts_with("The image is very ordinary"));
        assert!(answer(&["COMPACT", "ARTEFACT"]).starts_with("The image is ordinary and"));
        assert!(answer(&["BACKGROUND", "BORDER"]).starts_with("The image is ordinary and"));
        assert_eq!(q.answer(&DatasetLabel::One("FR-II".into())), None);
        assert_eq!(q.phrasings.len(), 3);
    }
}
