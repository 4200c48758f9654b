//! Benchmark tasks, read from TOML files (`prompts/benchmarks/*.toml`, built into the binary;
//! more with `--tasks-dir`): classes, how gold labels come from dataset labels, and the
//! prompt versions.

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
}

/// One prompt version.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PromptVersion {
    #[serde(default)]
    pub description: String,
    pub question: String,
    pub instruction: String,
}

impl PromptVersion {
    /// Description, question, options (when given), instruction — joined as radio-llava
    /// joins them.
    pub fn join(&self, options: Option<&[String]>) -> String {
        let mut text = String::new();
        if !self.description.is_empty() {
            text.push_str(&self.description);
            text.push_str(" \n");
        }
        text.push_str(&self.question);
        text.push_str(" \n ");
        if let Some(options) = options {
            text.push_str(&options.join(" \n "));
            text.push_str(" \n ");
        }
        text.push_str(&self.instruction);
        text
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub prompt: String,
    pub add_options: bool,
    pub shuffle_options: bool,
    pub retries: usize,
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
    /// Multi-label: the class meaning "none of the others" (may not combine with them).
    #[serde(default)]
    pub none_class: Option<String>,
    pub rule: LabelRule,
    /// Tags a dataset label may hold (tag rules); empty = any.
    #[serde(default)]
    pub vocabulary: Vec<String>,
    pub defaults: Defaults,
    pub prompts: BTreeMap<String, PromptVersion>,
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
];

impl TaskSpec {
    pub fn parse(name: &str, text: &str) -> Result<TaskSpec, String> {
        let task: TaskSpec = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        task.check().map_err(|e| format!("{name}: {e}"))?;
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

    /// Whether `id` names this task (its id or key, any case).
    pub fn answers_to(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.key.eq_ignore_ascii_case(id)
    }

    /// The prompt text: description, question, options (when asked for, in `options`
    /// order), instruction — joined as radio-llava joins them.
    pub fn prompt(&self, version: &str, options: Option<&[String]>) -> Result<String, String> {
        let p = self.prompts.get(version).ok_or_else(|| {
            format!(
                "task {} has no prompt version '{version}' (it has {})",
                self.id,
                self.prompts.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        Ok(p.join(options))
    }

    /// The gold answer as the model should write it (few-shot turns): labels joined by ",".
    pub fn answer_text(&self, labels: &[String]) -> String {
        labels.join(",")
    }
}

/// The built-in tasks, then those in `tasks_dir` (which may replace a built-in id).
pub fn load_tasks(tasks_dir: Option<&Path>) -> Result<Vec<TaskSpec>, String> {
    let mut tasks = BUILT_IN
        .iter()
        .map(|(name, text)| TaskSpec::parse(name, text))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dir) = tasks_dir {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let task = TaskSpec::parse(&path.display().to_string(), &text)?;
            tasks.retain(|t| !t.answers_to(&task.id));
            tasks.push(task);
        }
    }
    Ok(tasks)
}

/// Find a task by id or key.
pub fn find_task(tasks: &[TaskSpec], id: &str) -> Result<TaskSpec, String> {
    tasks
        .iter()
        .find(|t| t.answers_to(id))
        .cloned()
        .ok_or_else(|| {
            format!(
                "unknown task '{id}': {}",
                tasks
                    .iter()
                    .map(|t| format!("{} ({})", t.id, t.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_six_built_in_tasks_load_with_both_prompt_versions() {
        let tasks = load_tasks(None).unwrap();
        let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["B1", "B2", "B3", "B4", "B5", "B6"]);
        for task in &tasks {
            assert!(task.prompts.contains_key("v1") && task.prompts.contains_key("v2"));
        }
        assert_eq!(find_task(&tasks, "galaxydet-radioimg").unwrap().id, "B3");
        assert!(
            find_task(&tasks, "B9")
                .unwrap_err()
                .starts_with("unknown task 'B9': B1 (smorph-radioimg)")
        );
    }

    #[test]
    fn prompts_join_as_radio_llava_joins_them() {
        let tasks = load_tasks(None).unwrap();
        let b3 = find_task(&tasks, "B3").unwrap();
        assert_eq!(
            b3.prompt("v1", None).unwrap(),
            "Do you see any likely radio galaxy with an extended morphology in the image? \n Answer concisely: Yes or No."
        );
        let with_options = b3
            .prompt("v1", Some(&["YES".to_string(), "NO".to_string()]))
            .unwrap();
        assert!(with_options.contains("image? \n YES \n NO \n Answer"));
        assert!(b3.prompt("v3", None).unwrap_err().contains("has v1, v2"));
    }

    #[test]
    fn a_users_task_dir_adds_or_replaces_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let b3 = BUILT_IN[2].1.replace(
            "title = \"Radio-galaxy detection (radioimg)\"",
            "title = \"mine\"",
        );
        std::fs::write(dir.path().join("b3.toml"), b3).unwrap();
        std::fs::write(dir.path().join("broken.toml"), "id = 3").unwrap();
        let err = load_tasks(Some(dir.path())).unwrap_err();
        assert!(err.contains("broken.toml"), "{err}");
        std::fs::remove_file(dir.path().join("broken.toml")).unwrap();
        let tasks = load_tasks(Some(dir.path())).unwrap();
        assert_eq!(find_task(&tasks, "B3").unwrap().title, "mine");
        assert_eq!(tasks.len(), 6);
    }
}
