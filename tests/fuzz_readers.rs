//! Mutation fuzzing of the FITS and raster readers: 10 000 corrupted variants of valid files
//! (bit flips, byte overwrites, truncations, header-card edits, hostile BITPIX/NAXIS/NAXISn
//! values, splices) must each give a
//! result or a one-line error — never a panic or a crash. Deterministic: a fixed seed, so a
//! failure names a reproducible case. The cargo-fuzz target in fuzz/ explores further.

mod common;

use common::fits::{self as f, card};
use radiochat::imaging::{FitsOptions, RadioImage, TransformOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CASES: usize = 10_000;

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let pixels: Vec<f32> = (0..16 * 12).map(|i| (i % 7) as f32 * 0.1).collect();
    let radio = [
        card("BUNIT", "'JY/BEAM '"),
        card("CTYPE1", "'RA---SIN'"),
        card("CDELT2", "0.0005"),
        card("BMAJ", "0.002"),
    ];
    let mut png = Vec::new();
    image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 7]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut grey16 = Vec::new();
    image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(6, 5, |x, y| {
        image::Luma([(x * 1000 + y) as u16])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut grey16),
        image::ImageFormat::Png,
    )
    .unwrap();
    vec![
        (
            "f32.fits",
            f::image_hdu(-32, &[16, 12], &radio, f::f32_be(&pixels), true),
        ),
        (
            "i16.fits",
            f::image_hdu(
                16,
                &[4, 3],
                &[card("BSCALE", "0.1"), card("BLANK", "-1")],
                f::i16_be(&[1, -1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
                true,
            ),
        ),
        (
            "cube.fits",
            f::image_hdu(
                -64,
                &[2, 2, 3, 1],
                &[card("CTYPE3", "'FREQ    '")],
                f::f64_be(&[0.5; 12]),
                true,
            ),
        ),
        (
            "ext.fits",
            [
                f::image_hdu(8, &[], &[], vec![], true),
                f::image_hdu(
                    32,
                    &[3, 2],
                    &[card("EXTNAME", "'SCI     '")],
                    f::i32_be(&[1, 2, 3, 4, 5, 6]),
                    false,
                ),
            ]
            .concat(),
        ),
        ("colour.png", png),
        ("grey16.png", grey16),
    ]
}

fn mutate(rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..7) {
            0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes[at] = rng.random(),
            2 => bytes.truncate(at),
            3 => {
                // Rewrite a header value: digits, signs and quotes are what parsers trip on.
                let card_start = at / 80 * 80;
                let value = [
                    b"-1        ",
                    b"0         ",
                    b"99999999  ",
                    b"'X       '",
                    b"1.0E300   ",
                ][rng.random_range(0..5)];
                let end = (card_start + 10 + value.len()).min(bytes.len());
                if card_start + 10 < end {
                    let n = end - card_start - 10;
                    bytes[card_start + 10..end].copy_from_slice(&value[..n]);
                }
            }
            4 => {
                let len = rng.random_range(1..64).min(bytes.len() - at);
                let chunk = bytes[at..at + len].to_vec();
                let to = rng.random_range(0..bytes.len());
                bytes.splice(to..to, chunk);
            }
            5 => bytes.insert(at, rng.random()),
            _ => edit_size_keyword(rng, &mut bytes),
        }
    }
    bytes
}

/// Give one of the keywords that size the data (BITPIX, NAXIS, NAXISn) a hostile value:
/// overflowing products, beyond-cap lengths, negative, illegal.
fn edit_size_keyword(rng: &mut ChaCha8Rng, bytes: &mut [u8]) {
    let header_end = bytes.len().min(2880 * 2) / 80 * 80;
    let cards: Vec<usize> = (0..header_end)
        .step_by(80)
        .filter(|at| {
            bytes[*at..*at + 8].starts_with(b"NAXIS") || &bytes[*at..*at + 8] == b"BITPIX  "
        })
        .collect();
    if cards.is_empty() {
        return;
    }
    let value = [
        "4611686018427387905",
        "9223372036854775807",
        "2147483648",
        "2147483647",
        "65536",
        "1000",
        "999",
        "-7",
        "17",
        "0",
    ][rng.random_range(0..10)];
    let at = cards[rng.random_range(0..cards.len())];
    bytes[at + 10..at + 30].copy_from_slice(format!("{value:>20}").as_bytes());
}

#[test]
fn mutated_fits_and_rasters_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let mut rng = ChaCha8Rng::seed_from_u64(20261126);
    let (mut opened, mut refused) = (0usize, 0usize);
    for case in 0..CASES {
        let (name, seed) = &seeds[case % seeds.len()];
        let path = dir.path().join(format!("{case}-{name}"));
        std::fs::write(&path, mutate(&mut rng, seed)).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let options = FitsOptions {
                pixel_budget: 4096,
                ..FitsOptions::default()
            };
            match RadioImage::open(&path, &options) {
                Ok(image) => image
                    .model_input(&TransformOptions::default())
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        });
        match outcome {
            Ok(Ok(())) => opened += 1,
            Ok(Err(message)) => {
                assert!(
                    !message.contains('\n'),
                    "case {case} ({name}): multi-line error {message:?}"
                );
                refused += 1;
            }
            Err(_) => panic!("case {case} ({name}) panicked; reproduce with seed 20261126"),
        }
        std::fs::remove_file(&path).unwrap();
    }
    eprintln!("{CASES} mutated files: {opened} opened, {refused} refused with a one-line error");
    assert_eq!(opened + refused, CASES);
    assert!(
        opened > 100 && refused > 100,
        "both outcomes exercised: {opened} opened, {refused} refused"
    );
}
