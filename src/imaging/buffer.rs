//! Large pixel buffers backed by transparent huge pages where the kernel offers them on
//! request (`madvise` mode): a 4096² plane is 16 k page faults in 4 KiB pages and 32 in
//! 2 MiB ones, and those faults were 40 % of a read + transform.

/// A zeroed buffer of `len` values whose pages are not touched yet.
///
/// For u8 and f32 the zero default makes `vec!` a calloc, which leaves fresh pages untouched
/// until the parallel writers fault them in.
pub fn zeroed<T: Copy + Default>(len: usize) -> Vec<T> {
    let buffer = vec![T::default(); len];
    advise_huge_pages(buffer.as_ptr().cast(), len * size_of::<T>());
    buffer
}

fn advise_huge_pages(start: *const u8, bytes: usize) {
    const HUGE: usize = 2 << 20;
    if bytes < 2 * HUGE {
        return;
    }
    let first = (start as usize).next_multiple_of(HUGE);
    let end = (start as usize + bytes) / HUGE * HUGE;
    if end > first {
        // SAFETY: the range lies inside the live allocation; MADV_HUGEPAGE only changes how
        // future faults are served and never the contents. A refusal (no THP) is harmless.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}
