//! `radiochat bench prompt TASK` and the chat's `/bench prompt TASK`: exactly what an item of
//! a run would send — the system prompt, each turn's text, where the images go — built by the
//! same code the run uses. The question flags are shared with `bench run`.

use super::{CommandError, CommandResult};
use crate::bench::dataset::{self, Item};
use crate::bench::prompt::{PromptChoice, Prompter, Shot, Speaker, Turn};
use crate::bench::{self, TaskSpec};
use std::path::{Path, PathBuf};

/// How the question is put; the same flags after `bench run`, `bench prompt` and `/bench`.
#[derive(clap::Args, Debug, Clone, PartialEq, Default)]
pub struct QuestionFlags {
    /// Prompt version: v1 (radio-llava's), clean or clean-v2 (radiochat's rewording);
    /// default: the task's.
    #[arg(long)]
    pub prompt: Option<String>,
    /// Send the task's context (class definitions) with the question, as radio-llava's
    /// --add_task_description.
    #[arg(long)]
    pub add_task_description: bool,
    /// List the answer options in the question (default: as radio-llava does for the task).
    #[arg(long, conflicts_with = "no_options")]
    pub add_options: bool,
    /// Do not list the answer options.
    #[arg(long)]
    pub no_options: bool,
    /// Shuffle the listed options per item, seeded (recorded in run.json).
    #[arg(long, value_name = "SEED", num_args = 0..=1, default_missing_value = "0")]
    pub shuffle_options: Option<u64>,
    /// Few-shot examples taken from --context.
    #[arg(long, default_value_t = 0)]
    pub shots: usize,
    /// Dataset JSON of the few-shot examples.
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// Draw the few-shot examples from a seeded shuffle of --context.
    #[arg(long, value_name = "SEED", num_args = 0..=1, default_missing_value = "0")]
    pub shuffle_context: Option<u64>,
    /// radio-llava (a fresh turn: its "does not comply" text and the instructions) or restate
    /// (the conversation goes on, question and options restated); default: the task's.
    #[arg(long, value_name = "STYLE")]
    pub retry_style: Option<String>,
}

impl QuestionFlags {
    /// The task's prompt defaults, overridden by the flags.
    pub fn choice(&self, task: &TaskSpec) -> PromptChoice {
        let defaults = PromptChoice::of_task(task);
        PromptChoice {
            version: self.prompt.clone().unwrap_or(defaults.version),
            add_task_description: self.add_task_description,
            add_options: (defaults.add_options || self.add_options) && !self.no_options,
            shuffle_options: self.shuffle_options.or(defaults.shuffle_options),
        }
    }

    pub fn retry_style(&self, task: &TaskSpec) -> CommandResult<bench::task::RetryStyle> {
        match &self.retry_style {
            Some(style) => style.parse().map_err(CommandError::bad),
            None => Ok(task.defaults.retry),
        }
    }
}

/// The first `shots` examples of `context` (after a seeded shuffle, if asked).
pub fn few_shot_examples(
    context: Option<&Path>,
    task: &TaskSpec,
    shots: usize,
    shuffle: Option<u64>,
) -> CommandResult<Vec<Item>> {
    let context = match (context, shots) {
        (_, 0) => return Ok(Vec::new()),
        (None, _) => {
            return Err(CommandError::bad(
                "--shots needs --context FILE (the example images)",
            ));
        }
        (Some(context), _) => context,
    };
    let mut examples = dataset::load(context, task, false)?;
    if let Some(seed) = shuffle {
        use rand::{SeedableRng, seq::SliceRandom};
        examples
            .items
            .shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    }
    if examples.items.len() < shots {
        return Err(CommandError::bad(format!(
            "{}: {} examples fit task {}, --shots asks for {shots}",
            context.display(),
            examples.items.len(),
            task.id
        )));
    }
    examples.items.truncate(shots);
    Ok(examples.items)
}

/// `bench prompt`: the task, the flags, and which request to show.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct PromptFlags {
    /// Task id (B1…B7, L1) or key.
    pub task: String,
    #[command(flatten)]
    pub question: QuestionFlags,
    /// Show the request made after N unreadable answers instead of the first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry: usize,
    /// The item name seeding the option shuffle.
    #[arg(long, default_value = "item")]
    pub item: String,
    #[arg(long, value_name = "DIR")]
    pub tasks_dir: Option<PathBuf>,
}

/// One message of the shown request; `image` says whose picture goes before the text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ShownMessage {
    pub role: Speaker,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_of: Option<String>,
}

/// What `bench prompt` prints (`--json`: this, serialised).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ShownPrompt {
    pub task: String,
    pub prompt: String,
    pub system: Option<String>,
    /// The user text of the item's question, without any image placeholder.
    pub text: String,
    pub messages: Vec<ShownMessage>,
}

/// Build the request an item would send; `system: None` is radio-llava's system prompt.
pub fn show(flags: &PromptFlags, system: Option<&str>) -> CommandResult<ShownPrompt> {
    let tasks = bench::load_tasks(flags.tasks_dir.as_deref())?;
    let task = bench::find_task(&tasks, &flags.task)?;
    let q = &flags.question;
    let choice = q.choice(&task);
    let style = q.retry_style(&task)?;
    let shots = few_shot_examples(q.context.as_deref(), &task, q.shots, q.shuffle_context)?;
    let prompter = Prompter::new(&task, &choice, shots.len())?;
    let system = system.unwrap_or(bench::runner::RADIO_LLAVA_SYSTEM);
    let examples: Vec<Shot> = shots
        .iter()
        .map(|s| Shot {
            key: s.sname.clone(),
            answer: s.context_answer.clone(),
            question: s.question.clone(),
        })
        .collect();
    let first = prompter.conversation(Some(system), &examples, &flags.item);
    let text = prompter.item_text(&flags.item);
    let mut turns: Vec<Turn> = first;
    for _ in 0..flags.retry {
        let asked = (turns.as_slice(), "(an unreadable answer)");
        turns = prompter.retry(style, Some(system), asked, &flags.item);
    }
    let image_of = |i: usize| match shots.get(i) {
        Some(shot) => format!("example {} ({})", i + 1, shot.image.display()),
        None => "the item".to_string(),
    };
    Ok(ShownPrompt {
        task: task.id.clone(),
        prompt: choice.version.clone(),
        system: Some(system.to_string()),
        text,
        messages: turns
            .into_iter()
            .map(|turn| ShownMessage {
                role: turn.role,
                image_of: turn.image.map(image_of),
                image: turn.image,
                content: turn.text,
            })
            .collect(),
    })
}

/// The request as the terminal shows it: each message under a rule naming its speaker and
/// picture; the text verbatim.
pub fn lines(shown: &ShownPrompt) -> Vec<String> {
    let mut lines = vec![format!("{} · prompt {}", shown.task, shown.prompt)];
    for m in &shown.messages {
        let role = match m.role {
            Speaker::System => "system",
            Speaker::User => "user",
            Speaker::Assistant => "assistant",
        };
        lines.push(match &m.image_of {
            Some(of) => format!("── {role} · image: {of}, then the text"),
            None => format!("── {role}"),
        });
        lines.extend(m.content.split('\n').map(str::to_string));
    }
    lines
}
