//! The decode roofline: a decoded token reads every weight of the language model once, so
//! memory bandwidth / bytes of weights per token bounds decode tokens per second on a CPU.
//! Bandwidth is measured here (a STREAM-like copy on all cores); bytes come from the model's
//! safetensors headers.

use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

/// Best copy bandwidth over `runs` of a `mib` MiB buffer, in GB/s (bytes read + written).
pub fn copy_bandwidth_gbs(mib: usize, runs: usize) -> f64 {
    let n = mib * (1 << 20) / 4;
    let src: Vec<f32> = (0..n).into_par_iter().map(|i| i as f32).collect();
    let mut dst = vec![0f32; n];
    let chunk = (n / rayon::current_num_threads().max(1) / 4).max(1 << 16);
    let mut best = f64::MAX;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, s)| d.copy_from_slice(s));
        best = best.min(started.elapsed().as_secs_f64());
    }
    std::hint::black_box(&dst);
    (2 * n * 4) as f64 / best / 1e9
}

/// Parameters of a model directory's safetensors, split by what a decoded token reads.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WeightCount {
    /// Language-model matrices read once per decoded token (lm_head included; a tied head
    /// counts the embedding matrix once as the head).
    pub decode_params: u64,
    /// The token embedding table: one row read per token, not counted.
    pub embedding_params: u64,
    /// Vision tower and projector: read at prefill only.
    pub vision_params: u64,
}

/// Count the parameters in DIR's `*.safetensors` headers (no weights read).
pub fn count_weights(dir: &Path) -> Result<WeightCount, String> {
    let mut count = WeightCount::default();
    let mut has_head = false;
    let mut head_if_tied = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "safetensors") {
            continue;
        }
        for (name, params) in tensor_sizes(&path)? {
            let lower = name.to_ascii_lowercase();
            if [
                "vision",
                "visual",
                "connector",
                "projector",
                "image_newline",
                "patch_embed",
            ]
            .iter()
            .any(|k| lower.contains(k))
            {
                count.vision_params += params;
            } else if lower.contains("embed_tokens") {
                // Gemma's per-layer input table (`embed_tokens_per_layer`) is read a row per
                // token too, but is never the output head.
                if lower.ends_with("embed_tokens.weight") {
                    head_if_tied += params;
                }
                count.embedding_params += params;
            } else {
                has_head |= lower.contains("lm_head");
                count.decode_params += params;
            }
        }
    }
    if !has_head {
        count.decode_params += head_if_tied;
    }
    Ok(count)
}

fn tensor_sizes(path: &Path) -> Result<Vec<(String, u64)>, String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let len = u64::from_le_bytes(len);
    if len > 100 << 20 {
        return Err(format!("{}: header of {len} bytes", path.display()));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (name, info) in header.as_object().into_iter().flatten() {
        if name == "__metadata__" {
            continue;
        }
        let shape = info["shape"].as_array().cloned().unwrap_or_default();
        let params = shape.iter().filter_map(|d| d.as_u64()).product::<u64>();
        out.push((name.clone(), params));
    }
    Ok(out)
}

/// Bytes per weight as the engine stores them: f32, bf16, or an ISQ block format (GGML
/// blocks: q8_0 is 34 bytes per 32 weights, q4k 144 per 256).
pub fn bytes_per_weight(dtype: &str, isq: Option<&str>) -> f64 {
    match isq {
        Some("q8_0") => 34.0 / 32.0,
        Some("q4k") => 144.0 / 256.0,
        Some("q4_0") => 18.0 / 32.0,
        Some("q6k") => 210.0 / 256.0,
        Some(_) => 1.0,
        None if dtype.starts_with("f32") => 4.0,
        None => 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_split_into_decode_embedding_and_vision() {
        let dir = tempfile::tempdir().unwrap();
        let header = serde_json::json!({
            "__metadata__": {"format": "pt"},
            "model.text_model.embed_tokens.weight": {"dtype": "F32", "shape": [100, 8], "data_offsets": [0, 0]},
            "model.text_model.layers.0.mlp.up_proj.weight": {"dtype": "F32", "shape": [16, 8], "data_offsets": [0, 0]},
            "model.vision_model.encoder.layers.0.fc1.weight": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 0]},
            "model.connector.modality_projection.proj.weight": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 0]},
            "model.text_model.embed_tokens_per_layer.weight": {"dtype": "F32", "shape": [100, 4], "data_offsets": [0, 0]},
        })
        .to_string();
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        std::fs::write(dir.path().join("model.safetensors"), bytes).unwrap();
        let count = count_weights(dir.path()).unwrap();
        // No lm_head: tied to the embedding, which is then read whole per token; the
        // per-layer input table is not a head.
        assert_eq!(count.decode_params, 128 + 800);
        assert_eq!(count.embedding_params, 800 + 400);
        assert_eq!(count.vision_params, 16 + 8);
    }

    /// The best of `runs` plain one-thread copies of the same buffer size, GB/s (read + write).
    fn one_thread_copy_gbs(mib: usize, runs: usize) -> f64 {
        let n = mib * (1 << 20) / 4;
        let src: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut dst = vec![0f32; n];
        let mut best = f64::MAX;
        for _ in 0..runs {
            let started = Instant::now();
            dst.copy_from_slice(std::hint::black_box(&src));
            best = best.min(started.elapsed().as_secs_f64());
        }
        std::hint::black_box(&dst);
        (2 * n * 4) as f64 / best / 1e9
    }

    #[test]
    fn all_core_copy_bandwidth_agrees_with_a_one_thread_copy() {
        let (mib, runs) = (64, 5);
        let all = copy_bandwidth_gbs(mib, runs);
        let one = one_thread_copy_gbs(mib, runs);
        let threads = rayon::current_num_threads() as f64;
        // Wide bounds for a shared machine; a unit slip (bytes, milli- or nanoseconds) lands
        // far outside.
        assert!(
            all >= 0.25 * one && all <= 4.0 * threads * one,
            "all cores {all:.1} GB/s, one thread {one:.1} GB/s, {threads} threads"
        );
    }
}
