//! Any byte string, saved under a FITS or PNG name, must be read or refused without a panic
//! or a crash. Run: `cargo +nightly fuzz run read_image` (needs cargo-fuzz and a nightly
//! toolchain). tests/fuzz_readers.rs runs a deterministic 10 000-case mutation pass in CI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use radiochat::imaging::{FitsOptions, RadioImage, TransformOptions};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["input.fits", "input.png"] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write input");
        let options = FitsOptions { pixel_budget: 1 << 16, ..FitsOptions::default() };
        if let Ok(image) = RadioImage::open(&path, &options) {
            let _ = image.model_input(&TransformOptions::default());
        }
    }
});
