//! `radiochat` (the chat): which session to open and which model to load, decided before
//! the terminal UI starts so that a bad `--resume` is a one-line error, not a broken screen.

use super::{CommandError, CommandResult};
use crate::chat::{Header, LiveSession, SamplingRecord, SessionStore};
use crate::config::Settings;
use crate::engine::{LoadSpec, ModelSource};

pub struct ChatArgs {
    pub settings: Settings,
    /// `Some("")`: the most recent session; `Some(q)`: the session with that id or name.
    pub resume: Option<String>,
    /// The demo model unless `--model` names one.
    pub demo: bool,
}

pub struct Prepared {
    pub session: LiveSession,
    pub store: SessionStore,
    /// The model to load at start, if any is configured.
    pub load: Option<LoadSpec>,
    /// Device, dtype and ISQ for `/model DIR`.
    pub template: LoadSpec,
    /// An image to attach at start: the demo cutout with `--demo` in a new session.
    pub attach: Option<std::path::PathBuf>,
    /// A first question to offer (the input line's placeholder): with the demo cutout.
    pub suggestion: Option<&'static str>,
}

pub fn prepare(mut args: ChatArgs) -> CommandResult<Prepared> {
    if super::demo::uses_demo_model(args.demo, &args.settings) {
        super::demo::fill_system_prompt(&mut args.settings);
    }
    let settings = &args.settings;
    let store = SessionStore::new(settings.sessions_dir.value.clone());
    let load = super::model_choice::model_spec(settings, args.demo, None)?;
    let mut template = LoadSpec::new(ModelSource::Local(Default::default()));
    template.device = settings.device.value;
    template.dtype = settings.dtype.value;
    template.isq = settings.isq.value;
    let session = match &args.resume {
        Some(query) => {
            let journal = if query.is_empty() {
                store.last()?.path
            } else {
                store.journal_of(query)?
            };
            LiveSession::open_path(&journal).map_err(CommandError::from)?
        }
        None => LiveSession::start(&store, new_header(settings, load.as_ref())),
    };
    let attach = if args.demo && args.resume.is_none() {
        Some(super::demo::cutout_path()?)
    } else {
        None
    };
    let suggestion = attach.as_ref().map(|_| super::demo::FIRST_QUESTION);
    Ok(Prepared {
        session,
        store,
        load,
        template,
        attach,
        suggestion,
    })
}

fn new_header(settings: &Settings, load: Option<&LoadSpec>) -> Header {
    let header = Header::new("");
    Header {
        title: format!("chat {}", header.created[..16].replace('T', " ")),
        model: load.map(|spec| spec.source.to_string()),
        sampling: SamplingRecord {
            temperature: settings.temperature.value,
            top_p: settings.top_p.value,
            top_k: settings.top_k.value,
            max_tokens: settings.max_tokens.value,
        },
        system_prompt: settings.system_prompt.value.clone(),
        ..header
    }
}
