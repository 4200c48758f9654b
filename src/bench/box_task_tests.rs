use super::*;
use crate::bench::task::{find_task, load_tasks};

fn l1() -> TaskSpec {
    find_task(&load_tasks(None).unwrap(), "L1").unwrap()
}

fn source(class: SourceClass, numbers: [f64; 4]) -> SourceBox {
    SourceBox::new(class, numbers).unwrap()
}

fn answered(sname: &str, truth: &[&str], raw: &str) -> Prediction {
    Prediction {
        sname: sname.into(),
        truth: truth.iter().map(|t| t.to_string()).collect(),
        pred: read_answer(raw, ParseMode::Lenient),
        raw: raw.into(),
        attempts: 1,
        latency_ms: 1.0,
        prompt_tokens: 1,
        completion_tokens: 1,
        error: None,
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
}

#[test]
fn an_annotated_image_is_an_item_per_class_with_that_class_boxes() {
    let annotations = Annotations {
        boxes: vec![
            source(SourceClass::Compact, [0.25, 0.5, 0.1, 0.1]),
            source(SourceClass::Spurious, [0.7, 0.3, 0.123456789, 0.2]),
            source(SourceClass::Compact, [0.75, 0.5, 0.1, 0.1]),
        ],
        skipped: vec![],
    };
    let items = items("img1", Path::new("img1.png"), Ok(Some(annotations)), &l1()).unwrap();
    let names: Vec<&str> = items.iter().map(|i| i.sname.as_str()).collect();
    assert_eq!(
        names,
        [
            "img1:SPURIOUS",
            "img1:COMPACT",
            "img1:EXTENDED",
            "img1:EXTENDED-MULTISLAND",
            "img1:FLAGGED"
        ]
    );
    assert_eq!(items[0].truth, ["[0.7, 0.3, 0.123457, 0.2]"]);
    assert_eq!(items[0].context_answer, "[0.7, 0.3, 0.12, 0.2]");
    assert_eq!(
        items[1].truth,
        ["[0.25, 0.5, 0.1, 0.1]", "[0.75, 0.5, 0.1, 0.1]"]
    );
    assert!(items[2].truth.is_empty());
    assert_eq!(
        items[2].context_answer,
        "The image does not contain extended sources."
    );
    // The truth reads back as the boxes it came from.
    let back = truth_boxes(SourceClass::Compact, &items[1].truth);
    assert_eq!(back[1].numbers(), [0.75, 0.5, 0.1, 0.1]);
}

#[test]
fn images_without_or_with_bad_annotations_do_not_fit() {
    let why = items("a", Path::new("sky/images/a.png"), Ok(None), &l1())
        .unwrap_err()
        .0;
    assert!(why.contains("sky/labels/a.txt"), "{why}");
    let bad = Annotations {
        boxes: vec![source(SourceClass::Compact, [0.5, 0.5, 0.1, 0.1])],
        skipped: vec!["labels/a.txt:2: class id 7 is out of range".into()],
    };
    let why = items("a", Path::new("a.png"), Ok(Some(bad)), &l1())
        .unwrap_err()
        .0;
    assert!(why.contains("labels/a.txt:2: class id 7"), "{why}");
    let unreadable = Err("labels/a.txt: cannot read: denied".to_string());
    let why = items("a", Path::new("a.png"), unreadable, &l1())
        .unwrap_err()
        .0;
    assert!(why.contains("denied"), "{why}");
}

/// Five answers worked by hand: a perfect box, a right "none", one of two boxes found at IoU
/// 0.6 (overlap 0.15 × 0.2 = 0.03 over 0.08 − 0.03), a box where there is none, an answer
/// that is not boxes.
fn five_answers() -> Vec<Prediction> {
    vec![
        answered(
            "a:COMPACT",
            &["[0.5, 0.5, 0.2, 0.2]"],
            "[0.5, 0.5, 0.2, 0.2]",
        ),
        answered(
            "a:EXTENDED",
            &[],
            "The image does not contain extended radio sources.",
        ),
        answered(
            "b:COMPACT",
            &["[0.3, 0.3, 0.2, 0.2]", "[0.7, 0.7, 0.1, 0.1]"],
            "[0.35, 0.3, 0.2, 0.2]",
        ),
        answered("b:SPURIOUS", &[], "Artefacts: (0.1, 0.1, 0.1, 0.1)"),
        answered(
            "c:COMPACT",
            &["[0.5, 0.5, 0.1, 0.1]"],
            "somewhere in the middle",
        ),
    ]
}

#[test]
fn box_scores_by_hand() {
    let task = l1();
    let score = crate::bench::score(&task, &five_answers(), ParseMode::Lenient);
    assert_eq!((score.items, score.invalid, score.errors), (5, 1, 0));
    assert!(score.radio_llava.is_none());
    let boxes = score.localisation.unwrap();
    let compact = &boxes.valid_only.per_class["COMPACT"];
    assert_eq!(compact.counts(), [2, 0, 1]);
    close(compact.precision, 1.0);
    close(compact.recall, 2.0 / 3.0);
    close(compact.f1, 0.8);
    close(compact.mean_iou, (1.0 + 0.6) / 2.0);
    let spurious = &boxes.valid_only.per_class["SPURIOUS"];
    assert_eq!(spurious.false_positives, 1);
    close(spurious.f1, 0.0);
    assert!(!boxes.valid_only.per_class.contains_key("EXTENDED"));
    let overall = &boxes.valid_only.overall;
    close(overall.precision, 2.0 / 3.0);
    close(overall.recall, 2.0 / 3.0);
    // The unreadable answer found nothing: one more miss.
    let as_wrong = &boxes.invalid_as_wrong.overall;
    assert_eq!(as_wrong.false_negatives, 2);
    close(as_wrong.f1, 2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5));
    // Presence: YES NO YES NO true, YES NO YES YES answered.
    close(score.metrics.accuracy, 0.75);
    close(score.metrics_invalid_as_wrong.accuracy, 0.6);
    // The strict parser takes only radio-llava's own form.
    let strict = crate::bench::score(&task, &five_answers(), ParseMode::Strict);
    assert_eq!((strict.invalid, strict.invalid_strict), (2, 2));
    assert_eq!(strict.invalid_lenient, 1);
}

#[test]
fn an_item_is_right_when_every_box_is_found_and_no_other() {
    let task = l1();
    let answers = five_answers();
    let right: Vec<bool> = answers.iter().map(|p| all_found(&task, p)).collect();
    assert_eq!(right, [true, true, false, false, false]);
}

#[test]
fn padding_to_a_square_moves_the_truth_with_the_picture() {
    let truth = vec!["[0.5, 0.5, 0.2, 0.2]".to_string()];
    // A 200 × 100 plane padded to 200 × 200: y and h halve about the centre.
    let boxes = truth_boxes(SourceClass::Compact, &truth);
    let square = crate::imaging::TransformOptions {
        resize: Some(crate::imaging::resize::Resize {
            size: 64,
            square: true,
        }),
        ..Default::default()
    };
    let placed = objects::on_model_input(&boxes, &square, (200, 100), true);
    assert_eq!(truth_texts(&placed), ["[0.5, 0.5, 0.2, 0.1]"]);
}
