//! `radiochat config …`: the merged configuration.

use super::{Context, print_json};
use clap::Subcommand;
use radiochat::commands::CommandResult;
use radiochat::config::Flags;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print every setting, its value and where it came from.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Print the config file path.
    Path,
}

pub fn run(context: &Context, command: ConfigCommand) -> CommandResult<i32> {
    match command {
        ConfigCommand::Show { json } => {
            let settings = context.settings(Flags::default())?;
            if json {
                print_json(&settings)?;
            } else {
                println!("# {}", settings.config_path.display());
                for (name, value, origin) in settings.describe() {
                    let origin = format!("{origin:?}").to_lowercase();
                    println!("{name} = {value}  ({origin})");
                }
            }
        }
        ConfigCommand::Path => {
            let path = context
                .config
                .clone()
                .unwrap_or_else(radiochat::config::default_config_path);
            println!("{}", path.display());
        }
    }
    Ok(0)
}
