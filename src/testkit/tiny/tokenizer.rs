//! A byte-level BPE tokenizer in the Hugging Face `tokenizer.json` layout: byte b is token b
//! (GPT-2's byte-to-unicode alphabet), the architecture's special tokens from id 256 on (or
//! from the ids a family's code expects), and no merges — any text round-trips, which is all a
//! random-weight model needs — or merges learnt from a training corpus (`learn_merges`, by the
//! `tokenizers` crate's BPE trainer), each a token after the specials: a model to be trained
//! reads a radio-llava question in a quarter of the positions, and "FR-II" against "FR-I" is
//! one token's choice rather than one byte's.

use serde_json::{Value, json};

/// GPT-2's reversible byte → printable char mapping used by ByteLevel pre-tokenizers.
pub fn byte_to_char(byte: u8) -> char {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    if printable(byte) {
        return byte as char;
    }
    let offset = (0..byte).filter(|b| !printable(*b)).count() as u32;
    char::from_u32(256 + offset).unwrap_or('?')
}

/// First id of the special tokens.
pub const FIRST_SPECIAL_ID: u32 = 256;

/// A family's special tokens and their ids: blocks of consecutive ids, the first right after
/// the bytes, others where the family's code expects them (Phi-4 multimodal's image token at
/// 200010, Gemma 3n's at 262145).
#[derive(Debug, Clone, Default)]
pub struct Specials {
    blocks: Vec<(u32, Vec<&'static str>)>,
}

impl Specials {
    /// `names` at ids 256, 257, …
    pub fn after_bytes(names: &[&'static str]) -> Self {
        Self::starting_at(FIRST_SPECIAL_ID, names)
    }

    /// `names` at ids `first`, `first + 1`, …
    pub fn starting_at(first: u32, names: &[&'static str]) -> Self {
        Specials {
            blocks: vec![(first, names.to_vec())],
        }
    }

    /// These and `names` at ids `first`, `first + 1`, …
    pub fn and(mut self, first: u32, names: &[&'static str]) -> Self {
        self.blocks.push((first, names.to_vec()));
        self
    }

    /// Every token with its id.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.blocks.iter().flat_map(|(first, names)| {
            names
                .iter()
                .enumerate()
                .map(move |(i, name)| (*name, first + i as u32))
        })
    }

    /// The id of `token`; the first special's when the family has no such token.
    pub fn id(&self, token: &str) -> u32 {
        let mut all = self.iter().peekable();
        let first = all.peek().map_or(FIRST_SPECIAL_ID, |(_, id)| *id);
        all.find(|(name, _)| *name == token)
            .map_or(first, |(_, id)| id)
    }

    pub fn len(&self) -> usize {
        self.blocks.iter().map(|(_, names)| names.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A BPE merge: two tokens (in the byte alphabet) that become one.
pub type Merge = (String, String);

/// The specials are in the model's vocabulary too: `tokenizers` gives an added token the id
/// the vocabulary has for it, whatever the gap from the bytes. Each merge's token takes the
/// next id after the specials, in the merges' order.
pub fn tokenizer_json(specials: &Specials, merges: &[Merge]) -> Value {
    let first_merged = specials.iter().map(|(_, id)| id + 1).max().unwrap_or(256);
    let vocab: serde_json::Map<String, Value> = (0..=255u8)
        .map(|b| (byte_to_char(b).to_string(), json!(b as u32)))
        .chain(specials.iter().map(|(s, id)| (s.to_string(), json!(id))))
        .chain(
            merges
                .iter()
                .zip(first_merged..)
                .map(|((a, b), id)| (format!("{a}{b}"), json!(id))),
        )
        .collect();
    let added: Vec<Value> = specials
        .iter()
        .map(|(s, id)| {
            json!({
                "id": id, "content": s, "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true
            })
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges
        }
    })
}

/// The vocabulary size a config should declare: bytes plus specials (and merged tokens),
/// rounded up to 16 as real checkpoints pad their embedding matrices.
pub fn padded_vocab(specials: usize) -> usize {
    (256 + specials).div_ceil(16) * 16
}

/// Up to `count` merges, the most frequent pairs first, learnt from `texts` split as the
/// byte-level pre-tokenizer splits them; pairs seen once are not merged. The same texts give
/// the same merges.
pub fn learn_merges<I>(texts: I, count: usize) -> anyhow::Result<Vec<Merge>>
where
    I: Iterator<Item = String> + Send,
{
    use tokenizers::TokenizerBuilder;
    use tokenizers::models::bpe::{BPE, BpeTrainer};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    let mut trainer = BpeTrainer::builder()
        .vocab_size(256 + count)
        .min_frequency(2)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .show_progress(false)
        .build();
    let mut tokenizer = TokenizerBuilder::<
        BPE,
        tokenizers::NormalizerWrapper,
        ByteLevel,
        tokenizers::PostProcessorWrapper,
        tokenizers::DecoderWrapper,
    >::new()
    .with_model(BPE::default())
    .with_pre_tokenizer(Some(ByteLevel::new(false, true, true)))
    .build()
    .map_err(|e| anyhow::anyhow!("setting up the BPE trainer: {e}"))?;
    tokenizer
        .train(&mut trainer, texts)
        .map_err(|e| anyhow::anyhow!("learning merges: {e}"))?;
    // The trained model's own serialisation is the one public view of its merges in order.
    let saved = serde_json::to_value(tokenizer.get_model())?;
    saved["merges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let (a, b) = match pair {
                Value::Array(both) if both.len() == 2 => (both[0].as_str(), both[1].as_str()),
                Value::String(joined) => joined
                    .split_once(' ')
                    .map_or((None, None), |(a, b)| (Some(a), Some(b))),
                _ => (None, None),
            };
            a.zip(b)
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| anyhow::anyhow!("the BPE trainer saved a merge as {pair}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_alphabet_is_a_bijection() {
        let chars: std::collections::HashSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(chars.len(), 256);
        assert_eq!(byte_to_char(b'A'), 'A');
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
    }

    #[test]
    fn tokenizer_round_trips_text_and_keeps_specials_whole() {
        let json =
            tokenizer_json(&Specials::after_bytes(&["<|im_start|>", "<image>"]), &[]).to_string();
        let tokenizer = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
        let text = "Is this an FR-II? <image> ✓";
        let encoding = tokenizer.encode(text, false).unwrap();
        let ids = encoding.get_ids();
        assert!(ids.contains(&257), "<image> must be one token: {ids:?}");
        assert_eq!(ids[0], u32::from(b'I'));
        let decoded = tokenizer.decode(ids, false).unwrap();
        assert_eq!(decoded, text);
        assert_eq!(padded_vocab(2), 272);
    }

    #[test]
    fn specials_keep_ids_far_past_the_bytes() {
        let specials =
            Specials::after_bytes(&["<eos>"]).and(200_010, &["<|endoftext|>", "<|image|>"]);
        let json = tokenizer_json(&specials, &[]).to_string();
        let tokenizer = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
        assert_eq!(tokenizer.token_to_id("<|image|>"), Some(200_011));
        assert_eq!(tokenizer.token_to_id("<eos>"), Some(256));
        assert_eq!(specials.id("<|image|>"), 200_011);
        assert_eq!(specials.id("<none>"), 256);
        assert_eq!(specials.len(), 3);
        let ids = tokenizer
            .encode("a<|image|>", false)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(ids, vec![u32::from(b'a'), 200_011]);
        assert_eq!(tokenizer.decode(&ids, false).unwrap(), "a<|image|>");
    }

    #[test]
    fn learnt_merges_shorten_the_corpus_and_keep_every_text() {
        let corpus = || {
            [
                "Is this an FR-II radio galaxy?",
                "It is an FR-I radio galaxy.",
                "FR-II",
            ]
            .into_iter()
            .cycle()
            .take(30)
            .map(String::from)
        };
        let merges = learn_merges(corpus(), 40).unwrap();
        assert!(!merges.is_empty() && merges.len() <= 40, "{merges:?}");
        assert_eq!(merges, learn_merges(corpus(), 40).unwrap());
        let specials = Specials::after_bytes(&["<|im_start|>", "<image>"]);
        let json = tokenizer_json(&specials, &merges).to_string();
        let tokenizer = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
        assert_eq!(tokenizer.get_vocab_size(true), 258 + merges.len());
        let (a, b) = &merges[0];
        assert_eq!(tokenizer.token_to_id(&format!("{a}{b}")), Some(258));
        let (mut bytes, mut tokens) = (0, 0);
        for text in corpus().take(3).chain(["<image> ✓ unseen".to_string()]) {
            let ids = tokenizer
                .encode(text.as_str(), false)
                .unwrap()
                .get_ids()
                .to_vec();
            assert_eq!(tokenizer.decode(&ids, false).unwrap(), text);
            if !text.contains('✓') {
                (bytes, tokens) = (bytes + text.len(), tokens + ids.len());
            }
        }
        assert!(tokens * 2 < bytes, "{tokens} tokens for {bytes} bytes");
        let image = tokenizer.encode("a <image>", false).unwrap();
        assert_eq!(image.get_ids().last(), Some(&257));
    }
}
