//! The `radiochat` binary: parse the command line, run the command, map the outcome to an
//! exit code (0 done, 1 failed, 2 bad input, 130 interrupted).

use clap::Parser;

mod cli;

fn main() {
    radiochat::tui::timings::mark_process_start();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => exit_for_clap(error),
    };
    cli::sigpipe::set_for(&cli.command);
    let code = match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("radiochat: {error}");
            error.exit_code()
        }
    };
    std::process::exit(code);
}

/// Help and version print as clap writes them; a bad command line is one line on stderr and
/// exit code 2, like every other bad input.
fn exit_for_clap(error: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    eprintln!("radiochat: {}", one_line(&error.render().to_string()));
    std::process::exit(2);
}

/// clap's message on one line: its own lines joined, the "Usage:" and "--help" hints left out.
fn one_line(rendered: &str) -> String {
    let mut line = String::new();
    for part in rendered.lines().map(str::trim).filter(|part| {
        !part.is_empty() && !part.starts_with("Usage:") && !part.starts_with("For more information")
    }) {
        let part = part.strip_prefix("error: ").unwrap_or(part);
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(part);
    }
    line
}
