//! `model tiny` writes each architecture as transformers itself reads it: for every family the
//! writer knows, transformers (the project's Python env) loads the directory with no missing,
//! unexpected or mismatched weight, writes the same number of tensors with the same shapes
//! from the config alone (names may differ only by the legacy prefixes released checkpoints
//! still ship, stacked experts only by their released orientation; transformers maps both on
//! load), and its processor puts image placeholders
//! into the chat template's prompt.

mod common;

use common::{json_lines, reference_python, tiny_model};
use radiochat::engine::Architecture;
use radiochat::testkit::tiny::{REFUSED_TINY_ARCHS, TINY_ARCHS};

#[test]
fn transformers_reads_every_tiny_architecture_as_its_own() {
    let home = tempfile::tempdir().unwrap();
    // MiniCPM-o and Phi-3.5 vision have no transformers class (remote code only); their
    // names are the ones mistral.rs reads. Phi-4 multimodal's released layout is checked
    // against transformers' converted class below.
    let archs: Vec<&str> = TINY_ARCHS
        .iter()
        .chain(REFUSED_TINY_ARCHS)
        .copied()
        .filter(|arch| Architecture::by_loader(arch).is_none_or(|a| !a.remote_code_only()))
        .collect();
    let dirs: Vec<String> = archs
        .iter()
        .map(|arch| tiny_model(home.path(), arch).display().to_string())
        .collect();
    let scratch = home.path().join("scratch");
    let script = common::checkout_file("tests/reference/tiny_layout.py");
    let mut args = vec![script.as_str(), scratch.to_str().unwrap()];
    args.extend(dirs.iter().map(String::as_str));
    let out = reference_python(&args, "");
    let reports = json_lines(&out);
    assert_eq!(reports.len(), archs.len(), "{out}");
    for (arch, report) in archs.iter().zip(&reports) {
        let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
        for key in ["missing", "unexpected", "mismatched"] {
            assert!(list(key).is_empty(), "{arch}: {key} {}", report[key]);
        }
        for mismatch in list("shape_mismatches") {
            // Released MoE checkpoints stack experts [experts, in, out]; transformers 5 keeps
            // [experts, out, in] and transposes on load (what "mismatched" above would catch).
            let (name, ours, theirs) = (&mismatch[0], &mismatch[1], &mismatch[2]);
            let stacked = name.as_str().is_some_and(|n| n.contains(".experts."));
            let swapped = ours
                .as_array()
                .map(|d| vec![d[0].clone(), d[2].clone(), d[1].clone()]);
            assert!(
                stacked && swapped.as_ref() == theirs.as_array(),
                "{arch}: {mismatch}"
            );
        }
        assert_eq!(
            list("only_radiochat").len(),
            list("only_transformers").len(),
            "{arch}: {report}"
        );
        // Llama 3.2 vision keeps one `<|image|>` (its text tower cross-attends to the image);
        // the others widen it into a soft token per image feature.
        let least = if *arch == "vllama" { 1 } else { 4 };
        assert!(
            report["image_tokens"].as_u64().unwrap_or(0) >= least,
            "{arch}: {report}"
        );
    }
}

/// Phi-4 multimodal ships as remote code (`Phi4MMForCausalLM`); transformers' own
/// `Phi4MultimodalForCausalLM` holds the same tensors with the LoRA adapters kept apart and a
/// few modules renamed. The tiny model, renamed as the trainer renames it, is exactly that
/// class's state for its config, and every adapter fits the base weight it wraps. The trainer's
/// round trip (read into that class, write back) keeps every tensor but the ones trained.
#[test]
fn phi4_multimodal_is_transformers_layout_with_the_released_adapters() {
    let home = tempfile::tempdir().unwrap();
    let dir = tiny_model(home.path(), "phi4mm");
    let script = common::checkout_file("tests/reference/phi4mm_layout.py");
    let scratch = home.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let out = reference_python(
        &[
            script.as_str(),
            dir.to_str().unwrap(),
            scratch.to_str().unwrap(),
        ],
        "",
    );
    let report = json_lines(&out)
        .pop()
        .unwrap_or_else(|| serde_json::json!({}));
    for key in [
        "only_radiochat",
        "only_transformers",
        "shape_mismatches",
        "lora_mismatches",
    ] {
        assert_eq!(report[key], serde_json::json!([]), "{key}: {out}");
    }
    // Two adapters (vision, speech) on four projections of each of the two layers.
    assert_eq!(report["adapters"], 16, "{out}");
    assert_eq!(report["round_trip_changed"], serde_json::json!({}), "{out}");
    let files = report["round_trip_files"].as_array().unwrap();
    for kept in [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(files.iter().any(|f| f == kept), "{kept}: {out}");
    }
}
