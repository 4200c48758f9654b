//! What one client may ask of a shared server: sizes, counts and times, each with a flag.

use std::time::Duration;

/// Largest request head (request line and headers) hyper buffers.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body; a larger Content-Length is refused before any byte is read.
    pub max_body_bytes: usize,
    /// Connections open at once; beyond, new ones get 503 and are closed.
    pub max_connections: usize,
    /// Largest `max_tokens` a request may ask for.
    pub max_tokens: usize,
    /// Images in one request.
    pub max_images: usize,
    /// Pixels of all images of one request together, read from their headers.
    pub max_total_pixels: u64,
    /// Whether clients may set `ignore_eos` (generate to `max_tokens` whatever the model says).
    pub allow_ignore_eos: bool,
    /// From the first byte of a request (or the end of the last answer) to the end of its
    /// headers; also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// To receive the whole body once the headers are in.
    pub body_timeout: Duration,
    /// For one write to make progress (a client that stops reading is dropped).
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 << 20,
            max_connections: 2048,
            max_tokens: 4096,
            max_images: 8,
            max_total_pixels: 64_000_000,
            allow_ignore_eos: false,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
        }
    }
}
