//! What the server answers with when it refuses, and the clock of its `created` fields:
//! shared by the request checks, the routes and the answer writers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A refusal: status and message.
pub type Refusal = (StatusCode, String);

pub fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        message.into(),
    )
}

/// An OpenAI-style error body with its status.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let kind = match status.as_u16() {
        401 => "authentication_error",
        404 if message.contains("model") => "not_found_error",
        500 | 503 => "server_error",
        _ => "invalid_request_error",
    };
    let code = (status == StatusCode::NOT_FOUND && message.starts_with("model"))
        .then_some("model_not_found");
    (
        status,
        axum::Json(crate::openai::error_body(message, kind, code)),
    )
        .into_response()
}

/// Seconds since the Unix epoch, as OpenAI's `created` fields carry them.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
