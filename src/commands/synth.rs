//! `radiochat synth`: write a synthetic labelled sky as FITS cutouts plus a radio-llava
//! dataset JSON (`{"data":[{"sname","filepaths":[…],"label":…,"id","objects"}]}`, paths
//! relative to the JSON file's folder), and each radio cutout's source boxes as a radio-YOLO
//! label file (`labels/NAME.txt`), and a figure caption of each (`captions.json`,
//! `[{"image", "caption"}]`, the form `finetune data --captions` reads).

use super::{CommandError, CommandResult};
use crate::bench::objects::{ObjectEntry, SourceBox, SourceClass, yolo_text};
use crate::imaging::synth::{BEAM_FWHM_PX, Balance, Cutout, SkyKind, cutout};
use crate::imaging::synth_caption::caption;
use crate::imaging::synth_optical::galaxy;
use crate::imaging::synth_shapes::{OptionOrder, shapes_scene};
use crate::util::error::BadValue;
use serde_json::json;
use std::path::{Path, PathBuf};

pub struct SynthArgs {
    pub out: PathBuf,
    pub n: usize,
    pub seed: u64,
    pub size: usize,
    pub kind: SynthKind,
    /// Probability of each radioimg ingredient.
    pub balance: Balance,
    /// shapes: how each question's options are ordered.
    pub option_order: OptionOrder,
}

/// What to draw: a radio sky (FITS cutouts), Galaxy MNIST's optical galaxies (PNG), or a
/// general multiple-choice set of shapes (PNG, for G1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthKind {
    Radio(SkyKind),
    Gmnist,
    Shapes,
}

impl std::str::FromStr for SynthKind {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "gmnist" => Ok(SynthKind::Gmnist),
            "shapes" => Ok(SynthKind::Shapes),
            other => other.parse().map(SynthKind::Radio).map_err(|_| {
                BadValue::unknown("--kind", other, "radioimg, rgz, mirabest, gmnist or shapes")
            }),
        }
    }
}

/// Pixel scale of the synthetic cutouts, degrees (2″).
const CDELT_DEG: f64 = 2.0 / 3600.0;

pub fn run(args: &SynthArgs) -> CommandResult<PathBuf> {
    if args.n == 0 {
        return Err(CommandError::bad("--n must be at least 1"));
    }
    if !(32..=4096).contains(&args.size) {
        return Err(CommandError::bad(format!(
            "--size must be 32–4096 pixels, got {}",
            args.size
        )));
    }
    if args.option_order != OptionOrder::default() && args.kind != SynthKind::Shapes {
        return Err(CommandError::bad(
            "--fixed-options is for --kind shapes (the other kinds ask no multiple-choice question)",
        ));
    }
    let images = args.out.join("images");
    std::fs::create_dir_all(&images)
        .map_err(|e| CommandError::bad(format!("{}: cannot create: {e}", images.display())))?;
    let sky_kind = match args.kind {
        SynthKind::Radio(kind) => kind,
        SynthKind::Gmnist => return write_dataset(&args.out, gmnist_entries(args)?),
        SynthKind::Shapes => return write_dataset(&args.out, shapes_entries(args)?),
    };
    let labels = args.out.join("labels");
    std::fs::create_dir_all(&labels)
        .map_err(|e| CommandError::bad(format!("{}: cannot create: {e}", labels.display())))?;
    let prefix = match sky_kind {
        SkyKind::RadioImg => "radioimg",
        SkyKind::Rgz => "rgz",
        SkyKind::MiraBest => "mirabest",
    };
    let mut entries = Vec::with_capacity(args.n);
    let mut captions = Vec::with_capacity(args.n);
    for index in 0..args.n {
        let sky = cutout(sky_kind, args.size, args.seed, index, &args.balance);
        let sname = format!("{prefix}-{:06}", index);
        let relative = format!("images/{sname}.fits");
        write_cutout(&args.out.join(&relative), &sky, index).map_err(CommandError::Failed)?;
        let boxes = source_boxes(sky_kind, &sky);
        let label_file = labels.join(format!("{sname}.txt"));
        std::fs::write(&label_file, yolo_text(&boxes)).map_err(|e| {
            CommandError::bad(format!("{}: cannot write: {e}", label_file.display()))
        })?;
        let objects: Vec<ObjectEntry> = boxes.iter().map(ObjectEntry::from).collect();
        captions.push(json!({"image": relative, "caption": caption(args.size, &sky.truth)}));
        entries.push(json!({
            "sname": sname, "filepaths": [relative], "label": sky.label, "id": index,
            "objects": objects,
        }));
    }
    write_json(&args.out.join("captions.json"), &json!(captions))?;
    write_dataset(&args.out, entries)
}

/// The boxes of the sources drawn, in radio-YOLO's classes: compact sources; single-island
/// extended emission (extended and diffuse sources, FR-I galaxies, the peculiar ring); FR-II
/// galaxies, whose lobes are islands apart, as multi-island; the artefact's core and rings as
/// spurious. An RGZ source is one box around its components (multi-island when there are
/// several, compact when it is one peak).
pub fn source_boxes(kind: SkyKind, sky: &Cutout) -> Vec<SourceBox> {
    let boxed = |class: SourceClass, extent: &crate::imaging::synth::Extent| {
        extent
            .normalised(sky.size)
            .and_then(|numbers| SourceBox::new(class, numbers).ok())
    };
    if kind == SkyKind::Rgz {
        let Some(first) = sky.truth.first() else {
            return Vec::new();
        };
        let extent = sky
            .truth
            .iter()
            .fold(first.extent, |e, placed| e.union(placed.extent));
        let class = match (sky.truth.len(), first.scale) {
            (1, peaks) if peaks <= 1.0 => SourceClass::Compact,
            (1, _) => SourceClass::Extended,
            _ => SourceClass::ExtendedMultisland,
        };
        return boxed(class, &extent).into_iter().collect();
    }
    sky.truth
        .iter()
        .filter_map(|placed| {
            let class = match placed.what {
                "COMPACT" => SourceClass::Compact,
                "EXTENDED" | "DIFFUSE" | "DIFFUSE-LARGE" | "FR-I" | "WTF" => SourceClass::Extended,
                "FR-II" => SourceClass::ExtendedMultisland,
                "ARTEFACT" => SourceClass::Spurious,
                _ => return None,
            };
            boxed(class, &placed.extent)
        })
        .collect()
}

/// Galaxy MNIST-like colour PNGs, labelled with the class name.
fn gmnist_entries(args: &SynthArgs) -> CommandResult<Vec<serde_json::Value>> {
    (0..args.n)
        .map(|index| {
            let (picture, class) = galaxy(args.size, args.seed, index);
            let sname = format!("gmnist-{index:06}");
            let relative = format!("images/{sname}.png");
            let path = args.out.join(&relative);
            picture
                .save(&path)
                .map_err(|e| CommandError::bad(format!("{}: cannot write: {e}", path.display())))?;
            Ok(json!({"sname": sname, "filepaths": [relative], "label": class, "id": index}))
        })
        .collect()
}

/// Shapes, colours and counts, each image with its multiple-choice question (G1's fields).
fn shapes_entries(args: &SynthArgs) -> CommandResult<Vec<serde_json::Value>> {
    (0..args.n)
        .map(|index| {
            let (picture, asked) = shapes_scene(args.size, args.seed, index, args.option_order);
            let sname = format!("shapes-{index:06}");
            let relative = format!("images/{sname}.png");
            let path = args.out.join(&relative);
            picture
                .save(&path)
                .map_err(|e| CommandError::bad(format!("{}: cannot write: {e}", path.display())))?;
            Ok(json!({
                "sname": sname, "filepaths": [relative], "label": asked.answer, "id": index,
                "question": asked.question, "options": asked.options, "category": asked.category,
            }))
        })
        .collect()
}

fn write_dataset(out: &Path, entries: Vec<serde_json::Value>) -> CommandResult<PathBuf> {
    let dataset = out.join("dataset.json");
    write_json(&dataset, &json!({ "data": entries }))?;
    Ok(dataset)
}

fn write_json(path: &Path, value: &serde_json::Value) -> CommandResult<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CommandError::Failed(e.into()))?;
    crate::util::private_file::write_atomically(path, (text + "\n").as_bytes())
        .map_err(|e| CommandError::bad(format!("{}: cannot write: {e}", path.display())))
}

/// A float32 primary image with a minimal radio header (SIN projection, beam, units).
pub fn write_cutout(path: &Path, sky: &Cutout, index: usize) -> anyhow::Result<()> {
    use fitsio::images::{ImageDescription, ImageType};
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let description = ImageDescription {
        data_type: ImageType::Float,
        dimensions: &[sky.size, sky.size],
    };
    let mut file = crate::imaging::fits_disk::create(path, Some(&description))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let hdu = file.primary_hdu()?;
    let centre = sky.size as f64 / 2.0 + 0.5;
    let beam_deg = BEAM_FWHM_PX as f64 * CDELT_DEG;
    // Field centres spread over the sky so cutouts are distinguishable by position too.
    let ra = (150.0 + index as f64 * 0.37) % 360.0;
    let dec = -30.0 + (index % 60) as f64 * 0.5;
    hdu.write_key(&mut file, "BUNIT", "JY/BEAM")?;
    hdu.write_key(&mut file, "TELESCOP", "SYNTHETIC")?;
    hdu.write_key(&mut file, "CTYPE1", "RA---SIN")?;
    hdu.write_key(&mut file, "CRVAL1", ra)?;
    hdu.write_key(&mut file, "CDELT1", -CDELT_DEG)?;
    hdu.write_key(&mut file, "CRPIX1", centre)?;
    hdu.write_key(&mut file, "CUNIT1", "deg")?;
    hdu.write_key(&mut file, "CTYPE2", "DEC--SIN")?;
    hdu.write_key(&mut file, "CRVAL2", dec)?;
    hdu.write_key(&mut file, "CDELT2", CDELT_DEG)?;
    hdu.write_key(&mut file, "CRPIX2", centre)?;
    hdu.write_key(&mut file, "CUNIT2", "deg")?;
    hdu.write_key(&mut file, "BMAJ", beam_deg)?;
    hdu.write_key(&mut file, "BMIN", beam_deg)?;
    hdu.write_key(&mut file, "BPA", 0.0f64)?;
    hdu.write_image(&mut file, &sky.pixels)?;
    Ok(())
}
