//! Content hashes and stable seeds: the same bytes or words give the same value on every
//! machine and run.

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A 64-bit value drawn from `seed` and `words` (SHA-256 of both, its first eight bytes): the
/// same on every machine, independent of word boundaries ("ab","c" ≠ "a","bc").
pub fn stable_u64(seed: u64, words: &[&str]) -> u64 {
    let digest = Sha256::digest(format!("{seed}\u{1f}{}", words.join("\u{1f}")).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_seeds_are_stable() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(stable_u64(1, &["a", "b"]), stable_u64(1, &["a", "b"]));
        assert_ne!(stable_u64(1, &["ab", "c"]), stable_u64(1, &["a", "bc"]));
        assert_ne!(stable_u64(1, &["a"]), stable_u64(2, &["a"]));
    }
}
