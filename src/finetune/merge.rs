//! LoRA adapters merged into base weights (W += scale · B·A per target module), because
//! mistral.rs 0.8.1 cannot apply LoRA to vision models. Reads a PEFT adapter directory
//! (`adapter_config.json`, `adapter_model.safetensors`) and a Hugging Face model directory;
//! writes a model directory the engine loads: the same shards with merged tensors in their own
//! dtype, and every other file of the base copied.

use super::merge_names::{carries_static_adapter, module_name};
use crate::util::error::FileError;
use half::{bf16, f16};
use rayon::prelude::*;
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The base fingerprint an adapter trained by radiochat records (`base.sha256` beside it).
pub const BASE_HASH_FILE: &str = "base.sha256";

#[derive(Debug, Deserialize)]
struct AdapterConfig {
    #[serde(default)]
    peft_type: Option<String>,
    r: usize,
    lora_alpha: f64,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    use_dora: bool,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    rank_pattern: HashMap<String, usize>,
    #[serde(default)]
    alpha_pattern: HashMap<String, f64>,
    #[serde(default)]
    base_model_name_or_path: Option<String>,
}

/// One low-rank update: B (out × r) and A (r × in), both as f32.
struct Update {
    a: Vec<f32>,
    b: Vec<f32>,
    rank: usize,
    scale: f32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Merged {
    pub out: PathBuf,
    /// Tensors changed by a low-rank update.
    pub merged: usize,
    /// Tensors replaced whole (modules_to_save, trained biases).
    pub replaced: usize,
}

/// The base model directory an adapter names, if it is a local directory.
pub fn adapter_base(adapter: &Path) -> Option<PathBuf> {
    let config = read_config(adapter).ok()?;
    let base = PathBuf::from(config.base_model_name_or_path?);
    base.join("config.json").is_file().then_some(base)
}

/// A hash of the base model's config and weights, so an adapter is merged only into the
/// base it was trained on.
pub fn base_fingerprint(base: &Path) -> Result<String, FileError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for path in std::iter::once(base.join("config.json")).chain(weight_files(base)?) {
        let mut file = std::fs::File::open(&path).map_err(FileError::io(&path))?;
        std::io::copy(&mut file, &mut hasher).map_err(FileError::io(&path))?;
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

pub fn merge(base: &Path, adapter: &Path, out: &Path) -> Result<Merged, FileError> {
    if out.exists() {
        return Err(FileError::invalid(format!(
            "{}: exists; choose another --out",
            out.display()
        )));
    }
    let config = read_config(adapter)?;
    if config.peft_type.as_deref().is_some_and(|t| t != "LORA") {
        return Err(FileError::invalid(format!(
            "{}: a {} adapter; only LoRA adapters can be merged",
            adapter.display(),
            config.peft_type.unwrap_or_default()
        )));
    }
    if config.use_dora || config.fan_in_fan_out {
        return Err(FileError::invalid(format!(
            "{}: DoRA and fan_in_fan_out (Conv1D) adapters cannot be merged here",
            adapter.display()
        )));
    }
    if !base.join("config.json").is_file() {
        return Err(FileError::invalid(format!(
            "{}: not a model directory (no config.json)",
            base.display()
        )));
    }
    check_base_hash(base, adapter)?;
    let adapter_file = adapter.join("adapter_model.safetensors");
    let adapter_bytes = read(&adapter_file)?;
    let tensors =
        SafeTensors::deserialize(&adapter_bytes).map_err(FileError::unreadable(&adapter_file))?;
    let (updates, replacements) = read_adapter(&tensors, &config, &adapter_file)?;
    let staging = out.with_file_name(format!(
        ".{}.partial-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("merged"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(FileError::io(&staging))?;
    let result = write_merged(base, &staging, &updates, &replacements);
    match result {
        Ok((merged, replaced)) => {
            std::fs::rename(&staging, out).map_err(FileError::io(out))?;
            Ok(Merged {
                out: out.to_path_buf(),
                merged,
                replaced,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(FileError::io(path))
}

fn read_config(adapter: &Path) -> Result<AdapterConfig, FileError> {
    let path = adapter.join("adapter_config.json");
    let bytes = read(&path)
        .map_err(|e| FileError::invalid(format!("{e} (not a PEFT adapter directory?)")))?;
    serde_json::from_slice(&bytes).map_err(FileError::unreadable(&path))
}

fn check_base_hash(base: &Path, adapter: &Path) -> Result<(), FileError> {
    let Ok(recorded) = std::fs::read_to_string(adapter.join(BASE_HASH_FILE)) else {
        return Ok(());
    };
    if base_fingerprint(base)? != recorded.trim() {
        return Err(FileError::invalid(format!(
            "{}: the adapter was trained on another base than {} (base hash differs)",
            adapter.display(),
            base.display()
        )));
    }
    Ok(())
}

/// The model's safetensors files, sorted.
fn weight_files(base: &Path) -> Result<Vec<PathBuf>, FileError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(base)
        .map_err(FileError::io(base))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FileError::invalid(format!(
            "{}: no .safetensors weights",
            base.display()
        )));
    }
    Ok(files)
}

/// The base tensor name a PEFT key refers to.
fn base_name(key: &str) -> String {
    key.trim_start_matches("base_model.model.")
        .replace(".modules_to_save.default", "")
}

type Replacements = HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>;

fn read_adapter(
    tensors: &SafeTensors,
    config: &AdapterConfig,
    file: &Path,
) -> Result<(HashMap<String, Update>, Replacements), FileError> {
    let mut updates = HashMap::new();
    let mut replacements = HashMap::new();
    let bad = |e: String| FileError::Invalid(format!("{}: {e}", file.display()));
    for (key, view) in tensors.tensors() {
        if key.contains("lora_embedding") || key.contains("lora_magnitude") {
            return Err(bad(format!(
                "{key}: embedding and DoRA updates cannot be merged here"
            )));
        }
        if let Some(module) = key.strip_suffix(".lora_A.weight") {
            let b_key = format!("{module}.lora_B.weight");
            let b_view = tensors
                .tensor(&b_key)
                .map_err(|_| bad(format!("{key} has no matching {b_key}")))?;
            let (a_shape, b_shape) = (view.shape(), b_view.shape());
            if a_shape.len() != 2 || b_shape.len() != 2 || a_shape[0] != b_shape[1] {
                return Err(bad(format!(
                    "{module}: lora_A {a_shape:?} and lora_B {b_shape:?} are not a low-rank pair (convolution updates cannot be merged here)"
                )));
            }
            let rank = a_shape[0];
            let name = base_name(module);
            let short = name.rsplit('.').next().unwrap_or(&name).to_string();
            let alpha = pattern(&config.alpha_pattern, &name, &short).unwrap_or(config.lora_alpha);
            let r = pattern(&config.rank_pattern, &name, &short).unwrap_or(config.r);
            if r != rank {
                return Err(bad(format!(
                    "{module}: rank {rank} in the weights, {r} in the config"
                )));
            }
            let scale = if config.use_rslora {
                alpha / (rank as f64).sqrt()
            } else {
                alpha / rank as f64
            };
            updates.insert(
                format!("{name}.weight"),
                Update {
                    a: to_f32(&view)?,
                    b: to_f32(&b_view)?,
                    rank,
                    scale: scale as f32,
                },
            );
        } else if !key.ends_with(".lora_B.weight") {
            replacements.insert(
                base_name(&key),
                (view.dtype(), view.shape().to_vec(), view.data().to_vec()),
            );
        }
    }
    if updates.is_empty() && replacements.is_empty() {
        return Err(bad("no LoRA tensors in the adapter".into()));
    }
    Ok((updates, replacements))
}

/// PEFT's rank/alpha patterns: a key names a module by its full name or its last part.
fn pattern<T: Copy>(patterns: &HashMap<String, T>, name: &str, short: &str) -> Option<T> {
    patterns
        .iter()
        .find(|(k, _)| {
            k.as_str() == name || k.as_str() == short || name.ends_with(&format!(".{k}"))
        })
        .map(|(_, v)| *v)
}

/// Merge shard by shard into `staging`; copy every other file. Returns (merged, replaced).
fn write_merged(
    base: &Path,
    staging: &Path,
    updates: &HashMap<String, Update>,
    replacements: &Replacements,
) -> Result<(usize, usize), FileError> {
    let mut merged = 0;
    let mut replaced = 0;
    let mut found = std::collections::HashSet::new();
    for shard in weight_files(base)? {
        let bytes = read(&shard)?;
        let (_, header) =
            SafeTensors::read_metadata(&bytes).map_err(FileError::unreadable(&shard))?;
        let tensors = SafeTensors::deserialize(&bytes).map_err(FileError::unreadable(&shard))?;
        let mut owned: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> = BTreeMap::new();
        for (name, view) in tensors.tensors() {
            let key = module_name(&name, |n| {
                updates.contains_key(n) || replacements.contains_key(n)
            });
            if let Some((dtype, shape, data)) = replacements.get(&key) {
                if carries_static_adapter(&name) {
                    return Err(FileError::invalid(format!(
                        "the adapter replaces {key} whole, but the base's {name} carries a static adapter the engine adds on top: only low-rank updates merge into it"
                    )));
                }
                if shape.as_slice() != view.shape() {
                    return Err(FileError::invalid(format!(
                        "the adapter's {name} has shape {shape:?}, the base's {:?}",
                        view.shape()
                    )));
                }
                owned.insert(name.clone(), (*dtype, shape.clone(), data.clone()));
                found.insert(key);
                replaced += 1;
            } else if let Some(update) = updates.get(&key) {
                let data = apply(&name, &view, update)?;
                owned.insert(name.clone(), (view.dtype(), view.shape().to_vec(), data));
                found.insert(key);
                merged += 1;
            }
        }
        let views: Vec<(String, TensorView)> = tensors
            .tensors()
            .into_iter()
            .map(|(name, view)| match owned.get(&name) {
                Some((dtype, shape, data)) => TensorView::new(*dtype, shape.clone(), data)
                    .map(|v| (name, v))
                    .map_err(FileError::invalid),
                None => Ok((name, view)),
            })
            .collect::<Result<_, _>>()?;
        let target = staging.join(shard.file_name().unwrap_or_default());
        safetensors::serialize_to_file(views, header.metadata().clone(), &target)
            .map_err(|e| FileError::io(&target)(std::io::Error::other(e)))?;
    }
    let missing: Vec<&String> = updates
        .keys()
        .chain(replacements.keys())
        .filter(|k| !found.contains(*k))
        .collect();
    if let Some(first) = missing.first() {
        return Err(FileError::invalid(format!(
            "{}: the adapter changes {first} (and {} more), which this base does not have: not its base model",
            base.display(),
            missing.len() - 1
        )));
    }
    copy_other_files(base, staging)?;
    Ok((merged, replaced))
}

fn copy_other_files(base: &Path, staging: &Path) -> Result<(), FileError> {
    for entry in std::fs::read_dir(base).map_err(FileError::io(base))? {
        let path = entry.map_err(FileError::io(base))?.path();
        let is_weights = path.extension().is_some_and(|x| x == "safetensors");
        if path.is_file() && !is_weights {
            let target = staging.join(path.file_name().unwrap_or_default());
            std::fs::copy(&path, &target).map_err(FileError::io(&target))?;
        }
    }
    Ok(())
}

/// W + scale·B·A in W's dtype (computed in f32).
fn apply(name: &str, view: &TensorView, update: &Update) -> Result<Vec<u8>, FileError> {
    let shape = view.shape();
    let r = update.rank;
    let (rows, cols) = match shape {
        [rows, cols] => (*rows, *cols),
        _ => {
            return Err(FileError::invalid(format!(
                "{name}: shape {shape:?} is not a matrix"
            )));
        }
    };
    let (inputs, outputs) = (update.a.len() / r, update.b.len() / r);
    if (outputs, inputs) != (rows, cols) {
        return Err(FileError::invalid(format!(
            "{name}: the base has shape {shape:?}, the adapter's update {outputs}×{inputs}: not its base model"
        )));
    }
    let mut w = to_f32(view)?;
    let scaled_b: Vec<f32> = update.b.iter().map(|b| b * update.scale).collect();
    w.par_chunks_mut(cols).enumerate().for_each(|(o, row)| {
        for k in 0..r {
            let c = scaled_b[o * r + k];
            if c != 0.0 {
                let a = &update.a[k * cols..(k + 1) * cols];
                row.iter_mut().zip(a).for_each(|(x, y)| *x += c * y);
            }
        }
    });
    from_f32(&w, view.dtype(), name)
}

fn to_f32(view: &TensorView) -> Result<Vec<f32>, FileError> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(FileError::invalid(format!(
                "{other:?} tensors cannot be merged (F32, F16, BF16 only)"
            )));
        }
    })
}

fn from_f32(values: &[f32], dtype: Dtype, name: &str) -> Result<Vec<u8>, FileError> {
    Ok(match dtype {
        Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::BF16 => values
            .iter()
            .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
            .collect(),
        other => {
            return Err(FileError::invalid(format!(
                "{name}: {other:?} weights cannot be merged"
            )));
        }
    })
}
