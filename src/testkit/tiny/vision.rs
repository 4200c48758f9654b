//! Vision towers shared by several architectures.

use super::weights::{Fill, Weights};

/// Vision encoder dimensions.
#[derive(Debug, Clone, Copy)]
pub struct VisionDims {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub image_size: usize,
    pub patch: usize,
}

impl VisionDims {
    /// The tiny vision tower: 32 wide, 2 layers, 2 heads, 32-pixel images of 8-pixel patches.
    pub fn tiny() -> Self {
        VisionDims {
            hidden: 32,
            intermediate: 64,
            layers: 2,
            heads: 2,
            image_size: 32,
            patch: 8,
        }
    }

    pub fn patches_per_side(&self) -> usize {
        self.image_size / self.patch
    }
    pub fn patches(&self) -> usize {
        self.patches_per_side() * self.patches_per_side()
    }
}

/// CLIP ViT-L/14 at 336 px (LLaVA 1.5's tower; mistral.rs hard-codes it for Phi-3.5 vision).
pub const CLIP_VIT_L_336: VisionDims = VisionDims {
    hidden: 1024,
    intermediate: 4096,
    layers: 24,
    heads: 16,
    image_size: 336,
    patch: 14,
};

/// SigLIP-so400m/14 at 448 px (mistral.rs hard-codes it for Phi-4 multimodal).
pub const SIGLIP_SO400M_448: VisionDims = VisionDims {
    hidden: 1152,
    intermediate: 4304,
    layers: 27,
    heads: 16,
    image_size: 448,
    patch: 14,
};

/// SigLIP's attention-pooling head under `{prefix}.head` (a learned probe query, packed
/// `in_proj`, LayerNorm and MLP), for towers that ship it.
pub fn siglip_pooling_head(w: &mut Weights, prefix: &str, v: &VisionDims) {
    let head = format!("{prefix}.head");
    w.matrix(format!("{head}.probe"), &[1, 1, v.hidden]);
    w.matrix(
        format!("{head}.attention.in_proj_weight"),
        &[3 * v.hidden, v.hidden],
    );
    w.tensor(
        format!("{head}.attention.in_proj_bias"),
        &[3 * v.hidden],
        Fill::Zeros,
    );
    w.linear(
        &format!("{head}.attention.out_proj"),
        v.hidden,
        v.hidden,
        true,
    );
    w.layer_norm(&format!("{head}.layernorm"), v.hidden);
    w.linear(&format!("{head}.mlp.fc1"), v.intermediate, v.hidden, true);
    w.linear(&format!("{head}.mlp.fc2"), v.hidden, v.intermediate, true);
}

/// A SigLIP vision transformer under `prefix` (Idefics3, Gemma 3): conv patch embedding with
/// bias, learned position embedding, pre-norm encoder layers with biased projections, and a
/// final `post_layernorm`.
pub fn siglip_tower(w: &mut Weights, prefix: &str, v: &VisionDims) {
    w.matrix(
        format!("{prefix}.embeddings.patch_embedding.weight"),
        &[v.hidden, 3, v.patch, v.patch],
    );
    w.tensor(
        format!("{prefix}.embeddings.patch_embedding.bias"),
        &[v.hidden],
        Fill::Zeros,
    );
    w.matrix(
        format!("{prefix}.embeddings.position_embedding.weight"),
        &[v.patches(), v.hidden],
    );
    encoder_layers(w, prefix, v);
    w.layer_norm(&format!("{prefix}.post_layernorm"), v.hidden);
}

/// The `vision_config` block for a SigLIP tower.
pub fn siglip_config(v: &VisionDims, model_type: &str) -> serde_json::Value {
    serde_json::json!({
        "model_type": model_type,
        "hidden_size": v.hidden,
        "intermediate_size": v.intermediate,
        "num_hidden_layers": v.layers,
        "num_attention_heads": v.heads,
        "num_channels": 3,
        "image_size": v.image_size,
        "patch_size": v.patch,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    })
}

/// A CLIP vision transformer under `prefix` (LLaVA, LLaVA-NeXT): class embedding, conv patch
/// embedding without bias, position embedding including the class position, `pre_layrnorm`
/// (CLIP's own spelling), encoder layers, `post_layernorm`.
pub fn clip_tower(w: &mut Weights, prefix: &str, v: &VisionDims) {
    w.matrix(format!("{prefix}.embeddings.class_embedding"), &[v.hidden]);
    w.matrix(
        format!("{prefix}.embeddings.patch_embedding.weight"),
        &[v.hidden, 3, v.patch, v.patch],
    );
    w.matrix(
        format!("{prefix}.embeddings.position_embedding.weight"),
        &[v.patches() + 1, v.hidden],
    );
    w.layer_norm(&format!("{prefix}.pre_layrnorm"), v.hidden);
    encoder_layers(w, prefix, v);
    w.layer_norm(&format!("{prefix}.post_layernorm"), v.hidden);
}

/// LLaVA's two-layer projector from the vision width to the text width, biased.
pub fn llava_projector(w: &mut Weights, prefix: &str, vision: usize, text: usize) {
    w.linear(&format!("{prefix}.linear_1"), text, vision, true);
    w.linear(&format!("{prefix}.linear_2"), text, text, true);
}

/// The pre-norm encoder layers SigLIP and CLIP share: biased attention projections, two
/// LayerNorms, a two-layer MLP.
fn encoder_layers(w: &mut Weights, prefix: &str, v: &VisionDims) {
    for i in 0..v.layers {
        let l = format!("{prefix}.encoder.layers.{i}");
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            w.linear(&format!("{l}.self_attn.{proj}"), v.hidden, v.hidden, true);
        }
        w.layer_norm(&format!("{l}.layer_norm1"), v.hidden);
        w.layer_norm(&format!("{l}.layer_norm2"), v.hidden);
        w.linear(&format!("{l}.mlp.fc1"), v.intermediate, v.hidden, true);
        w.linear(&format!("{l}.mlp.fc2"), v.hidden, v.intermediate, true);
    }
}
