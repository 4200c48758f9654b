//! Settings: built-in defaults, then `config.toml`, then command-line flags. Every resolved
//! value remembers where it came from so `radiochat config show` can say.

use crate::engine::{DType, Device, IsqKind, LoadSpec, ModelSource, Sampling};
use crate::util::error::BadValue;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file as users write it. Unknown keys are rejected so typos do not pass silently.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Model directory, or `hf:owner/name`.
    pub model: Option<String>,
    pub device: Option<String>,
    pub dtype: Option<String>,
    pub isq: Option<String>,
    /// Conversations mistral.rs's prefix cache keeps (0: off).
    pub prefix_cache: Option<usize>,
    pub system_prompt: Option<String>,
    /// Where session journals go (default: DATA_DIR/sessions).
    pub sessions_dir: Option<String>,
    #[serde(default)]
    pub sampling: SamplingFile,
    #[serde(default)]
    pub image: ImageFile,
    #[serde(default)]
    pub remote: RemoteFile,
}

/// `[remote]`: an OpenAI-compatible server instead of the embedded engine.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteFile {
    /// The API base, e.g. `http://gpu07:8000/v1`.
    pub url: Option<String>,
    /// The served model (default: the first the server lists).
    pub model: Option<String>,
    /// The environment variable holding the API key (the key itself never goes in a file).
    pub api_key_env: Option<String>,
    /// Seconds to wait for an answer to start, and between two pieces of it.
    pub timeout: Option<f64>,
}

/// `[image]`: how images become model input (radio-llava's transform settings).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageFile {
    pub zscale: Option<bool>,
    pub contrast: Option<f64>,
    /// Resize to N×N before the min–max step; 0 or absent = no resize.
    pub resize: Option<usize>,
    /// With `resize`: zero-pad to a square first.
    pub square: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SamplingFile {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub max_tokens: Option<usize>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Default,
    Config,
    Flag,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    fn default(value: T) -> Self {
        Self {
            value,
            origin: Origin::Default,
        }
    }
    /// Later layers win: `config` over the default, `flag` over both.
    fn layer(&mut self, value: Option<T>, origin: Origin) {
        if let Some(value) = value {
            *self = Self { value, origin };
        }
    }
}

/// Overrides from the command line; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub model: Option<String>,
    pub device: Option<String>,
    pub dtype: Option<String>,
    pub isq: Option<String>,
    pub prefix_cache: Option<usize>,
    pub system_prompt: Option<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub max_tokens: Option<usize>,
    pub zscale: Option<bool>,
    pub contrast: Option<f64>,
    pub resize: Option<usize>,
    pub square: Option<bool>,
    pub sessions_dir: Option<PathBuf>,
    pub remote: Option<String>,
    pub remote_model: Option<String>,
    pub api_key_env: Option<String>,
    pub remote_timeout: Option<f64>,
}

/// `config show --json` prints the remote URL as every other place does: without `user:pass@`.
fn without_credentials<S: serde::Serializer>(
    setting: &Setting<Option<String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    Setting {
        value: setting
            .value
            .as_deref()
            .map(crate::util::url::redact_credentials),
        origin: setting.origin,
    }
    .serialize(serializer)
}

/// The merged settings.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub config_path: PathBuf,
    pub model: Setting<Option<String>>,
    pub device: Setting<Device>,
    pub dtype: Setting<DType>,
    pub isq: Setting<Option<IsqKind>>,
    pub prefix_cache: Setting<usize>,
    pub system_prompt: Setting<Option<String>>,
    pub temperature: Setting<Option<f64>>,
    pub top_p: Setting<Option<f64>>,
    pub top_k: Setting<Option<usize>>,
    pub max_tokens: Setting<usize>,
    pub zscale: Setting<bool>,
    pub contrast: Setting<f64>,
    /// 0 = no resize.
    pub resize: Setting<usize>,
    pub square: Setting<bool>,
    pub sessions_dir: Setting<PathBuf>,
    /// An OpenAI-compatible server's URL: used instead of `model` when set at the same or a
    /// higher layer.
    #[serde(serialize_with = "without_credentials")]
    pub remote: Setting<Option<String>>,
    pub remote_model: Setting<Option<String>>,
    pub api_key_env: Setting<Option<String>>,
    pub remote_timeout: Setting<f64>,
}

/// `$RADIOCHAT_CONFIG`, else `$XDG_CONFIG_HOME/radiochat/config.toml` (platform equivalent).
pub fn default_config_path() -> PathBuf {
    if let Some(path) = std::env::var_os("RADIOCHAT_CONFIG") {
        return PathBuf::from(path);
    }
    directories::ProjectDirs::from("", "", "radiochat")
        .map(|dirs| dirs.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("radiochat-config.toml"))
}

/// Where radiochat keeps data it creates (the demo model, later sessions and runs).
pub fn data_dir() -> PathBuf {
    if let Some(path) = std::env::var_os("RADIOCHAT_DATA") {
        return PathBuf::from(path);
    }
    directories::ProjectDirs::from("", "", "radiochat")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".radiochat"))
}

/// Read the config file; a missing file is an empty config, a broken one is an error that
/// names the file and the line.
pub fn read_config_file(path: &Path) -> anyhow::Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            let message = e.message().to_string();
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1))
                .map(|n| format!(" (line {n})"))
                .unwrap_or_default();
            anyhow::anyhow!("{}{line}: {message}", path.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read", path.display())),
    }
}

fn parse_in_file<T: std::str::FromStr<Err = BadValue>>(
    path: &Path,
    text: &Option<String>,
    what: &str,
) -> anyhow::Result<Option<T>> {
    text.as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{}: {what}: {e}", path.display()))
}

fn parse_flag<T: std::str::FromStr<Err = BadValue>>(
    text: &Option<String>,
) -> anyhow::Result<Option<T>> {
    text.as_deref()
        .map(str::parse)
        .transpose()
        .map_err(anyhow::Error::from)
}

/// Conversations whose keys and values mistral.rs keeps for a request that starts the same
/// way: a chat's follow-up question or a few-shot run's shared examples skip their prefill
/// (follow-up TTFT 842 → 479 ms at SmolVLM-256M dims, CPU; perf/RESULTS.md). Four bound
/// the memory (one 300-token conversation of a 2B model is ~70 MB).
pub const DEFAULT_PREFIX_CACHE: usize = 4;

impl Settings {
    pub fn resolve(config_path: &Path, flags: &Flags) -> anyhow::Result<Settings> {
        let file = read_config_file(config_path)?;
        let mut settings = Settings {
            config_path: config_path.to_path_buf(),
            model: Setting::default(None),
            device: Setting::default(Device::Cpu),
            dtype: Setting::default(DType::Auto),
            isq: Setting::default(None),
            prefix_cache: Setting::default(DEFAULT_PREFIX_CACHE),
            system_prompt: Setting::default(None),
            temperature: Setting::default(None),
            top_p: Setting::default(None),
            top_k: Setting::default(None),
            max_tokens: Setting::default(Sampling::default().max_tokens),
            zscale: Setting::default(true),
            contrast: Setting::default(0.25),
            resize: Setting::default(0),
            square: Setting::default(false),
            sessions_dir: Setting::default(data_dir().join("sessions")),
            remote: Setting::default(None),
            remote_model: Setting::default(None),
            api_key_env: Setting::default(None),
            remote_timeout: Setting::default(
                crate::engine::RemoteSource::DEFAULT_TIMEOUT.as_secs_f64(),
            ),
        };
        let r = &file.remote;
        settings
            .remote
            .layer(r.url.clone().map(Some), Origin::Config);
        settings
            .remote_model
            .layer(r.model.clone().map(Some), Origin::Config);
        settings
            .api_key_env
            .layer(r.api_key_env.clone().map(Some), Origin::Config);
        settings.remote_timeout.layer(r.timeout, Origin::Config);
        settings
            .remote
            .layer(flags.remote.clone().map(Some), Origin::Flag);
        settings
            .remote_model
            .layer(flags.remote_model.clone().map(Some), Origin::Flag);
        settings
            .api_key_env
            .layer(flags.api_key_env.clone().map(Some), Origin::Flag);
        settings
            .remote_timeout
            .layer(flags.remote_timeout, Origin::Flag);
        let timeout = settings.remote_timeout.value;
        if !(timeout > 0.0 && timeout.is_finite()) {
            anyhow::bail!("remote timeout must be a positive number of seconds, got {timeout}");
        }
        settings.sessions_dir.layer(
            file.sessions_dir.as_ref().map(PathBuf::from),
            Origin::Config,
        );
        settings
            .sessions_dir
            .layer(flags.sessions_dir.clone(), Origin::Flag);
        settings.zscale.layer(file.image.zscale, Origin::Config);
        settings.contrast.layer(file.image.contrast, Origin::Config);
        settings.resize.layer(file.image.resize, Origin::Config);
        settings.square.layer(file.image.square, Origin::Config);
        settings.zscale.layer(flags.zscale, Origin::Flag);
        settings.contrast.layer(flags.contrast, Origin::Flag);
        settings.resize.layer(flags.resize, Origin::Flag);
        settings.square.layer(flags.square, Origin::Flag);
        let contrast = settings.contrast.value;
        if !(contrast > 0.0 && contrast <= 1.0) {
            let place = match settings.contrast.origin {
                Origin::Flag => "--contrast".to_string(),
                _ => format!("{}: image.contrast", config_path.display()),
            };
            anyhow::bail!("{place} must be in (0, 1], got {contrast}");
        }
        settings
            .model
            .layer(file.model.clone().map(Some), Origin::Config);
        settings.device.layer(
            parse_in_file(config_path, &file.device, "device")?,
            Origin::Config,
        );
        settings.dtype.layer(
            parse_in_file(config_path, &file.dtype, "dtype")?,
            Origin::Config,
        );
        settings.isq.layer(
            parse_in_file(config_path, &file.isq, "isq")?.map(Some),
            Origin::Config,
        );
        settings
            .prefix_cache
            .layer(file.prefix_cache, Origin::Config);
        settings
            .system_prompt
            .layer(file.system_prompt.clone().map(Some), Origin::Config);
        settings
            .temperature
            .layer(file.sampling.temperature.map(Some), Origin::Config);
        settings
            .top_p
            .layer(file.sampling.top_p.map(Some), Origin::Config);
        settings
            .top_k
            .layer(file.sampling.top_k.map(Some), Origin::Config);
        settings
            .max_tokens
            .layer(file.sampling.max_tokens, Origin::Config);

        settings
            .model
            .layer(flags.model.clone().map(Some), Origin::Flag);
        settings
            .device
            .layer(parse_flag(&flags.device)?, Origin::Flag);
        settings
            .dtype
            .layer(parse_flag(&flags.dtype)?, Origin::Flag);
        settings
            .isq
            .layer(parse_flag(&flags.isq)?.map(Some), Origin::Flag);
        settings
            .prefix_cache
            .layer(flags.prefix_cache, Origin::Flag);
        settings
            .system_prompt
            .layer(flags.system_prompt.clone().map(Some), Origin::Flag);
        settings
            .temperature
            .layer(flags.temperature.map(Some), Origin::Flag);
        settings.top_p.layer(flags.top_p.map(Some), Origin::Flag);
        settings.top_k.layer(flags.top_k.map(Some), Origin::Flag);
        settings.max_tokens.layer(flags.max_tokens, Origin::Flag);
        settings.sampling().check().map_err(anyhow::Error::msg)?;
        Ok(settings)
    }

    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temperature.value,
            top_p: self.top_p.value,
            top_k: self.top_k.value,
            max_tokens: self.max_tokens.value,
            ignore_eos: false,
        }
    }

    /// How images become model input.
    pub fn transform(&self) -> crate::imaging::TransformOptions {
        crate::imaging::TransformOptions {
            zscale: self.zscale.value,
            contrast: self.contrast.value,
            resize: (self.resize.value > 0).then_some(crate::imaging::resize::Resize {
                size: self.resize.value,
                square: self.square.value,
            }),
        }
    }

    /// The load spec for the configured model, or `None` when no model is set anywhere.
    pub fn load_spec(&self) -> Option<LoadSpec> {
        let remote_wins = self.remote.value.is_some()
            && (self.model.value.is_none() || self.remote.origin >= self.model.origin);
        let mut source = if remote_wins {
            let url = self.remote.value.as_deref()?;
            ModelSource::Remote(crate::engine::RemoteSource::parse(url))
        } else {
            ModelSource::parse(self.model.value.as_deref()?)
        };
        if let ModelSource::Remote(remote) = &mut source {
            if remote_wins || remote.model.is_none() {
                remote.model = self.remote_model.value.clone().or(remote.model.take());
            }
            remote.api_key_env = self.api_key_env.value.clone();
            remote.timeout = std::time::Duration::from_secs_f64(self.remote_timeout.value);
        }
        let mut spec = LoadSpec::new(source);
        spec.device = self.device.value;
        spec.dtype = self.dtype.value;
        spec.isq = self.isq.value;
        spec.prefix_cache = self.prefix_cache.value;
        Some(spec)
    }

    /// `name = value  # origin` lines, as `config show` prints them.
    pub fn describe(&self) -> Vec<(String, String, Origin)> {
        fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
            v.as_ref()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(unset)".into())
        }
        vec![
            ("model".into(), show(&self.model.value), self.model.origin),
            (
                "device".into(),
                self.device.value.to_string(),
                self.device.origin,
            ),
            (
                "dtype".into(),
                self.dtype.value.to_string(),
                self.dtype.origin,
            ),
            ("isq".into(), show(&self.isq.value), self.isq.origin),
            (
                "prefix_cache".into(),
                self.prefix_cache.value.to_string(),
                self.prefix_cache.origin,
            ),
            (
                "remote.url".into(),
                show(
                    &self
                        .remote
                        .value
                        .as_deref()
                        .map(crate::util::url::redact_credentials),
                ),
                self.remote.origin,
            ),
            (
                "remote.model".into(),
                show(&self.remote_model.value),
                self.remote_model.origin,
            ),
            (
                "remote.api_key_env".into(),
                show(&self.api_key_env.value),
                self.api_key_env.origin,
            ),
            (
                "remote.timeout".into(),
                self.remote_timeout.value.to_string(),
                self.remote_timeout.origin,
            ),
            (
                "system_prompt".into(),
                show(&self.system_prompt.value),
                self.system_prompt.origin,
            ),
            (
                "sampling.temperature".into(),
                show(&self.temperature.value),
                self.temperature.origin,
            ),
            (
                "sampling.top_p".into(),
                show(&self.top_p.value),
                self.top_p.origin,
            ),
            (
                "sampling.top_k".into(),
                show(&self.top_k.value),
                self.top_k.origin,
            ),
            (
                "sampling.max_tokens".into(),
                self.max_tokens.value.to_string(),
                self.max_tokens.origin,
            ),
            (
                "sessions_dir".into(),
                self.sessions_dir.value.display().to_string(),
                self.sessions_dir.origin,
            ),
            (
                "image.zscale".into(),
                self.zscale.value.to_string(),
                self.zscale.origin,
            ),
            (
                "image.contrast".into(),
                self.contrast.value.to_string(),
                self.contrast.origin,
            ),
            (
                "image.resize".into(),
                self.resize.value.to_string(),
                self.resize.origin,
            ),
            (
                "image.square".into(),
                self.square.value.to_string(),
                self.square.origin,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_override_config_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "model = \"/models/smol\"\nisq = \"q8_0\"\n[sampling]\ntemperature = 0.7\nmax_tokens = 64\n",
        );
        let flags = Flags {
            max_tokens: Some(16),
            ..Flags::default()
        };
        let s = Settings::resolve(&path, &flags).unwrap();
        assert_eq!(s.model.value.as_deref(), Some("/models/smol"));
        assert_eq!(s.model.origin, Origin::Config);
        assert_eq!(s.isq.value.unwrap().name(), "q8_0");
        assert_eq!(
            s.temperature,
            Setting {
                value: Some(0.7),
                origin: Origin::Config
            }
        );
        assert_eq!(
            s.max_tokens,
            Setting {
                value: 16,
                origin: Origin::Flag
            }
        );
        assert_eq!(
            s.device,
            Setting {
                value: Device::Cpu,
                origin: Origin::Default
            }
        );
    }

    #[test]
    fn missing_file_is_empty_and_bad_values_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::resolve(&dir.path().join("absent.toml"), &Flags::default()).unwrap();
        assert_eq!(s.model.value, None);
        let path = write(dir.path(), "isq = \"q9\"\n");
        let err = Settings::resolve(&path, &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.toml: isq: unknown isq value 'q9'"),
            "{err}"
        );
        let path = write(dir.path(), "modle = \"x\"\n");
        let err = Settings::resolve(&path, &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.toml (line 1)") && err.contains("unknown field"),
            "{err}"
        );
        let flags = Flags {
            max_tokens: Some(0),
            ..Flags::default()
        };
        let err = Settings::resolve(&dir.path().join("absent.toml"), &flags)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_tokens must be at least 1"), "{err}");
    }
}
