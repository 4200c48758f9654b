//! Scaled dot-product attention, `softmax(q kᵀ · scale [+ causal mask]) v`, for both towers.
//!
//! On the CPU in f32 it is a blocked kernel written here over the `gemm` crate (the one candle
//! itself calls): each task takes one query head's block of queries, multiplies it by the keys
//! it may see into a scratch block that stays in cache, applies the softmax in place and
//! multiplies by the values straight into the output rows. Tasks run on every core; each GEMM
//! runs on one. Against candle's batched matmul + softmax this never builds the full
//! `[heads, queries, keys]` score tensor, skips the masked half of a causal prefill's two
//! GEMMs (computes only the keys each block sees), reads `q`, `k` and `v` through their
//! strides (no transposing copies) and writes `[batch, queries, heads · dim]`, the layout the
//! output projection reads (no copy back). Measured at llava-onevision-qwen2-0.5b-ov's
//! dimensions on 2 cores (perf/RESULTS.md): SigLIP's attention over two tiles 85 → 35 ms
//! per layer, Qwen2's over a 1,544-token prompt 2.9 → 0.85 s in all 24 layers. Off the CPU
//! (CUDA) or off f32 it is candle's ops.
//!
//! The softmax is in f32 whatever the model's dtype, as transformers' eager attention upcasts
//! it; grouped-query heads read key/value head `h / (heads / kv_heads)`, as `repeat_kv` lays
//! them out.

use super::vector_math;
use candle_core::{CpuStorage, DType, Device, Result, Storage, Tensor};
use rayon::prelude::*;

/// Queries per task: the scratch block (`QUERY_BLOCK × keys` f32) stays in L2 for prompts
/// of a few thousand tokens, and a block's GEMMs are still large enough to run near peak.
const QUERY_BLOCK: usize = 128;

/// `q` `[batch, heads, queries, dim]`, `k` and `v` `[batch, kv_heads, keys, dim]` →
/// `[batch, queries, heads · dim]`. `causal_past`: each query sees the `causal_past` cached
/// keys and the new ones up to itself (queries are the last `queries` of the keys).
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, causal_past: Option<usize>) -> Result<Tensor> {
    let shape = Shape::of(q, k, v, causal_past)?;
    let on_cpu_f32 = [q, k, v]
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32);
    if !on_cpu_f32 {
        return composite(&shape, q, k, v);
    }
    let out = {
        let (q, k, v) = (Strided::of(q)?, Strided::of(k)?, Strided::of(v)?);
        blocked(&shape, &q.view(), &k.view(), &v.view())
    };
    let (batch, queries, width) = (shape.batch, shape.queries, shape.heads * shape.dim);
    Tensor::from_vec(out, (batch, queries, width), &Device::Cpu)
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    batch: usize,
    heads: usize,
    kv_heads: usize,
    queries: usize,
    keys: usize,
    dim: usize,
    causal_past: Option<usize>,
}

impl Shape {
    /// The dimensions of `q`, `k` and `v`, checked against each other.
    fn of(q: &Tensor, k: &Tensor, v: &Tensor, causal_past: Option<usize>) -> Result<Shape> {
        let (batch, heads, queries, dim) = q.dims4()?;
        let (k_batch, kv_heads, keys, k_dim) = k.dims4()?;
        if k_batch != batch || k_dim != dim || v.dims4()? != k.dims4()? {
            return Err(candle_core::Error::Msg(format!(
                "attention over q {:?}, k {:?}, v {:?}",
                q.dims(),
                k.dims(),
                v.dims()
            )));
        }
        if kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(candle_core::Error::Msg(format!(
                "{heads} query heads over {kv_heads} key/value heads"
            )));
        }
        if keys == 0 || queries > keys {
            return Err(candle_core::Error::Msg(format!(
                "{queries} queries over {keys} keys"
            )));
        }
        Ok(Shape {
            batch,
            heads,
            kv_heads,
            queries,
            keys,
            dim,
            causal_past,
        })
    }

    /// How many keys query `i` (of the new ones) sees.
    fn visible(&self, query: usize) -> usize {
        self.causal_past
            .map_or(self.keys, |past| (past + query + 1).min(self.keys))
    }
}

/// A CPU f32 tensor's storage held for reading, with its layout.
struct Strided<'a> {
    storage: std::sync::RwLockReadGuard<'a, Storage>,
    offset: usize,
    /// Element strides of the four axes.
    strides: [usize; 4],
}

impl<'a> Strided<'a> {
    fn of(t: &'a Tensor) -> Result<Strided<'a>> {
        let (storage, layout) = t.storage_and_layout();
        let strides: [usize; 4] = layout
            .stride()
            .try_into()
            .map_err(|_| candle_core::Error::Msg("attention takes 4-D tensors".into()))?;
        Ok(Strided {
            offset: layout.start_offset(),
            strides,
            storage,
        })
    }

    fn view(&self) -> View<'_> {
        let data: &[f32] = match &*self.storage {
            Storage::Cpu(CpuStorage::F32(data)) => data,
            // `attention` only comes here for CPU f32 tensors.
            _ => &[],
        };
        View {
            data,
            offset: self.offset,
            strides: self.strides,
        }
    }
}

#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    offset: usize,
    strides: [usize; 4],
}

impl View<'_> {
    /// Pointer to element `[b, h, row, 0]`. Every element a GEMM reads from it lies in
    /// `data`: candle's layout of the tensor guarantees it.
    fn at(&self, b: usize, h: usize, row: usize) -> *const f32 {
        let [sb, sh, sr, _] = self.strides;
        self.data[self.offset + b * sb + h * sh + row * sr..].as_ptr()
    }
}

/// One task's rows: a block of one head's queries, or (decoding, one query) every query head
/// sharing a key/value head, so the scores are one GEMM either way.
#[derive(Debug, Clone, Copy)]
struct Task {
    batch: usize,
    first_head: usize,
    heads: usize,
    first_query: usize,
    queries: usize,
}

fn tasks(s: &Shape) -> Vec<Task> {
    let groups = s.heads / s.kv_heads;
    let mut tasks = Vec::new();
    for batch in 0..s.batch {
        if s.queries == 1 {
            for kv in 0..s.kv_heads {
                tasks.push(Task {
                    batch,
                    first_head: kv * groups,
                    heads: groups,
                    first_query: 0,
                    queries: 1,
                });
            }
            continue;
        }
        for head in 0..s.heads {
            for first_query in (0..s.queries).step_by(QUERY_BLOCK) {
                tasks.push(Task {
                    batch,
                    first_head: head,
                    heads: 1,
                    first_query,
                    queries: QUERY_BLOCK.min(s.queries - first_query),
                });
            }
        }
    }
    tasks
}

/// The output's base pointer, shared by tasks that write disjoint elements of it.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: every task writes only its own (query, head) rows of the output (see `run_task`),
// and the buffer outlives the parallel loop.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

fn blocked(s: &Shape, q: &View, k: &View, v: &View) -> Vec<f32> {
    let mut out = vec![0.0f32; s.batch * s.queries * s.heads * s.dim];
    let base = OutPtr(out.as_mut_ptr());
    let tasks = tasks(s);
    tasks.par_iter().for_each_init(Vec::new, |scratch, task| {
        // SAFETY: see `OutPtr`; `run_task` stays inside the output's bounds.
        unsafe { run_task(s, task, q, k, v, base, scratch) }
    });
    out
}

/// # Safety
/// `out` points at a `[batch, queries, heads, dim]` f32 buffer no other task writes the
/// `task`'s rows of.
unsafe fn run_task(
    s: &Shape,
    task: &Task,
    q: &View,
    k: &View,
    v: &View,
    out: OutPtr,
    scratch: &mut Vec<f32>,
) {
    let groups = s.heads / s.kv_heads;
    let kv = task.first_head / groups;
    let last_query = task.first_query + task.queries - 1;
    let width = s.visible(last_query);
    let rows = task.heads * task.queries;
    // The GEMM overwrites every score (it does not read them): grow the scratch, never clear.
    if scratch.len() < rows * width {
        scratch.resize(rows * width, 0.0);
    }
    let scratch = &mut scratch[..rows * width];
    // Consecutive rows are consecutive queries of one head, or (one query) consecutive heads.
    let q_row_stride = match task.queries {
        1 => q.strides[1],
        _ => q.strides[2],
    };
    let out_row_stride = match task.queries {
        1 => s.dim,
        _ => s.heads * s.dim,
    };
    let scale = 1.0 / (s.dim as f32).sqrt();
    // SAFETY: the operands are inside the tensors' storage (`View::at`), the scratch block
    // is `rows × width`, and the output rows are this task's.
    unsafe {
        gemm::gemm(
            rows,
            width,
            s.dim,
            scratch.as_mut_ptr(),
            1,
            width as isize,
            false,
            q.at(task.batch, task.first_head, task.first_query),
            q.strides[3] as isize,
            q_row_stride as isize,
            k.at(task.batch, kv, 0),
            k.strides[2] as isize,
            k.strides[3] as isize,
            0.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    for (r, row) in scratch.chunks_mut(width).enumerate() {
        let query = match task.queries {
            1 => task.first_query,
            _ => task.first_query + r,
        };
        softmax_visible(row, s.visible(query));
    }
    let out_offset =
        ((task.batch * s.queries + task.first_query) * s.heads + task.first_head) * s.dim;
    unsafe {
        gemm::gemm(
            rows,
            s.dim,
            width,
            out.0.add(out_offset),
            1,
            out_row_stride as isize,
            false,
            scratch.as_ptr(),
            1,
            width as isize,
            v.at(task.batch, kv, 0),
            v.strides[3] as isize,
            v.strides[2] as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Softmax of the first `visible` scores of `row`; the rest get probability 0, as an additive
/// −∞ mask gives.
fn softmax_visible(row: &mut [f32], visible: usize) {
    let (seen, hidden) = row.split_at_mut(visible.min(row.len()));
    let max = vector_math::max(seen);
    seen.iter_mut()
        .for_each(|x| *x = vector_math::exp(*x - max));
    let inverse = 1.0 / vector_math::sum(seen);
    seen.iter_mut().for_each(|x| *x *= inverse);
    hidden.fill(0.0);
}

/// candle's ops (what CUDA and non-f32 run): grouped heads as one matrix per key/value head,
/// the mask as an additive −∞ tensor, the softmax in f32.
fn composite(shape: &Shape, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
    let (batch, heads, queries, keys, dim) = (
        shape.batch,
        shape.heads,
        shape.queries,
        shape.keys,
        shape.dim,
    );
    let kv_heads = shape.kv_heads;
    let groups = heads / kv_heads;
    let blocks = batch * kv_heads;
    let q = q.contiguous()?.reshape((blocks, groups * queries, dim))?;
    let k = k.contiguous()?.reshape((blocks, keys, dim))?;
    let v = v.contiguous()?.reshape((blocks, keys, dim))?;
    let scores = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / (dim as f64).sqrt()))?;
    let scores = match shape.causal_past {
        Some(_) => {
            let mask: Vec<f32> = (0..groups * queries)
                .flat_map(|r| {
                    let visible = shape.visible(r % queries);
                    (0..keys).map(move |j| if j < visible { 0.0 } else { f32::NEG_INFINITY })
                })
                .collect();
            let mask = Tensor::from_vec(mask, (groups * queries, keys), &Device::Cpu)?
                .to_dtype(scores.dtype())?
                .to_device(scores.device())?;
            scores.broadcast_add(&mask)?
        }
        None => scores,
    };
    let dtype = scores.dtype();
    candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?
        .to_dtype(dtype)?
        .matmul(&v)?
        .reshape((batch, heads, queries, dim))?
        .transpose(1, 2)?
        .reshape((batch, queries, heads * dim))
}

#[cfg(test)]
#[path = "attention_tests.rs"]
mod tests;
