//! `radiochat sessions …`: the stored chat sessions.

use super::{Context, print_json, print_lines};
use clap::Subcommand;
use radiochat::chat::{Conversation, SessionStore};
use radiochat::commands::CommandResult;
use radiochat::commands::sessions::{self, Format};
use radiochat::config::Flags;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Every session, most recent first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print a session's conversation.
    Show { session: String },
    /// Sessions whose title or messages contain TEXT.
    Search {
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Write a transcript: Markdown (with PNG thumbnails beside it) or JSON.
    Export {
        session: String,
        #[arg(long, value_enum, default_value = "md")]
        format: Format,
        /// Output file (default: ID.md or ID.json here).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Give a session a new name.
    Rename {
        session: String,
        #[arg(required = true, num_args = 1..)]
        name: Vec<String>,
    },
    /// Delete a session (not while a radiochat has it open).
    Delete { session: String },
}

pub fn run(context: &Context, command: SessionsCommand) -> CommandResult<i32> {
    let settings = context.settings(Flags::default())?;
    let store = SessionStore::new(settings.sessions_dir.value.clone());
    match command {
        SessionsCommand::List { json } => {
            let list = store.list();
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                println!("no sessions yet in {}", store.dir().display());
            } else {
                print_lines(&sessions::table(&list));
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
