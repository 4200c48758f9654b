//! The Qwen2 language model, taking input embeddings (so image features can stand in for
//! tokens) and built for batches: the tokens of several sequences travel packed in one
//! `[tokens, hidden]` matrix through every linear layer, while attention, rotary positions
//! and the KV cache are per sequence — no padding, and each sequence at its own length.

use super::attention::attention;
use super::config::TextConfig;
use super::cpu_kernels::Then;
use super::layers::{Linear, RmsNorm};
use super::weights::{Checkpoint, WeightError};
use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Module, Result, Tensor};

struct DecoderLayer {
    input_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    post_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl DecoderLayer {
    /// `--isq`: every linear of the layer in `format`, q8_0 where a width is not a whole
    /// number of `format`'s blocks (Qwen2-0.5B's 896 for the k-quants' 256).
    fn quantize(&mut self, format: GgmlDType) -> Result<()> {
        for linear in [
            &mut self.q,
            &mut self.k,
            &mut self.v,
            &mut self.o,
            &mut self.gate,
            &mut self.up,
            &mut self.down,
        ] {
            linear.quantize(format, GgmlDType::Q8_0)?;
        }
        Ok(())
    }
}

/// One sequence's keys and values, layer by layer (`[1, kv_heads, positions, head_dim]`).
#[derive(Default, Clone)]
pub struct SeqCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl SeqCache {
    /// Positions already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A sequence's share of a packed batch: how many of the rows are its tokens, and its cache.
pub struct Span<'a> {
    pub tokens: usize,
    pub cache: &'a mut SeqCache,
}

pub struct Qwen2 {
    embed: Tensor,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    head: Tensor,
    config: TextConfig,
    inv_freq: Tensor,
}

impl Qwen2 {
    /// `prefix` holds `embed_tokens`, `layers.N` and `norm`; `head` names the output matrix
    /// (`None`: tied to the embedding).
    pub fn load(
        ck: &Checkpoint,
        prefix: &str,
        head: Option<&str>,
        config: &TextConfig,
        isq: Option<GgmlDType>,
    ) -> std::result::Result<Qwen2, WeightError> {
        let c = config;
        let (h, q_dim, kv_dim) = (c.hidden, c.heads * c.head_dim, c.kv_heads * c.head_dim);
        let eps = c.rms_norm_eps;
        let mut layers = Vec::with_capacity(c.layers);
        for i in 0..c.layers {
            let l = format!("{prefix}layers.{i}");
            layers.push(DecoderLayer {
                input_norm: RmsNorm::load(ck, &format!("{l}.input_layernorm.weight"), h, eps)?,
                q: Linear::load(ck, &format!("{l}.self_attn.q_proj"), h, q_dim, true)?,
                k: Linear::load(ck, &format!("{l}.self_attn.k_proj"), h, kv_dim, true)?,
                v: Linear::load(ck, &format!("{l}.self_attn.v_proj"), h, kv_dim, true)?,
                o: Linear::load(ck, &format!("{l}.self_attn.o_proj"), q_dim, h, false)?,
                post_norm: RmsNorm::load(
                    ck,
                    &format!("{l}.post_attention_layernorm.weight"),
                    h,
                    eps,
                )?,
                gate: Linear::load(ck, &format!("{l}.mlp.gate_proj"), h, c.intermediate, false)?,
                up: Linear::load(ck, &format!("{l}.mlp.up_proj"), h, c.intermediate, false)?,
                down: Linear::load(ck, &format!("{l}.mlp.down_proj"), c.intermediate, h, false)?,
            });
            if let (Some(format), Some(layer)) = (isq, layers.last_mut()) {
                layer.quantize(format).map_err(|e| WeightError {
                    path: format!("{l} ({format:?})").into(),
                    problem: format!("quantizing: {e}"),
                })?;
            }
        }
        let embed = ck.get(&format!("{prefix}embed_tokens.weight"), &[c.vocab_size, h])?;
        let head = match head {
            Some(name) => ck.get(name, &[c.vocab_size, h])?,
            None => embed.clone(),
        };
        let half = c.head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| (1.0 / c.rope_theta.powf(2.0 * i as f64 / c.head_dim as f64)) as f32)
            .collect();
        let inv_freq =
            Tensor::from_vec(inv_freq, (1, half), &Device::Cpu).map_err(|e| WeightError {
                path: prefix.into(),
                problem: e.to_string(),
            })?;
        Ok(Qwen2 {
            embed,
            layers,
            norm: RmsNorm::load(ck, &format!("{prefix}norm.weight"), h, eps)?,
            head,
            config: c.clone(),
            inv_freq,
        })
    }

    pub fn config(&self) -> &TextConfig {
        &self.config
    }

    /// Token ids → `[n, hidden]` embeddings.
    pub fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        let ids = Tensor::new(ids, self.embed.device())?;
        self.embed.index_select(&ids, 0)
    }

    /// Run the packed `embeds` (`[Σ tokens, hidden]`, sequences in `spans` order) through the
    /// model, extending each cache; returns the logits of each sequence's last token
    /// (`[spans, vocab]`, f32).
    pub fn forward(&self, embeds: &Tensor, spans: &mut [Span<'_>]) -> Result<Tensor> {
        let rotary = self.rotary(spans, embeds.device(), embeds.dtype())?;
        let mut x = embeds.clone();
        for (index, layer) in self.layers.iter().enumerate() {
            let normed = layer.input_norm.forward(&x)?;
            let q = layer.q.forward(&normed)?;
            let k = layer.k.forward(&normed)?;
            let v = layer.v.forward(&normed)?;
            let mut outputs = Vec::with_capacity(spans.len());
            let mut start = 0;
            for (i, span) in spans.iter_mut().enumerate() {
                let rows = |t: &Tensor| t.narrow(0, start, span.tokens);
                outputs.push(self.attend(
                    index,
                    &rows(&q)?,
                    &rows(&k)?,
                    &rows(&v)?,
                    &rotary[i],
                    span.cache,
                )?);
                start += span.tokens;
            }
            let attended = Tensor::cat(&outputs, 0)?;
            x = layer.o.forward_then(&attended, None, Some(Then::Add(&x)))?;
            let normed = layer.post_norm.forward(&x)?;
            let up = layer.up.forward(&normed)?;
            let act = Some(self.config.act);
            let hidden = layer
                .gate
                .forward_then(&normed, act, Some(Then::Mul(&up)))?;
            x = layer
                .down
                .forward_then(&hidden, None, Some(Then::Add(&x)))?;
        }
        let mut last_rows = Vec::with_capacity(spans.len());
        let mut end = 0;
        for span in spans.iter_mut() {
            end += span.tokens;
            last_rows.push((end - 1) as u32);
            span.cache.len += span.tokens;
        }
        let last = x.index_select(&Tensor::new(last_rows, x.device())?, 0)?;
        let normed = self.norm.forward(&last)?;
        normed.matmul(&self.head.t()?)?.to_dtype(DType::F32)
    }

    /// Per span: the rotary (cos, sin) of its new positions.
    fn rotary(
        &self,
        spans: &[Span<'_>],
        device: &Device,
        dtype: DType,
    ) -> Result<Vec<(Tensor, Tensor)>> {
        let mut rotary = Vec::with_capacity(spans.len());
        for span in spans {
            let past = span.cache.len;
            let positions: Vec<f32> = (past..past + span.tokens).map(|p| p as f32).collect();
            let positions = Tensor::from_vec(positions, (span.tokens, 1), &Device::Cpu)?;
            let angles = positions.broadcast_mul(&self.inv_freq)?;
            rotary.push((
                angles.cos()?.to_dtype(dtype)?.to_device(device)?,
                angles.sin()?.to_dtype(dtype)?.to_device(device)?,
            ));
        }
        Ok(rotary)
    }

    fn attend(
        &self,
        layer: usize,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        (cos, sin): &(Tensor, Tensor),
        cache: &mut SeqCache,
    ) -> Result<Tensor> {
        let c = &self.config;
        let tokens = q.dim(0)?;
        // A new token sees the cache and the new tokens up to itself (one token sees all).
        let causal_past = (tokens > 1).then_some(cache.len);
        let heads = |t: &Tensor, n: usize| -> Result<Tensor> {
            t.reshape((1, tokens, n, c.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = candle_nn::rotary_emb::rope(&heads(q, c.heads)?, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&heads(k, c.kv_heads)?, cos, sin)?;
        let v = heads(v, c.kv_heads)?;
        if cache.layers.len() <= layer {
            cache.layers.resize(layer + 1, None);
        }
        let (k, v) = match cache.layers[layer].take() {
            Some((past_k, past_v)) => (
                Tensor::cat(&[&past_k, &k], 2)?,
                Tensor::cat(&[&past_v, &v], 2)?,
            ),
            None => (k, v),
        };
        cache.layers[layer] = Some((k.clone(), v.clone()));
        attention(&q, &k, &v, causal_past)?.reshape((tokens, c.heads * c.head_dim))
    }
}
