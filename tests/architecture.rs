//! The house's layout rules, read from the source: no import circle between sibling modules
//! (a module may use its parent and its children freely; siblings form a one-way graph), at
//! every level of `src/`. A circle means two modules cannot be understood, or moved, apart.
//!
//! Written by hand: the check is a few string scans over `use` trees and `crate::`/`super::`
//! paths, and no maintained crate answers "which sibling modules import each other".

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn source_files(dir: &Path, with_bins: bool, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("reading src/")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // Each binary is a crate of its own: it only sees the library's public face.
            if with_bins || path.file_name().is_some_and(|n| n != "bin") {
                source_files(&path, with_bins, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/tui/app.rs` → `[tui, app]`; `src/tui/mod.rs` → `[tui]`; `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).expect("a file under src/");
    let mut parts: Module = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The text of a file without its unit tests (they may use whatever they test) and comments.
fn production_text(text: &str) -> String {
    let cut = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path (as segments) the text names from `crate::`, `super::` or `self::`, with `use`
/// groups (`use crate::{a::b, c}`) expanded.
fn paths_named(text: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = text.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !is_ident_char(chars[i - 1]) && chars[i - 1] != ':';
        if starts_word {
            for root in ["crate", "super", "self"] {
                let word: Vec<char> = root.chars().collect();
                let end = i + word.len();
                if chars.get(i..end) == Some(&word[..])
                    && chars.get(end..end + 2) == Some(&[':', ':'])
                {
                    let mut tree = Vec::new();
                    let mut at = i;
                    read_tree(&chars, &mut at, vec![], &mut tree);
                    paths.extend(tree);
                    i = at;
                    break;
                }
            }
        }
        i += 1;
    }
    paths
}

/// Read one use-tree at `at` (`a::b::{c, d::e}` or `a::b`), pushing each full path.
fn read_tree(chars: &[char], at: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
        if chars.get(*at) == Some(&'{') {
            *at += 1;
            loop {
                while chars
                    .get(*at)
                    .is_some_and(|c| c.is_whitespace() || *c == ',')
                {
                    *at += 1;
                }
                match chars.get(*at) {
                    Some('}') | None => {
                        *at += 1;
                        return;
                    }
                    _ => {
                        let before = *at;
                        read_tree(chars, at, path.clone(), out);
                        if *at == before {
                            *at += 1;
                        }
                    }
                }
            }
        }
        let start = *at;
        while chars
            .get(*at)
            .is_some_and(|c| is_ident_char(*c) || *c == '*')
        {
            *at += 1;
        }
        if *at == start {
            out.push(path);
            return;
        }
        path.push(chars[start..*at].iter().collect());
        if chars.get(*at..*at + 2) == Some(&[':', ':']) {
            *at += 2;
        } else {
            out.push(path);
            return;
        }
    }
}

/// Where a named path lands: the longest known module it starts with.
fn resolve(from: &Module, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut base: Module = match path.first().map(String::as_str) {
        Some("crate") => vec![],
        Some("self") => from.clone(),
        Some("super") => from[..from.len().checked_sub(1)?].to_vec(),
        _ => return None,
    };
    let mut rest = &path[1..];
    while rest.first().map(String::as_str) == Some("super") {
        base.pop()?;
        rest = &rest[1..];
    }
    let mut found = base.clone();
    for segment in rest {
        let mut next = found.clone();
        next.push(segment.clone());
        if !modules.contains(&next) {
            break;
        }
        found = next;
    }
    Some(found)
}

/// The sibling edge a reference makes: under the modules' deepest common parent, from the
/// child that holds `from` to the child that holds `to`. None for a parent and its descendant.
fn sibling_edge(from: &Module, to: &Module) -> Option<(Module, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((
        from[..common].to_vec(),
        from[common].clone(),
        to[common].clone(),
    ))
}

/// Groups of two or more siblings that reach each other (strongly connected components).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a).chain(bs))
        .collect();
    let reaches = |start: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reaches(n))).collect();
    let mut grouped = BTreeSet::new();
    let mut found = Vec::new();
    for node in &nodes {
        if grouped.contains(*node) || !reach[node].contains(*node) {
            continue;
        }
        let group: Vec<String> = nodes
            .iter()
            .filter(|other| reach[node].contains(**other) && reach[*other].contains(*node))
            .map(|n| n.to_string())
            .collect();
        grouped.extend(group.iter().cloned());
        if group.len() > 1 {
            found.push(group);
        }
    }
    found
}

fn import_circles() -> Vec<String> {
    let src = common::checkout().join("src");
    let mut files = Vec::new();
    source_files(&src, false, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graphs: BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("reading a source file");
        for path in paths_named(&production_text(&text)) {
            let Some(to) = resolve(&from, &path, &modules) else {
                continue;
            };
            if let Some((parent, a, b)) = sibling_edge(&from, &to) {
                graphs
                    .entry(parent)
                    .or_default()
                    .entry(a)
                    .or_default()
                    .insert(b);
            }
        }
    }
    let mut found = Vec::new();
    for (parent, edges) in &graphs {
        for group in circles(edges) {
            let at = if parent.is_empty() {
                "crate".to_string()
            } else {
                parent.join("::")
            };
            found.push(format!("{at}: {}", group.join(" ↔ ")));
        }
    }
    found
}

#[test]
fn no_import_circle_between_sibling_modules() {
    let found = import_circles();
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_use_trees_and_inline_paths() {
    let text = "use super::app::{App, Overlay};\nuse crate::{chat::{worker::X, Event}, util};\nlet x = crate::engine::Refused::new();";
    let paths = paths_named(text);
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert!(
        joined.contains(&"super::app::App".to_string()),
        "{joined:?}"
    );
    assert!(
        joined.contains(&"crate::chat::worker::X".to_string()),
        "{joined:?}"
    );
    assert!(
        joined.contains(&"crate::chat::Event".to_string()),
        "{joined:?}"
    );
    assert!(joined.contains(&"crate::util".to_string()), "{joined:?}");
    assert!(
        joined.contains(&"crate::engine::Refused::new".to_string()),
        "{joined:?}"
    );
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    edges.entry("c".into()).or_default().insert("a".into());
    edges.entry("d".into()).or_default().insert("a".into());
    assert_eq!(
        circles(&edges),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
}

/// A path fixed at build time names the clone that built the binary, and with the one shared
/// target dir (scripts/env.sh) cargo reuses that binary in another clone, where the path may be
/// gone. So only tests/common finds the checkout, and it asks at run time first.
#[test]
fn only_tests_common_reads_the_checkout_path_compiled_in() {
    let needle = concat!("env!(\"CARGO_", "MANIFEST_DIR\")");
    let root = common::checkout();
    let mut files = Vec::new();
    source_files(&root.join("src"), true, &mut files);
    source_files(&root.join("tests"), true, &mut files);
    let found: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("tests/common/mod.rs"))
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(needle))
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(found.is_empty(), "{needle} in {found:?}");
    assert!(files.len() > 100, "the walk found {} files", files.len());
}
