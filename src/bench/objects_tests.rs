use super::*;
use serde_json::json;

#[test]
fn class_ids_and_names_are_radio_yolos() {
    let names: Vec<(usize, &str)> = SourceClass::ALL
        .iter()
        .map(|c| (c.yolo_id(), c.name()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "SPURIOUS"),
            (1, "COMPACT"),
            (2, "EXTENDED"),
            (3, "EXTENDED-MULTISLAND"),
            (4, "FLAGGED")
        ]
    );
    assert_eq!(SourceClass::parse("artefact"), Some(SourceClass::Spurious));
    assert_eq!(
        SourceClass::parse("extended_multisland"),
        Some(SourceClass::ExtendedMultisland)
    );
    assert_eq!(SourceClass::parse("galaxy"), None);
    assert_eq!(SourceClass::from_yolo_id(5), None);
}

#[test]
fn label_lines_are_read_and_bad_ones_skipped_with_file_and_line() {
    let text = "1 0.5 0.25 0.1 0.1\n\n\
                2 0.30 0.70 0.2 0.15\n\
                7 0.5 0.5 0.1 0.1\n\
                1 0.5 1.2 0.1 0.1\n\
                1 0.5 0.5 0.1\n\
                x 0.5 0.5 0.1 0.1\n\
                0 0.9 0.9 0.05 nan\n";
    let read = parse_yolo(text, "labels/a.txt");
    assert_eq!(read.boxes.len(), 2);
    assert_eq!(read.boxes[0].class, SourceClass::Compact);
    assert_eq!(read.boxes[1].numbers(), [0.3, 0.7, 0.2, 0.15]);
    assert_eq!(read.skipped.len(), 5, "{:?}", read.skipped);
    assert!(read.skipped[0].starts_with("labels/a.txt:4: class id 7 is out of range"));
    assert!(read.skipped[1].starts_with("labels/a.txt:5: box"));
    assert!(read.skipped[1].contains("not within [0, 1]"));
    assert!(read.skipped[2].starts_with("labels/a.txt:6: 4 columns, expected 5"));
    assert!(read.skipped[3].contains("'x' is not a whole number"));
    assert!(read.skipped[4].starts_with("labels/a.txt:8:"));
}

#[test]
fn written_label_text_reads_back() {
    let boxes = vec![
        SourceBox::new(SourceClass::Flagged, [0.123456789, 0.5, 0.25, 0.125]).unwrap(),
        SourceBox::new(SourceClass::Spurious, [1.0, 0.0, 1.0, 0.01]).unwrap(),
    ];
    let text = yolo_text(&boxes);
    assert_eq!(
        text.lines().next(),
        Some("4 0.123457 0.500000 0.250000 0.125000")
    );
    let read = parse_yolo(&text, "x");
    assert!(read.skipped.is_empty());
    assert_eq!(read.boxes[1], boxes[1]);
    assert!((read.boxes[0].x - 0.123457).abs() < 1e-12);
}

#[test]
fn object_entries_are_read_and_bad_ones_skipped_by_index() {
    let entries = [
        json!({"class": "EXTENDED-MULTISLAND", "bbox": [0.5, 0.5, 0.4, 0.2]}),
        json!({"class": "blob", "bbox": [0.5, 0.5, 0.4, 0.2]}),
        json!({"class": "COMPACT", "bbox": [0.5, 0.5, 0.4]}),
        json!({"class": "COMPACT", "bbox": [0.5, 0.5, 0.0, 0.1]}),
        json!("COMPACT"),
    ];
    let read = from_entries(&entries, "sky.json item 'a'");
    assert_eq!(read.boxes.len(), 1);
    assert_eq!(read.boxes[0].class, SourceClass::ExtendedMultisland);
    let why: Vec<&str> = read.skipped.iter().map(String::as_str).collect();
    assert!(why[0].starts_with("sky.json item 'a': objects[1]: unknown class 'blob'"));
    assert!(why[1].contains("objects[2]: bbox has 3 numbers"));
    assert!(why[2].contains("objects[3]:") && why[2].contains("no area"));
    assert!(why[3].contains("objects[4]: not {"));
    let entry = ObjectEntry::from(&read.boxes[0]);
    assert_eq!(
        serde_json::to_value(entry).unwrap(),
        json!({"class": "EXTENDED-MULTISLAND", "bbox": [0.5, 0.5, 0.4, 0.2]})
    );
}

#[test]
fn labels_live_in_the_sibling_labels_folder() {
    assert_eq!(
        yolo_label_path(Path::new("/data/yolo/images/c001.png")),
        Path::new("/data/yolo/labels/c001.txt")
    );
    assert_eq!(
        yolo_label_path(Path::new("sky/c001.fits")),
        Path::new("sky/c001.txt")
    );
}

#[test]
fn padding_to_a_square_keeps_the_box_on_its_pixels() {
    // 200 × 100: padded to 200 × 200 with 50 rows above and below.
    let b = SourceBox::new(SourceClass::Compact, [0.25, 0.5, 0.1, 0.2]).unwrap();
    let padded = b.padded_to_square(200, 100);
    assert_eq!(padded.numbers(), [0.25, 0.5, 0.1, 0.1]);
    let top = SourceBox::new(SourceClass::Compact, [0.5, 0.0, 0.1, 0.2])
        .unwrap()
        .padded_to_square(200, 100);
    assert_eq!(top.y, 0.25);
}

#[test]
fn coordinates_are_written_as_python_writes_round_v_2() {
    // Python 3: str(round(v, 2)) for each.
    let cases = [
        (0.125, "0.12"),
        (0.375, "0.38"),
        (0.135, "0.14"),
        (0.145, "0.14"),
        (0.5, "0.5"),
        (0.005, "0.01"),
        (0.015, "0.01"),
        (0.995, "0.99"),
        (1.0, "1.0"),
        (0.0, "0.0"),
        (0.004, "0.0"),
        (0.1, "0.1"),
    ];
    for (v, python) in cases {
        assert_eq!(two_decimals(v), python, "{v}");
    }
    let boxes = [
        SourceBox::new(SourceClass::Compact, [0.5, 0.25, 0.1, 0.125]).unwrap(),
        SourceBox::new(SourceClass::Extended, [0.3, 0.3, 0.3, 0.3]).unwrap(),
        SourceBox::new(SourceClass::Compact, [0.999, 0.0, 0.02, 0.02]).unwrap(),
    ];
    assert_eq!(
        box_list(&boxes, SourceClass::Compact),
        "[0.5, 0.25, 0.1, 0.12], [1.0, 0.0, 0.02, 0.02]"
    );
    assert_eq!(box_list(&boxes, SourceClass::Flagged), "");
}
