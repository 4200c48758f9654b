use super::*;
use crate::bench::task::{find_task, load_tasks};
use serde_json::Value;

const REFERENCE: &str = include_str!("../../tests/reference/radio_llava_prompts.json");

fn task(id: &str) -> TaskSpec {
    find_task(&load_tasks(None).unwrap(), id).unwrap()
}

fn choice(task: &TaskSpec, describe: bool) -> PromptChoice {
    PromptChoice {
        add_task_description: describe,
        ..PromptChoice::of_task(task)
    }
}

#[test]
fn every_zero_shot_question_is_radio_llavas_byte_for_byte() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let expected = reference["zero_shot"].as_object().unwrap();
    assert_eq!(expected.len(), 14);
    for (key, text) in expected {
        let mut parts = key.split('/');
        let (id, version) = (parts.next().unwrap(), parts.next().unwrap());
        let task = task(id);
        let choice = PromptChoice {
            version: version.into(),
            ..choice(&task, parts.next() == Some("describe"))
        };
        let prompter = Prompter::new(&task, &choice, 0).unwrap();
        assert_eq!(prompter.item_text("x"), text.as_str().unwrap(), "{key}");
    }
}

#[test]
fn later_shots_drop_the_description_only_when_options_are_listed() {
    let answers = [shot("a", "EXTENDED"), shot("b", "DIFFUSE")];
    let b1 = task("B1");
    let with = choice(&b1, true);
    let turns = Prompter::new(&b1, &with, 2)
        .unwrap()
        .conversation(None, &answers, "item");
    assert_eq!(turns.len(), 5);
    assert!(turns[0].text.starts_with("### Context"));
    assert!(turns[2].text.starts_with("### Question"));
    assert!(turns[4].text.starts_with("### Context"));
    assert_eq!(
        turns.iter().map(|t| t.image).collect::<Vec<_>>(),
        [Some(0), None, Some(1), None, Some(2)]
    );
    let b5 = task("B5");
    let without = choice(&b5, true);
    let turns = Prompter::new(&b5, &without, 2)
        .unwrap()
        .conversation(None, &answers, "item");
    assert!(
        turns[2].text.starts_with("### Context"),
        "{}",
        turns[2].text
    );
    assert!(
        turns[2]
            .text
            .contains("provided context and examples. Report")
    );
}

#[test]
fn shuffled_options_are_a_seeded_permutation_per_item_and_shots_keep_the_file_order() {
    let b2 = task("B2");
    let shuffled = PromptChoice {
        shuffle_options: Some(7),
        ..choice(&b2, false)
    };
    let prompter = Prompter::new(&b2, &shuffled, 1).unwrap();
    let file_order = b2.prompts["v1"].options.clone().unwrap();
    let orders: Vec<Vec<String>> = (0..8)
        .map(|i| prompter.item_options(&format!("item{i}")).unwrap())
        .collect();
    for order in &orders {
        let mut sorted = order.clone();
        sorted.sort();
        let mut expected = file_order.clone();
        expected.sort();
        assert_eq!(sorted, expected);
    }
    assert!(orders.iter().any(|o| *o != file_order));
    assert!(orders.windows(2).any(|w| w[0] != w[1]));
    assert_eq!(prompter.item_options("item3").unwrap(), orders[3]);
    let turns = prompter.conversation(None, &[shot("a", "1C-1P")], "item3");
    assert!(turns[0].text.contains(&file_order.join(" \n ")));
    assert!(turns[2].text.contains(&orders[3].join(" \n ")));
}

#[test]
fn retries_are_radio_llavas_fresh_turn_or_radiochats_restatement() {
    let b3 = task("B3");
    let plain = choice(&b3, false);
    let prompter = Prompter::new(&b3, &plain, 0).unwrap();
    let asked = prompter.conversation(Some("sys"), &[], "item");
    let fresh = prompter.retry(
        RetryStyle::RadioLlava,
        Some("sys"),
        (&asked, "maybe"),
        "item",
    );
    assert_eq!(fresh.len(), 2);
    assert_eq!(
        fresh[1].text,
        format!("{RETRY_LEAD}Answer concisely: Yes or No.")
    );
    assert_eq!(fresh[1].image, Some(0));
    let restated = prompter.retry(RetryStyle::Restate, Some("sys"), (&asked, "maybe"), "item");
    assert_eq!(restated.len(), 4);
    assert_eq!(restated[2].text, "maybe");
    assert_eq!(
        restated[3].text,
        "Do you see any likely radio galaxy with an extended morphology in the image? \n Options: NO, YES \n Answer concisely: Yes or No."
    );
    assert_eq!(restated[3].image, None);
}

#[test]
fn options_asked_of_a_version_without_them_name_the_file_and_key() {
    let b3 = task("B3");
    let listed = PromptChoice {
        add_options: true,
        ..choice(&b3, false)
    };
    let err = Prompter::new(&b3, &listed, 0).err().unwrap();
    assert_eq!(
        err.to_string(),
        "B3-galaxydet-radioimg.toml: [prompts.v1] has no `options` to list (--add-options)"
    );
    let clean = PromptChoice {
        version: "clean".into(),
        ..listed
    };
    let text = Prompter::new(&b3, &clean, 0).unwrap().item_text("x");
    assert!(text.contains("image? \n NO \n YES \n Answer"), "{text}");
}

fn shot(key: &str, answer: &str) -> Shot {
    Shot {
        key: key.into(),
        answer: answer.into(),
        question: None,
    }
}

#[test]
fn a_box_task_asks_each_item_about_its_own_class_shots_included() {
    let l1 = task("L1");
    let plain = choice(&l1, false);
    let prompter = Prompter::new(&l1, &plain, 1).unwrap();
    let shots = [shot("a:EXTENDED", "[0.5, 0.5, 0.2, 0.2]")];
    let turns = prompter.conversation(None, &shots, "b:COMPACT");
    assert_eq!(
        turns[0].text,
        " \nPlease provide the bounding box coordinates of all single-island extended sources present in the image. \n Answer with the bounding boxes as [x_center, y_center, width, height], normalised to the image size with 2 decimals and separated by commas, or say that the image does not contain such sources."
    );
    assert!(
        turns[2].text.contains("all compact sources"),
        "{}",
        turns[2].text
    );
    let restated = prompter.retry(
        RetryStyle::Restate,
        None,
        (&turns, "somewhere"),
        "b:COMPACT",
    );
    assert!(
        restated[4]
            .text
            .starts_with("Please provide the bounding box coordinates of all compact sources present in the image. \n Answer with"),
        "{}",
        restated[4].text
    );
    assert!(!restated[4].text.contains("Options"));
    // A key without a class (`bench prompt --item x`) asks about the first class.
    assert!(prompter.item_text("x").contains("spurious sources"));
}
