//! A byte-level BPE tokenizer in the Hugging Face `tokenizer.json` layout: byte b is token b
//! (GPT-2's byte-to-unicode alphabet), no merges, and the architecture's special tokens from
//! id 256 on (or from the id a family's code expects them at). Any text round-trips, which is all a random-weight model needs.

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

/// `specials[i]` gets id `first_id` + i. The specials are in the model's vocabulary too:
/// `tokenizers` gives an added token the id the vocabulary has for it, whatever the gap.
pub fn tokenizer_json(specials: &[&str], first_id: u32) -> Value {
    let vocab: serde_json::Map<String, Value> = (0..=255u8)
        .map(|b| (byte_to_char(b).to_string(), json!(b as u32)))
        .chain(
            specials
                .iter()
                .enumerate()
                .map(|(i, s)| (s.to_string(), json!(first_id + i as u32))),
        )
        .collect();
    let added: Vec<Value> = specials
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "id": first_id + i as u32, "content": s, "single_word": false,
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
            "ignore_merges": false, "vocab": vocab, "merges": []
        }
    })
}

/// The vocabulary size a config should declare: bytes plus specials, rounded up to 16 as
/// real checkpoints pad their embedding matrices.
pub fn padded_vocab(specials: usize) -> usize {
    (256 + specials).div_ceil(16) * 16
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
        let json = tokenizer_json(&["<|im_start|>", "<image>"], FIRST_SPECIAL_ID).to_string();
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
        let json = tokenizer_json(&["<|endoftext|>", "<|image|>"], 200_010).to_string();
        let tokenizer = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
        assert_eq!(tokenizer.token_to_id("<|image|>"), Some(200_011));
        let ids = tokenizer
            .encode("a<|image|>", false)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(ids, vec![u32::from(b'a'), 200_011]);
        assert_eq!(tokenizer.decode(&ids, false).unwrap(), "a<|image|>");
    }
}
