use super::*;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

#[test]
fn the_caption_and_query_are_radio_llavas() {
    let prompt = Prompt::built_in().unwrap();
    // Written by rebuilding radio-llava's `fig_caption` (create_dataset_from_radioimg.py
    // @ 1315bbb) in Python for these labels.
    assert_eq!(
        prompt.caption(&tags(&["COMPACT", "RADIO-GALAXY", "EXTENDED"])),
        "The image is a radio astronomical image cutout extracted from a larger radio-continuum Stokes-I map produced by an interferometer telescope. The image contains various point-like or compact radio sources superimposed over the sky background noise. The image contains one or more extended radio sources. The image contains candidate radio galaxies with extended morphology. The image does not contain roundish diffuse radio sources. The image does not present areas of large diffuse emission. The image does not contain imaging artefacts. No filamentary structures are present in the image. The image does not contain regions with empty or NaN pixels. The image does not contain mosaicking artefact patterns with a diagonal line orientation. The image can be considered complex, as it contains radio sources with extended or diffuse morphology that may be relevant or interesting to the user, depending on the analysis context or field of study. "
    );
    let background = prompt.caption(&tags(&["BACKGROUND"]));
    assert!(background.ends_with("The image is very ordinary as it does contain only compact or point-like radio sources superimposed over the sky background. "));
    // The whole query for a lone BACKGROUND tag: 5,632 characters, sha256 as rebuilt.
    let query = prompt.query(&background, 5);
    assert_eq!(query.chars().count(), 5632);
    assert_eq!(
        crate::util::hash::sha256_hex(query.as_bytes()),
        "7191e67d073408a5777aee91f74a18032cf5907e3033e29f95b12f4658bd635b"
    );
    assert!(prompt.query(&background, 8).contains("at least 8 turns"));
}

#[test]
fn answers_are_read_as_pair_lists_or_refused_with_the_reason() {
    let listed = "```json\n[{\"question\": \"Is there a radio galaxy?\", \"answer\": \"Yes.\"}, {\"question\": \"q\"}]\n```";
    let (pairs, malformed) = parse_pairs(listed).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(malformed, 1);
    assert!(
        parse_pairs("Sure! Here are some questions")
            .unwrap_err()
            .starts_with("not JSON")
    );
    assert!(
        parse_pairs("{\"question\": \"q\", \"answer\": \"a\"}")
            .unwrap_err()
            .contains("not a list")
    );
    assert!(parse_pairs("[]").unwrap_err().starts_with("an empty list"));
}

#[test]
fn yes_or_no_against_the_labels_is_a_contradiction() {
    let pair = |q: &str, a: &str| Pair {
        question: q.into(),
        answer: a.into(),
    };
    let galaxy = tags(&["RADIO-GALAXY", "EXTENDED"]);
    let asked = pair(
        "Does the image contain an extended radio galaxy?",
        "No, it does not.",
    );
    assert_eq!(
        contradiction(&galaxy, &asked).unwrap(),
        "answers no about radio galax where the labels say present"
    );
    assert_eq!(
        contradiction(&galaxy, &pair("Is there a radio galaxy?", "Yes, one.")),
        None
    );
    let plain = tags(&["COMPACT"]);
    assert!(contradiction(&plain, &pair("Are there imaging artifacts?", "Yes")).is_some());
    assert_eq!(
        contradiction(
            &plain,
            &pair("What kind of sources are there?", "Compact ones.")
        ),
        None,
        "not a yes/no answer"
    );
    assert_eq!(
        contradiction(
            &plain,
            &pair("Any diffuse emission?", "Not that I can see.")
        ),
        None
    );
}

/// An asker that answers from a script and counts its calls.
struct Scripted {
    answers: Vec<Result<String, String>>,
    calls: usize,
}

impl Ask for Scripted {
    fn model(&self) -> String {
        "scripted".into()
    }
    fn ask(&mut self, query: &str, _image: &Path) -> Result<String, String> {
        assert!(query.starts_with("## Context: You are an AI assistant"));
        self.calls += 1;
        self.answers.remove(0)
    }
}

#[test]
fn answers_are_cached_so_a_rerun_asks_nothing_and_drops_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<PathBuf> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("{i}.png"));
            std::fs::write(&path, format!("picture {i}")).unwrap();
            path
        })
        .collect();
    let good = r#"[{"question": "Is there a radio galaxy?", "answer": "Yes, an extended one."},
                   {"question": "Are there imaging artefacts?", "answer": "Yes, rings."},
                   {"question": "What is the image like?", "answer": "Complex."}]"#;
    let cache_path = dir.path().join("cache/generated.jsonl");
    let labels = tags(&["RADIO-GALAXY", "EXTENDED"]);
    let run = |answers: Vec<Result<String, String>>| {
        let mut asker = Scripted { answers, calls: 0 };
        let mut seen = Vec::new();
        let mut progress = |g: &Generated| seen.push(g.images);
        let mut generator = Generator {
            prompt: Prompt::built_in().unwrap(),
            k: 5,
            cache: Cache::open(&cache_path).unwrap(),
            ask: &mut asker,
            counts: Generated::default(),
            on_progress: &mut progress,
        };
        let kept: Vec<usize> = images
            .iter()
            .map(|image| generator.pairs(&labels, None, image).unwrap().len())
            .collect();
        let counts = generator.counts.clone();
        (kept, counts, asker.calls, seen)
    };
    let (kept, counts, calls, seen) = run(vec![
        Ok(good.into()),
        Ok("I think there are galaxies.".into()),
        Err("server said 503".into()),
    ]);
    // The artefact pair contradicts the labels (no ARTEFACT): two of three kept.
    assert_eq!(kept, [2, 0, 0]);
    assert_eq!((counts.asked, counts.cached, calls), (3, 0, 3));
    assert_eq!((counts.pairs, counts.contradictions), (2, 1));
    assert_eq!((counts.invalid_json, counts.failed), (1, 1));
    assert_eq!(seen, [1, 2, 3]);
    assert!(
        counts.dropped_examples[0].contains("imaging artefacts"),
        "{:?}",
        counts.dropped_examples
    );
    // A rerun: the two answers given are cached; only the failed request is asked again.
    let (kept, counts, calls, _) = run(vec![Ok(good.into())]);
    assert_eq!(kept, [2, 0, 2]);
    assert_eq!((counts.cached, counts.asked, calls), (2, 1, 1));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cache_path).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // A torn last line (a killed run) is ignored.
    let mut text = std::fs::read_to_string(&cache_path).unwrap();
    text.push_str("{\"key\": \"abc\", \"mod");
    std::fs::write(&cache_path, text).unwrap();
    let mut cache = Cache::open(&cache_path).unwrap();
    assert_eq!(cache.answers.len(), 3);
    // The next entry starts on a line of its own.
    let entry = Cached {
        key: "next".into(),
        model: "m".into(),
        image: "x.png".into(),
        answer: "[]".into(),
    };
    cache.put(entry).unwrap();
    assert_eq!(Cache::open(&cache_path).unwrap().answers.len(), 4);
}
