use super::*;

fn png_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 10, 10]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

fn read(dataset: &Path) -> Vec<Value> {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(dataset).unwrap()).unwrap();
    value["data"].as_array().unwrap().clone()
}

#[test]
fn mmbench_rows_become_items_with_their_pictures_and_bad_rows_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let picture = base64::engine::general_purpose::STANDARD.encode(png_bytes());
    let tsv = dir.path().join("mmbench_dev_en.tsv");
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_path(&tsv)
        .unwrap();
    let header = [
        "index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image",
    ];
    writer.write_record(header).unwrap();
    let p = picture.as_str();
    let rows = [
        [
            "7",
            "Which colour?",
            "nan",
            "red",
            "blue",
            "green",
            "grey",
            "A",
            "attribute",
            p,
        ],
        [
            "8",
            "Is it\tsquare?",
            "A hint.",
            "yes",
            "no",
            "",
            "nan",
            "B",
            "shape",
            p,
        ],
        ["9", "No answer here", "", "a", "b", "", "", "", "x", p],
        [
            "10",
            "Broken picture",
            "",
            "a",
            "b",
            "",
            "",
            "A",
            "x",
            "not base64!",
        ],
    ];
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
    let out = dir.path().join("mmbench");
    let imported = mmbench(&tsv, &out).unwrap();
    assert_eq!(imported.items, 2);
    assert_eq!(imported.skipped.len(), 2);
    assert_eq!(imported.skipped[0].0, "row 4 (index 9)");
    assert!(imported.skipped[0].1.starts_with("no answer"));
    assert!(imported.skipped[1].1.starts_with("image is not base64"));
    let items = read(&imported.dataset);
    assert_eq!(items[0]["sname"], "mmbench-7");
    assert_eq!(items[0]["options"], json!(["red", "blue", "green", "grey"]));
    assert_eq!(items[0]["hint"], Value::Null);
    assert_eq!(items[0]["label"], "A");
    assert_eq!(items[1]["question"], "Is it\tsquare?");
    assert_eq!(items[1]["options"], json!(["yes", "no"]));
    assert_eq!(items[1]["hint"], "A hint.");
    let file = out.join(items[0]["filepaths"][0].as_str().unwrap());
    assert_eq!(file, out.join("images/7.png"));
    assert_eq!(std::fs::read(&file).unwrap(), png_bytes());

    std::fs::write(&tsv, "index\tquestion\tA\tB\tanswer\n1\tq\ta\tb\tA\n").unwrap();
    let err = mmbench(&tsv, &out).unwrap_err().to_string();
    assert!(
        err.ends_with("no `image` column (MMBench's TSV has index, question, A, B, answer, image)"),
        "{err}"
    );
}

#[test]
fn scienceqa_problems_with_pictures_become_items_and_the_rest_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(images.join("test/2")).unwrap();
    std::fs::write(images.join("test/2/image.png"), png_bytes()).unwrap();
    std::fs::create_dir_all(images.join("train/5")).unwrap();
    std::fs::write(images.join("train/5/image.png"), png_bytes()).unwrap();
    let problems = json!({
        "2": {"question": "Which is a magnet?", "choices": ["rock", "iron bar", "wood"],
              "answer": 1, "hint": "", "image": "image.png", "split": "test"},
        "3": {"question": "Text only?", "choices": ["a", "b"], "answer": 0, "hint": "h",
              "image": null, "split": "test"},
        "4": {"question": "Broken", "choices": ["a", "b"], "answer": 3, "hint": "",
              "image": "image.png", "split": "test"},
        "5": {"question": "Train item", "choices": ["a", "b"], "answer": 0, "hint": "",
              "image": "image.png", "split": "train"}
    });
    let path = dir.path().join("problems.json");
    std::fs::write(&path, problems.to_string()).unwrap();
    let out = dir.path().join("sqa");
    let imported = scienceqa(&path, &images, Some("test"), &out).unwrap();
    assert_eq!(imported.items, 1);
    let reasons: Vec<String> = imported
        .skipped
        .iter()
        .map(|(at, why)| format!("{at}: {why}"))
        .collect();
    assert_eq!(
        reasons,
        [
            "pid 3: no image (a text-only question)",
            "pid 4: answer 3 is not a choice"
        ]
    );
    let items = read(&imported.dataset);
    assert_eq!(items[0]["sname"], "scienceqa-2");
    assert_eq!(items[0]["label"], "B");
    assert_eq!(items[0]["options"], json!(["rock", "iron bar", "wood"]));
    assert_eq!(items[0]["hint"], Value::Null);
    let picture = PathBuf::from(items[0]["filepaths"][0].as_str().unwrap());
    assert!(picture.is_absolute() && picture.is_file());
    // Without a split, every problem with a picture.
    let all = scienceqa(&path, &images, None, &dir.path().join("all")).unwrap();
    assert_eq!(all.items, 2);

    std::fs::write(&path, "[1, 2]").unwrap();
    let err = scienceqa(&path, &images, None, &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not ScienceQA's problems.json"), "{err}");
}
