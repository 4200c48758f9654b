//! What a benchmark item sends, put together as radio-llava puts it (its LLaVA-OneVision
//! path, `run_llavaov_model_inference`): the question from a prompt version's parts, the
//! few-shot turns before it, and the retry turn. The texts are data (`prompts/benchmarks/`);
//! this is the joinery, shared by `bench run` and `bench prompt` so the two cannot differ.

use super::task::{PromptVersion, RetryStyle, TaskSpec};
use crate::util::error::FileError;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// radio-llava's retry text; the answer instructions follow it.
pub const RETRY_LEAD: &str = "The format of your response does not comply with the requested instructions, please answer again to the question and strictly follow the instructions: \n";

/// How a task's question is put.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptChoice {
    pub version: String,
    pub add_task_description: bool,
    pub add_options: bool,
    /// Seed of the per-item shuffle of the listed options (none: the task file's order).
    pub shuffle_options: Option<u64>,
}

impl PromptChoice {
    /// The task file's defaults.
    pub fn of_task(task: &TaskSpec) -> PromptChoice {
        PromptChoice {
            version: task.defaults.prompt.clone(),
            add_task_description: false,
            add_options: task.defaults.add_options,
            shuffle_options: task.defaults.shuffle_options.then_some(0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    System,
    User,
    Assistant,
}

/// One message: who speaks, the text, and the picture it carries — an index into the
/// few-shot examples, the item itself coming last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    pub role: Speaker,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<usize>,
}

impl Turn {
    fn new(role: Speaker, text: String, image: Option<usize>) -> Turn {
        Turn { role, text, image }
    }
}

/// A few-shot example: its item key (a box task's `IMAGE:CLASS` names the class asked) and
/// the answer it is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Shot {
    pub key: String,
    pub answer: String,
    /// A multiple-choice example's own question.
    pub question: Option<String>,
}

/// What a multiple-choice question reads as when no item is at hand (`bench prompt`).
pub const OWN_QUESTION_PLACEHOLDER: &str = "(the item's question, then its options lettered A. …)";

/// A request's first turn: the system prompt, if any.
fn opening(system: Option<&str>) -> Vec<Turn> {
    system
        .map(|s| Turn::new(Speaker::System, s.to_string(), None))
        .into_iter()
        .collect()
}

/// A task's question under one [`PromptChoice`], with `shots` few-shot examples before it.
pub struct Prompter<'a> {
    task: &'a TaskSpec,
    version: &'a PromptVersion,
    choice: &'a PromptChoice,
    shots: usize,
    /// The item's own question (multiple-choice tasks).
    own_question: Option<&'a str>,
}

impl<'a> Prompter<'a> {
    /// Refuses a version the task lacks, and `--add-options` on a version without options.
    pub fn new(
        task: &'a TaskSpec,
        choice: &'a PromptChoice,
        shots: usize,
    ) -> Result<Prompter<'a>, FileError> {
        let version = task.version(&choice.version)?;
        if choice.add_options && version.options.is_none() {
            return Err(FileError::invalid(format!(
                "{}: [prompts.{}] has no `options` to list (--add-options)",
                task.source, choice.version
            )));
        }
        Ok(Prompter {
            task,
            version,
            choice,
            shots,
            own_question: None,
        })
    }

    /// The same prompter for an item that brings its own question.
    pub fn asking(self, own_question: Option<&'a str>) -> Prompter<'a> {
        Prompter {
            own_question,
            ..self
        }
    }

    fn describes(&self) -> bool {
        self.choice.add_task_description || self.version.context_always
    }

    /// The answer instructions, after the lead-in for what comes with the question.
    pub fn subfix(&self) -> String {
        let lead = &self.version.lead_in;
        let lead = match (self.choice.add_task_description, self.shots > 0) {
            (true, true) => &lead.context_and_examples,
            (true, false) => &lead.context,
            (false, true) => &lead.examples,
            (false, false) => "",
        };
        format!(
            "{lead}{}",
            self.version.subfix.as_deref().unwrap_or_default()
        )
    }

    /// The question proper: the version's prefix, a box task's question for the class the
    /// item asks about, or a multiple-choice item's own question.
    fn prefix<'q>(&self, item_key: &str, own: Option<&'q str>) -> &'q str
    where
        'a: 'q,
    {
        if self.task.brings_questions() {
            return own.unwrap_or(OWN_QUESTION_PLACEHOLDER);
        }
        let prefix = if self.task.asks_for_boxes() {
            self.version.per_class.get(self.task.subject(item_key))
        } else {
            self.version.prefix.as_ref()
        };
        prefix.map_or("", String::as_str)
    }

    /// radio-llava's join: `description + ' \n' + prefix + ' \n ' [+ options joined by
    /// ' \n ' + ' \n '] + subfix`; a later few-shot turn with options drops the description.
    fn question(
        &self,
        options: Option<&[String]>,
        with_description: bool,
        (item_key, own): (&str, Option<&str>),
    ) -> String {
        let prefix = self.prefix(item_key, own);
        let subfix = self.subfix();
        if self.task.brings_questions() {
            return format!("{prefix}\n{subfix}");
        }
        let description = if self.describes() {
            self.version.context.as_str()
        } else {
            ""
        };
        match options {
            Some(options) if !with_description => {
                format!("{prefix} \n {} \n {subfix}", options.join(" \n "))
            }
            Some(options) => {
                format!(
                    "{description} \n{prefix} \n {} \n {subfix}",
                    options.join(" \n ")
                )
            }
            None => format!("{description} \n{prefix} \n {subfix}"),
        }
    }

    fn listed_options(&self) -> Option<&'a [String]> {
        self.choice
            .add_options
            .then_some(self.version.options.as_deref())
            .flatten()
    }

    /// The options the item's question lists, shuffled per item when asked (the few-shot
    /// turns keep the file's order, as radio-llava's do).
    fn item_options(&self, item_key: &str) -> Option<Vec<String>> {
        let mut options = self.listed_options()?.to_vec();
        if let Some(seed) = self.choice.shuffle_options {
            let stream = crate::util::hash::stable_u64(seed, &[item_key]);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(stream);
            options.shuffle(&mut rng);
        }
        Some(options)
    }

    /// The text of the item's question (`item_key` seeds the option shuffle).
    pub fn item_text(&self, item_key: &str) -> String {
        let options = self.item_options(item_key);
        self.question(options.as_deref(), true, (item_key, self.own_question))
    }

    /// Every turn of the first request: system prompt, each example asked and answered with
    /// its gold answer, then the item.
    pub fn conversation(&self, system: Option<&str>, shots: &[Shot], item_key: &str) -> Vec<Turn> {
        let mut turns = opening(system);
        for (i, shot) in shots.iter().enumerate() {
            let asked = (shot.key.as_str(), shot.question.as_deref());
            let text = self.question(self.listed_options(), i == 0, asked);
            turns.push(Turn::new(Speaker::User, text, Some(i)));
            turns.push(Turn::new(Speaker::Assistant, shot.answer.clone(), None));
        }
        let item = Some(shots.len());
        turns.push(Turn::new(Speaker::User, self.item_text(item_key), item));
        turns
    }

    /// The next request after an unreadable `answer` to `asked` (item `item_key`'s).
    pub fn retry(
        &self,
        style: RetryStyle,
        system: Option<&str>,
        (asked, answer): (&[Turn], &str),
        item_key: &str,
    ) -> Vec<Turn> {
        match style {
            RetryStyle::RadioLlava => {
                let mut turns = opening(system);
                let text = format!("{RETRY_LEAD}{}", self.subfix());
                turns.push(Turn::new(Speaker::User, text, Some(self.shots)));
                turns
            }
            RetryStyle::Restate => {
                let mut turns = asked.to_vec();
                turns.push(Turn::new(Speaker::Assistant, answer.to_string(), None));
                turns.push(Turn::new(Speaker::User, self.restated(item_key), None));
                turns
            }
        }
    }

    /// radiochat's retry: the question, every option and the instructions, without the
    /// section headings.
    fn restated(&self, item_key: &str) -> String {
        let question = self
            .prefix(item_key, self.own_question)
            .trim_start_matches("## Question\n");
        let subfix = self.version.subfix.as_deref().unwrap_or_default();
        let subfix = subfix.trim_start_matches("## Instructions\n");
        if self.task.asks_for_boxes() || self.task.brings_questions() {
            return format!("{} \n {subfix}", question.trim());
        }
        let options = self
            .version
            .options
            .clone()
            .unwrap_or_else(|| self.task.classes.clone());
        format!(
            "{} \n Options: {} \n {subfix}",
            question.trim(),
            options.join(", "),
        )
    }
}

#[cfg(test)]
#[path = "prompt_tests.rs"]
mod tests;
