//! The OpenAI chat-completions wire format, as both sides of radiochat speak it: the remote
//! engine sends requests and reads server-sent events; `radiochat serve` reads requests and
//! writes responses and events. Reading is lenient (servers add fields, send `null` content);
//! writing is what the official clients expect.

use base64::Engine as _;
use image::DynamicImage;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub messages: Vec<WireMessage>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Not OpenAI's, but vLLM, llama.cpp, Ollama and mistral.rs read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// vLLM's extension (and radiochat serve's): generate past end-of-sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_eos: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireMessage {
    pub role: String,
    /// `null` is allowed for assistant turns by the API.
    #[serde(default)]
    pub content: Option<Content>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Part {
    #[serde(rename = "text")]
    Text { text: String },
    #[serde(rename = "image_url")]
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageUrl {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireUsage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub total_tokens: usize,
}

impl WireUsage {
    pub fn new(prompt_tokens: usize, completion_tokens: usize) -> Self {
        WireUsage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

/// `data:image/png;base64,…` of `image` as PNG (lossless, so the server sees the exact
/// pixels radiochat's transform produced).
pub fn png_data_url(image: &DynamicImage) -> Result<String, image::ImageError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut png = Vec::new();
    // Fast deflate: a cutout is encoded per request, on loopback or a cluster network where
    // a few more bytes cost less than the milliseconds of a tighter compression.
    let encoder =
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive);
    image.write_with_encoder(encoder)?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    ))
}

/// Why a `data:` URL holds no bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataUrlError {
    #[error("a data: URL without a comma")]
    NoComma,
    #[error("data:{0}: only base64 data URLs carry images")]
    NotBase64(String),
    #[error("data:{meta}: not valid base64 ({error})")]
    BadBase64 { meta: String, error: String },
}

/// The bytes of a base64 `data:` URL; `None` when `url` is not one.
pub fn data_url_bytes(url: &str) -> Option<Result<Vec<u8>, DataUrlError>> {
    let rest = url.strip_prefix("data:")?;
    let Some((meta, payload)) = rest.split_once(',') else {
        return Some(Err(DataUrlError::NoComma));
    };
    if !meta.ends_with(";base64") {
        return Some(Err(DataUrlError::NotBase64(meta.to_string())));
    }
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|e| DataUrlError::BadBase64 {
                meta: meta.to_string(),
                error: e.to_string(),
            }),
    )
}

/// Splits a server-sent-events byte stream into the `data:` payloads of its events, however
/// the bytes are cut into chunks.
#[derive(Debug, Default)]
pub struct SseDecoder {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseDecoder {
    /// Feed bytes; the payloads of the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data).join("\n"));
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data
                    .push(value.strip_prefix(' ').unwrap_or(value).to_string());
            }
            // Comments (`: keep-alive`), `event:`, `id:` and `retry:` lines carry no text.
        }
        events
    }
}

/// `{"error": {"message", "type", "code"}}`, the API's error body.
pub fn error_body(message: &str, kind: &str, code: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "error": { "message": message, "type": kind, "code": code, "param": null }
    })
}

/// The message of an API error body, if `body` is one.
pub fn error_message(body: &serde_json::Value) -> Option<String> {
    let error = body.get("error")?;
    error
        .get("message")
        .and_then(|m| m.as_str())
        .or_else(|| error.as_str())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_whole_however_the_stream_is_cut() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\r\n\r\n";
        for cut in 0..stream.len() {
            let mut decoder = SseDecoder::default();
            let mut events = decoder.push(&stream[..cut]);
            events.extend(decoder.push(&stream[cut..]));
            assert_eq!(events, ["{\"a\":1}", "[DONE]"], "cut at {cut}");
        }
    }

    #[test]
    fn requests_read_text_and_image_parts_and_reject_unknown_ones() {
        let text = r#"{"model":"m","messages":[{"role":"user","content":[
            {"type":"text","text":"hi"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
            {"role":"assistant","content":null}],"stream":true}"#;
        let request: ChatCompletionRequest = serde_json::from_str(text).unwrap();
        assert!(request.stream);
        assert!(matches!(&request.messages[0].content, Some(Content::Parts(p)) if p.len() == 2));
        let audio = r#"{"messages":[{"role":"user","content":[{"type":"input_audio"}]}]}"#;
        assert!(serde_json::from_str::<ChatCompletionRequest>(audio).is_err());
    }

    #[test]
    fn png_data_urls_round_trip_exactly() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(5, 3, |x, y| {
            image::Rgb([x as u8 * 40, y as u8 * 70, 9])
        }));
        let url = png_data_url(&image).unwrap();
        let bytes = data_url_bytes(&url).unwrap().unwrap();
        let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(back, image.to_rgb8());
        assert!(data_url_bytes("file:///x.png").is_none());
        assert!(data_url_bytes("data:image/png,rawbytes").unwrap().is_err());
    }
}
