//! config.json of `LlavaOnevisionForConditionalGeneration`, with transformers' defaults for the
//! fields a checkpoint may leave out and a one-line error naming the field for the dimensions
//! no default can stand in for.

use super::anyres::{Geometry, Size, default_pinpoints};
use serde_json::Value;
use std::path::Path;

/// The SigLIP tower.
#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub image_size: usize,
    pub patch_size: usize,
    pub channels: usize,
    pub layer_norm_eps: f64,
    pub act: Activation,
}

/// The Qwen2 language model.
#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub max_positions: usize,
    pub act: Activation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `gelu`: the erf form.
    Gelu,
    /// `gelu_pytorch_tanh` / `gelu_new`: the tanh approximation.
    GeluTanh,
    Silu,
    QuickGelu,
}

impl Activation {
    fn parse(name: &str) -> Option<Activation> {
        Some(match name {
            "gelu" => Activation::Gelu,
            "gelu_pytorch_tanh" | "gelu_new" | "gelu_fast" => Activation::GeluTanh,
            "silu" | "swish" => Activation::Silu,
            "quick_gelu" => Activation::QuickGelu,
            _ => return None,
        })
    }
}

/// Which vision hidden states feed the projector.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSelection {
    /// Indices into the tower's hidden states (embeddings first), negative from the end.
    pub layers: Vec<i64>,
    /// `"default"` drops the first position (a CLS token); radio-llava uses `"full"`.
    pub drop_first: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OnevisionConfig {
    pub vision: VisionConfig,
    pub text: TextConfig,
    pub image_token_index: u32,
    pub features: FeatureSelection,
    pub projector_act: Activation,
    pub projector_bias: bool,
    pub pinpoints: Vec<Size>,
    /// N of `vision_aspect_ratio = "anyres_max_N"`.
    pub max_tiles: u32,
}

/// Why config.json cannot describe a LLaVA-OneVision model.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}: {problem}")]
pub struct ConfigError {
    pub path: String,
    pub problem: String,
}

impl OnevisionConfig {
    pub fn geometry(&self) -> Geometry {
        Geometry {
            image_size: self.vision.image_size as u32,
            patch_size: self.vision.patch_size as u32,
            pinpoints: self.pinpoints.clone(),
            max_tiles: self.max_tiles,
        }
    }

    /// Features one tile gives (before any CLS drop).
    pub fn tile_features(&self) -> usize {
        let side = self.vision.image_size / self.vision.patch_size;
        side * side
    }

    pub fn parse(path: &Path, config: &Value) -> Result<OnevisionConfig, ConfigError> {
        let fail = |problem: String| ConfigError {
            path: path.display().to_string(),
            problem,
        };
        let section = |name: &str| {
            config
                .get(name)
                .filter(|v| v.is_object())
                .ok_or_else(|| fail(format!("no \"{name}\" object")))
        };
        let vision = section("vision_config")?;
        let text = section("text_config")?;
        let need = |block: &Value, block_name: &str, field: &str| -> Result<usize, ConfigError> {
            match block.get(field).and_then(Value::as_u64) {
                Some(n) if n > 0 => Ok(n as usize),
                _ => Err(fail(format!(
                    "{block_name}.{field} is missing or not a positive integer"
                ))),
            }
        };
        let float = |block: &Value, field: &str, default: f64| {
            block.get(field).and_then(Value::as_f64).unwrap_or(default)
        };
        let act = |block: &Value, field: &str, default: &str| -> Result<Activation, ConfigError> {
            let name = block.get(field).and_then(Value::as_str).unwrap_or(default);
            Activation::parse(name)
                .ok_or_else(|| fail(format!("{field} \"{name}\" is not supported")))
        };

        let vision = VisionConfig {
            hidden: need(vision, "vision_config", "hidden_size")?,
            intermediate: need(vision, "vision_config", "intermediate_size")?,
            layers: need(vision, "vision_config", "num_hidden_layers")?,
            heads: need(vision, "vision_config", "num_attention_heads")?,
            image_size: need(vision, "vision_config", "image_size")?,
            patch_size: need(vision, "vision_config", "patch_size")?,
            channels: vision
                .get("num_channels")
                .and_then(Value::as_u64)
                .unwrap_or(3) as usize,
            layer_norm_eps: float(vision, "layer_norm_eps", 1e-6),
            act: act(vision, "hidden_act", "gelu_pytorch_tanh")?,
        };
        if !vision.hidden.is_multiple_of(vision.heads) {
            return Err(fail(format!(
                "vision_config.hidden_size {} is not a multiple of num_attention_heads {}",
                vision.hidden, vision.heads
            )));
        }
        // SigLIP-so400m's 384 px over 14 px patches: the strided convolution drops the last
        // 6 px, so a tile has (384 / 14)² = 27² features, as transformers counts them.
        if vision.patch_size > vision.image_size {
            return Err(fail(format!(
                "vision_config.patch_size {} is larger than image_size {}",
                vision.patch_size, vision.image_size
            )));
        }

        let hidden = need(text, "text_config", "hidden_size")?;
        let heads = need(text, "text_config", "num_attention_heads")?;
        let kv_heads = match text.get("num_key_value_heads") {
            None | Some(Value::Null) => heads,
            Some(_) => need(text, "text_config", "num_key_value_heads")?,
        };
        if !heads.is_multiple_of(kv_heads) {
            return Err(fail(format!(
                "text_config.num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}"
            )));
        }
        let head_dim = match text.get("head_dim") {
            None | Some(Value::Null) if hidden.is_multiple_of(heads) => hidden / heads,
            None | Some(Value::Null) => {
                return Err(fail(format!(
                    "text_config.hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
                )));
            }
            Some(_) => need(text, "text_config", "head_dim")?,
        };
        // transformers 5 writes rope_parameters; 4.x wrote rope_theta at the top of the block.
        let rope_theta = text
            .get("rope_parameters")
            .and_then(|r| r.get("rope_theta"))
            .and_then(Value::as_f64)
            .unwrap_or_else(|| float(text, "rope_theta", 10000.0));
        let rope_type = text
            .get("rope_parameters")
            .or_else(|| text.get("rope_scaling"))
            .and_then(|r| r.get("rope_type").or_else(|| r.get("type")))
            .and_then(Value::as_str)
            .unwrap_or("default");
        if rope_type != "default" {
            return Err(fail(format!(
                "text_config: rope type \"{rope_type}\" is not supported (only \"default\")"
            )));
        }
        if text.get("use_sliding_window").and_then(Value::as_bool) == Some(true) {
            return Err(fail(
                "text_config.use_sliding_window is true: sliding-window attention is not supported"
                    .into(),
            ));
        }
        let text = TextConfig {
            hidden,
            intermediate: need(text, "text_config", "intermediate_size")?,
            layers: need(text, "text_config", "num_hidden_layers")?,
            heads,
            kv_heads,
            head_dim,
            vocab_size: need(text, "text_config", "vocab_size")?,
            rms_norm_eps: float(text, "rms_norm_eps", 1e-6),
            rope_theta,
            max_positions: text
                .get("max_position_embeddings")
                .and_then(Value::as_u64)
                .unwrap_or(32768) as usize,
            act: act(text, "hidden_act", "silu")?,
        };

        let image_token_index = config
            .get("image_token_index")
            .or_else(|| config.get("image_token_id"))
            .map(|v| {
                v.as_u64()
                    .map(|n| n as u32)
                    .ok_or_else(|| fail("image_token_index is not a token id".into()))
            })
            .transpose()?
            .unwrap_or(151646);
        let layers = match config.get("vision_feature_layer") {
            None | Some(Value::Null) => vec![-1],
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_i64().ok_or(()))
                .collect::<Result<_, _>>()
                .map_err(|_| fail("vision_feature_layer holds a non-integer".into()))?,
            Some(v) => vec![
                v.as_i64()
                    .ok_or_else(|| fail("vision_feature_layer is not an integer".into()))?,
            ],
        };
        let states = vision.layers as i64 + 1;
        if let Some(bad) = layers.iter().find(|&&l| l >= states || l < -states) {
            return Err(fail(format!(
                "vision_feature_layer {bad} is outside the tower's {states} hidden states"
            )));
        }
        let drop_first = match config
            .get("vision_feature_select_strategy")
            .and_then(Value::as_str)
            .unwrap_or("full")
        {
            "full" => false,
            "default" => true,
            other => {
                return Err(fail(format!(
                    "vision_feature_select_strategy \"{other}\" is not \"default\" or \"full\""
                )));
            }
        };
        let pinpoints = match config.get("image_grid_pinpoints") {
            None | Some(Value::Null) => default_pinpoints(vision.image_size as u32),
            Some(list) => parse_pinpoints(list).ok_or_else(|| {
                fail("image_grid_pinpoints is not a list of [height, width]".into())
            })?,
        };
        let aspect = config
            .get("vision_aspect_ratio")
            .and_then(Value::as_str)
            .unwrap_or("anyres_max_9");
        let max_tiles = aspect
            .strip_prefix("anyres_max_")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                fail(format!(
                    "vision_aspect_ratio \"{aspect}\" is not anyres_max_N"
                ))
            })?;
        Ok(OnevisionConfig {
            vision,
            text,
            image_token_index,
            features: FeatureSelection { layers, drop_first },
            projector_act: act(config, "projector_hidden_act", "gelu")?,
            projector_bias: config
                .get("multimodal_projector_bias")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            pinpoints,
            max_tiles,
        })
    }
}

pub fn parse_pinpoints(list: &Value) -> Option<Vec<Size>> {
    let sizes: Option<Vec<Size>> = list
        .as_array()?
        .iter()
        .map(|pair| {
            let pair = pair.as_array()?;
            match pair.as_slice() {
                [h, w] => Some(Size::new(h.as_u64()? as u32, w.as_u64()? as u32)),
                _ => None,
            }
        })
        .collect();
    sizes.filter(|s| !s.is_empty() && s.iter().all(|s| s.height > 0 && s.width > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny() -> Value {
        json!({
            "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 2, "image_size": 56, "patch_size": 14},
            "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 272,
                "rope_parameters": {"rope_theta": 500.0, "rope_type": "default"}},
            "image_token_index": 259,
        })
    }

    #[test]
    fn defaults_follow_transformers() {
        let c = OnevisionConfig::parse(Path::new("config.json"), &tiny()).unwrap();
        assert_eq!(c.features.layers, vec![-1]);
        assert!(!c.features.drop_first);
        assert_eq!(c.max_tiles, 9);
        assert_eq!(c.pinpoints.len(), 36);
        assert_eq!(c.text.head_dim, 16);
        assert_eq!(c.text.rope_theta, 500.0);
        assert_eq!(c.vision.act, Activation::GeluTanh);
        assert_eq!(c.projector_act, Activation::Gelu);
        assert_eq!(c.tile_features(), 16);
        let mut so400m = tiny();
        so400m["vision_config"]["image_size"] = json!(384);
        let c = OnevisionConfig::parse(Path::new("config.json"), &so400m).unwrap();
        assert_eq!(c.tile_features(), 729);
    }

    #[test]
    fn missing_dimensions_name_the_field() {
        let mut config = tiny();
        config["text_config"]
            .as_object_mut()
            .unwrap()
            .remove("vocab_size");
        let e = OnevisionConfig::parse(Path::new("m/config.json"), &config).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m/config.json: text_config.vocab_size is missing or not a positive integer"
        );
        let e = OnevisionConfig::parse(Path::new("c"), &json!({"text_config": {}})).unwrap_err();
        assert_eq!(e.to_string(), "c: no \"vision_config\" object");
    }

    #[test]
    fn feature_layers_outside_the_tower_are_refused() {
        let mut config = tiny();
        config["vision_feature_layer"] = json!(-4);
        let e = OnevisionConfig::parse(Path::new("c"), &config).unwrap_err();
        assert!(
            e.problem.contains("outside the tower's 3 hidden states"),
            "{e}"
        );
    }
}
