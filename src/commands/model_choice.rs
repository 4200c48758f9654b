//! Which model a command runs, decided in one place for `ask`, the chat, `serve` and
//! `bench run`: `--demo` unless `--model` names another; else, for a resumed run, the model its
//! record names unless `--model` is given; else the model or remote of the settings (flags
//! over the config file).

use super::{CommandError, CommandResult, demo};
use crate::config::{Origin, Settings};
use crate::engine::LoadSpec;

/// The model to load, if any is named anywhere. `recorded`: a resumed run's model.
pub fn model_spec(
    settings: &Settings,
    demo: bool,
    recorded: Option<&str>,
) -> CommandResult<Option<LoadSpec>> {
    let flagged = settings.model.origin == Origin::Flag;
    let recorded = recorded.filter(|model| !model.is_empty() && !flagged);
    if (demo && !flagged) || recorded == Some(DEMO) {
        return demo::spec(settings).map(Some);
    }
    if let Some(model) = recorded {
        let mut settings = settings.clone();
        settings.model.value = Some(model.to_string());
        if let Some(spec) = settings.load_spec() {
            return Ok(Some(spec));
        }
    }
    Ok(settings.load_spec())
}

/// [`model_spec`], refusing when no model is named anywhere.
pub fn required_model_spec(
    settings: &Settings,
    demo: bool,
    recorded: Option<&str>,
) -> CommandResult<LoadSpec> {
    model_spec(settings, demo, recorded)?.ok_or_else(|| {
        CommandError::bad(format!(
            "no model: pass --model DIR, set `model` in {}, or try --demo",
            settings.config_path.display()
        ))
    })
}

/// How a run records the model it asks: `demo`, a directory, `hf:ID` or the remote.
pub fn recorded_name(settings: &Settings, demo: bool) -> String {
    if demo::uses_demo_model(demo, settings) {
        return DEMO.to_string();
    }
    settings
        .load_spec()
        .map(|spec| spec.source.to_string())
        .unwrap_or_default()
}

/// The demo model's name in run records.
const DEMO: &str = "demo";
