//! Training questions, read from TOML files (`prompts/finetune/*.toml`, built into the binary):
//! which labels a question asks for (a benchmark task's, or a rule of its own), how it is
//! phrased, and the rule-based description turn.

use crate::bench::prompt::{PromptChoice, Prompter};
use crate::bench::task::{Defaults, LabelRule, PromptVersion, RetryStyle, TaskSpec};
use crate::util::error::FileError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    id: String,
    title: String,
    /// A benchmark task: its classes, label rule and prompt give the question's.
    #[serde(default)]
    task: Option<String>,
    /// The task's prompt version whose question the phrasings replace (default v1).
    #[serde(default)]
    prompt: Option<String>,
    /// Without `task`: the classes, the rule, and the prompt's parts.
    #[serde(default)]
    classes: Option<Vec<String>>,
    #[serde(default)]
    rule: Option<LabelRule>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    instruction: Option<String>,
    phrasings: Vec<String>,
}

/// One kind of question asked about every image whose label it fits.
#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub title: String,
    /// The benchmark task it trains for (`None` for questions of their own).
    pub bench_task: Option<String>,
    /// Classes and label rule (a benchmark task, or one made from the file).
    pub task: TaskSpec,
    /// The prompt with the question left to fill in.
    pub prompt: PromptVersion,
    pub phrasings: Vec<String>,
}

impl Question {
    /// The human turn for phrasing `i`: the benchmark's zero-shot question (its default
    /// options, no task description) with the phrasing as the question.
    pub fn text(&self, i: usize) -> String {
        const TRAINING: &str = "training";
        let phrasing = &self.phrasings[i % self.phrasings.len()];
        let mut task = self.task.clone();
        task.prompts = BTreeMap::from([(
            TRAINING.to_string(),
            PromptVersion {
                prefix: Some(phrasing.clone()),
                ..self.prompt.clone()
            },
        )]);
        let choice = PromptChoice {
            version: TRAINING.into(),
            add_task_description: false,
            add_options: task.defaults.add_options,
            shuffle_options: None,
        };
        match Prompter::new(&task, &choice, 0) {
            Ok(prompter) => prompter.item_text(""),
            // Options asked of a prompt without them: checked when the question is resolved.
            Err(_) => phrasing.clone(),
        }
    }
}

/// The description turn.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Describe {
    pub phrasings: Vec<String>,
    pub intro: String,
    pub sentences: HashMap<String, String>,
}

impl Describe {
    /// The intro and a sentence per known tag, in the label's order.
    pub fn answer(&self, tags: &[String]) -> String {
        let mut text = self.intro.clone();
        for tag in tags {
            if let Some(sentence) = self.sentences.get(&tag.trim().to_uppercase()) {
                text.push(' ');
                text.push_str(sentence);
            }
        }
        text
    }
}

const BUILT_IN: &[(&str, &str)] = &[
    (
        "morphology.toml",
        include_str!("../../prompts/finetune/morphology.toml"),
    ),
    (
        "rgz-morphology.toml",
        include_str!("../../prompts/finetune/rgz-morphology.toml"),
    ),
    (
        "radio-galaxy.toml",
        include_str!("../../prompts/finetune/radio-galaxy.toml"),
    ),
    (
        "artefact.toml",
        include_str!("../../prompts/finetune/artefact.toml"),
    ),
    (
        "border.toml",
        include_str!("../../prompts/finetune/border.toml"),
    ),
    (
        "peculiarity.toml",
        include_str!("../../prompts/finetune/peculiarity.toml"),
    ),
    (
        "fr-class.toml",
        include_str!("../../prompts/finetune/fr-class.toml"),
    ),
];

const DESCRIBE: &str = include_str!("../../prompts/finetune/describe.toml");

/// The built-in questions, resolved against the benchmark tasks.
pub fn questions(tasks: &[TaskSpec]) -> Result<Vec<Question>, FileError> {
    BUILT_IN
        .iter()
        .map(|(name, text)| {
            let file: QuestionFile =
                toml::from_str(text).map_err(|e| FileError::invalid(format!("{name}: {e}")))?;
            resolve(file, tasks).map_err(|e| FileError::invalid(format!("{name}: {e}")))
        })
        .collect()
}

pub fn describe() -> Result<Describe, FileError> {
    toml::from_str(DESCRIBE).map_err(|e| FileError::invalid(format!("describe.toml: {e}")))
}

fn resolve(file: QuestionFile, tasks: &[TaskSpec]) -> Result<Question, FileError> {
    if file.phrasings.is_empty() {
        return Err(FileError::invalid("a question needs at least one phrasing"));
    }
    let (task, prompt) = match &file.task {
        Some(id) => {
            let task = crate::bench::find_task(tasks, id)?;
            let version = file.prompt.as_deref().unwrap_or("v1");
            let prompt = task.version(version)?.clone();
            if task.defaults.add_options && prompt.options.is_none() {
                return Err(FileError::invalid(format!(
                    "task {id}: prompt '{version}' lists no options"
                )));
            }
            (task, prompt)
        }
        None => {
            let (Some(classes), Some(rule), Some(instruction)) =
                (file.classes, file.rule, file.instruction)
            else {
                return Err(FileError::invalid(
                    "without `task`, a question needs classes, rule and instruction",
                ));
            };
            let task = TaskSpec {
                id: file.id.clone(),
                key: file.id.clone(),
                title: file.title.clone(),
                classes,
                multi_label: false,
                domain: Default::default(),
                none_class: None,
                rule,
                vocabulary: Vec::new(),
                defaults: Defaults {
                    prompt: "v1".into(),
                    add_options: false,
                    shuffle_options: false,
                    retries: 0,
                    retry: RetryStyle::default(),
                },
                prompts: BTreeMap::new(),
                source: String::new(),
            };
            let prompt = PromptVersion {
                context: file.description.unwrap_or_default(),
                context_always: true,
                subfix: Some(instruction),
                ..PromptVersion::default()
            };
            (task, prompt)
        }
    };
    Ok(Question {
        id: file.id,
        title: file.title,
        bench_task: file.task,
        task,
        prompt,
        phrasings: file.phrasings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load_tasks;

    #[test]
    fn built_in_questions_resolve_and_the_first_phrasing_is_the_benchmark_prompt() {
        let tasks = load_tasks(None).unwrap();
        let questions = questions(&tasks).unwrap();
        assert_eq!(questions.len(), 7);
        for q in questions.iter().filter(|q| q.bench_task.is_some()) {
            let task = crate::bench::find_task(&tasks, q.bench_task.as_ref().unwrap()).unwrap();
            let choice = PromptChoice::of_task(&task);
            let benchmark = Prompter::new(&task, &choice, 0).unwrap().item_text("");
            assert_eq!(q.text(0), benchmark, "{}", q.id);
            assert!(q.phrasings.len() >= 3, "{}", q.id);
        }
        let border = questions.iter().find(|q| q.id == "border").unwrap();
        assert!(border.text(1).ends_with("Answer concisely: Yes or No."));
    }

    #[test]
    fn the_description_has_a_sentence_per_known_tag_in_label_order() {
        let d = describe().unwrap();
        let text = d.answer(&["radio-galaxy".into(), "COMPACT".into(), "SPIRAL".into()]);
        assert!(text.starts_with(&d.intro));
        let galaxy = text.find("radio galaxy, with lobes").unwrap();
        let compact = text.find("compact, point-like").unwrap();
        assert!(galaxy < compact, "{text}");
    }
}
