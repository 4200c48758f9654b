//! FITS reading and the radio-llava transform on files the tests write themselves.

mod common;

use common::fits::{self as f, card};
use radiochat::imaging::{FitsOptions, HduSelector, Pixels, RadioImage, TransformOptions};
use std::path::Path;

fn open(path: &Path, options: &FitsOptions) -> Result<RadioImage, String> {
    RadioImage::open(path, options).map_err(|e| e.to_string())
}

fn plane(image: &RadioImage) -> &radiochat::imaging::Plane {
    match &image.pixels {
        Pixels::Plane(p) => p,
        Pixels::Rgb(_) => panic!("expected a plane"),
    }
}

/// A deterministic 64×48 radio-like cutout: integer-hash noise plus a bright compact source
/// and a fainter blob, all exact in float32.
pub fn synthetic_sky() -> (usize, usize, Vec<f32>) {
    let (w, h) = (64usize, 48usize);
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let hash = (x * 7919 + y * 104_729 + x * y * 31) % 1013;
            let mut v = (hash as f32 / 1013.0 - 0.5) * 0.002;
            let r2 = (x as i64 - 20).pow(2) + (y as i64 - 30).pow(2);
            if r2 < 50 {
                v += 0.5 * (50 - r2) as f32 / 50.0;
            }
            let r2 = (x as i64 - 45).pow(2) + (y as i64 - 12).pow(2);
            if r2 < 120 {
                v += 0.01 * (120 - r2) as f32 / 120.0;
            }
            pixels.push(v);
        }
    }
    (w, h, pixels)
}

#[test]
fn every_bitpix_with_scaling_and_blank() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, i32, Vec<u8>, Vec<f32>)> = vec![
        (
            "u8",
            8,
            vec![0u8, 7, 200, 255],
            vec![0.0, 7.0, 200.0, 255.0],
        ),
        (
            "i16",
            16,
            f::i16_be(&[-3, 0, 5, 32767]),
            vec![-3.0, 0.0, 5.0, 32767.0],
        ),
        (
            "i32",
            32,
            f::i32_be(&[-70000, 0, 1, 70000]),
            vec![-70000.0, 0.0, 1.0, 70000.0],
        ),
        (
            "i64",
            64,
            f::i64_be(&[-5, 0, 9, 1 << 40]),
            vec![-5.0, 0.0, 9.0, (1u64 << 40) as f32],
        ),
        (
            "f32",
            -32,
            f::f32_be(&[-1.5, f32::NAN, 0.25, 3.0e-5]),
            vec![-1.5, f32::NAN, 0.25, 3.0e-5],
        ),
        (
            "f64",
            -64,
            f::f64_be(&[-1.5, 0.0, 2.5e-3, 1.0e10]),
            vec![-1.5, 0.0, 2.5e-3, 1.0e10],
        ),
    ];
    for (name, bitpix, data, expected) in cases {
        let path = dir.path().join(format!("{name}.fits"));
        f::write(&path, &[f::image_hdu(bitpix, &[2, 2], &[], data, true)]);
        let image = open(&path, &FitsOptions::default()).unwrap();
        let got = &plane(&image).pixels;
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                g == e || (g.is_nan() && e.is_nan()),
                "{name}: {got:?} vs {expected:?}"
            );
        }
        assert_eq!(
            image.header.as_ref().unwrap().bitpix,
            Some(bitpix as i64),
            "{name}"
        );
    }

    // BSCALE/BZERO applied; BLANK (raw value) becomes NaN.
    let path = dir.path().join("scaled.fits");
    let extra = [
        card("BSCALE", "0.5"),
        card("BZERO", "100.0"),
        card("BLANK", "-32768"),
    ];
    f::write(
        &path,
        &[f::image_hdu(
            16,
            &[2, 2],
            &extra,
            f::i16_be(&[0, 2, -32768, -200]),
            true,
        )],
    );
    let image = open(&path, &FitsOptions::default()).unwrap();
    let got = &plane(&image).pixels;
    assert_eq!(&got[..2], &[100.0, 101.0]);
    assert!(got[2].is_nan(), "BLANK → NaN: {got:?}");
    assert_eq!(got[3], 0.0);
}

#[test]
fn cube_planes_degenerate_axes_and_hdu_choice() {
    let dir = tempfile::tempdir().unwrap();
    // RA, DEC, FREQ (3 planes), STOKES (1): plane p holds the value p everywhere.
    let path = dir.path().join("cube.fits");
    let values: Vec<f32> = (0..3).flat_map(|p| vec![p as f32 + 1.0; 4 * 2]).collect();
    let extra = [
        card("CTYPE3", "'FREQ    '"),
        card("CRVAL3", "8.875E8"),
        card("CTYPE4", "'STOKES  '"),
    ];
    f::write(
        &path,
        &[f::image_hdu(
            -32,
            &[4, 2, 3, 1],
            &extra,
            f::f32_be(&values),
            true,
        )],
    );
    let first = open(&path, &FitsOptions::default()).unwrap();
    assert_eq!(first.dimensions(), (4, 2));
    assert_eq!(plane(&first).pixels, vec![1.0; 8]);
    let third = open(
        &path,
        &FitsOptions {
            plane: vec![2, 0],
            ..FitsOptions::default()
        },
    )
    .unwrap();
    assert_eq!(plane(&third).pixels, vec![3.0; 8]);
    assert_eq!(third.header.unwrap().observed_frequency_hz, Some(8.875e8));
    let err = open(
        &path,
        &FitsOptions {
            plane: vec![3],
            ..FitsOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        err.contains("--plane: index 3 is out of range for axis 3 (FREQ), which has 3 plane(s)"),
        "{err}"
    );

    // An empty primary HDU and the image in extension 1 (how tile-compressed files look).
    let path = dir.path().join("ext.fits");
    let primary = f::image_hdu(8, &[], &[], vec![], true);
    let mut ext_cards = vec![card("EXTNAME", "'SCI     '")];
    ext_cards.push(card("BUNIT", "'JY/BEAM '"));
    let ext = f::image_hdu(-32, &[2, 1], &ext_cards, f::f32_be(&[4.0, 5.0]), false);
    f::write(&path, &[primary, ext]);
    let image = open(&path, &FitsOptions::default()).unwrap();
    assert_eq!(plane(&image).pixels, vec![4.0, 5.0]);
    assert_eq!(image.header.as_ref().unwrap().hdu, 1);
    let by_name = open(
        &path,
        &FitsOptions {
            hdu: Some(HduSelector::Name("SCI".into())),
            ..FitsOptions::default()
        },
    )
    .unwrap();
    assert_eq!(by_name.header.unwrap().extname.as_deref(), Some("SCI"));
    let err = open(
        &path,
        &FitsOptions {
            hdu: Some(HduSelector::Index(5)),
            ..FitsOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        err.contains("--hdu 5 is out of range: the file has 2 HDU(s), 0–1"),
        "{err}"
    );
    let err = open(
        &path,
        &FitsOptions {
            hdu: Some(HduSelector::Index(0)),
            ..FitsOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.contains("HDU 0 has 0 axis"), "{err}");
}

#[test]
fn tile_compressed_image_is_found_in_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compressed.fits");
    {
        use fitsio::images::{ImageDescription, ImageType};
        let target = format!("{}[compress]", path.display());
        let mut file = fitsio::FitsFile::create(&target).open().unwrap();
        let description = ImageDescription {
            data_type: ImageType::Float,
            dimensions: &[3, 4],
        };
        let hdu = file.create_image("COMPRESSED", &description).unwrap();
        let values: Vec<f32> = (0..12).map(|v| v as f32 * 0.5).collect();
        hdu.write_image(&mut file, &values).unwrap();
    }
    let image = open(&path, &FitsOptions::default()).unwrap();
    assert_eq!(image.dimensions(), (4, 3));
    assert_eq!(plane(&image).pixels[5], 2.5);
}

#[test]
fn oversized_planes_are_read_with_a_stride() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.fits");
    let (w, h, pixels) = synthetic_sky();
    f::write_f32_image(&path, w, h, &pixels);
    let image = open(
        &path,
        &FitsOptions {
            pixel_budget: 1000,
            ..FitsOptions::default()
        },
    )
    .unwrap();
    assert_eq!(image.stride, 2);
    assert_eq!(image.dimensions(), (32, 24));
    assert_eq!(plane(&image).pixels[1], pixels[2], "every second pixel");
    assert_eq!(plane(&image).pixels[32], pixels[2 * w], "every second row");
}

#[test]
fn bad_fits_files_get_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, bytes: Vec<u8>, needle: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = open(&path, &FitsOptions::default()).unwrap_err();
        assert!(
            err.starts_with(&path.display().to_string())
                && err.contains(needle)
                && !err.contains('\n'),
            "{name}: {err}"
        );
    };
    check(
        "text.fits",
        b"this is not a FITS file at all".to_vec(),
        "not a readable FITS file",
    );
    let mut truncated = f::image_hdu(-32, &[100, 100], &[], f::f32_be(&vec![1.0; 10_000]), true);
    truncated.truncate(2880 + 1000);
    check("truncated.fits", truncated, "truncated FITS file");
    let mut only_table = f::image_hdu(8, &[], &[], vec![], true);
    only_table.extend(f::header_block(&[
        card("XTENSION", "'BINTABLE'"),
        card("BITPIX", 8),
        card("NAXIS", 2),
        card("NAXIS1", 4),
        card("NAXIS2", 1),
        card("PCOUNT", 0),
        card("GCOUNT", 1),
        card("TFIELDS", 1),
        card("TFORM1", "'E       '"),
    ]));
    only_table.extend(vec![0u8; 2880]);
    check("table.fits", only_table, "no image data in any HDU");
    check(
        "zero.fits",
        f::image_hdu(-32, &[0, 10], &[], vec![], true),
        "NAXIS1 is 0",
    );
    let overflow = f::image_hdu(
        32,
        &[2, 1],
        &[card("BSCALE", "1.0E38")],
        f::i32_be(&[1000, 2]),
        true,
    );
    check("overflow.fits", overflow, "overflow");

    // All NaN reads fine but cannot become a model input.
    let path = dir.path().join("nan.fits");
    f::write(
        &path,
        &[f::image_hdu(
            -32,
            &[2, 2],
            &[],
            f::f32_be(&[f32::NAN; 4]),
            true,
        )],
    );
    let image = open(&path, &FitsOptions::default()).unwrap();
    let err = image
        .model_input(&TransformOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nan.fits: no finite pixels"), "{err}");
}

#[test]
fn zscale_and_model_input_match_astropy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic_sky.fits");
    let (w, h, pixels) = synthetic_sky();
    f::write_f32_image(&path, w, h, &pixels);
    if let Some(keep) = std::env::var_os("RADIOCHAT_FIXTURE_DIR") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&path, Path::new(&keep).join("synthetic_sky.fits")).unwrap();
    }
    let image = open(&path, &FitsOptions::default()).unwrap();
    // Numbers printed by tests/reference/astropy_model_input.py (astropy 8.0.2, numpy 2.4.6)
    // on this file: ZScaleInterval limits and the sha256 of radio-llava's uint8 model input.
    for (contrast, vmin, vmax, sha, centre, blob) in REFERENCE {
        let params = radiochat::imaging::zscale::ZscaleParams {
            contrast,
            ..Default::default()
        };
        let (lo, hi) =
            radiochat::imaging::zscale::zscale_limits(&plane(&image).pixels, &params).unwrap();
        assert!(
            (lo.value() - vmin).abs() <= 1e-9 * vmin.abs().max(1e-12),
            "contrast {contrast}: vmin {} vs {vmin}",
            lo.value()
        );
        assert!(
            (hi.value() - vmax).abs() <= 1e-9 * vmax.abs().max(1e-12),
            "contrast {contrast}: vmax {} vs {vmax}",
            hi.value()
        );
        let rgb = image
            .model_input(&TransformOptions {
                contrast,
                ..TransformOptions::default()
            })
            .unwrap();
        let grey: Vec<u8> = rgb.pixels().map(|p| p.0[0]).collect();
        assert_eq!(
            grey[30 * w + 20],
            centre,
            "contrast {contrast}: bright source"
        );
        assert_eq!(grey[12 * w + 45], blob, "contrast {contrast}: faint blob");
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&grey);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex, sha,
            "contrast {contrast}: every byte equals astropy + numpy's"
        );
    }
}

/// (contrast, vmin, vmax, sha256 of the uint8 plane, level at the source, level at the blob)
const REFERENCE: [(f64, f64, f64, &str, u8, u8); 2] = [
    (
        0.25,
        -0.0010000000474974513,
        0.00537244579301651,
        "8be398ff6896f9a69525c17e8fa275337b61df36e6a0ded3decba4fc748353a1",
        255,
        255,
    ),
    (
        0.1,
        -0.0010000000474974513,
        0.013222328652359252,
        "e666bd7202341af43cb19e9ed29ba2d0b4e9f2b4b4662be581882c2ad19f73ab",
        255,
        212,
    ),
];

/// Plain float32 planes are read by radiochat's own parallel reader; every other layout by
/// cfitsio. The same values stored as BITPIX −64 (cfitsio's path) must come back identical,
/// for every plane of a cube and for an image in an extension.
#[test]
fn direct_float32_reader_matches_cfitsio() {
    let dir = tempfile::tempdir().unwrap();
    let axes = [5usize, 3, 2, 2];
    let values: Vec<f32> = (0..60)
        .map(|i| match i % 7 {
            0 => f32::NAN,
            1 => -0.0,
            _ => (i as f32 - 30.0) * 1.5e-3,
        })
        .collect();
    let wide: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    let direct = dir.path().join("f32.fits");
    let via_cfitsio = dir.path().join("f64.fits");
    let primary = f::image_hdu(8, &[], &[], vec![], true);
    f::write(
        &direct,
        &[
            primary.clone(),
            f::image_hdu(-32, &axes, &[], f::f32_be(&values), false),
        ],
    );
    f::write(
        &via_cfitsio,
        &[
            primary,
            f::image_hdu(-64, &axes, &[], f::f64_be(&wide), false),
        ],
    );
    for plane_index in [vec![0, 0], vec![1, 0], vec![0, 1], vec![1, 1]] {
        let options = FitsOptions {
            plane: plane_index.clone(),
            ..FitsOptions::default()
        };
        let a = open(&direct, &options).unwrap();
        let b = open(&via_cfitsio, &options).unwrap();
        // cfitsio's double → float conversion turns −0 into +0 (astropy and the direct
        // reader keep −0); both give the same model input, so compare with −0 folded.
        let bits = |image: &RadioImage| -> Vec<u32> {
            plane(image)
                .pixels
                .iter()
                .map(|v| (v + 0.0).to_bits())
                .collect()
        };
        assert_eq!(bits(&a), bits(&b), "plane {plane_index:?}");
        let first = plane_index[0] * 15 + plane_index[1] * 30;
        assert_eq!(plane(&a).pixels[1].to_bits(), values[first + 1].to_bits());
    }
}
