//! LLaVA-OneVision model directories as users bring them: sharded weights load and answer as
//! the single file does, `model check` says what is wrong, and every broken directory or
//! oversized image is refused with one line naming the file and the problem (exit 2).

mod common;

use common::cli::{assert_bad_input, radiochat};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn tiny(home: &Path, name: &str) -> PathBuf {
    let dir = home.join(name);
    let out = radiochat(
        &[
            "model",
            "tiny",
            "--arch",
            "llava_onevision",
            dir.to_str().unwrap(),
        ],
        home,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    dir
}

fn image(home: &Path, width: u32, height: u32) -> PathBuf {
    let path = home.join(format!("sky-{width}x{height}.png"));
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 251) as u8])
    })
    .save(&path)
    .unwrap();
    path
}

fn ask(home: &Path, model: &Path, picture: &Path) -> std::process::Output {
    radiochat(
        &[
            "ask",
            "-m",
            model.to_str().unwrap(),
            "-i",
            picture.to_str().unwrap(),
            "--max-tokens",
            "12",
            "--ignore-eos",
            "--json",
            "What is in this image?",
        ],
        home,
    )
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, value.to_string()).unwrap();
}

/// Split model.safetensors into two shards and an index, as transformers does for big models.
fn shard(dir: &Path) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
    names.sort();
    let mut weight_map = serde_json::Map::new();
    for (i, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", i + 1);
        let views: Vec<(String, safetensors::tensor::TensorView)> = part
            .iter()
            .map(|n| (n.clone(), tensors.tensor(n).unwrap()))
            .collect();
        safetensors::serialize_to_file(views, None, &dir.join(&file)).unwrap();
        for n in part {
            weight_map.insert(n.clone(), json!(file));
        }
    }
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        json!({"metadata": {}, "weight_map": weight_map}).to_string(),
    )
    .unwrap();
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
}

fn answer(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sharded_weights_answer_as_the_single_file_does() {
    let home = tempfile::tempdir().unwrap();
    let single = tiny(home.path(), "single");
    let sharded = tiny(home.path(), "sharded");
    shard(&sharded);
    let picture = image(home.path(), 150, 90);
    let one = answer(&ask(home.path(), &single, &picture));
    let two = answer(&ask(home.path(), &sharded, &picture));
    assert_eq!(one["answer"], two["answer"]);
    assert_eq!(one["usage"]["completion_tokens"], 12);
    assert_eq!(
        one["model"]["architecture"],
        "LlavaOnevisionForConditionalGeneration"
    );
    let checked = radiochat(&["model", "check", sharded.to_str().unwrap()], home.path());
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");

    // A shard the index names but the directory lacks.
    std::fs::remove_file(sharded.join("model-00002-of-00002.safetensors")).unwrap();
    let out = ask(home.path(), &sharded, &picture);
    assert_bad_input(
        &out,
        &[
            "model.safetensors.index.json",
            "model-00002-of-00002.safetensors, which is missing",
        ],
    );
}

#[test]
fn broken_directories_are_refused_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let picture = image(home.path(), 64, 64);
    type Breakage = (&'static str, fn(&Path), &'static [&'static str]);
    let cases: [Breakage; 5] = [
        (
            "no-vision-width",
            |d| {
                edit_json(&d.join("config.json"), |c| {
                    c["vision_config"]
                        .as_object_mut()
                        .unwrap()
                        .remove("hidden_size");
                })
            },
            &["config.json", "vision_config.hidden_size is missing"],
        ),
        (
            "no-text-config",
            |d| {
                edit_json(&d.join("config.json"), |c| {
                    c.as_object_mut().unwrap().remove("text_config");
                })
            },
            &["config.json", "no \"text_config\" object"],
        ),
        (
            "image-token-out-of-vocabulary",
            |d| {
                edit_json(&d.join("config.json"), |c| {
                    c["image_token_index"] = json!(90000)
                })
            },
            &[
                "config.json",
                "image_token_index 90000 is not a token of tokenizer.json",
            ],
        ),
        (
            "shapes-disagree",
            |d| {
                edit_json(&d.join("config.json"), |c| {
                    c["text_config"]["intermediate_size"] = json!(96)
                })
            },
            &[
                "model.safetensors",
                "has shape [128, 64], but config.json implies [96, 64]",
            ],
        ),
        (
            "template-does-not-render",
            |d| {
                std::fs::write(
                    d.join("chat_template.jinja"),
                    "{% for m in messages %}{{ m.content | no_such_filter }}{% endfor %}",
                )
                .unwrap()
            },
            &["chat_template.jinja", "chat template does not"],
        ),
    ];
    for (name, breakage, needles) in cases {
        let dir = tiny(home.path(), name);
        breakage(&dir);
        let out = ask(home.path(), &dir, &picture);
        assert_bad_input(&out, needles);
        let checked = radiochat(&["model", "check", dir.to_str().unwrap()], home.path());
        assert_bad_input(&checked, needles);
    }
}

#[test]
fn an_image_that_tiles_past_the_context_is_refused_before_answering() {
    let home = tempfile::tempdir().unwrap();
    let dir = tiny(home.path(), "short-context");
    edit_json(&dir.join("config.json"), |c| {
        c["text_config"]["max_position_embeddings"] = json!(100)
    });
    // 56 px tiles of 4 × 4 features: a 40 px image is one tile (36 image tokens) and fits;
    // a 900 × 600 one tiles 2 × 3 (120 image tokens) and does not.
    let small = image(home.path(), 40, 40);
    answer(&ask(home.path(), &dir, &small));
    let large = image(home.path(), 900, 600);
    let out = ask(home.path(), &dir, &large);
    assert_bad_input(
        &out,
        &["more than the model's context of 100", "900 × 600 px"],
    );
}

/// The 2024 llava-hf layout: `preprocessor_config.json`, `chat_template.json`, the vision
/// tower under `vision_tower.vision_model`, weights in bf16.
fn to_2024_layout(dir: &Path) {
    let processor: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("processor_config.json")).unwrap())
            .unwrap();
    std::fs::write(
        dir.join("preprocessor_config.json"),
        processor["image_processor"].to_string(),
    )
    .unwrap();
    std::fs::remove_file(dir.join("processor_config.json")).unwrap();
    let mut template = String::new();
    edit_json(&dir.join("tokenizer_config.json"), |c| {
        template = c["chat_template"].as_str().unwrap().to_string();
        c.as_object_mut().unwrap().remove("chat_template");
    });
    std::fs::write(
        dir.join("chat_template.json"),
        json!({ "chat_template": template }).to_string(),
    )
    .unwrap();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let converted: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let name = name.replacen("vision_tower.", "vision_tower.vision_model.", 1);
            let data: Vec<u8> = view
                .data()
                .chunks_exact(4)
                .flat_map(|b| {
                    let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    half::bf16::from_f32(v).to_le_bytes()
                })
                .collect();
            (name, view.shape().to_vec(), data)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = converted
        .iter()
        .map(|(name, shape, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::BF16, shape.clone(), data)
                    .unwrap();
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
}

#[test]
fn the_2024_layout_with_bf16_weights_loads_widened_to_f32() {
    let home = tempfile::tempdir().unwrap();
    let dir = tiny(home.path(), "llava-hf-2024");
    to_2024_layout(&dir);
    assert!(!dir.join("processor_config.json").exists());
    let checked = radiochat(&["model", "check", dir.to_str().unwrap()], home.path());
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    let picture = image(home.path(), 150, 90);
    let out = answer(&ask(home.path(), &dir, &picture));
    assert_eq!(out["usage"]["completion_tokens"], 12, "{out}");
    assert_eq!(out["model"]["dtype"], "f32 (auto)");
}
