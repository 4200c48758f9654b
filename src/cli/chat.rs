//! `radiochat` with no subcommand: the chat (TUI).

use super::Context;
use radiochat::commands::flags::{GraphicsFlag, ModelFlags};
use radiochat::commands::{CommandError, CommandResult, chat};
use radiochat::tui::{self, app::App};

/// The top-level flags the chat reads.
pub struct ChatArgs {
    pub resume: Option<String>,
    pub demo: bool,
    pub graphics: GraphicsFlag,
    pub model: ModelFlags,
}

pub fn run(context: &Context, args: ChatArgs) -> CommandResult<i32> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(CommandError::bad(
            "the chat needs a terminal; for scripts use `radiochat ask` (see --help)",
        ));
    }
    let settings = context.settings(args.model.to_flags())?;
    let sampling = settings.sampling();
    let transform = settings.transform();
    let config_path = settings.config_path.clone();
    let prepared = chat::prepare(chat::ChatArgs {
        settings,
        resume: args.resume,
        demo: args.demo,
    })?;
    let mut app = App::new(
        prepared.session,
        prepared.store,
        sampling,
        transform,
        prepared.template,
    );
    app.config_path = config_path;
    app.suggestion = prepared.suggestion.map(str::to_string);
    if let Some(path) = prepared.attach {
        app.run_slash(radiochat::commands::slash::Slash::Image {
            path,
            settings: Default::default(),
        });
    }
    tui::run(app, prepared.load, args.graphics.explicit()).map_err(CommandError::Failed)?;
    Ok(0)
}
