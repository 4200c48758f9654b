//! Flag groups that several front-ends share (`radiochat`'s subcommands and `radiochat-perf`):
//! which model, how a FITS file is read, how an image becomes model input — and the one
//! place that turns flags plus the config file into [`Settings`].

use super::{CommandError, CommandResult};
use crate::config::{Flags, Settings};
use crate::imaging::FitsOptions;
use crate::util::error::BadValue;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug, Default)]
pub struct ModelFlags {
    /// Model directory, or hf:OWNER/NAME for a Hugging Face hub id.
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// cpu or cuda.
    #[arg(long)]
    pub device: Option<String>,
    /// auto, f32, f16 or bf16.
    #[arg(long)]
    pub dtype: Option<String>,
    /// In-situ quantization: q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q2k … q8k, hqq4, hqq8, fp8.
    #[arg(long)]
    pub isq: Option<String>,
    /// Conversations whose prefill the engine keeps for a request that starts the same way
    /// (a follow-up question, shared few-shot examples); 0 turns the prefix cache off.
    #[arg(long, value_name = "N")]
    pub prefix_cache: Option<usize>,
    /// An OpenAI-compatible server instead of the embedded engine, e.g. http://gpu07:8000/v1.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// The server's model (default: the first it lists).
    #[arg(long, value_name = "NAME")]
    pub remote_model: Option<String>,
    /// The environment variable holding the server's API key.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Seconds to wait for an answer to start, and between two pieces of it [default: 120].
    #[arg(long, value_name = "SECS")]
    pub remote_timeout: Option<f64>,
}

impl ModelFlags {
    pub fn to_flags(&self) -> Flags {
        Flags {
            model: self.model.clone(),
            device: self.device.clone(),
            dtype: self.dtype.clone(),
            isq: self.isq.clone(),
            prefix_cache: self.prefix_cache,
            remote: self.remote.clone(),
            remote_model: self.remote_model.clone(),
            api_key_env: self.api_key_env.clone(),
            remote_timeout: self.remote_timeout,
            ..Flags::default()
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct FitsFlags {
    /// HDU to read: index (0 = primary) or EXTNAME; default: the first HDU with an image.
    #[arg(long)]
    pub hdu: Option<String>,
    /// Plane of a cube: indices along axes 3, 4, … (e.g. `0,0` = first FREQ, first STOKES).
    #[arg(long, value_name = "I,J")]
    pub plane: Option<String>,
    /// Largest plane read at full resolution, in megapixels; larger ones are read with a stride.
    #[arg(long, default_value_t = 64)]
    pub max_mpix: usize,
}

impl FitsFlags {
    pub fn options(&self) -> CommandResult<FitsOptions> {
        let hdu = self
            .hdu
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(CommandError::bad)?;
        let plane = match &self.plane {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .map(|part| part.trim().parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    CommandError::bad(format!("--plane '{text}': expected indices like 0,0"))
                })?,
        };
        if self.max_mpix == 0 {
            return Err(CommandError::bad("--max-mpix must be at least 1"));
        }
        Ok(FitsOptions {
            hdu,
            plane,
            pixel_budget: self.max_mpix * 1024 * 1024,
        })
    }
}

/// How an image becomes model input (radio-llava's transform); defaults from `[image]`.
#[derive(Args, Clone, Debug)]
pub struct ImageFlags {
    /// Skip the zscale step (min–max only).
    #[arg(long)]
    pub no_zscale: bool,
    /// zscale contrast (radio-llava uses 0.25).
    #[arg(long)]
    pub contrast: Option<f64>,
    /// Resize the stretched image to N×N (bicubic) before the min–max step.
    #[arg(long, value_name = "N")]
    pub resize: Option<usize>,
    /// With --resize: zero-pad to a square first, keeping the aspect ratio.
    #[arg(long)]
    pub square: bool,
}

impl ImageFlags {
    /// `base` with these image settings.
    pub fn over(&self, base: Flags) -> Flags {
        Flags {
            zscale: self.no_zscale.then_some(false),
            contrast: self.contrast,
            resize: self.resize,
            square: self.square.then_some(true),
            ..base
        }
    }
}

/// The settings a command runs with: its flags over the config file (`config` or the default
/// path) over the built-in defaults. Warnings for the user (e.g. a key sent over plain http)
/// come back beside them, for the front-end to show.
pub fn resolve_settings(
    config: Option<&Path>,
    flags: &Flags,
) -> CommandResult<(Settings, Vec<String>)> {
    let path: PathBuf = config
        .map(Path::to_path_buf)
        .unwrap_or_else(crate::config::default_config_path);
    let settings = Settings::resolve(&path, flags).map_err(CommandError::BadInput)?;
    let mut warnings = Vec::new();
    if let Some(url) = &settings.remote.value {
        let sends_key = settings.api_key_env.value.is_some();
        warnings.extend(crate::util::url::plain_http_warning(url, sends_key));
    }
    Ok((settings, warnings))
}

/// Pretty JSON, the `--json` form of every command's result.
pub fn json_text<T: serde::Serialize>(value: &T) -> CommandResult<String> {
    serde_json::to_string_pretty(value).map_err(|e| CommandError::Failed(e.into()))
}

/// `--graphics`: a protocol, or `auto` (chosen from the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphicsFlag {
    Auto,
    Fixed(crate::preview::Graphics),
}

impl std::str::FromStr for GraphicsFlag {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "auto" => Ok(GraphicsFlag::Auto),
            other => other.parse().map(GraphicsFlag::Fixed),
        }
    }
}

impl GraphicsFlag {
    /// The protocol asked for; `None` for auto.
    pub fn explicit(self) -> Option<crate::preview::Graphics> {
        match self {
            GraphicsFlag::Auto => None,
            GraphicsFlag::Fixed(graphics) => Some(graphics),
        }
    }
}

/// A choice flag for clap from a type's own `FromStr` (one parser for the command line and
/// the chat's slash commands): clap lists the names in `--help` and refuses anything else.
macro_rules! choice_flag {
    ($ty:ty, [$($name:literal),+ $(,)?]) => {
        choice_flag!($ty, &[$($name),+]);
    };
    ($ty:ty, $names:expr) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                static VARIANTS: std::sync::LazyLock<Vec<$ty>> = std::sync::LazyLock::new(|| {
                    let names: &[&str] = $names;
                    names
                        .iter()
                        .map(|name| name.parse().expect("every listed choice parses"))
                        .collect()
                });
                &VARIANTS
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                let names: &[&str] = $names;
                names
                    .iter()
                    .zip(Self::value_variants())
                    .find(|(_, variant)| *variant == self)
                    .map(|(name, _)| clap::builder::PossibleValue::new(*name))
            }
        }
    };
}

choice_flag!(
    GraphicsFlag,
    ["auto", "kitty", "sixel", "iterm", "halfblocks", "none"]
);
choice_flag!(
    crate::imaging::stretch::Stretch,
    crate::imaging::stretch::STRETCH_NAMES
);
choice_flag!(crate::bench::parse::ParseMode, ["strict", "lenient"]);
choice_flag!(super::sessions::Format, ["md", "json"]);
choice_flag!(
    super::synth::SynthKind,
    ["radioimg", "rgz", "mirabest", "gmnist", "shapes"]
);
choice_flag!(crate::testkit::tiny::Scale, ["tiny", "real", "7b", "nano"]);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    fn names<T: ValueEnum>() -> Vec<String> {
        T::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_string())
            .collect()
    }

    #[test]
    fn every_choice_parses_to_a_distinct_value_named_back() {
        assert_eq!(names::<GraphicsFlag>().len(), 6);
        assert_eq!(names::<crate::imaging::stretch::Stretch>().len(), 8);
        assert_eq!(
            names::<crate::bench::parse::ParseMode>(),
            ["strict", "lenient"]
        );
        assert_eq!(names::<super::super::sessions::Format>(), ["md", "json"]);
        assert_eq!(names::<super::super::synth::SynthKind>().len(), 5);
        assert_eq!(
            names::<crate::testkit::tiny::Scale>(),
            ["tiny", "real", "7b", "nano"]
        );
        assert_eq!(
            GraphicsFlag::from_str("sixel", false).unwrap().explicit(),
            Some(crate::preview::Graphics::Sixel)
        );
        assert!(GraphicsFlag::from_str("vga", false).is_err());
    }
}
