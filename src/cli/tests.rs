//! The command line describes itself truly: clap's own consistency checks, every group's help
//! names each of its subcommands, every choice flag lists its choices.

use super::Cli;
use clap::CommandFactory;

#[test]
fn clap_accepts_the_definition() {
    Cli::command().debug_assert();
}

#[test]
fn every_group_names_each_of_its_subcommands_in_its_help() {
    let cli = Cli::command();
    for group in cli.get_subcommands().filter(|c| c.has_subcommands()) {
        let about = group.get_about().map(|a| a.to_string()).unwrap_or_default();
        for sub in group.get_subcommands().filter(|s| s.get_name() != "help") {
            assert!(
                about.contains(sub.get_name()),
                "`radiochat {}` help ({about:?}) does not name `{}`",
                group.get_name(),
                sub.get_name()
            );
        }
    }
}

/// Every argument of `command` and its subcommands, with the path to it.
fn arguments(command: &clap::Command, path: String, out: &mut Vec<(String, clap::Arg)>) {
    for arg in command.get_arguments() {
        out.push((path.clone(), arg.clone()));
    }
    for sub in command.get_subcommands() {
        arguments(sub, format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn choice_flags_list_their_choices_and_defaults_are_among_them() {
    let mut all = Vec::new();
    arguments(&Cli::command(), "radiochat".into(), &mut all);
    let choice = |path: &str, flag: &str| {
        all.iter()
            .find(|(p, a)| p == path && a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("{path} --{flag} not found"))
            .1
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        choice("radiochat", "graphics"),
        ["auto", "kitty", "sixel", "iterm", "halfblocks", "none"]
    );
    assert_eq!(choice("radiochat view", "graphics").len(), 6);
    assert_eq!(choice("radiochat view", "stretch")[0], "radio-llava");
    assert_eq!(
        choice("radiochat sessions export", "format"),
        ["md", "json"]
    );
    assert_eq!(
        choice("radiochat bench score", "parse"),
        ["strict", "lenient"]
    );
    assert_eq!(
        choice("radiochat synth", "kind"),
        ["radioimg", "rgz", "mirabest", "gmnist", "shapes"]
    );
    assert_eq!(
        choice("radiochat model tiny", "dims"),
        ["tiny", "real", "7b", "nano"]
    );
    for (path, arg) in &all {
        let values = arg.get_possible_values();
        if values.is_empty() {
            continue;
        }
        for default in arg.get_default_values() {
            let default = default.to_string_lossy();
            assert!(
                values.iter().any(|v| v.matches(&default, false)),
                "{path} --{:?}: default {default} is not a choice",
                arg.get_long()
            );
        }
    }
}

#[test]
fn the_demo_flag_says_what_the_demo_model_is() {
    let cli = Cli::command();
    let demo = cli
        .get_arguments()
        .find(|a| a.get_long() == Some("demo"))
        .unwrap();
    let help = demo.get_help().unwrap().to_string();
    assert!(
        help.contains("built-in") && help.contains("trained"),
        "{help}"
    );
    assert!(
        !help.contains("random weights"),
        "the demo model is trained, not random: {help}"
    );
}
