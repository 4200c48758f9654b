use super::*;

#[test]
fn the_built_in_tasks_load_with_radio_llavas_and_radiochats_prompts() {
    let tasks = load_tasks(None).unwrap();
    let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "L1", "G1"]);
    for task in &tasks {
        assert_eq!(task.defaults.prompt, "v1", "{}", task.id);
        assert!(task.prompts.contains_key("v1"), "{}", task.id);
        let options = task.prompts["v1"].options.iter().flatten();
        assert!(options.clone().all(|o| o != "NONE"), "{}", task.id);
    }
    for task in tasks
        .iter()
        .filter(|t| t.id.starts_with('B') && t.id != "B7")
    {
        assert!(task.prompts.contains_key("clean") && task.prompts.contains_key("clean-v2"));
    }
    let options_on: Vec<&str> = tasks
        .iter()
        .filter(|t| t.defaults.add_options)
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(options_on, ["B1", "B2", "B6", "B7"]);
    assert_eq!(find_task(&tasks, "galaxydet-radioimg").unwrap().id, "B3");
    assert_eq!(
        find_task(&tasks, "galaxymorphclass-gmnist").unwrap().id,
        "B7"
    );
    assert!(
        find_task(&tasks, "B9")
            .unwrap_err()
            .to_string()
            .starts_with("unknown task 'B9': B1 (smorph-radioimg)")
    );
    let b3 = find_task(&tasks, "B3").unwrap();
    assert_eq!(
        b3.version("v2").unwrap_err().to_string(),
        "task B3 has no prompt version 'v2' (choices: clean, clean-v2, v1)"
    );
}

#[test]
fn a_task_file_missing_a_part_is_refused_on_one_line_naming_file_and_key() {
    let b3 = BUILT_IN[2].1;
    let no_subfix = b3.replacen("subfix = \"Answer concisely: Yes or No.\"\n", "", 1);
    let err = TaskSpec::parse("mine.toml", &no_subfix)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "mine.toml: [prompts.v1] has no `subfix`");
    let bad_option = b3.replace("options = [\"NO\", \"YES\"]", "options = [\"MAYBE\"]");
    let err = TaskSpec::parse("mine.toml", &bad_option)
        .unwrap_err()
        .to_string();
    assert!(err.contains("'MAYBE' is not a class"), "{err}");
    let err = TaskSpec::parse("mine.toml", "id = \"X\"\nkey = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("mine.toml: line 2: "), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn a_users_task_dir_adds_or_replaces_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let b3 = BUILT_IN[2].1.replace(
        "title = \"Radio-galaxy detection (radioimg)\"",
        "title = \"mine\"",
    );
    std::fs::write(dir.path().join("b3.toml"), b3).unwrap();
    std::fs::write(dir.path().join("broken.toml"), "id = 3").unwrap();
    let err = load_tasks(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("broken.toml"), "{err}");
    std::fs::remove_file(dir.path().join("broken.toml")).unwrap();
    let tasks = load_tasks(Some(dir.path())).unwrap();
    let mine = find_task(&tasks, "B3").unwrap();
    assert_eq!(mine.title, "mine");
    assert!(mine.source.ends_with("b3.toml"), "{}", mine.source);
    assert_eq!(tasks.len(), 9);
}

#[test]
fn a_box_task_needs_radio_yolo_classes_and_a_question_for_each() {
    let l1 = BUILT_IN
        .iter()
        .find(|(n, _)| n.starts_with("L1"))
        .unwrap()
        .1;
    let task = TaskSpec::parse("l1.toml", l1).unwrap();
    assert!(task.asks_for_boxes());
    assert_eq!(task.subject("img:7:FLAGGED"), "FLAGGED");
    assert_eq!(task.subject("img"), "SPURIOUS");
    let no_question = l1.replace("FLAGGED = \"Does the image", "OTHER = \"Does the image");
    let err = TaskSpec::parse("mine.toml", &no_question)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "mine.toml: [prompts.v1] per_class has no question for 'FLAGGED'"
    );
    let unknown = l1.replace("\"FLAGGED\"]", "\"GALAXY\"]");
    let err = TaskSpec::parse("mine.toml", &unknown)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'GALAXY' is not a radio-YOLO source class (SPURIOUS, COMPACT"),
        "{err}"
    );
}
