//! Peak memory of this process for the benchmarks: VmHWM over the whole life, and the peak
//! resident set from a chosen moment on (after the model is loaded). mistral.rs maps the
//! safetensors and copies them while loading, so VmHWM counts f32 weights twice although the
//! mapped half is page cache it lets go of; transformers answers from the mapping itself. The
//! resident set while answering is what both need to keep working.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Samples VmRSS every 10 ms until dropped (VmHWM cannot be reset without privileges).
pub struct RssPeak {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl RssPeak {
    pub fn start() -> RssPeak {
        let peak_kib = Arc::new(AtomicU64::new(status_kib("VmRSS:")));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak_kib, stop) = (peak_kib.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak_kib.fetch_max(status_kib("VmRSS:"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        RssPeak {
            peak_kib,
            stop,
            sampler: Some(sampler),
        }
    }

    /// The highest VmRSS seen since `start`, MiB.
    pub fn peak_mb(&self) -> f64 {
        let now = status_kib("VmRSS:");
        self.peak_kib.fetch_max(now, Ordering::Relaxed).max(now) as f64 / 1024.0
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}

/// VmHWM of this process, in MiB (0 where /proc does not say).
pub fn peak_rss_mb() -> f64 {
    status_kib("VmHWM:") as f64 / 1024.0
}

/// A `kB` field of /proc/self/status (0 where there is none).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_lived_allocation_shows_in_the_peak() {
        let probe = RssPeak::start();
        let before = probe.peak_mb();
        // 256 MiB written (so resident), held until the sampler thread (not this one: peak_mb
        // samples too) has seen it, then freed.
        let block = vec![1u8; 256 << 20];
        let sampled = || probe.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while sampled() < before + 200.0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the sampler never saw the block: {} MiB, before {before} MiB",
                sampled()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(block.iter().map(|&b| b as usize).sum::<usize>(), 256 << 20);
        drop(block);
        let peak = probe.peak_mb();
        assert!(
            peak >= before + 200.0,
            "peak {peak} MiB, before {before} MiB"
        );
        assert!(
            peak_rss_mb() + 1.0 >= peak,
            "VmHWM {} < {peak}",
            peak_rss_mb()
        );
    }
}
