//! The API's routes: `/v1/models`, `/v1/chat/completions` (streamed or not), `/health`, and
//! OpenAI-style JSON errors for everything else.

use super::guard::{self, Hosts};
use super::reply::{self, error_response};
use super::{AppState, Peer, chat};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

pub fn router(state: Arc<AppState>, bound: SocketAddr) -> Router {
    let hosts = Arc::new(Hosts::new(bound, &state.options.allowed_hosts));
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(completions))
        .method_not_allowed_fallback(|request: axum::extract::Request| async move {
            error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!(
                    "{} is not allowed on {}",
                    request.method(),
                    request.uri().path()
                ),
            )
        })
        .fallback(|request: axum::extract::Request| async move {
            error_response(
                StatusCode::NOT_FOUND,
                &format!(
                    "no route {} (this server has /v1/models and /v1/chat/completions)",
                    request.uri().path()
                ),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), hosts),
            guard::check,
        ))
        .with_state(state)
}

/// The router as a hyper service for one connection, its peer attached to every request.
pub fn service(
    router: Router,
    peer: Peer,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        use tower::ServiceExt;
        request.extensions_mut().insert(peer);
        router.clone().oneshot(request.map(Body::new))
    })
}

async fn models(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "object": "list",
        "data": [{
            "id": state.options.model_name,
            "object": "model",
            "created": reply::unix_now(),
            "owned_by": "radiochat",
        }]
    }))
    .into_response()
}

async fn completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limits = &state.options.limits;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "request body of {} bytes is over the limit of {} (--max-body-mb)",
                declared.unwrap_or(0),
                limits.max_body_bytes
            ),
        );
    }
    let read = tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await;
    let bytes = match read {
        Err(_) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the body did not arrive within {} s",
                    limits.body_timeout.as_secs()
                ),
            );
        }
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            return match too_large {
                true => error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!(
                        "request body is over the limit of {} bytes (--max-body-mb)",
                        limits.max_body_bytes
                    ),
                ),
                false => error_response(StatusCode::BAD_REQUEST, &format!("body: {error}")),
            };
        }
        Ok(Ok(bytes)) => bytes,
    };
    match chat::completions(&state, &bytes).await {
        Ok(response) => response,
        Err((status, message)) => error_response(status, &message),
    }
}
