//! The README's supported-architecture table is exactly the set the engine table marks as
//! supported (and therefore the set tests/engine_archs.rs proves).

#[test]
fn readme_lists_exactly_the_supported_architectures() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
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

/// Every slash command and every key of the help overlay is documented in the README.
#[test]
fn readme_documents_every_chat_command_and_key() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for spec in radiochat::commands::slash::SLASH_COMMANDS {
        assert!(
            readme.contains(&format!("`/{}", spec.name))
                || readme.contains(&format!(", `/{}", spec.name)),
            "/{} is not in the README",
            spec.name
        );
    }
    for (keys, _) in radiochat::tui::keys::KEY_HELP {
        let first = keys.split([',', '/']).next().unwrap().trim();
        assert!(readme.contains(first), "key {first} is not in the README");
    }
    // Every subcommand of `radiochat sessions`.
    for sub in ["list", "show", "search", "export", "rename", "delete"] {
        assert!(readme.contains(&format!("{sub} ")), "sessions {sub}");
    }
}
