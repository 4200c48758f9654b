//! A list of named tensors with how to fill them, written as one safetensors file.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// Normal(0, std): matrices and embeddings.
    Normal(f32),
    /// Norm scales (1 is identity for LayerNorm and RMSNorm).
    Ones,
    /// Biases, and Gemma-style norms whose scale is 1 + weight.
    Zeros,
    /// An output head [vocab, hidden] whose rows for printable ASCII bytes are Normal(0, 1)
    /// and whose other rows are zero: a random model then writes readable characters (one
    /// streamed piece per token) instead of invalid UTF-8 and special tokens.
    PrintableHead,
    /// [`Fill::PrintableHead`] with Normal(0, 0.02) instead of zero in the other rows: for an
    /// embedding tied to the head in a model that scales each token's embedding by its
    /// magnitude (Gemma 3n's AltUp), where a zero row's gradient is NaN.
    PrintableEmbedding,
}

/// Element type of the written weights: f32, or bf16 as large checkpoints ship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightDtype {
    #[default]
    F32,
    Bf16,
}

impl WeightDtype {
    pub(super) fn bytes(self) -> usize {
        match self {
            WeightDtype::F32 => 4,
            WeightDtype::Bf16 => 2,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            WeightDtype::F32 => "F32",
            WeightDtype::Bf16 => "BF16",
        }
    }

    pub(super) fn extend(self, out: &mut Vec<u8>, value: f32) {
        match self {
            WeightDtype::F32 => out.extend_from_slice(&value.to_le_bytes()),
            WeightDtype::Bf16 => out.extend_from_slice(&half::bf16::from_f32(value).to_le_bytes()),
        }
    }
}

#[derive(Debug, Default)]
pub struct Weights {
    pub(super) tensors: Vec<(String, Vec<usize>, Fill)>,
    pub dtype: WeightDtype,
}

/// Standard deviation for random matrices: small enough that activations stay finite
/// through a few layers in f16.
pub(super) const INIT_STD: f32 = 0.02;

impl Weights {
    pub fn tensor(&mut self, name: impl Into<String>, shape: &[usize], fill: Fill) {
        self.tensors.push((name.into(), shape.to_vec(), fill));
    }

    pub fn matrix(&mut self, name: impl Into<String>, shape: &[usize]) {
        self.tensor(name, shape, Fill::Normal(INIT_STD));
    }

    /// `{prefix}.weight` [out, in] and, with `bias`, `{prefix}.bias` [out].
    pub fn linear(&mut self, prefix: &str, out_dim: usize, in_dim: usize, bias: bool) {
        self.matrix(format!("{prefix}.weight"), &[out_dim, in_dim]);
        if bias {
            self.tensor(format!("{prefix}.bias"), &[out_dim], Fill::Zeros);
        }
    }

    /// `{name}` [vocab, hidden] as an output head (see [`Fill::PrintableHead`]).
    pub fn output_head(&mut self, name: impl Into<String>, vocab: usize, hidden: usize) {
        self.tensor(name, &[vocab, hidden], Fill::PrintableHead);
    }

    /// Grouped-query attention under `prefix`: `q_proj` (`q_factor` × heads × head_dim, 2
    /// where each query carries its output gate), `k_proj` and `v_proj` (kv_heads × head_dim,
    /// biased with `qkv_bias`) and `o_proj` back to `hidden`.
    pub fn attention(
        &mut self,
        prefix: &str,
        hidden: usize,
        heads: Heads,
        q_factor: usize,
        qkv_bias: bool,
    ) {
        let (queries, keys) = (
            heads.heads * heads.head_dim,
            heads.kv_heads * heads.head_dim,
        );
        self.linear(
            &format!("{prefix}.q_proj"),
            q_factor * queries,
            hidden,
            qkv_bias,
        );
        self.linear(&format!("{prefix}.k_proj"), keys, hidden, qkv_bias);
        self.linear(&format!("{prefix}.v_proj"), keys, hidden, qkv_bias);
        self.linear(&format!("{prefix}.o_proj"), hidden, queries, false);
    }

    /// Drop every tensor whose name starts with `prefix`: a family that replaces part of a
    /// shared stack (an MLP by experts, self- by cross-attention).
    pub fn remove_under(&mut self, prefix: &str) {
        self.tensors
            .retain(|(name, _, _)| !name.starts_with(prefix));
    }

    /// LayerNorm: weight 1, bias 0.
    pub fn layer_norm(&mut self, prefix: &str, dim: usize) {
        self.tensor(format!("{prefix}.weight"), &[dim], Fill::Ones);
        self.tensor(format!("{prefix}.bias"), &[dim], Fill::Zeros);
    }

    /// RMSNorm with a plain scale (weight 1).
    pub fn rms_norm(&mut self, prefix: &str, dim: usize) {
        self.tensor(format!("{prefix}.weight"), &[dim], Fill::Ones);
    }

    /// The shape `name` is written with, if it is written.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let found = self.tensors.iter().find(|(n, _, _)| n == name);
        found.map(|(_, shape, _)| shape.clone())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|(name, _, _)| name.as_str())
    }

    pub fn parameter_count(&self) -> usize {
        self.tensors
            .iter()
            .map(|(_, shape, _)| shape.iter().product::<usize>())
            .sum()
    }
}

/// The head layout of an attention block.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

/// Box–Muller: one standard normal sample.
pub(super) fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(f32::MIN_POSITIVE);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// How a text tower's decoder layers differ between families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Llama, Mistral, SmolLM: two RMS norms per layer.
    Llama,
    /// Qwen2: Llama plus biased query, key and value projections.
    Qwen2,
    /// Qwen3: Llama plus RMS-normed queries and keys.
    Qwen3,
    /// Gemma 3: query/key norms and four norms per layer, all scaling by 1 + weight.
    Gemma3,
    /// Gemma 4: Gemma 3's norms, but each scales by its weight as in Llama.
    Gemma4,
}

/// A decoder stack under `prefix` (`embed_tokens`, `layers.N.*`, `norm`). With `tied`, the
/// embedding doubles as the output head and is filled as one.
pub fn decoder_stack(
    w: &mut Weights,
    prefix: &str,
    t: &super::TextDims,
    kind: Decoder,
    tied: bool,
) {
    let embed = format!("{prefix}.embed_tokens.weight");
    if tied {
        w.output_head(embed, t.vocab_size, t.hidden);
    } else {
        w.matrix(embed, &[t.vocab_size, t.hidden]);
    }
    // Gemma's RMSNorm multiplies by (1 + weight): zeros are its identity.
    let norm = |w: &mut Weights, name: String, dim: usize| match kind {
        Decoder::Gemma3 => w.tensor(name, &[dim], Fill::Zeros),
        _ => w.tensor(name, &[dim], Fill::Ones),
    };
    let qkv_bias = kind == Decoder::Qwen2;
    for i in 0..t.layers {
        let l = format!("{prefix}.layers.{i}");
        w.attention(&format!("{l}.self_attn"), t.hidden, t.heads(), 1, qkv_bias);
        if matches!(kind, Decoder::Qwen3 | Decoder::Gemma3 | Decoder::Gemma4) {
            norm(w, format!("{l}.self_attn.q_norm.weight"), t.head_dim);
            norm(w, format!("{l}.self_attn.k_norm.weight"), t.head_dim);
        }
        w.linear(
            &format!("{l}.mlp.gate_proj"),
            t.intermediate,
            t.hidden,
            false,
        );
        w.linear(&format!("{l}.mlp.up_proj"), t.intermediate, t.hidden, false);
        w.linear(
            &format!("{l}.mlp.down_proj"),
            t.hidden,
            t.intermediate,
            false,
        );
        norm(w, format!("{l}.input_layernorm.weight"), t.hidden);
        norm(w, format!("{l}.post_attention_layernorm.weight"), t.hidden);
        if matches!(kind, Decoder::Gemma3 | Decoder::Gemma4) {
            norm(w, format!("{l}.pre_feedforward_layernorm.weight"), t.hidden);
            norm(
                w,
                format!("{l}.post_feedforward_layernorm.weight"),
                t.hidden,
            );
        }
    }
    norm(w, format!("{prefix}.norm.weight"), t.hidden);
}
