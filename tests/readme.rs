//! The README and docs/ against the code: the supported-architecture table is exactly the set
//! the engine table marks as supported (and therefore the set tests/engine_archs.rs proves);
//! every key of the help overlay, every slash command and every subcommand of both binaries is
//! documented where a reader looks for it: in its table, by its exact name; the README stays
//! short and every link in it and in docs/ leads somewhere.

mod common;

use std::path::PathBuf;

fn root() -> PathBuf {
    common::checkout()
}

/// A page of docs/ (`chat.md`, …).
fn doc(page: &str) -> String {
    let path = root().join("docs").join(page);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first cells of the first Markdown table after `anchor` whose header row starts with
/// `| {header} |`.
fn first_column(readme: &str, anchor: &str, header: &str) -> Vec<String> {
    let head = format!("| {header} |");
    let after = readme
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} is not in the page"));
    let readme = &readme[after..];
    let start = readme
        .lines()
        .position(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no table headed {head:?} after {anchor:?} in the page"));
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
fn the_models_page_lists_exactly_the_supported_architectures() {
    let readme = doc("models.md");
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
fn every_key_of_the_help_is_a_row_of_the_chat_page_key_table() {
    let documented: Vec<String> = first_column(&doc("chat.md"), "# The chat", "key")
        .iter()
        .flat_map(|cell| keys_of(cell))
        .collect();
    for (keys, _) in radiochat::tui::views::help::KEY_HELP {
        for key in keys_of(keys) {
            assert!(
                documented.contains(&key),
                "key {key:?} (help: {keys:?}) is not in the key table of docs/chat.md {documented:?}"
            );
        }
    }
}

#[test]
fn every_slash_command_heads_a_row_of_the_chat_page_command_table() {
    let cells = first_column(
        &doc("chat.md"),
        "Typing `/` opens the command palette",
        "command",
    );
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
            "/{} has no row in the slash-command table of docs/chat.md",
            spec.name
        );
    }
}

/// The subcommand names `radiochat ARGS --help` lists under "Commands:" (without `help`).
fn subcommands(exe: &str, args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(exe)
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
        // A wrapped description continues deeper in; a name starts at the third column.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_subcommand_of_sessions_bench_and_finetune_is_in_the_commands_page_table() {
    let readme = doc("commands.md");
    for group in ["sessions", "bench", "finetune"] {
        let subs = subcommands(env!("CARGO_BIN_EXE_radiochat"), &[group]);
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
                "radiochat {group} {sub} has no row in the table of docs/commands.md"
            );
        }
    }
}

#[test]
fn every_top_level_command_of_both_binaries_is_in_the_commands_page_table() {
    let page = doc("commands.md");
    for (binary, exe) in [
        ("radiochat", env!("CARGO_BIN_EXE_radiochat")),
        ("radiochat-perf", env!("CARGO_BIN_EXE_radiochat-perf")),
    ] {
        for sub in subcommands(exe, &[]) {
            let row = format!("| `{binary} {sub}");
            assert!(
                page.lines().any(|l| l.starts_with(&row)),
                "{binary} {sub} has no row in the table of docs/commands.md"
            );
        }
    }
}

/// GitHub's anchor of a heading: lower case, punctuation gone, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The Markdown files a reader starts from: the README and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages
}

#[test]
fn the_readme_is_short_and_every_link_of_it_and_of_docs_leads_somewhere() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; the rest belongs in docs/"
    );
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.starts_with("http") || target.contains(' ') {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            assert!(
                file.exists(),
                "{}: the link {target} leads to no file",
                page.display()
            );
            if !fragment.is_empty() {
                let linked = std::fs::read_to_string(&file).unwrap();
                assert!(
                    linked
                        .lines()
                        .filter(|l| l.starts_with('#'))
                        .any(|l| anchor(l) == fragment),
                    "{}: no heading of {} has the anchor #{fragment}",
                    page.display(),
                    file.display()
                );
            }
        }
    }
}
