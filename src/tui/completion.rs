//! File-path completion for `/image PATH` (Tab).

/// What Tab does to a partial path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The path, completed as far as the candidates agree.
    Completed(String),
    /// The candidates (up to ten, as one line) to show; empty when nothing matches.
    Candidates(String),
}

/// The completed path when the candidates share a longer prefix; otherwise the candidates.
pub fn complete_path(partial: &str) -> Completion {
    let (dir, stem) = match partial.rfind('/') {
        Some(i) => (&partial[..=i], &partial[i + 1..]),
        None => ("", partial),
    };
    let read_from = if dir.is_empty() { "." } else { dir };
    let Ok(entries) = std::fs::read_dir(read_from) else {
        return Completion::Candidates(String::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let is_dir = e.file_type().ok()?.is_dir();
            (name.starts_with(stem) && (!name.starts_with('.') || stem.starts_with('.')))
                .then(|| if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    names.sort();
    let Some(first) = names.first() else {
        return Completion::Candidates(String::new());
    };
    let common = names.iter().fold(first.clone(), |acc, name| {
        acc.chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    if names.len() == 1 || common.len() > stem.len() {
        return Completion::Completed(format!("{dir}{common}"));
    }
    let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
    let more = names.len().saturating_sub(10);
    Completion::Candidates(if more > 0 {
        format!("{} … (+{more})", shown.join("  "))
    } else {
        shown.join("  ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_complete_and_shared_prefixes_extend() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap();
        std::fs::write(dir.path().join("abell2255.fits"), b"").unwrap();
        std::fs::write(dir.path().join("cutout_01.fits"), b"").unwrap();
        std::fs::write(dir.path().join("cutout_02.fits"), b"").unwrap();
        std::fs::create_dir(dir.path().join("images")).unwrap();
        assert_eq!(
            complete_path(&format!("{base}/ab")),
            Completion::Completed(format!("{base}/abell2255.fits"))
        );
        assert_eq!(
            complete_path(&format!("{base}/cu")),
            Completion::Completed(format!("{base}/cutout_0"))
        );
        assert_eq!(
            complete_path(&format!("{base}/cutout_0")),
            Completion::Candidates("cutout_01.fits  cutout_02.fits".into())
        );
        assert_eq!(
            complete_path(&format!("{base}/im")),
            Completion::Completed(format!("{base}/images/"))
        );
        assert_eq!(
            complete_path(&format!("{base}/zz")),
            Completion::Candidates(String::new())
        );
    }
}
