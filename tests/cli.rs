//! The `radiochat` binary as a user runs it: answers, JSON output, and one-line errors with
//! exit code 2 for every kind of bad input.

mod common;

use common::cli::{assert_bad_input, radiochat, stderr};
use std::path::Path;
use std::process::Command;

#[test]
fn ask_streams_an_answer_and_prints_json() {
    let home = tempfile::tempdir().unwrap();
    let model = common::tiny_model(home.path(), "idefics3");
    let image = home.path().join("cutout.png");
    radiochat::imaging::demo_cutout().save(&image).unwrap();
    let model_arg = model.to_str().unwrap();
    let image_arg = image.to_str().unwrap();

    let out = radiochat(
        &[
            "ask",
            "--model",
            model_arg,
            "--image",
            image_arg,
            "--max-tokens",
            "10",
            "--ignore-eos",
            "--json",
            "Is",
            "it",
            "extended?",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["finish_reason"], "length");
    assert_eq!(json["usage"]["completion_tokens"], 10);
    assert!(json["usage"]["prompt_tokens"].as_u64().unwrap() > 4);
    for key in ["prompt_tok_per_s", "decode_tok_per_s", "ttft_ms"] {
        assert!(json["usage"][key].as_f64().unwrap() > 0.0, "{key}: {json}");
    }
    // Where the time went: every stage measured, and together within the whole.
    let stages = &json["stages"];
    let stage = |key: &str| stages[key].as_f64().unwrap_or(-1.0);
    let parts = [
        "read_ms",
        "transform_ms",
        "load_ms",
        "first_token_ms",
        "decode_ms",
    ];
    for key in parts {
        assert!(stage(key) > 0.0, "{key}: {json}");
    }
    let sum: f64 = parts.iter().map(|k| stage(k)).sum();
    assert!(sum <= stage("total_ms") + 1.0, "{json}");
    assert_eq!(
        json["model"]["architecture"],
        "Idefics3ForConditionalGeneration"
    );
    assert!(json["answer"].is_string());

    let plain = radiochat(
        &[
            "ask",
            "-m",
            model_arg,
            "-i",
            image_arg,
            "--max-tokens",
            "6",
            "--ignore-eos",
            "What is this?",
        ],
        home.path(),
    );
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(!plain.stdout.is_empty());
}

#[test]
fn demo_works_offline_with_nothing_configured() {
    let home = tempfile::tempdir().unwrap();
    let out = radiochat(
        &[
            "ask",
            "--demo",
            "--json",
            "Do you see any likely radio galaxy with an extended morphology in the image? \
             Answer concisely: Yes or No.",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let data = home.path().join("data");
    assert!(
        data.join("models/radio-llava-nano/model.safetensors")
            .exists()
    );
    // The question is about the demo's own synthetic cutout, a FITS file like any other.
    assert!(data.join("demo/fr2-radio-galaxy.fits").exists());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = answer["answer"].as_str().unwrap().trim().to_string();
    // Fine-tuned on the benchmarks' questions: it answers in their format and stops.
    assert!(text == "YES" || text == "NO", "{answer}");
    assert_eq!(answer["finish_reason"], "stop", "{answer}");
}

#[test]
fn bad_model_directories_get_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let good = common::tiny_model(home.path(), "idefics3");
    let ask = |model: &Path| {
        radiochat(
            &["ask", "--model", model.to_str().unwrap(), "hello"],
            home.path(),
        )
    };

    let missing = home.path().join("no-such-model");
    assert_bad_input(&ask(&missing), &["no-such-model", "no such directory"]);
    let file = home.path().join("weights.bin");
    std::fs::write(&file, b"x").unwrap();
    assert_bad_input(&ask(&file), &["weights.bin", "is a file"]);

    for (name, needle) in [
        ("config.json", "config.json: missing"),
        ("tokenizer.json", "tokenizer.json: missing"),
        (
            "preprocessor_config.json",
            "preprocessor_config.json: missing",
        ),
    ] {
        let broken = home.path().join(format!("without-{name}"));
        copy_dir(&good, &broken);
        std::fs::remove_file(broken.join(name)).unwrap();
        assert_bad_input(&ask(&broken), &[needle]);
    }

    let no_weights = home.path().join("no-weights");
    copy_dir(&good, &no_weights);
    std::fs::remove_file(no_weights.join("model.safetensors")).unwrap();
    assert_bad_input(&ask(&no_weights), &["no *.safetensors weights"]);

    let no_template = home.path().join("no-template");
    copy_dir(&good, &no_template);
    let cfg_path = no_template.join("tokenizer_config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg.as_object_mut().unwrap().remove("chat_template");
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    assert_bad_input(&ask(&no_template), &["no chat template"]);

    let truncated = home.path().join("truncated");
    copy_dir(&good, &truncated);
    let weights = std::fs::read(truncated.join("model.safetensors")).unwrap();
    std::fs::write(
        truncated.join("model.safetensors"),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    assert_bad_input(
        &ask(&truncated),
        &["model.safetensors", "truncated safetensors"],
    );

    let corrupt = home.path().join("corrupt");
    copy_dir(&good, &corrupt);
    std::fs::write(
        corrupt.join("model.safetensors"),
        b"\xff\xff\xff\xff\xff\xff\xff\xffgarbage",
    )
    .unwrap();
    assert_bad_input(
        &ask(&corrupt),
        &["model.safetensors", "corrupt safetensors"],
    );

    let not_json = home.path().join("not-json");
    copy_dir(&good, &not_json);
    std::fs::write(not_json.join("config.json"), b"{ this is not json").unwrap();
    assert_bad_input(&ask(&not_json), &["config.json", "not valid JSON"]);

    let name_architecture = |dir: &Path, class: &str| {
        let config = format!(r#"{{"architectures":["{class}"]}}"#);
        std::fs::write(dir.join("config.json"), config).unwrap();
    };
    let onevision = home.path().join("radio-llava");
    copy_dir(&good, &onevision);
    name_architecture(&onevision, "LlavaOnevisionForConditionalGeneration");
    // radio-llava's architecture runs on radiochat's own engine, which reads config.json.
    assert_bad_input(
        &ask(&onevision),
        &["radio-llava/config.json", "no \"vision_config\" object"],
    );

    let qwen2vl = home.path().join("qwen2vl");
    copy_dir(&good, &qwen2vl);
    name_architecture(&qwen2vl, "Qwen2VLForConditionalGeneration");
    assert_bad_input(
        &ask(&qwen2vl),
        &["Qwen2VLForConditionalGeneration", "qwen2vl/mod.rs:117"],
    );
    // A family mistral.rs loads but fails on: the family, the failure and what to run instead.
    name_architecture(&qwen2vl, "Qwen3_5ForConditionalGeneration");
    assert_bad_input(
        &ask(&qwen2vl),
        &[
            "Qwen3.5 (`Qwen3_5ForConditionalGeneration`)",
            "attention/backends/cpu.rs:609",
            "partial_rotary_factor",
            "use Qwen3-VL (qwen3vl) instead",
            "--remote",
        ],
    );
    // mistral.rs would panic on its engine thread at the first image.
    let idefics2 = common::tiny_model(home.path(), "idefics2");
    std::fs::write(
        idefics2.join("processor_config.json"),
        br#"{"processor_class": "Idefics2Processor"}"#,
    )
    .unwrap();
    assert_bad_input(
        &ask(&idefics2),
        &["idefics2/processor_config.json", "no \"image_seq_len\""],
    );

    // mistral.rs sizes MiniCPM-o's prompt slices by 448 whatever the file says.
    let minicpmo = common::tiny_model(home.path(), "minicpmo");
    let settings_path = minicpmo.join("preprocessor_config.json");
    let original = std::fs::read(&settings_path).unwrap();
    let mut settings: serde_json::Value = serde_json::from_slice(&original).unwrap();
    settings["scale_resolution"] = serde_json::json!(224);
    std::fs::write(&settings_path, settings.to_string()).unwrap();
    assert_bad_input(
        &ask(&minicpmo),
        &["minicpmo/preprocessor_config.json", "scale_resolution 224"],
    );
    settings["scale_resolution"] = serde_json::json!(448);
    settings["image_mean"] = serde_json::json!([0.5, 0.5, 0.5]);
    std::fs::write(&settings_path, settings.to_string()).unwrap();
    assert_bad_input(&ask(&minicpmo), &["both \"image_mean\" and \"norm_mean\""]);

    let adapter = home.path().join("with-adapter");
    copy_dir(&good, &adapter);
    std::fs::copy(
        adapter.join("model.safetensors"),
        adapter.join("adapter_model.safetensors"),
    )
    .unwrap();
    assert_bad_input(
        &ask(&adapter),
        &["adapter_model.safetensors", "LoRA adapter"],
    );

    let bad_decoder = home.path().join("bad-decoder");
    copy_dir(&good, &bad_decoder);
    let tok_path = bad_decoder.join("tokenizer.json");
    let mut tok: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tok_path).unwrap()).unwrap();
    tok["decoder"] = serde_json::json!({"type": "WordPiece", "prefix": "##", "cleanup": true});
    std::fs::write(&tok_path, tok.to_string()).unwrap();
    assert_bad_input(
        &ask(&bad_decoder),
        &["tokenizer.json", "decoder 'WordPiece'"],
    );
}

#[test]
fn bad_questions_images_and_settings_get_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let model = common::tiny_model(home.path(), "idefics3");
    let m = model.to_str().unwrap();
    assert_bad_input(
        &radiochat(&["ask", "-m", m, "   "], home.path()),
        &["empty question"],
    );

    let missing = home.path().join("missing.png");
    assert_bad_input(
        &radiochat(
            &["ask", "-m", m, "-i", missing.to_str().unwrap(), "hi"],
            home.path(),
        ),
        &["missing.png: no such file"],
    );
    let text = home.path().join("notes.png");
    std::fs::write(&text, "just text").unwrap();
    assert_bad_input(
        &radiochat(
            &["ask", "-m", m, "-i", text.to_str().unwrap(), "hi"],
            home.path(),
        ),
        &["notes.png: not an image"],
    );
    let empty = home.path().join("empty.jpg");
    std::fs::write(&empty, "").unwrap();
    assert_bad_input(
        &radiochat(
            &["ask", "-m", m, "-i", empty.to_str().unwrap(), "hi"],
            home.path(),
        ),
        &["empty.jpg: empty file"],
    );

    assert_bad_input(
        &radiochat(&["ask", "-m", m, "--isq", "q9", "hi"], home.path()),
        &["unknown isq value 'q9'"],
    );
    assert_bad_input(
        &radiochat(&["ask", "-m", m, "--max-tokens", "0", "hi"], home.path()),
        &["max_tokens must be at least 1"],
    );
    assert_bad_input(
        &radiochat(&["ask", "hi"], home.path()),
        &["no model", "--demo"],
    );
}

#[test]
fn model_tiny_check_and_config_show() {
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("smol");
    let out = radiochat(
        &[
            "model",
            "tiny",
            "--arch",
            "idefics3",
            out_dir.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for file in [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "processor_config.json",
        "generation_config.json",
        "model.safetensors",
    ] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
    let again = radiochat(&["model", "tiny", out_dir.to_str().unwrap()], home.path());
    assert_bad_input(&again, &["already exists", "--force"]);
    assert_bad_input(
        &radiochat(
            &[
                "model",
                "tiny",
                "--arch",
                "nope",
                home.path().join("x").to_str().unwrap(),
            ],
            home.path(),
        ),
        &["unknown --arch 'nope'"],
    );
    let check = radiochat(&["model", "check", out_dir.to_str().unwrap()], home.path());
    assert_eq!(check.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("ok (Idefics3ForConditionalGeneration)")
    );

    std::fs::write(
        home.path().join("config.toml"),
        "model = \"/models/smol\"\n[sampling]\nmax_tokens = 99\n",
    )
    .unwrap();
    let show = radiochat(&["config", "show"], home.path());
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("model = /models/smol  (config)"), "{text}");
    assert!(
        text.contains("sampling.max_tokens = 99  (config)"),
        "{text}"
    );
    assert!(text.contains("device = cpu  (default)"), "{text}");
}

#[test]
fn same_seed_same_bytes() {
    let home = tempfile::tempdir().unwrap();
    let a = home.path().join("a");
    let b = home.path().join("b");
    radiochat::testkit::tiny::write(
        "idefics3",
        radiochat::testkit::tiny::Scale::Tiny,
        3,
        &a,
        false,
    )
    .unwrap();
    radiochat::testkit::tiny::write(
        "idefics3",
        radiochat::testkit::tiny::Scale::Tiny,
        3,
        &b,
        false,
    )
    .unwrap();
    assert_eq!(
        std::fs::read(a.join("model.safetensors")).unwrap(),
        std::fs::read(b.join("model.safetensors")).unwrap()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn ctrl_c_stops_the_answer_keeps_the_partial_text_and_exits_130() {
    use std::io::Read;
    let home = tempfile::tempdir().unwrap();
    let model = common::tiny_model(home.path(), "idefics3");
    // A long context so the answer cannot finish before the signal arrives.
    let config_path = model.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["text_config"]["max_position_embeddings"] = serde_json::json!(1_000_000);
    std::fs::write(&config_path, config.to_string()).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args([
            "ask",
            "-m",
            model.to_str().unwrap(),
            "--max-tokens",
            "900000",
            "--ignore-eos",
            "Describe it",
        ])
        .env("RADIOCHAT_CONFIG", home.path().join("config.toml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout
        .read_exact(&mut first)
        .expect("the answer starts streaming");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130), "cancelled answers exit 130");
    let streamed = first.len() + rest.len();
    assert!(
        (16..900_000).contains(&streamed),
        "partial answer kept: {streamed} bytes"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let home = tempfile::tempdir().unwrap();
    // The reader is gone before radiochat writes a byte: its first write meets a closed pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args(["bench", "tasks"])
        .env("RADIOCHAT_DATA", home.path().join("data"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // As `head` leaves any Unix tool: ended by SIGPIPE, silent (not a panic's exit 101).
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}, stderr: {err}",
        out.status
    );
    assert!(err.is_empty(), "{err}");
}
