//! `radiochat view` and `radiochat info` as a user runs them.

mod common;

use common::cli::{assert_bad_input, radiochat};
use std::path::Path;

fn sky(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sky.fits");
    let pixels: Vec<f32> = (0..32 * 24)
        .map(|i| ((i * 37) % 101) as f32 * 1e-4 + if i % 32 == 10 { 0.3 } else { 0.0 })
        .collect();
    common::fits::write_f32_image(&path, 32, 24, &pixels);
    path
}

#[test]
fn info_and_view_describe_and_show_a_fits_cutout() {
    let home = tempfile::tempdir().unwrap();
    let fits = sky(home.path());
    let fits_arg = fits.to_str().unwrap();

    let info = radiochat(&["info", fits_arg], home.path());
    assert_eq!(info.status.code(), Some(0));
    let text = String::from_utf8_lossy(&info.stdout);
    for needle in [
        "FITS 32 × 24 pixels",
        "BITPIX -32",
        "BUNIT: JY/BEAM",
        "pixel scale: 2.000 arcsec",
        "beam: 9.00\" × 7.20\", PA 45°",
        "centre: RA 150.00000°, Dec -30.00000°",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    let json = radiochat(&["info", fits_arg, "--json"], home.path());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["header"]["beam_major_arcsec"], 9.0);
    assert_eq!(value["width"], 32);

    let png = home.path().join("model.png");
    let view = radiochat(
        &[
            "view",
            fits_arg,
            "--graphics",
            "halfblocks",
            "--width",
            "16",
            "--png",
            png.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(
        view.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    let shown = String::from_utf8_lossy(&view.stdout);
    assert_eq!(
        shown.matches('▀').count(),
        16 * 6,
        "16 columns × 6 cell rows of half blocks"
    );
    let written = image::open(&png).unwrap().to_rgb8();
    let expected = radiochat::imaging::load_model_image(&fits)
        .unwrap()
        .to_rgb8();
    assert_eq!(written, expected, "--png is exactly the model input");

    let none = radiochat(
        &["view", fits_arg, "--graphics", "none", "--stretch", "asinh"],
        home.path(),
    );
    assert_eq!(none.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&none.stdout).contains('▀'));
}

/// `ask --json` about `image` on a random tiny model (its answers follow the pixels).
fn ask_about(home: &Path, image: &Path) -> serde_json::Value {
    let model = common::cli::random_model_flag(home);
    let model = model.trim_start_matches("--model ");
    let out = radiochat(
        &[
            "ask",
            "--model",
            model,
            "-i",
            image.to_str().unwrap(),
            "--max-tokens",
            "12",
            "--ignore-eos",
            "--json",
            "Is there a source?",
        ],
        home,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ask_takes_a_fits_image() {
    let home = tempfile::tempdir().unwrap();
    let fits = sky(home.path());
    // The model input of the cutout, as `view --png` writes it, asked about as a PNG.
    let input = home.path().join("input.png");
    let view = radiochat(
        &[
            "view",
            fits.to_str().unwrap(),
            "--png",
            input.to_str().unwrap(),
            "--no-preview",
        ],
        home.path(),
    );
    assert_eq!(view.status.code(), Some(0), "{view:?}");
    let (black, white) = (home.path().join("black.png"), home.path().join("white.png"));
    image::RgbImage::new(32, 24).save(&black).unwrap();
    image::RgbImage::from_pixel(32, 24, image::Rgb([255; 3]))
        .save(&white)
        .unwrap();
    // This model's answers follow the pixels ...
    assert_ne!(
        ask_about(home.path(), &black)["answer"],
        ask_about(home.path(), &white)["answer"]
    );
    // ... and the FITS reached it as exactly its model input.
    let from_fits = ask_about(home.path(), &fits);
    let from_png = ask_about(home.path(), &input);
    assert_eq!(from_fits["answer"], from_png["answer"], "{from_fits}");
    assert_eq!(
        from_fits["usage"]["prompt_tokens"],
        from_png["usage"]["prompt_tokens"]
    );
    assert_eq!(from_fits["usage"]["completion_tokens"], 12);
}

#[test]
fn bad_image_input_gets_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let fits = sky(home.path());
    let f = fits.to_str().unwrap();
    let text = home.path().join("notes.fits");
    std::fs::write(&text, "not fits").unwrap();
    assert_bad_input(
        &radiochat(&["info", text.to_str().unwrap()], home.path()),
        &["not a readable FITS file"],
    );
    assert_bad_input(
        &radiochat(&["info", home.path().to_str().unwrap()], home.path()),
        &["is a directory"],
    );
    let corrupt = home.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nthis is not the rest of a png").unwrap();
    assert_bad_input(
        &radiochat(&["view", corrupt.to_str().unwrap()], home.path()),
        &["corrupt.png: not an image"],
    );
    assert_bad_input(
        &radiochat(&["view", f, "--plane", "1"], home.path()),
        &["--plane gives 1 indices"],
    );
    assert_bad_input(
        &radiochat(&["view", f, "--plane", "x"], home.path()),
        &["--plane 'x'"],
    );
    assert_bad_input(
        &radiochat(&["info", f, "--hdu", "3"], home.path()),
        &["--hdu 3 is out of range"],
    );
    assert_bad_input(
        &radiochat(&["view", f, "--contrast", "0"], home.path()),
        &["--contrast must be in (0, 1]"],
    );
    assert_bad_input(
        &radiochat(&["view", f, "--stretch", "bogus"], home.path()),
        &[
            "invalid value 'bogus' for '--stretch",
            "radio-llava, zscale",
        ],
    );
    assert_bad_input(
        &radiochat(&["view", f, "--graphics", "vga"], home.path()),
        &[
            "invalid value 'vga' for '--graphics",
            "possible values: auto, kitty",
        ],
    );
}

#[test]
fn model_input_settings_come_from_flags_or_the_config_file() {
    let home = tempfile::tempdir().unwrap();
    let fits = sky(home.path());
    let fits_arg = fits.to_str().unwrap();
    let png = home.path().join("resized.png");
    let png_arg = png.to_str().unwrap();
    let view = radiochat(
        &[
            "view",
            fits_arg,
            "--resize",
            "40",
            "--square",
            "--png",
            png_arg,
            "--no-preview",
        ],
        home.path(),
    );
    assert_eq!(view.status.code(), Some(0), "{view:?}");
    let resized = image::open(&png).unwrap().to_rgb8();
    assert_eq!(resized.dimensions(), (40, 40));
    // 32 × 24 padded to 32 × 32 (four zero rows above and below) → 40 × 40: the zero rows
    // stay near black (bicubic ringing at the pad edge dips just below them), and the
    // bright column survives.
    assert!(resized.get_pixel(20, 0).0[0] < 16, "padding is dark");
    assert!(resized.get_pixel(13, 20).0[0] > 200, "bright column");

    // The same settings from [image] in the config file; `config show` names their origin.
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        "[image]\nresize = 40\nsquare = true\nzscale = false\n",
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let from_config = home.path().join("from-config.png");
    let view = radiochat(
        &[
            "--config",
            config_arg,
            "view",
            fits_arg,
            "--png",
            from_config.to_str().unwrap(),
            "--no-preview",
        ],
        home.path(),
    );
    assert_eq!(view.status.code(), Some(0), "{view:?}");
    assert_eq!(image::open(&from_config).unwrap().width(), 40);
    let show = radiochat(&["--config", config_arg, "config", "show"], home.path());
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("image.resize = 40"), "{text}");
    assert!(text.contains("image.zscale = false"), "{text}");

    std::fs::write(&config, "[image]\ncontrast = 2.0\n").unwrap();
    assert_bad_input(
        &radiochat(&["--config", config_arg, "view", fits_arg], home.path()),
        &["config.toml: image.contrast must be in (0, 1], got 2"],
    );
}
