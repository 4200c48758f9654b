//! A chat completion request: checked against the server's caps, its images read (data URLs,
//! or files under `--allow-files`) within the request's pixel budget, then answered whole or
//! as a stream (`stream.rs`).

use super::AppState;
use super::reply::{Refusal, refuse};
use crate::engine::{ChatMessage, ChatRequest, Role};
use crate::openai::{self, ChatCompletionRequest, Content, Part};
use axum::response::Response;
use image::DynamicImage;

pub async fn completions(
    state: &std::sync::Arc<AppState>,
    body: &[u8],
) -> Result<Response, Refusal> {
    let parsed: ChatCompletionRequest = serde_json::from_slice(body).map_err(|e| {
        refuse(
            400,
            format!("the body is not a chat completion request: {e}"),
        )
    })?;
    let options = &state.options;
    let limits = &options.limits;
    if let Some(model) = parsed.model.as_deref().filter(|m| *m != options.model_name) {
        return Err(refuse(
            404,
            format!(
                "model '{model}' does not exist here; this server serves '{}'",
                options.model_name
            ),
        ));
    }
    if parsed.n.unwrap_or(1) != 1 {
        return Err(refuse(400, "n must be 1: one answer per request"));
    }
    let mut sampling = options.sampling.clone();
    if let Some(max) = parsed.max_completion_tokens.or(parsed.max_tokens) {
        if max > limits.max_tokens {
            return Err(refuse(
                400,
                format!(
                    "max_tokens {max} is over this server's cap of {} (--max-tokens-cap)",
                    limits.max_tokens
                ),
            ));
        }
        sampling.max_tokens = max;
    }
    sampling.max_tokens = sampling.max_tokens.min(limits.max_tokens);
    sampling.temperature = parsed.temperature.or(sampling.temperature);
    sampling.top_p = parsed.top_p.or(sampling.top_p);
    sampling.top_k = parsed.top_k.or(sampling.top_k);
    sampling.ignore_eos = parsed.ignore_eos.unwrap_or(false);
    if sampling.ignore_eos && !limits.allow_ignore_eos {
        return Err(refuse(
            400,
            "ignore_eos is off on this server (the operator allows it with --allow-ignore-eos)",
        ));
    }
    sampling.check().map_err(|e| refuse(400, e.0))?;
    let images = count_images(&parsed);
    if images > limits.max_images {
        return Err(refuse(
            413,
            format!(
                "{images} images in one request; this server takes at most {} (--max-images)",
                limits.max_images
            ),
        ));
    }
    // Decoding images and checking them against the model is CPU work: off the connection's
    // task.
    let wire = parsed.clone();
    let state_for_images = state.clone();
    let request = tokio::task::spawn_blocking(move || {
        let messages = to_messages(&wire, &state_for_images.options)?;
        let request = ChatRequest { messages, sampling };
        state_for_images
            .engine
            .check(&request)
            .map_err(|e| refuse(400, e.0))?;
        Ok::<_, Refusal>(request)
    })
    .await
    .map_err(|_| refuse(500, "reading the images failed"))??;
    let generation = state.engine.stream(request);
    let include_usage = parsed
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    if parsed.stream {
        Ok(super::stream::events(
            generation,
            &options.model_name,
            include_usage,
        ))
    } else {
        super::stream::whole(generation, &options.model_name).await
    }
}

fn count_images(request: &ChatCompletionRequest) -> usize {
    request
        .messages
        .iter()
        .filter_map(|m| match &m.content {
            Some(Content::Parts(parts)) => Some(
                parts
                    .iter()
                    .filter(|p| matches!(p, Part::ImageUrl { .. }))
                    .count(),
            ),
            _ => None,
        })
        .sum()
}

/// The request's turns as the engine's, images decoded (or read from allowed files).
fn to_messages(
    request: &ChatCompletionRequest,
    options: &super::ServeOptions,
) -> Result<Vec<ChatMessage>, Refusal> {
    let mut messages = Vec::with_capacity(request.messages.len());
    // What is left of the request's pixel budget, shared by all its images.
    let mut pixels_left = options.limits.max_total_pixels;
    for (i, message) in request.messages.iter().enumerate() {
        let role = match message.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(refuse(
                    400,
                    format!("messages[{i}]: role '{other}' is not supported"),
                ));
            }
        };
        let mut texts = Vec::new();
        let mut images = Vec::new();
        match &message.content {
            None => {}
            Some(Content::Text(text)) => texts.push(text.clone()),
            Some(Content::Parts(parts)) => {
                for part in parts {
                    match part {
                        Part::Text { text } => texts.push(text.clone()),
                        Part::ImageUrl { image_url } => images.push(
                            read_image(&image_url.url, options, &mut pixels_left)
                                .map_err(|(s, m)| (s, format!("messages[{i}]: {m}")))?,
                        ),
                    }
                }
            }
        }
        if role != Role::User && !images.is_empty() {
            return Err(refuse(
                400,
                format!("messages[{i}]: only user turns carry images"),
            ));
        }
        messages.push(ChatMessage {
            role,
            text: texts.join("\n"),
            images,
        });
    }
    if !messages.iter().any(|m| m.role == Role::User) {
        return Err(refuse(400, "messages: no user turn to answer"));
    }
    Ok(messages)
}

fn read_image(
    url: &str,
    options: &super::ServeOptions,
    pixels_left: &mut u64,
) -> Result<DynamicImage, Refusal> {
    if let Some(bytes) = openai::data_url_bytes(url) {
        let bytes = bytes.map_err(|e| refuse(400, e.to_string()))?;
        let reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
            .with_guessed_format()
            .map_err(|e| refuse(400, format!("image: {e}")))?;
        let (w, h) = reader
            .into_dimensions()
            .map_err(|e| refuse(400, format!("not an image this server decodes: {e}")))?;
        take_pixels(w as u64 * h as u64, options, pixels_left)?;
        return image::load_from_memory(&bytes).map_err(|e| refuse(400, format!("image: {e}")));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(refuse(
            400,
            "images from the web are not fetched: send a data: URL, or a file path under the server's --allow-files directory",
        ));
    }
    let path = std::path::Path::new(url.strip_prefix("file://").unwrap_or(url));
    let Some(root) = &options.allow_files else {
        return Err(refuse(
            403,
            format!(
                "{}: this server reads no files (start it with --allow-files DIR)",
                path.display()
            ),
        ));
    };
    let real = path
        .canonicalize()
        .map_err(|e| refuse(400, format!("{}: {e}", path.display())))?;
    if !real.starts_with(root) {
        return Err(refuse(
            403,
            format!(
                "{}: outside the allowed directory {}",
                path.display(),
                root.display()
            ),
        ));
    }
    if let Some((w, h)) = raster_dimensions(&real) {
        take_pixels(w as u64 * h as u64, options, pixels_left)?;
    }
    // FITS planes are read within the budget left (strided beyond it), never whole.
    let fits = crate::imaging::FitsOptions {
        pixel_budget: (*pixels_left).max(1) as usize,
        ..Default::default()
    };
    let image =
        crate::imaging::RadioImage::open(&real, &fits).map_err(|e| refuse(400, e.to_string()))?;
    if image.header.is_some() {
        let (w, h) = image.dimensions();
        // Strided: the plane's header size was over the budget.
        let stride = image.stride as u64;
        take_pixels(w as u64 * h as u64 * stride * stride, options, pixels_left)?;
    }
    let input = image
        .model_input(&options.transform)
        .map_err(|e| refuse(400, e.to_string()))?;
    Ok(DynamicImage::ImageRgb8(input))
}

/// A raster file's size from its header; `None` for FITS (and anything else).
fn raster_dimensions(path: &std::path::Path) -> Option<(u32, u32)> {
    image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

fn take_pixels(
    pixels: u64,
    options: &super::ServeOptions,
    pixels_left: &mut u64,
) -> Result<(), Refusal> {
    if pixels > *pixels_left {
        return Err(refuse(
            413,
            format!(
                "an image of {:.1} Mpix is over this server's limit of {:.1} Mpix per request (--max-image-mpix)",
                pixels as f64 / 1e6,
                options.limits.max_total_pixels as f64 / 1e6
            ),
        ));
    }
    *pixels_left -= pixels;
    Ok(())
}
