//! From a conversation to token ids: the checkpoint's chat template (chat_template.jinja,
//! chat_template.json or tokenizer_config.json, as transformers looks for it) rendered with
//! multimodal content lists, tokenised, and each `<image>` widened to as many tokens as that
//! image's features — the count transformers' processor makes.

use super::anyres::{Geometry, Size};
use crate::engine::{ChatMessage, Refused, Role};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}: {problem}")]
pub struct TemplateError {
    pub path: PathBuf,
    pub problem: String,
}

pub struct ChatTemplate {
    source: String,
    path: PathBuf,
    bos: Option<String>,
    eos: Option<String>,
}

fn special(config: &Value, key: &str) -> Option<String> {
    let v = &config[key];
    v.as_str()
        .or_else(|| v.get("content").and_then(Value::as_str))
        .map(str::to_string)
}

impl ChatTemplate {
    pub fn from_dir(dir: &Path) -> Result<ChatTemplate, TemplateError> {
        let tokenizer_config: Value = std::fs::read_to_string(dir.join("tokenizer_config.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        let fail = |path: PathBuf, problem: String| TemplateError { path, problem };
        let jinja = dir.join("chat_template.jinja");
        let json_file = dir.join("chat_template.json");
        let (source, path) = if let Ok(text) = std::fs::read_to_string(&jinja) {
            (text, jinja)
        } else if let Ok(text) = std::fs::read_to_string(&json_file) {
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| fail(json_file.clone(), format!("not valid JSON: {e}")))?;
            let template = value["chat_template"]
                .as_str()
                .ok_or_else(|| fail(json_file.clone(), "no \"chat_template\" string".into()))?;
            (template.to_string(), json_file)
        } else {
            let path = dir.join("tokenizer_config.json");
            let template = match &tokenizer_config["chat_template"] {
                Value::String(t) => t.clone(),
                // A list of named templates: the default one.
                Value::Array(items) => items
                    .iter()
                    .find(|t| t["name"] == "default")
                    .and_then(|t| t["template"].as_str())
                    .ok_or_else(|| fail(path.clone(), "no \"default\" chat template".into()))?
                    .to_string(),
                _ => {
                    return Err(fail(
                        path,
                        "no chat template (nor chat_template.jinja / chat_template.json)".into(),
                    ));
                }
            };
            (template, path)
        };
        let template = ChatTemplate {
            source: strip_generation_tags(&source),
            path,
            bos: special(&tokenizer_config, "bos_token"),
            eos: special(&tokenizer_config, "eos_token"),
        };
        // A template that cannot render a plain question with an image is caught at load.
        template.render(&[ChatMessage::user("?", Vec::new())])?;
        Ok(template)
    }

    /// The prompt text, ending with the assistant's turn opened; each message's images are
    /// `{"type": "image"}` parts before its text, as transformers' processors pass them.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, TemplateError> {
        let fail = |problem: String| TemplateError {
            path: self.path.clone(),
            problem,
        };
        let mut env = minijinja::Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    message,
                ))
            },
        );
        env.add_template("chat", &self.source)
            .map_err(|e| fail(format!("chat template does not parse: {e}")))?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| {
                let mut content: Vec<Value> =
                    m.images.iter().map(|_| json!({"type": "image"})).collect();
                content.push(json!({"type": "text", "text": m.text}));
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": content})
            })
            .collect();
        env.get_template("chat")
            .and_then(|t| {
                t.render(minijinja::context! {
                    messages => messages,
                    add_generation_prompt => true,
                    bos_token => self.bos.clone().unwrap_or_default(),
                    eos_token => self.eos.clone().unwrap_or_default(),
                })
            })
            .map_err(|e| fail(format!("chat template does not render: {e}")))
    }
}

/// `{% generation %}…{% endgeneration %}` marks assistant text for transformers' training
/// masks; minijinja has no such tag, and the text between them renders unchanged.
fn strip_generation_tags(source: &str) -> String {
    let mut out = source.to_string();
    for tag in ["generation", "endgeneration"] {
        for dash in [("{%", "%}"), ("{%-", "-%}"), ("{%-", "%}"), ("{%", "-%}")] {
            for space in [" ", ""] {
                out = out.replace(&format!("{}{space}{tag}{space}{}", dash.0, dash.1), "");
            }
        }
    }
    out
}

/// Replace each `image_token` in `ids` by `counts[i]` copies (the i-th image's features).
pub fn expand_images(ids: &[u32], image_token: u32, counts: &[usize]) -> Result<Vec<u32>, Refused> {
    let found = ids.iter().filter(|&&t| t == image_token).count();
    if found != counts.len() {
        return Err(Refused(format!(
            "the prompt has {found} image tokens for {} images (the chat template must print \
             one <image> per image)",
            counts.len()
        )));
    }
    let mut out = Vec::with_capacity(ids.len() + counts.iter().sum::<usize>());
    let mut next = counts.iter();
    for &id in ids {
        if id == image_token {
            let n = next.next().copied().unwrap_or(0);
            out.extend(std::iter::repeat_n(image_token, n));
        } else {
            out.push(id);
        }
    }
    Ok(out)
}

/// Image-token count of an image of `size` under `geometry`.
pub fn image_tokens(geometry: &Geometry, size: Size) -> usize {
    geometry
        .image_tokens(size)
        .unwrap_or((geometry.tile_side() * geometry.tile_side()) as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_tags_are_dropped_and_the_text_kept() {
        let source =
            "{% for m in messages %}{% generation %}{{ m }}{% endgeneration %}{% endfor %}";
        assert_eq!(
            strip_generation_tags(source),
            "{% for m in messages %}{{ m }}{% endfor %}"
        );
    }

    #[test]
    fn image_tokens_widen_in_order() {
        assert_eq!(
            expand_images(&[1, 9, 2, 9], 9, &[2, 3]).unwrap(),
            vec![1, 9, 9, 2, 9, 9, 9]
        );
        let e = expand_images(&[1, 9], 9, &[2, 3]).unwrap_err().0;
        assert!(e.contains("1 image tokens for 2 images"), "{e}");
    }

    #[test]
    fn llava_hf_template_renders_images_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("chat_template.jinja"),
            crate::testkit::tiny::llava_onevision_template(),
        )
        .unwrap();
        let t = ChatTemplate::from_dir(dir.path()).unwrap();
        let image = image::DynamicImage::new_rgb8(2, 2);
        let text = t
            .render(&[ChatMessage::user("What is it?", vec![image])])
            .unwrap();
        assert_eq!(
            text,
            "<|im_start|>user <image>\nWhat is it?<|im_end|><|im_start|>assistant\n"
        );
    }
}
