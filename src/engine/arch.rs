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
    /// mistralrs 0.8.1 has no loader for it.
    Absent,
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
    /// differently with the cache on, so radiochat keeps it off for them.
    pub prefix_cache: bool,
}

const QWEN2_5VL_BUG: &str = "mistralrs 0.8.1 fails mid-answer (shape mismatch in where_cond, \
qwen2_5_vl/mod.rs:238) whenever a generated token is not valid UTF-8 on its own";

const QWEN2VL_BUG: &str = "mistralrs 0.8.1 fails on the first decode step after an image \
(index-select invalid index, qwen2vl/mod.rs:117; upstream PR #1787)";

/// Every architecture radiochat knows about. Loaders mistralrs has but this project has not
/// proven are `Broken` with the reason, so users get a clear refusal instead of a crash.
pub const ARCHITECTURES: &[Architecture] = &[
    Architecture {
        hf_class: "Idefics3ForConditionalGeneration",
        loader: "idefics3",
        family: "SmolVLM / Idefics3",
        support: Support::Supported,
        engine: Backend::MistralRs,
        prefix_cache: true,
    },
    Architecture {
        hf_class: "Gemma3ForConditionalGeneration",
        loader: "gemma3",
        family: "Gemma 3",
        support: Support::Supported,
        engine: Backend::MistralRs,
        prefix_cache: true,
    },
    Architecture {
        hf_class: "LlavaForConditionalGeneration",
        loader: "llava",
        family: "LLaVA 1.5",
        support: Support::Supported,
        engine: Backend::MistralRs,
        prefix_cache: false,
    },
    Architecture {
        hf_class: "LlavaNextForConditionalGeneration",
        loader: "llava_next",
        family: "LLaVA-NeXT (1.6)",
        support: Support::Supported,
        engine: Backend::MistralRs,
        prefix_cache: false,
    },
    Architecture {
        hf_class: "Qwen3VLForConditionalGeneration",
        loader: "qwen3vl",
        family: "Qwen3-VL",
        support: Support::Supported,
        engine: Backend::MistralRs,
        prefix_cache: true,
    },
    Architecture {
        hf_class: "Mistral3ForConditionalGeneration",
        loader: "mistral3",
        family: "Mistral 3 (Mistral-Small-3.1 vision)",
        support: Support::Supported,
        engine: Backend::MistralRs,
        prefix_cache: true,
    },
    Architecture {
        hf_class: "Qwen2VLForConditionalGeneration",
        loader: "qwen2vl",
        family: "Qwen2-VL",
        support: Support::Broken(QWEN2VL_BUG),
        engine: Backend::MistralRs,
        prefix_cache: false,
    },
    Architecture {
        hf_class: "Qwen2_5_VLForConditionalGeneration",
        loader: "qwen2_5vl",
        family: "Qwen2.5-VL",
        support: Support::Broken(QWEN2_5VL_BUG),
        engine: Backend::MistralRs,
        prefix_cache: false,
    },
    Architecture {
        hf_class: "LlavaOnevisionForConditionalGeneration",
        loader: "llava_onevision",
        family: "LLaVA-OneVision (radio-llava)",
        support: Support::Supported,
        engine: Backend::Candle,
        prefix_cache: false,
    },
];

/// Loaders mistralrs 0.8.1 has that this project has not proven with tests yet.
const UNPROVEN: &[(&str, &str)] = &[
    ("Phi3VForCausalLM", "phi3v"),
    ("Idefics2ForConditionalGeneration", "idefics2"),
    ("MllamaForConditionalGeneration", "vllama"),
    ("Phi4MMForCausalLM", "phi4mm"),
    ("Llama4ForConditionalGeneration", "llama4"),
    ("Gemma3nForConditionalGeneration", "gemma3n"),
];

impl Architecture {
    pub fn by_hf_class(class: &str) -> Option<Architecture> {
        ARCHITECTURES
            .iter()
            .copied()
            .find(|a| a.hf_class == class)
            .or_else(|| {
                UNPROVEN
                    .iter()
                    .find(|(c, _)| *c == class)
                    .map(|(hf_class, loader)| Architecture {
                        hf_class,
                        loader,
                        family: loader,
                        support: Support::Broken(
                            "not yet proven by radiochat's tests on mistralrs 0.8.1",
                        ),
                        engine: Backend::MistralRs,
                        prefix_cache: false,
                    })
            })
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

    pub(crate) fn loader_type(&self) -> Option<mistralrs::MultimodalLoaderType> {
        self.loader.parse().ok()
    }

    /// The refusal a user sees for an architecture the embedded engine cannot serve.
    pub fn refusal(class: &str, why: Option<&str>) -> String {
        let reason = why.map(|w| format!(" ({w})")).unwrap_or_default();
        format!(
            "`{class}` is not supported by the embedded engine (mistralrs 0.8.1){reason}; \
             serve it with vLLM and connect with --remote"
        )
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
    fn qwen2vl_refusal_names_the_bug() {
        let arch = Architecture::by_hf_class("Qwen2VLForConditionalGeneration").unwrap();
        let Support::Broken(why) = arch.support else {
            panic!("qwen2vl must be refused")
        };
        assert!(Architecture::refusal(arch.hf_class, Some(why)).contains("qwen2vl/mod.rs:117"));
    }
}
