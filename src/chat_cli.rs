//! Front-end for the chat: `radiochat` (the TUI) and `radiochat sessions …`.

use crate::cli::{Cli, SessionsCommand};
use radiochat::chat::{Conversation, SessionStore};
use radiochat::commands::sessions::{self, Format};
use radiochat::commands::{CommandError, CommandResult, chat};
use radiochat::config::Flags;
use radiochat::tui::{self, app::App};

pub fn flags(cli: &Cli) -> Flags {
    Flags {
        sessions_dir: cli.sessions_dir.clone(),
        ..crate::model_flags(&cli.model)
    }
}

pub fn run_chat(cli: &Cli) -> CommandResult<i32> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(CommandError::bad(
            "the chat needs a terminal; for scripts use `radiochat ask` (see --help)",
        ));
    }
    let graphics = match cli.graphics.as_str() {
        "auto" => None,
        other => Some(other.parse().map_err(CommandError::bad)?),
    };
    let settings = crate::settings(&cli.config, flags(cli))?;
    let sampling = settings.sampling();
    let transform = settings.transform();
    let config_path = settings.config_path.clone();
    let prepared = chat::prepare(chat::ChatArgs {
        settings,
        resume: cli.resume.clone(),
        demo: cli.demo,
    })?;
    let mut app = App::new(
        prepared.session,
        prepared.store,
        sampling,
        transform,
        prepared.template,
    );
    app.config_path = config_path;
    if let Some(path) = prepared.attach {
        app.run_slash(radiochat::commands::slash::Slash::Image {
            path,
            settings: Default::default(),
        });
    }
    tui::run(app, prepared.load, graphics).map_err(CommandError::Failed)?;
    Ok(0)
}

pub fn run_sessions(
    config: &Option<std::path::PathBuf>,
    flags: Flags,
    command: SessionsCommand,
) -> CommandResult<i32> {
    let settings = crate::settings(config, flags)?;
    let store = SessionStore::new(settings.sessions_dir.value.clone());
    match command {
        SessionsCommand::List { json } => {
            let list = store.list();
            if json {
                crate::print_json(&list)?;
            } else if list.is_empty() {
                println!("no sessions yet in {}", store.dir().display());
            } else {
                sessions::table(&list).iter().for_each(|l| println!("{l}"));
            }
        }
        SessionsCommand::Show { session } => {
            let (_, loaded) = sessions::load(&store, &session)?;
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            let conversation = Conversation::replay(loaded.header, &loaded.events);
            print!("{}", sessions::render_plain(&conversation));
        }
        SessionsCommand::Search { text } => {
            let text = text.join(" ");
            let hits = store.search(&text);
            if hits.is_empty() {
                println!("no session mentions '{text}'");
            }
            for (summary, lines) in hits {
                println!("{}  {}", summary.id, summary.title);
                lines.iter().for_each(|l| println!("    {l}"));
            }
        }
        SessionsCommand::Export {
            session,
            format,
            out,
        } => {
            let format: Format = format.parse().map_err(CommandError::bad)?;
            let (_, loaded) = sessions::load(&store, &session)?;
            let exported = sessions::export(&loaded, format, out)?;
            println!("wrote {}", exported.path.display());
            for thumb in &exported.thumbnails {
                println!("wrote {}", thumb.display());
            }
            for missing in &exported.missing {
                eprintln!("note: image no longer found: {missing}");
            }
        }
        SessionsCommand::Rename { session, name } => {
            let renamed = store.rename(&session, &name.join(" "))?;
            println!("{}  {}", renamed.id, renamed.title);
        }
        SessionsCommand::Delete { session } => {
            let deleted = store.delete(&session)?;
            println!("deleted {}  {}", deleted.id, deleted.title);
        }
    }
    Ok(0)
}
