//! Writing [`Weights`] as `transformers` does: one `model.safetensors`, or 5 GB shards with an
//! index, in f32 or bf16, each tensor generated as it is written.

use super::weights::{Fill, INIT_STD, Weights, standard_normal};
use anyhow::Context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

impl Weights {
    /// Write the tensors as `transformers` does: `model.safetensors`, or shards of at most
    /// [`SHARD_BYTES`] named `model-0000i-of-0000n.safetensors` with a
    /// `model.safetensors.index.json`. Values come from one seeded generator in declaration
    /// order, so the same seed gives the same bytes; each tensor is generated as it is written,
    /// so a 7B model never sits in memory.
    pub fn write_safetensors(&self, dir: &Path, seed: u64) -> anyhow::Result<()> {
        self.write_sharded(dir, seed, SHARD_BYTES)
    }

    fn write_sharded(&self, dir: &Path, seed: u64, shard_bytes: usize) -> anyhow::Result<()> {
        let elem = self.dtype.bytes();
        let sizes: Vec<usize> = self
            .tensors
            .iter()
            .map(|(_, shape, _)| shape.iter().product::<usize>() * elem)
            .collect();
        let shards = plan_shards(&sizes, shard_bytes);
        let file_name = |i: usize| match shards.len() {
            1 => "model.safetensors".to_string(),
            n => format!("model-{:05}-of-{n:05}.safetensors", i + 1),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut weight_map = BTreeMap::new();
        for (i, range) in shards.iter().enumerate() {
            let name = file_name(i);
            let path = dir.join(&name);
            self.write_shard(&path, range.clone(), &sizes, &mut rng)
                .with_context(|| format!("writing {}", path.display()))?;
            for (tensor, _, _) in &self.tensors[range.clone()] {
                weight_map.insert(tensor.clone(), name.clone());
            }
        }
        if shards.len() > 1 {
            let index = serde_json::json!({
                "metadata": {"total_size": sizes.iter().sum::<usize>()},
                "weight_map": weight_map,
            });
            let path = dir.join("model.safetensors.index.json");
            std::fs::write(&path, serde_json::to_string_pretty(&index)? + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }

    fn write_shard(
        &self,
        path: &Path,
        range: std::ops::Range<usize>,
        sizes: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<()> {
        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
        let mut offset = 0;
        for index in range.clone() {
            let (name, shape, _) = &self.tensors[index];
            header.insert(
                name.clone(),
                serde_json::json!({
                    "dtype": self.dtype.name(),
                    "shape": shape,
                    "data_offsets": [offset, offset + sizes[index]],
                }),
            );
            offset += sizes[index];
        }
        let mut header = serde_json::to_string(&header)?.into_bytes();
        // The format pads the header with spaces so the data starts 8-byte aligned.
        header.resize(header.len().next_multiple_of(8), b' ');
        let mut out = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(path)?);
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        let mut row = Vec::new();
        for (_, shape, fill) in &self.tensors[range] {
            let row_len = shape.last().copied().unwrap_or(1).max(1);
            let rows = shape.iter().product::<usize>() / row_len;
            for r in 0..rows {
                row.clear();
                for _ in 0..row_len {
                    let value = match fill {
                        Fill::Normal(std) => std * standard_normal(rng),
                        Fill::Ones => 1.0,
                        Fill::Zeros => 0.0,
                        Fill::PrintableHead => match r {
                            0x20..=0x7e => standard_normal(rng),
                            _ => 0.0,
                        },
                        Fill::PrintableEmbedding => match r {
                            0x20..=0x7e => standard_normal(rng),
                            _ => INIT_STD * standard_normal(rng),
                        },
                    };
                    self.dtype.extend(&mut row, value);
                }
                out.write_all(&row)?;
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    }
}

/// transformers' default `max_shard_size` ("5GB").
pub const SHARD_BYTES: usize = 5_000_000_000;

/// Consecutive runs of tensors, each at most `limit` bytes (a larger tensor gets its own).
fn plan_shards(sizes: &[usize], limit: usize) -> Vec<std::ops::Range<usize>> {
    let mut shards = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && bytes + size > limit {
            shards.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    shards.push(start..sizes.len());
    shards
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::tiny::weights::WeightDtype;

    fn sample(dtype: WeightDtype) -> Weights {
        let mut w = Weights {
            dtype,
            ..Weights::default()
        };
        w.linear("a", 4, 3, true);
        w.layer_norm("n", 3);
        w.output_head("head", 130, 2);
        w.matrix("b", &[5, 3]);
        w
    }

    fn read(path: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
        let bytes = std::fs::read(path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut tensors: Vec<_> = file
            .tensors()
            .into_iter()
            .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
            .collect();
        tensors.sort();
        tensors
    }

    #[test]
    fn shards_split_between_tensors_and_keep_a_large_tensor_whole() {
        assert_eq!(plan_shards(&[4, 4, 4], 100), vec![0..3]);
        assert_eq!(plan_shards(&[4, 4, 4], 8), vec![0..2, 2..3]);
        assert_eq!(plan_shards(&[20, 4, 4], 8), vec![0..1, 1..3]);
    }

    #[test]
    fn sharded_files_hold_the_bytes_of_the_single_file_with_an_index() {
        let one = tempfile::tempdir().unwrap();
        let many = tempfile::tempdir().unwrap();
        let w = sample(WeightDtype::F32);
        w.write_sharded(one.path(), 7, SHARD_BYTES).unwrap();
        w.write_sharded(many.path(), 7, 1100).unwrap();
        let index: serde_json::Value = serde_json::from_slice(
            &std::fs::read(many.path().join("model.safetensors.index.json")).unwrap(),
        )
        .unwrap();
        let files: std::collections::BTreeSet<&str> = index["weight_map"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(files.len(), 2, "{index}");
        assert_eq!(
            index["metadata"]["total_size"].as_u64(),
            Some(w.parameter_count() as u64 * 4)
        );
        let mut sharded: Vec<_> = files
            .iter()
            .flat_map(|f| read(&many.path().join(f)))
            .collect();
        sharded.sort();
        assert_eq!(sharded, read(&one.path().join("model.safetensors")));
        assert!(!one.path().join("model.safetensors.index.json").exists());
    }

    #[test]
    fn bf16_weights_are_the_f32_values_rounded() {
        let f32_dir = tempfile::tempdir().unwrap();
        let bf16_dir = tempfile::tempdir().unwrap();
        sample(WeightDtype::F32)
            .write_safetensors(f32_dir.path(), 3)
            .unwrap();
        sample(WeightDtype::Bf16)
            .write_safetensors(bf16_dir.path(), 3)
            .unwrap();
        let wide = read(&f32_dir.path().join("model.safetensors"));
        let narrow = read(&bf16_dir.path().join("model.safetensors"));
        assert_eq!(wide.len(), narrow.len());
        for ((name, shape, f), (_, bf_shape, b)) in wide.iter().zip(&narrow) {
            assert_eq!(shape, bf_shape, "{name}");
            let rounded: Vec<u8> = f
                .chunks_exact(4)
                .flat_map(|c| {
                    let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    half::bf16::from_f32(v).to_le_bytes()
                })
                .collect();
            assert_eq!(&rounded, b, "{name}");
        }
    }
}
