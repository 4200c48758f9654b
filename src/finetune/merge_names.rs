//! A checkpoint tensor's name as a PEFT adapter names it. Adapters are trained on transformers'
//! module tree; checkpoints on disk may name the same weight otherwise, and the merge writes the
//! checkpoint's own names so the engine reads it as it read the base.

/// Where transformers (5) keeps a checkpoint tensor: LLaVA-style checkpoints name the language
/// model `language_model.model.…` on disk and `model.language_model.…` in the module tree (the
/// names a PEFT adapter uses); likewise the vision tower, the projector and the output head.
const CHECKPOINT_TO_MODULE: &[(&str, &str)] = &[
    ("language_model.model.", "model.language_model."),
    ("language_model.lm_head.", "lm_head."),
    ("vision_tower.", "model.vision_tower."),
    ("multi_modal_projector.", "model.multi_modal_projector."),
];

/// Phi-4 multimodal as released (`Phi4MMForCausalLM`) under the names of transformers'
/// `Phi4MultimodalForCausalLM`, which the trainer trains it as (trainer/phi4mm.py reads the
/// checkpoint with the same renames). Each base weight of the text tower sits under
/// `base_layer`, beside the static adapters the engine adds to it.
const PHI4MM_RELEASED_TO_MODULE: &[(&str, &str)] = &[
    (STATIC_ADAPTER_BASE, "."),
    (
        "image_embed.glb_GN",
        "image_embed.global_img_feature_extensor",
    ),
    ("image_embed.sub_GN", "image_embed.sub_img_feature_extensor"),
    (
        "image_embed.img_projection.0.",
        "image_embed.img_projection_up.",
    ),
    (
        "image_embed.img_projection.2.",
        "image_embed.img_projection_down.",
    ),
    (".net.0.linear.", ".gate_up_proj."),
    (".net.2.", ".down_proj."),
    (".self_attn.linear_q.", ".self_attn.q_proj."),
    (".self_attn.linear_k.", ".self_attn.k_proj."),
    (".self_attn.linear_v.", ".self_attn.v_proj."),
    (".self_attn.linear_out.", ".self_attn.o_proj."),
    ("audio_projection.speech.0.", "up_proj_for_speech."),
    ("audio_projection.speech.2.", "down_proj_for_speech."),
    ("audio_projection.vision.0.", "up_proj_for_vision_speech."),
    ("audio_projection.vision.2.", "down_proj_for_vision_speech."),
];

const STATIC_ADAPTER_BASE: &str = ".base_layer.";

/// The adapter's name for the base tensor `name`: the same when the adapter has it (`known`),
/// else its module-tree name.
pub(super) fn module_name(name: &str, known: impl Fn(&str) -> bool) -> String {
    if known(name) {
        return name.to_string();
    }
    if let Some(renamed) = CHECKPOINT_TO_MODULE.iter().find_map(|(disk, module)| {
        name.strip_prefix(disk)
            .map(|rest| format!("{module}{rest}"))
    }) {
        return renamed;
    }
    PHI4MM_RELEASED_TO_MODULE
        .iter()
        .fold(name.to_string(), |name, (disk, module)| {
            name.replace(disk, module)
        })
}

/// Whether the checkpoint keeps static adapters beside this weight, which the engine adds to
/// it when it loads: a low-rank update merges into such a weight, a whole replacement cannot.
pub(super) fn carries_static_adapter(name: &str) -> bool {
    name.contains(STATIC_ADAPTER_BASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str) -> String {
        module_name(name, |_| false)
    }

    #[test]
    fn an_adapter_name_is_kept_when_the_base_has_it() {
        assert_eq!(
            module_name("language_model.model.norm.weight", |n| n
                == "language_model.model.norm.weight"),
            "language_model.model.norm.weight"
        );
    }

    #[test]
    fn llava_checkpoints_map_to_their_module_tree() {
        assert_eq!(
            module("language_model.model.layers.0.mlp.up_proj.weight"),
            "model.language_model.layers.0.mlp.up_proj.weight"
        );
        assert_eq!(
            module("multi_modal_projector.linear_1.weight"),
            "model.multi_modal_projector.linear_1.weight"
        );
    }

    #[test]
    fn phi4_multimodal_as_released_maps_to_transformers_class() {
        assert_eq!(
            module("model.layers.1.self_attn.qkv_proj.base_layer.weight"),
            "model.layers.1.self_attn.qkv_proj.weight"
        );
        assert_eq!(
            module("model.embed_tokens_extend.image_embed.img_projection.2.bias"),
            "model.embed_tokens_extend.image_embed.img_projection_down.bias"
        );
        assert_eq!(
            module("model.embed_tokens_extend.image_embed.glb_GN"),
            "model.embed_tokens_extend.image_embed.global_img_feature_extensor"
        );
        assert_eq!(
            module(
                "model.embed_tokens_extend.audio_embed.encoder.encoders.0.self_attn.linear_out.weight"
            ),
            "model.embed_tokens_extend.audio_embed.encoder.encoders.0.self_attn.o_proj.weight"
        );
        // The static adapters themselves are no module of transformers' class.
        assert_eq!(
            module("model.layers.0.mlp.down_proj.lora_A.vision.weight"),
            "model.layers.0.mlp.down_proj.lora_A.vision.weight"
        );
        assert!(carries_static_adapter(
            "model.layers.0.mlp.down_proj.base_layer.weight"
        ));
    }
}
