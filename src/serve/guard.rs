//! Checks made from the request head alone, before any body byte is read: the Host header
//! (a browser led to the port by DNS rebinding, or through an `ssh -L` tunnel, names a host
//! this server is not), then the API key (`/health` excepted). A refused request's body is
//! never read; hyper closes the connection instead of draining it.

use super::reply::error_response;
use super::{AppState, Peer};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Host names this server answers to.
pub struct Hosts {
    names: Vec<String>,
}

impl Hosts {
    pub fn new(bound: SocketAddr, extra: &[String]) -> Hosts {
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if !bound.ip().is_unspecified() {
            names.push(bound.ip().to_string());
        }
        if !bound.ip().is_loopback() {
            // Bound beyond loopback: the machine's own name, as clients on other nodes say it.
            if let Some(name) = crate::util::url::this_host().map(|n| n.to_ascii_lowercase()) {
                names.push(name.clone());
                if let Some((short, _)) = name.split_once('.') {
                    names.push(short.to_string());
                }
            }
            if bound.ip().is_unspecified() {
                names.extend(local_addresses());
            }
        }
        names.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
        Hosts { names }
    }

    /// Whether a Host header value (name or address, with or without a port) is ours.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = if let Some(rest) = host.strip_prefix('[') {
            rest.split(']').next().unwrap_or("")
        } else {
            host.rsplit_once(':')
                .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
                .map_or(host.as_str(), |(name, _)| name)
        };
        self.names.iter().any(|n| n == name)
    }
}

/// This machine's addresses, when bound to 0.0.0.0 (clients may use any of them).
fn local_addresses() -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: getifaddrs allocates a list we walk read-only and free once.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut at = list;
        while !at.is_null() {
            let address = (*at).ifa_addr;
            if !address.is_null() && (*address).sa_family as i32 == libc::AF_INET {
                let v4 = &*(address as *const libc::sockaddr_in);
                out.push(std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)).to_string());
            }
            at = (*at).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}

/// The middleware: Host, then key, then the handler; one log line per request.
pub async fn check(
    State((state, hosts)): State<(Arc<AppState>, Arc<Hosts>)>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or_else(|| "?".to_string(), |p| p.0.to_string());
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let refusal = refusal(&state, &hosts, request.headers(), &path);
    let (response, note) = match refusal {
        Some((status, message)) => (
            error_response(status, &message),
            format!("refused: {message}"),
        ),
        None => (next.run(request).await, String::new()),
    };
    state.log(format!(
        "{peer} {method} {path} {} {:.2} s {note}",
        response.status().as_u16(),
        started.elapsed().as_secs_f64()
    ));
    response
}

fn refusal(
    state: &AppState,
    hosts: &Hosts,
    headers: &HeaderMap,
    path: &str,
) -> Option<(StatusCode, String)> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !hosts.allows(host) {
        return Some((
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host '{host}' is not this server (a page led here by DNS rebinding?); the operator can allow a name with --allowed-host"
            ),
        ));
    }
    if path == "/health" {
        return None;
    }
    let key = state.options.api_key.as_deref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    (!same_in_constant_time(given, key)).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            "missing or wrong API key (Authorization: Bearer …; the key is in the file `radiochat serve` printed)".to_string(),
        )
    })
}

/// Equal strings, compared so that timing does not tell how many leading bytes matched.
fn same_in_constant_time(given: &str, key: &str) -> bool {
    given.len() == key.len()
        && given
            .bytes()
            .zip(key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_allow_our_names_with_any_port_and_nothing_else() {
        let hosts = Hosts::new("127.0.0.1:8080".parse().unwrap(), &["gpu07.cluster".into()]);
        for ok in [
            "localhost",
            "localhost:9000",
            "127.0.0.1:8080",
            "[::1]:8080",
            "GPU07.cluster:80",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "",
            "localhost.evil.example",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn keys_compare_whole() {
        assert!(same_in_constant_time("sk-abc", "sk-abc"));
        assert!(!same_in_constant_time("sk-ab", "sk-abc"));
        assert!(!same_in_constant_time("sk-abd", "sk-abc"));
    }
}
