//! Load-time and request-time settings, parsed from user text with errors that list the
//! accepted values.

use super::events::Refused;
use crate::util::error::BadValue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How to pick each next token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// `None` or 0 means greedy decoding.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub max_tokens: usize,
    /// Keep decoding past the end-of-sequence token (benchmarks, smoke tests).
    #[serde(default)]
    pub ignore_eos: bool,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: None,
            top_p: None,
            top_k: None,
            max_tokens: 512,
            ignore_eos: false,
        }
    }
}

impl Sampling {
    /// Reject values no sampler can use, naming the setting.
    pub fn check(&self) -> Result<(), Refused> {
        if self.max_tokens == 0 {
            return Err(Refused("max_tokens must be at least 1".into()));
        }
        if let Some(t) = self.temperature
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(Refused(format!(
                "temperature must be a number >= 0, got {t}"
            )));
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(Refused(format!("top_p must be in (0, 1], got {p}")));
        }
        if self.top_k == Some(0) {
            return Err(Refused("top_k must be at least 1".into()));
        }
        Ok(())
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature.is_none_or(|t| t == 0.0)
    }
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
}

impl FromStr for Device {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            other => Err(BadValue::unknown("device", other, "cpu or cuda")),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

/// Weight dtype the engine computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    #[default]
    Auto,
    F32,
    F16,
    Bf16,
}

impl FromStr for DType {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DType::Auto),
            "f32" | "float32" => Ok(DType::F32),
            "f16" | "float16" => Ok(DType::F16),
            "bf16" | "bfloat16" => Ok(DType::Bf16),
            other => Err(BadValue::unknown("dtype", other, "auto, f32, f16 or bf16")),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::Auto => "auto",
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
        })
    }
}

/// In-situ quantization types that mistralrs 0.8.1 can apply at load time on CPU and CUDA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsqKind(&'static str);

const ISQ_NAMES: &[&str] = &[
    "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1", "q2k", "q3k", "q4k", "q5k", "q6k", "q8k",
    "hqq4", "hqq8", "fp8",
];

impl IsqKind {
    pub fn name(self) -> &'static str {
        self.0
    }

    pub(crate) fn to_mistralrs(self) -> mistralrs::IsqType {
        use mistralrs::IsqType as T;
        match self.0 {
            "q4_0" => T::Q4_0,
            "q4_1" => T::Q4_1,
            "q5_0" => T::Q5_0,
            "q5_1" => T::Q5_1,
            "q8_0" => T::Q8_0,
            "q8_1" => T::Q8_1,
            "q2k" => T::Q2K,
            "q3k" => T::Q3K,
            "q4k" => T::Q4K,
            "q5k" => T::Q5K,
            "q6k" => T::Q6K,
            "q8k" => T::Q8K,
            "hqq4" => T::HQQ4,
            "hqq8" => T::HQQ8,
            _ => T::F8E4M3,
        }
    }
}

impl FromStr for IsqKind {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        let lowered = s.to_ascii_lowercase();
        ISQ_NAMES
            .iter()
            .find(|name| **name == lowered)
            .map(|name| IsqKind(name))
            .ok_or_else(|| {
                BadValue::unknown("isq value", s, format!("one of {}", ISQ_NAMES.join(", ")))
            })
    }
}

impl fmt::Display for IsqKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for IsqKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for IsqKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isq_names_round_trip_and_unknown_lists_choices() {
        for name in ISQ_NAMES {
            assert_eq!(name.parse::<IsqKind>().unwrap().name(), *name);
        }
        assert_eq!("Q4K".parse::<IsqKind>().unwrap().name(), "q4k");
        let err = "q9".parse::<IsqKind>().unwrap_err().to_string();
        assert!(
            err.contains("unknown isq value 'q9'") && err.contains("q8_0"),
            "{err}"
        );
    }

    #[test]
    fn sampling_check_rejects_nonsense() {
        let ok = Sampling::default();
        assert!(ok.check().is_ok());
        let zero = Sampling {
            max_tokens: 0,
            ..Sampling::default()
        };
        assert!(zero.check().unwrap_err().0.contains("max_tokens"));
        let hot = Sampling {
            temperature: Some(-1.0),
            ..Sampling::default()
        };
        assert!(hot.check().unwrap_err().0.contains("temperature"));
        let top_p = Sampling {
            top_p: Some(1.5),
            ..Sampling::default()
        };
        assert!(top_p.check().unwrap_err().0.contains("top_p"));
        assert!(
            Sampling {
                temperature: Some(0.0),
                ..ok.clone()
            }
            .is_greedy()
        );
        assert!(
            !Sampling {
                temperature: Some(0.7),
                ..ok
            }
            .is_greedy()
        );
    }
}
