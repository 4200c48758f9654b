//! Which Hugging Face architectures the embedded engine serves, and how.
//!
//! The table is the project's own evidence: an architecture is `Supported` only when the
//! per-architecture integration tests (tests/engine_archs.rs) load a tiny model of it, stream
//! an answer about an image, take a second turn and cancel a third request.

/// How radiochat treats an architecture on the embedded engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Proven end to end by this project's tests.
    Supported,
    /// mistralrs has a loader, but it fails on this project's checks; the text says how.
    Broken(&'static str),
}

/// Which engine runs an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// mistral.rs 0.8.1's loader.
    MistralRs,
    /// radiochat's own candle code (`engine::llava_onevision`), where mistral.rs has none.
    Candle,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::MistralRs => "mistral.rs 0.8.1",
            Backend::Candle => "radiochat (candle)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Architecture {
    /// `architectures[0]` in config.json.
    pub hf_class: &'static str,
    /// The loader name mistralrs uses (`--arch` of `model tiny`).
    pub loader: &'static str,
    /// A family name people know it by.
    pub family: &'static str,
    pub support: Support,
    pub engine: Backend,
    /// mistral.rs's prefix cache leaves this architecture's answers unchanged
    /// (tests/prefix_cache.rs); with LLaVA and LLaVA-NeXT 0.8.1 answers a follow-up question
    /// differently with the cache on (Llama 3.2 vision too), and Gemma 4's follow-up fails
    /// with NaN logits, so radiochat keeps it off for them.
    pub prefix_cache: bool,
    /// For a refused family: what to run instead (empty for a proven one).
    pub instead: &'static str,
}

const QWEN3VL: &str = "Qwen3-VL (qwen3vl)";

/// A family this project's tests prove on `engine`.
const fn proven(
    hf_class: &'static str,
    loader: &'static str,
    family: &'static str,
    engine: Backend,
    prefix_cache: bool,
) -> Architecture {
    Architecture {
        hf_class,
        loader,
        family,
        support: Support::Supported,
        engine,
        prefix_cache,
        instead: "",
    }
}

/// A family mistral.rs 0.8.1 has a loader for that fails here: `why` is the failure (file and
/// line in mistral.rs, what triggers it), `instead` what to run.
const fn refused(
    hf_class: &'static str,
    loader: &'static str,
    family: &'static str,
    why: &'static str,
    instead: &'static str,
) -> Architecture {
    Architecture {
        hf_class,
        loader,
        family,
        support: Support::Broken(why),
        engine: Backend::MistralRs,
        prefix_cache: false,
        instead,
    }
}

/// Every architecture radiochat knows about: the proven ones in the order `model archs`
/// lists them, then every other loader mistral.rs 0.8.1 has, refused with the reason.
pub const ARCHITECTURES: &[Architecture] = &[
    proven(
        "Idefics3ForConditionalGeneration",
        "idefics3",
        "SmolVLM / Idefics3",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Gemma3ForConditionalGeneration",
        "gemma3",
        "Gemma 3",
        Backend::MistralRs,
        true,
    ),
    proven(
        "LlavaForConditionalGeneration",
        "llava",
        "LLaVA 1.5",
        Backend::MistralRs,
        false,
    ),
    proven(
        "LlavaNextForConditionalGeneration",
        "llava_next",
        "LLaVA-NeXT (1.6)",
        Backend::MistralRs,
        false,
    ),
    proven(
        "Qwen3VLForConditionalGeneration",
        "qwen3vl",
        "Qwen3-VL",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Mistral3ForConditionalGeneration",
        "mistral3",
        "Mistral 3 (Mistral-Small-3.1 vision)",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Gemma4ForConditionalGeneration",
        "gemma4",
        "Gemma 4",
        Backend::MistralRs,
        false,
    ),
    proven(
        "Qwen3VLMoeForConditionalGeneration",
        "qwen3vlmoe",
        "Qwen3-VL-MoE",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Idefics2ForConditionalGeneration",
        "idefics2",
        "Idefics 2",
        Backend::MistralRs,
        true,
    ),
    proven(
        "MllamaForConditionalGeneration",
        "vllama",
        "Llama 3.2 vision",
        Backend::MistralRs,
        false,
    ),
    proven(
        "LlavaOnevisionForConditionalGeneration",
        "llava_onevision",
        "LLaVA-OneVision (radio-llava)",
        Backend::Candle,
        false,
    ),
    proven(
        "MiniCPMO",
        "minicpmo",
        "MiniCPM-o 2.6",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Phi3VForCausalLM",
        "phi3v",
        "Phi-3.5 vision",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Phi4MMForCausalLM",
        "phi4mm",
        "Phi-4 multimodal",
        Backend::MistralRs,
        true,
    ),
    proven(
        "Gemma3nForConditionalGeneration",
        "gemma3n",
        "Gemma 3n",
        Backend::MistralRs,
        true,
    ),
    refused(
        "Qwen2VLForConditionalGeneration",
        "qwen2vl",
        "Qwen2-VL",
        "mistral.rs 0.8.1 fails on the first decode step after an image \
         (index-select invalid index, qwen2vl/mod.rs:117; upstream PR #1787)",
        QWEN3VL,
    ),
    refused(
        "Qwen2_5_VLForConditionalGeneration",
        "qwen2_5vl",
        "Qwen2.5-VL",
        "mistral.rs 0.8.1 fails mid-answer (shape mismatch in where_cond, \
         qwen2_5_vl/mod.rs:238) whenever a generated token is not valid UTF-8 on its own",
        QWEN3VL,
    ),
    refused(
        "Qwen3_5ForConditionalGeneration",
        "qwen3_5",
        "Qwen3.5",
        QWEN3_5_BUG,
        QWEN3VL,
    ),
    refused(
        "Qwen3_5MoeForConditionalGeneration",
        "qwen3_5moe",
        "Qwen3.5-MoE",
        QWEN3_5_MOE_BUG,
        QWEN3VL,
    ),
    refused(
        "Llama4ForConditionalGeneration",
        "llama4",
        "Llama 4",
        LLAMA4_BUG,
        "Mistral 3 (mistral3)",
    ),
];

const LLAMA4_BUG: &str = "mistral.rs 0.8.1 fails on every image: its encoder cache \
(paged_attention/encoder_cache.rs:152) keeps one row per image of the flattened tiles × patches \
features llama4/mod.rs:126 hands it, so llama4/mod.rs:134 fails with \"shape mismatch in sub\" \
(text-only prompts answer)";

const QWEN3_5_BUG: &str = "on CPU mistral.rs 0.8.1 panics in attention/backends/cpu.rs:609 \
(\"q must have contiguous rows\"): qwen3_5/text.rs:214 rotates only part of each query head \
whenever partial_rotary_factor < 1, as in every released Qwen3.5 (0.25)";

const QWEN3_5_MOE_BUG: &str = "besides Qwen3.5's CPU panic (partial_rotary_factor < 1, \
attention/backends/cpu.rs:609), mistral.rs 0.8.1 loads experts stored one tensor each, as \
transformers saves them, as placeholders (moe/experts.rs:459) and fails at the first step: \
\"DummyLayer should not ever be present in forward pass\"";

impl Architecture {
    pub fn by_hf_class(class: &str) -> Option<Architecture> {
        ARCHITECTURES.iter().copied().find(|a| a.hf_class == class)
    }

    pub fn by_loader(loader: &str) -> Option<Architecture> {
        ARCHITECTURES.iter().copied().find(|a| a.loader == loader)
    }

    /// Architectures proven to work, in table order.
    pub fn supported() -> impl Iterator<Item = Architecture> {
        ARCHITECTURES
            .iter()
            .copied()
            .filter(|a| a.support == Support::Supported)
    }

    /// Architectures mistral.rs has a loader for that radiochat refuses, in table order.
    pub fn refused() -> impl Iterator<Item = Architecture> {
        ARCHITECTURES
            .iter()
            .copied()
            .filter(|a| matches!(a.support, Support::Broken(_)))
    }

    /// Whether the family ships as remote code: modeling files inside the checkpoint, no
    /// transformers class for its released layout (MiniCPM-o, Phi-3.5 vision, Phi-4
    /// multimodal, whose transformers class reads a converted layout without its adapters).
    /// radiochat never runs code shipped inside a model directory (on a shared node a model is
    /// data, not a program): the trainer reads these families with its own code
    /// (trainer/minicpmo.py, phi3v.py, phi4mm.py).
    pub fn remote_code_only(&self) -> bool {
        matches!(self.loader, "minicpmo" | "phi3v" | "phi4mm")
    }

    pub(crate) fn loader_type(&self) -> Option<mistralrs::MultimodalLoaderType> {
        self.loader.parse().ok()
    }

    /// The one line a user sees for a model of `class` the embedded engine will not run: the
    /// family, why, and what to use instead.
    pub fn refusal(class: &str) -> String {
        match Architecture::by_hf_class(class) {
            Some(Architecture {
                family,
                support: Support::Broken(why),
                instead,
                ..
            }) => format!(
                "{family} (`{class}`) is refused by the embedded engine: {why}; use {instead} \
                 instead, or serve it with vLLM and connect with --remote"
            ),
            _ => format!(
                "`{class}` is not supported by the embedded engine (mistral.rs 0.8.1 has no \
                 loader for it); serve it with vLLM and connect with --remote"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_mistralrs_arch_has_a_loader() {
        for arch in Architecture::supported().filter(|a| a.engine == Backend::MistralRs) {
            assert!(
                arch.loader_type().is_some(),
                "{} has no mistralrs loader",
                arch.loader
            );
        }
    }

    #[test]
    fn radio_llava_runs_on_the_own_engine() {
        let arch = Architecture::by_hf_class("LlavaOnevisionForConditionalGeneration").unwrap();
        assert_eq!(arch.support, Support::Supported);
        assert_eq!(arch.engine, Backend::Candle);
    }

    #[test]
    fn a_refusal_names_the_family_the_failure_and_the_alternative() {
        let line = Architecture::refusal("Qwen2VLForConditionalGeneration");
        assert!(
            line.starts_with("Qwen2-VL (`Qwen2VLForConditionalGeneration`)"),
            "{line}"
        );
        assert!(line.contains("qwen2vl/mod.rs:117"), "{line}");
        assert!(line.contains("use Qwen3-VL (qwen3vl) instead"), "{line}");
        assert!(!line.contains('\n'));
        let unknown = Architecture::refusal("BertModel");
        assert!(unknown.contains("no loader"), "{unknown}");
    }

    #[test]
    fn every_mistralrs_vision_loader_is_proven_or_refused() {
        let loaders = [
            "phi3v",
            "idefics2",
            "llava_next",
            "llava",
            "vllama",
            "qwen2vl",
            "idefics3",
            "minicpmo",
            "phi4mm",
            "qwen2_5vl",
            "gemma3",
            "mistral3",
            "llama4",
            "gemma3n",
            "gemma4",
            "qwen3vl",
            "qwen3vlmoe",
            "qwen3_5",
            "qwen3_5moe",
        ];
        for loader in loaders {
            let arch = Architecture::by_loader(loader).unwrap_or_else(|| panic!("{loader}"));
            assert!(arch.loader_type().is_some(), "{loader}");
            if let Support::Broken(_) = arch.support {
                assert!(!arch.instead.is_empty(), "{loader}");
                let alternative = arch
                    .instead
                    .rsplit('(')
                    .next()
                    .unwrap()
                    .trim_end_matches(')');
                assert_eq!(
                    Architecture::by_loader(alternative).map(|a| a.support),
                    Some(Support::Supported),
                    "{loader}: the alternative must be proven"
                );
            }
        }
    }
}
