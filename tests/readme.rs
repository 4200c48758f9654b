//! The README against the code: the supported-architecture table is exactly the set the engine
//! table marks as supported (and therefore the set tests/engine_archs.rs proves); every key of
//! the help overlay, every slash command and every subcommand is documented where a reader
//! looks for it: in its table, by its exact name.

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The first cells of the first Markdown table after `anchor` whose header row starts with
/// `| {header} |`.
fn first_column(readme: &str, anchor: &str, header: &str) -> Vec<String> {
    let head = format!("| {header} |");
    let after = readme
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} is not in the README"));
    let readme = &readme[after..];
    let start = readme
        .lines()
        .position(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no table headed {head:?} after {anchor:?} in the README"));
    readme
        .lines()
        .skip(start + 2)
        .take_while(|l| l.starts_with('|'))
        // `\|` is a pipe inside a cell, not a cell's end.
        .filter_map(|l| {
            l.replace("\\|", "\u{1}")
                .split('|')
                .nth(1)
                .map(str::to_string)
        })
        .map(|c| c.replace('\u{1}', "|").trim().to_string())
        .collect()
}

/// The single keys of a key cell: "PgUp / PgDn, mouse wheel" → PgUp, PgDn, mouse wheel.
fn keys_of(cell: &str) -> Vec<String> {
    cell.split([',', '/'])
        .flat_map(|part| part.split(" or "))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn readme_lists_exactly_the_supported_architectures() {
    let readme = readme();
    let start = readme
        .find("<!-- supported-archs -->")
        .expect("start marker");
    let end = readme
        .find("<!-- /supported-archs -->")
        .expect("end marker");
    let mut listed: Vec<String> = readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| loader"))
        .filter_map(|l| l.split('|').nth(2).map(|c| c.trim().to_string()))
        .collect();
    let mut supported: Vec<String> = radiochat::engine::Architecture::supported()
        .map(|a| a.hf_class.to_string())
        .collect();
    listed.sort();
    supported.sort();
    assert_eq!(listed, supported);
}

#[test]
fn every_key_of_the_help_is_a_row_of_the_readme_key_table() {
    let documented: Vec<String> = first_column(&readme(), "## The chat", "key")
        .iter()
        .flat_map(|cell| keys_of(cell))
        .collect();
    for (keys, _) in radiochat::tui::keys::KEY_HELP {
        for key in keys_of(keys) {
            assert!(
                documented.contains(&key),
                "key {key:?} (help: {keys:?}) is not in the README's key table {documented:?}"
            );
        }
    }
}

#[test]
fn every_slash_command_heads_a_row_of_the_readme_command_table() {
    let cells = first_column(&readme(), "Typing `/` opens the command palette", "command");
    for spec in radiochat::commands::slash::SLASH_COMMANDS {
        let name = format!("`/{}", spec.name);
        let documented = cells.iter().any(|cell| {
            cell.match_indices(&name).any(|(at, _)| {
                let after = cell[at + name.len()..].chars().next();
                matches!(after, Some(' ' | '`'))
            })
        });
        assert!(
            documented,
            "/{} has no row in the README's slash-command table",
            spec.name
        );
    }
}

/// The subcommand names `radiochat ARGS --help` lists under "Commands:" (without `help`).
fn subcommands(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let list = text
        .split("Commands:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no Commands: in radiochat {args:?} --help:\n{text}"));
    list.lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_subcommand_of_sessions_bench_and_finetune_is_in_the_readme_command_table() {
    let readme = readme();
    for group in ["sessions", "bench", "finetune"] {
        let subs = subcommands(&[group]);
        assert!(subs.len() >= 3, "{group}: {subs:?}");
        for sub in subs {
            // `radiochat GROUP SUB …`, or `SUB …` later in the same row after a `·`.
            let whole = format!("`radiochat {group} {sub}");
            let row = readme.lines().find(|l| {
                l.starts_with("| `radiochat ") && l.contains(&whole)
                    || l.starts_with(&format!("| `radiochat {group} "))
                        && l.split(" · ").skip(1).any(|part| {
                            part.starts_with(&format!("`{sub} "))
                                || part.starts_with(&format!("`{sub}`"))
                        })
            });
            assert!(
                row.is_some(),
                "radiochat {group} {sub} has no row in the README's command table"
            );
        }
    }
}
