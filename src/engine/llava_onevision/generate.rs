//! What an answer is made of: the prompt built and checked against the context, its prefill,
//! token sampling, and text streamed as soon as it is whole UTF-8 (`batch` drives them).

use super::model::OnevisionModel;
use super::preprocess::{ImageProcessor, Pixels};
use super::prompt::{ChatTemplate, expand_images};
use super::qwen2::{SeqCache, Span};
use crate::engine::{ChatRequest, Refused, Sampling};
use candle_core::Tensor;
use rand::Rng;

/// Everything a generation reads, loaded once.
pub struct Loaded {
    pub model: OnevisionModel,
    pub tokenizer: tokenizers::Tokenizer,
    pub processor: ImageProcessor,
    pub template: ChatTemplate,
    pub eos: Vec<u32>,
}

/// The prompt's ids (images widened) and each image's features.
pub struct Prompt {
    pub ids: Vec<u32>,
    pub images: Vec<Tensor>,
}

/// Why the own engine could not answer a request.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The request cannot be taken (template, tokens, context): the user's input at fault.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// candle failed while running the model; `stage` says where.
    #[error("{stage}: {error}")]
    Model {
        stage: &'static str,
        error: candle_core::Error,
    },
}

impl GenerateError {
    /// For `map_err`: candle failed at `stage`.
    pub fn model(stage: &'static str) -> impl FnOnce(candle_core::Error) -> GenerateError {
        move |error| GenerateError::Model { stage, error }
    }
}

impl Loaded {
    /// The prompt's ids with each image widened, and each image's pixels; refused when it
    /// does not fit the model's context.
    pub fn plan(&self, request: &ChatRequest) -> Result<(Vec<u32>, Vec<Pixels>), Refused> {
        let text = self
            .template
            .render(&request.messages)
            .map_err(|e| Refused(e.to_string()))?;
        let encoding = self
            .tokenizer
            .encode(text.as_str(), false)
            .map_err(|e| Refused(format!("tokenizing the prompt: {e}")))?;
        let pixels: Vec<Pixels> = request
            .messages
            .iter()
            .flat_map(|m| m.images.iter())
            .map(|i| self.processor.preprocess(i))
            .collect();
        let geometry = self.model.config.geometry();
        let counts: Vec<usize> = pixels
            .iter()
            .map(|p| super::prompt::image_tokens(&geometry, p.original))
            .collect();
        let ids = expand_images(
            encoding.get_ids(),
            self.model.config.image_token_index,
            &counts,
        )?;
        let context = self.model.config.text.max_positions;
        // Room for at least one answer token.
        if ids.len() + 1 > context {
            let largest = pixels
                .iter()
                .zip(&counts)
                .max_by_key(|(_, n)| **n)
                .map(|(p, n)| {
                    format!(
                        "; the largest image ({} × {} px) alone tiles to {n}",
                        p.original.width, p.original.height
                    )
                })
                .unwrap_or_default();
            return Err(Refused(format!(
                "the prompt is {} tokens, more than the model's context of {context}{largest}",
                ids.len()
            )));
        }
        Ok((ids, pixels))
    }

    /// [`Loaded::plan`] plus each image's features from the vision tower.
    pub fn prompt(&self, request: &ChatRequest) -> Result<Prompt, GenerateError> {
        let (ids, pixels) = self.plan(request)?;
        let images = pixels
            .iter()
            .map(|p| self.model.image_features(p))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(GenerateError::model("the vision tower failed"))?;
        Ok(Prompt { ids, images })
    }

    /// The prompt through the model: the first answer token's logits (`[1, vocab]`, f32) and
    /// the cache to go on from.
    pub fn prefill(&self, prompt: &Prompt) -> Result<(Tensor, SeqCache), GenerateError> {
        let embeds = self
            .model
            .embed_prompt(&prompt.ids, &prompt.images)
            .map_err(GenerateError::model("building the prompt"))?;
        let mut cache = SeqCache::default();
        let logits = self
            .model
            .forward(
                &embeds,
                &mut [Span {
                    tokens: prompt.ids.len(),
                    cache: &mut cache,
                }],
            )
            .map_err(GenerateError::model("the language model failed"))?;
        Ok((logits, cache))
    }
}

/// The text of the tokens so far, handed out in pieces that are whole characters.
#[derive(Default)]
pub(super) struct StreamedText {
    ids: Vec<u32>,
    sent: usize,
}

impl StreamedText {
    pub(super) fn push(&mut self, tokenizer: &tokenizers::Tokenizer, token: u32) -> Option<String> {
        self.ids.push(token);
        let text = tokenizer.decode(&self.ids, true).ok()?;
        if text.ends_with('\u{FFFD}')
            || text.len() <= self.sent
            || !text.is_char_boundary(self.sent)
        {
            return None;
        }
        let piece = text[self.sent..].to_string();
        self.sent = text.len();
        Some(piece)
    }

    /// What is left at the end (an incomplete character is sent as it decodes).
    pub(super) fn flush(&mut self, tokenizer: &tokenizers::Tokenizer) -> Option<String> {
        let text = tokenizer.decode(&self.ids, true).ok()?;
        (text.len() > self.sent && text.is_char_boundary(self.sent))
            .then(|| text[self.sent..].to_string())
    }
}

/// Greedy (temperature 0 or unset: the first largest logit, as torch's argmax) or sampled
/// from softmax(logits / T) cut to the top k, then to the top p of probability mass.
pub fn sample(logits: &[f32], sampling: &Sampling, rng: &mut impl Rng) -> u32 {
    let argmax = || {
        let mut best = 0;
        for (i, &v) in logits.iter().enumerate() {
            if v > logits[best] {
                best = i;
            }
        }
        best as u32
    };
    if sampling.is_greedy() {
        return argmax();
    }
    let temperature = sampling.temperature.unwrap_or(1.0);
    let mut order: Vec<usize> = (0..logits.len())
        .filter(|&i| logits[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    if let Some(k) = sampling.top_k {
        order.truncate(k.max(1));
    }
    if order.is_empty() {
        return argmax();
    }
    let top = f64::from(logits[order[0]]);
    let mut weights: Vec<f64> = order
        .iter()
        .map(|&i| ((f64::from(logits[i]) - top) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= total);
    if let Some(p) = sampling.top_p {
        let mut mass = 0.0;
        let keep = weights
            .iter()
            .position(|w| {
                mass += w;
                mass >= p
            })
            .map_or(weights.len(), |i| i + 1);
        order.truncate(keep);
        weights.truncate(keep);
    }
    let total: f64 = weights.iter().sum();
    let mut pick = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        pick -= w;
        if pick <= 0.0 {
            return order[i] as u32;
        }
    }
    order[order.len() - 1] as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn greedy_takes_the_first_largest() {
        let s = Sampling::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        assert_eq!(sample(&[0.0, 3.0, 3.0, 1.0], &s, &mut rng), 1);
    }

    #[test]
    fn top_k_one_is_greedy_and_top_p_cuts_the_tail() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut s = Sampling {
            temperature: Some(1.0),
            top_k: Some(1),
            ..Sampling::default()
        };
        for _ in 0..20 {
            assert_eq!(sample(&[0.0, 2.0, 1.9], &s, &mut rng), 1);
        }
        s.top_k = None;
        s.top_p = Some(0.5);
        for _ in 0..20 {
            assert_eq!(sample(&[0.0, 5.0, 1.0], &s, &mut rng), 1);
        }
        s.top_p = None;
        let picks: std::collections::HashSet<u32> = (0..200)
            .map(|_| sample(&[1.0, 1.0, 1.0], &s, &mut rng))
            .collect();
        assert_eq!(
            picks.len(),
            3,
            "temperature 1 over equal logits reaches all three"
        );
    }
}
