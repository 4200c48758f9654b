use super::super::test_tensors::{max_abs_diff, random};
use super::*;

/// The composite path in f64 (candle's ops, as CUDA runs them) is the reference.
fn reference(q: &Tensor, k: &Tensor, v: &Tensor, causal_past: Option<usize>) -> Tensor {
    let wide = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
    let (q, k, v) = (wide(q), wide(k), wide(v));
    let shape = Shape::of(&q, &k, &v, causal_past).unwrap();
    composite(&shape, &q, &k, &v)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
}

fn check(q: &Tensor, k: &Tensor, v: &Tensor, causal_past: Option<usize>) {
    let blocked = attention(q, k, v, causal_past).unwrap();
    let expected = reference(q, k, v, causal_past);
    assert_eq!(blocked.dims(), expected.dims());
    let diff = max_abs_diff(&blocked, &expected);
    assert!(diff < 1e-5, "{:?} {causal_past:?}: {diff}", q.dims());
}

#[test]
fn unmasked_attention_over_strided_heads_equals_candles_ops() {
    // SigLIP's layout: [tiles, tokens, heads · dim] viewed as [tiles, heads, tokens, dim]
    // without a copy; more tokens than one query block and not a multiple of it.
    let split = |t: Tensor| t.reshape((2, 150, 3, 8)).unwrap().transpose(1, 2).unwrap();
    let (q, k, v) = (
        split(random(&[2, 150, 24], 1)),
        split(random(&[2, 150, 24], 2)),
        split(random(&[2, 150, 24], 3)),
    );
    assert!(!q.is_contiguous());
    check(&q, &k, &v, None);
}

/// Random q `q_shape`, k and v `kv_shape` (seeds `seed`, `seed + 1`, `seed + 2`), checked.
fn check_random(q_shape: [usize; 4], kv_shape: [usize; 4], causal_past: Option<usize>, seed: u64) {
    let (q, k, v) = (
        random(&q_shape, seed),
        random(&kv_shape, seed + 1),
        random(&kv_shape, seed + 2),
    );
    check(&q, &k, &v, causal_past);
}

#[test]
fn causal_grouped_prefill_equals_candles_ops() {
    // Four query heads over two key/value heads; a whole prompt, then a follow-up of 67 new
    // tokens after 5 cached ones.
    check_random([1, 4, 130, 16], [1, 2, 130, 16], Some(0), 4);
    check_random([1, 4, 67, 16], [1, 2, 72, 16], Some(5), 7);
}

#[test]
fn a_decode_step_equals_candles_ops() {
    // One new token: each key/value head's query heads are one task.
    check_random([1, 6, 1, 16], [1, 2, 9, 16], Some(8), 10);
    check_random([2, 6, 1, 16], [2, 3, 9, 16], None, 13);
}

#[test]
fn a_query_sees_no_later_key() {
    // Four new tokens after three cached: the first sees keys 0..=3, so changing keys and
    // values 4..7 leaves its output exactly as it was, and changes the others'.
    let q = random(&[1, 2, 4, 8], 16);
    let k = random(&[1, 1, 7, 8], 17);
    let v = random(&[1, 1, 7, 8], 18);
    let tail = |t: &Tensor| {
        let head = t.narrow(2, 0, 4).unwrap();
        let changed = (t.narrow(2, 4, 3).unwrap() * 3.0).unwrap();
        Tensor::cat(&[&head, &changed], 2).unwrap()
    };
    let before = attention(&q, &k, &v, Some(3)).unwrap();
    let after = attention(&q, &tail(&k), &tail(&v), Some(3)).unwrap();
    let first = |t: &Tensor| t.narrow(1, 0, 1).unwrap();
    assert_eq!(max_abs_diff(&first(&before), &first(&after)), 0.0);
    assert!(max_abs_diff(&before, &after) > 1e-3);
}

#[test]
fn mismatched_heads_are_an_error() {
    let q = random(&[1, 3, 2, 8], 19);
    let kv = random(&[1, 2, 2, 8], 20);
    assert!(attention(&q, &kv, &kv, None).is_err());
    assert!(attention(&q, &random(&[1, 3, 2, 4], 21), &kv, None).is_err());
}
