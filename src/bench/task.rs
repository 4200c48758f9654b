//! Benchmark tasks, read from TOML files (`prompts/benchmarks/*.toml`, built into the binary;
//! more with `--tasks-dir`): classes, how gold labels come from dataset labels, and the
//! prompt versions.

use super::objects::SourceClass;
use crate::util::error::BadValue;
use crate::util::error::FileError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How a dataset label (a string, or a list of tags) becomes the task's gold labels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LabelRule {
    /// The label string is the class.
    Label,
    /// `yes` if `tag` is among the tags, else `no`.
    TagPresent {
        tag: String,
        yes: String,
        no: String,
    },
    /// radio-llava's filter_smorph_label (B1), an empty result meaning NONE.
    Smorph,
    /// PECULIAR if WTF; else COMPLEX if EXTENDED, DIFFUSE or RADIO-GALAXY; else ORDINARY (B5).
    Anomaly,
    /// Source localisation: the truth is the item's source boxes (its `objects` or radio-YOLO
    /// label file), an item per image and class, the answer a list of boxes.
    Boxes,
    /// Multiple choice: each item brings its own question and options (`question`,
    /// `options`, optional `hint`); the label is the answer's letter.
    Choice,
}

/// What a task measures: radio knowledge, or general vision (what fine-tuning may forget).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    #[default]
    Radio,
    General,
}

/// One prompt version: radio-llava's parts of a question.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptVersion {
    /// The task description, sent with `--add-task-description` (always, if `context_always`).
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub context_always: bool,
    /// The question.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A box task's question for each class (in place of `prefix`).
    #[serde(default)]
    pub per_class: BTreeMap<String, String>,
    /// radio-llava's `class_options`: listed with `--add-options`.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    /// The answer instructions.
    #[serde(default)]
    pub subfix: Option<String>,
    /// Sentences put before the subfix when the context or examples are given.
    #[serde(default)]
    pub lead_in: LeadIn,
}

/// radio-llava's lead-in sentences, by what the question comes with.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadIn {
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub context_and_examples: String,
    #[serde(default)]
    pub examples: String,
}

/// How an unreadable answer is asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryStyle {
    /// radio-llava's LLaVA path: a fresh single turn with the image, "The format of your
    /// response does not comply …" and the answer instructions.
    #[default]
    RadioLlava,
    /// radiochat's own: the conversation goes on with the question, options and instructions
    /// restated.
    Restate,
}

impl RetryStyle {
    /// The name `--retry-style` takes.
    pub fn name(self) -> &'static str {
        match self {
            RetryStyle::RadioLlava => "radio-llava",
            RetryStyle::Restate => "restate",
        }
    }
}

impl std::str::FromStr for RetryStyle {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "radio-llava" => Ok(RetryStyle::RadioLlava),
            "restate" => Ok(RetryStyle::Restate),
            other => Err(BadValue::unknown(
                "retry style",
                other,
                "radio-llava or restate",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub prompt: String,
    pub add_options: bool,
    #[serde(default)]
    pub shuffle_options: bool,
    pub retries: usize,
    #[serde(default)]
    pub retry: RetryStyle,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// `B1` … `B6`, or a user's own id.
    pub id: String,
    /// radio-llava's benchmark key, e.g. `galaxydet-radioimg`.
    pub key: String,
    pub title: String,
    /// Class names as the model must answer them.
    pub classes: Vec<String>,
    pub multi_label: bool,
    #[serde(default)]
    pub domain: Domain,
    /// Multi-label: the class meaning "none of the others" (may not combine with them).
    #[serde(default)]
    pub none_class: Option<String>,
    pub rule: LabelRule,
    /// Tags a dataset label may hold (tag rules); empty = any.
    #[serde(default)]
    pub vocabulary: Vec<String>,
    pub defaults: Defaults,
    pub prompts: BTreeMap<String, PromptVersion>,
    /// The file the task was read from (for error messages).
    #[serde(skip)]
    pub source: String,
}

/// The built-in task files.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "B1-smorph-radioimg.toml",
        include_str!("../../prompts/benchmarks/B1-smorph-radioimg.toml"),
    ),
    (
        "B2-smorph-rgz.toml",
        include_str!("../../prompts/benchmarks/B2-smorph-rgz.toml"),
    ),
    (
        "B3-galaxydet-radioimg.toml",
        include_str!("../../prompts/benchmarks/B3-galaxydet-radioimg.toml"),
    ),
    (
        "B4-artefactdet-radioimg.toml",
        include_str!("../../prompts/benchmarks/B4-artefactdet-radioimg.toml"),
    ),
    (
        "B5-anomalydet-radioimg.toml",
        include_str!("../../prompts/benchmarks/B5-anomalydet-radioimg.toml"),
    ),
    (
        "B6-galaxymorphclass-mirabest.toml",
        include_str!("../../prompts/benchmarks/B6-galaxymorphclass-mirabest.toml"),
    ),
    (
        "B7-galaxymorphclass-gmnist.toml",
        include_str!("../../prompts/benchmarks/B7-galaxymorphclass-gmnist.toml"),
    ),
    (
        "L1-sourcedet-radioyolo.toml",
        include_str!("../../prompts/benchmarks/L1-sourcedet-radioyolo.toml"),
    ),
    (
        "G1-general-mc.toml",
        include_str!("../../prompts/benchmarks/G1-general-mc.toml"),
    ),
];

impl TaskSpec {
    pub fn parse(name: &str, text: &str) -> Result<TaskSpec, FileError> {
        let mut task: TaskSpec =
            toml::from_str(text).map_err(|e| FileError::Invalid(toml_error(name, text, &e)))?;
        task.source = name.to_string();
        task.check()
            .map_err(|e| FileError::invalid(format!("{name}: {e}")))?;
        Ok(task)
    }

    fn check(&self) -> Result<(), String> {
        if self.classes.len() < 2 {
            return Err("a task needs at least two classes".into());
        }
        if !self.prompts.contains_key(&self.defaults.prompt) {
            return Err(format!(
                "defaults.prompt '{}' is not among [prompts.*]",
                self.defaults.prompt
            ));
        }
        let not_a_source_class =
            |c: &&String| SourceClass::parse(c).is_none_or(|s| s.name() != c.as_str());
        if let Some(other) = self
            .classes
            .iter()
            .find(|c| self.asks_for_boxes() && not_a_source_class(c))
        {
            return Err(format!(
                "'{other}' is not a radio-YOLO source class ({})",
                SourceClass::ALL.map(SourceClass::name).join(", ")
            ));
        }
        for (name, version) in &self.prompts {
            let boxes = self.asks_for_boxes();
            let prefix = (!boxes && !self.brings_questions()).then_some(&version.prefix);
            for (key, value) in [("prefix", prefix), ("subfix", Some(&version.subfix))] {
                if value.is_some_and(Option::is_none) {
                    return Err(format!("[prompts.{name}] has no `{key}`"));
                }
            }
            if let Some(class) = self
                .classes
                .iter()
                .find(|c| boxes && !version.per_class.contains_key(*c))
            {
                return Err(format!(
                    "[prompts.{name}] per_class has no question for '{class}'"
                ));
            }
            if let Some(other) = version
                .options
                .iter()
                .flatten()
                .find(|o| !self.classes.contains(o))
            {
                return Err(format!(
                    "[prompts.{name}] options: '{other}' is not a class"
                ));
            }
        }
        let known = |c: &String| self.classes.contains(c);
        match &self.rule {
            LabelRule::TagPresent { yes, no, .. } if !known(yes) || !known(no) => {
                Err("rule yes/no must be classes".into())
            }
            LabelRule::Smorph if !self.multi_label || self.none_class.is_none() => {
                Err("the smorph rule needs multi_label and none_class".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether each item brings its own question (a multiple-choice task).
    pub fn brings_questions(&self) -> bool {
        self.rule == LabelRule::Choice
    }

    /// Whether the answers are box lists (a localisation task).
    pub fn asks_for_boxes(&self) -> bool {
        self.rule == LabelRule::Boxes
    }

    /// The class a box task's item asks about: its key's part after the last ':' (items are
    /// `IMAGE:CLASS`), else the first class.
    pub fn subject<'a>(&'a self, item_key: &str) -> &'a str {
        let named = item_key.rsplit_once(':').map(|(_, class)| class);
        self.classes
            .iter()
            .find(|c| Some(c.as_str()) == named)
            .or(self.classes.first())
            .map_or("", String::as_str)
    }

    /// Whether `id` names this task (its id or key, any case).
    pub fn answers_to(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.key.eq_ignore_ascii_case(id)
    }

    /// Prompt version `name`, or which versions there are.
    pub fn version(&self, name: &str) -> Result<&PromptVersion, FileError> {
        self.prompts.get(name).ok_or_else(|| {
            FileError::invalid(format!(
                "task {} has no prompt version '{name}' (choices: {})",
                self.id,
                self.prompts.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The gold answer as the model should write it: labels joined by ",".
    pub fn answer_text(&self, labels: &[String]) -> String {
        labels.join(",")
    }
}

/// A TOML error on one line: file, line, message.
fn toml_error(name: &str, text: &str, error: &toml::de::Error) -> String {
    let line = error.span().map(|span| {
        let before = &text.as_bytes()[..span.start.min(text.len())];
        before.iter().filter(|&&b| b == b'\n').count() + 1
    });
    match line {
        Some(line) => format!("{name}: line {line}: {}", error.message().trim()),
        None => format!("{name}: {}", error.message().trim()),
    }
}

/// The built-in tasks, then those in `tasks_dir` (which may replace a built-in id).
pub fn load_tasks(tasks_dir: Option<&Path>) -> Result<Vec<TaskSpec>, FileError> {
    let mut tasks = BUILT_IN
        .iter()
        .map(|(name, text)| TaskSpec::parse(name, text))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dir) = tasks_dir {
        let entries = std::fs::read_dir(dir).map_err(FileError::io(dir))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(FileError::io(&path))?;
            let task = TaskSpec::parse(&path.display().to_string(), &text)?;
            tasks.retain(|t| !t.answers_to(&task.id));
            tasks.push(task);
        }
    }
    Ok(tasks)
}

/// Find a task by id or key.
pub fn find_task(tasks: &[TaskSpec], id: &str) -> Result<TaskSpec, FileError> {
    tasks
        .iter()
        .find(|t| t.answers_to(id))
        .cloned()
        .ok_or_else(|| {
            FileError::invalid(format!(
                "unknown task '{id}': {}",
                tasks
                    .iter()
                    .map(|t| format!("{} ({})", t.id, t.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
