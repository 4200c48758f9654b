//! The checkpoint's tensors: one `model.safetensors`, or shards listed by
//! `model.safetensors.index.json`, memory-mapped. Every tensor is checked against the shape
//! the config implies before it is used, so a checkpoint that disagrees with its config.json
//! fails at load with the tensor's file and both shapes, not mid-answer.

use candle_core::safetensors::{Load, MmapedSafetensors};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What is wrong with the weights, naming the file.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}: {problem}")]
pub struct WeightError {
    pub path: PathBuf,
    pub problem: String,
}

pub struct Checkpoint {
    tensors: MmapedSafetensors,
    /// Which file holds each tensor (for messages).
    files: HashMap<String, PathBuf>,
    dir: PathBuf,
    pub device: Device,
    pub dtype: DType,
    /// Check names and shapes only, handing out placeholders (`model check`).
    shapes_only: bool,
}

impl Checkpoint {
    pub fn open(dir: &Path, device: Device, dtype: DType) -> Result<Checkpoint, WeightError> {
        let index = dir.join("model.safetensors.index.json");
        let paths: Vec<PathBuf> = if index.is_file() {
            let fail = |problem: String| WeightError {
                path: index.clone(),
                problem,
            };
            let text =
                std::fs::read_to_string(&index).map_err(|e| fail(format!("cannot read: {e}")))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
            let map = json["weight_map"]
                .as_object()
                .ok_or_else(|| fail("no \"weight_map\" object".into()))?;
            let mut shards: Vec<String> = map
                .values()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| fail("a weight_map entry is not a file name".into()))
                })
                .collect::<Result<_, _>>()?;
            shards.sort();
            shards.dedup();
            let mut paths = Vec::new();
            for shard in shards {
                if shard.contains('/') || shard.starts_with('.') {
                    return Err(fail(format!("shard \"{shard}\" is not a file name")));
                }
                let path = dir.join(&shard);
                if !path.is_file() {
                    return Err(fail(format!("names shard {shard}, which is missing")));
                }
                paths.push(path);
            }
            paths
        } else {
            let single = dir.join("model.safetensors");
            if !single.is_file() {
                return Err(WeightError {
                    path: single,
                    problem: "missing (and no model.safetensors.index.json)".into(),
                });
            }
            vec![single]
        };
        for path in &paths {
            crate::engine::model_dir::check_safetensors(path).map_err(|e| WeightError {
                path: path.clone(),
                problem: e.to_string(),
            })?;
        }
        // SAFETY: the files are mapped read-only; a file changed under a running model is the
        // one case this cannot guard, as with every mmap-based loader (transformers' included).
        let tensors = unsafe { MmapedSafetensors::multi(&paths) }.map_err(|e| WeightError {
            path: dir.to_path_buf(),
            problem: format!("cannot map the weights: {e}"),
        })?;
        let mut files = HashMap::new();
        for path in &paths {
            // SAFETY: as above.
            if let Ok(one) = unsafe { MmapedSafetensors::new(path) } {
                for (name, _) in one.tensors() {
                    files.insert(name, path.clone());
                }
            }
        }
        Ok(Checkpoint {
            tensors,
            files,
            dir: dir.to_path_buf(),
            device,
            dtype,
            shapes_only: false,
        })
    }

    /// A checkpoint whose [`Checkpoint::get`] checks each tensor's name and shape and returns
    /// a scalar placeholder: building a model from it proves the weights fit the config
    /// without reading them.
    pub fn open_shapes_only(dir: &Path) -> Result<Checkpoint, WeightError> {
        let mut ck = Checkpoint::open(dir, Device::Cpu, DType::F32)?;
        ck.shapes_only = true;
        Ok(ck)
    }

    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The first of `prefixes` under which `probe` exists (checkpoints name the same modules
    /// differently across transformers versions).
    pub fn prefix<'a>(&self, prefixes: &[&'a str], probe: &str) -> Option<&'a str> {
        prefixes
            .iter()
            .copied()
            .find(|p| self.has(&format!("{p}{probe}")))
    }

    /// `name`, which must have `shape`, in the model's dtype on its device.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, WeightError> {
        let Some(path) = self.files.get(name) else {
            return Err(WeightError {
                path: self.dir.clone(),
                problem: format!("the weights have no tensor {name}"),
            });
        };
        let fail = |problem: String| WeightError {
            path: path.clone(),
            problem,
        };
        let view = self
            .tensors
            .get(name)
            .map_err(|e| fail(format!("{name}: {e}")))?;
        if view.shape() != shape {
            return Err(fail(format!(
                "{name} has shape {:?}, but config.json implies {shape:?}",
                view.shape()
            )));
        }
        if self.shapes_only {
            return Tensor::zeros((), self.dtype, &self.device)
                .map_err(|e| fail(format!("{name}: {e}")));
        }
        let tensor = view
            .load(&self.device)
            .and_then(|t| t.to_dtype(self.dtype))
            .map_err(|e| fail(format!("{name}: {e}")))?;
        release_pages(view.data());
        Ok(tensor)
    }
}

/// Drop the mapped file pages of a tensor already copied out from this process's resident
/// set. They stay in the page cache (clean, and read again if touched), but a mapping keeps
/// every page it has read counted in the loader's RSS until the whole file is unmapped: a 7B
/// checkpoint's 16 GB of bf16 shards on top of its 13 GB of converted weights, on a node
/// with 24. Only whole pages inside the tensor's bytes are released; a page it shares with
/// a neighbour stays.
fn release_pages(bytes: &[u8]) {
    // SAFETY: sysconf has no preconditions.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => return,
    };
    let start = (bytes.as_ptr() as usize).next_multiple_of(page);
    let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
    if end > start {
        // SAFETY: the range lies inside a read-only private file mapping that stays mapped;
        // MADV_DONTNEED on it only unmaps pages, which the next read faults back in from the
        // file unchanged. A failure leaves the pages mapped, which is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}
