//! URLs as shown and stored: without credentials. `http://user:pass@host/v1` works for
//! requests, but the `user:pass@` part must never reach a session file, run.json, a log line
//! or an error message, which other people on a shared node may read. Also the host
//! questions every network path asks: which host a URL names, loopback or not, this machine's
//! name.

/// The URL with any `user:pass@` replaced by `***@`.
pub fn redact_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => url.to_string(),
    }
}

/// Whether the URL carries `user[:pass]@`.
pub fn has_credentials(url: &str) -> bool {
    redact_credentials(url) != url
}

/// The host part of an http(s) URL, without port, brackets or credentials.
pub fn host(url: &str) -> &str {
    let rest = url.split("://").nth(1).unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    }
}

pub fn is_loopback(url: &str) -> bool {
    is_loopback_host(host(url))
}

/// Whether a host name or address (IPv6 with or without brackets) is this machine's loopback.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// This machine's name (`gethostname`), if it has one.
pub fn this_host() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length; gethostname NUL-terminates within it
    // (or truncates, which the lossy conversion below tolerates).
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    (ok && end > 0).then(|| String::from_utf8_lossy(&buffer[..end]).into_owned())
}

/// A warning when a secret (API key or URL credentials) would cross the network in clear.
pub fn plain_http_warning(url: &str, sends_key: bool) -> Option<String> {
    let secret = sends_key || has_credentials(url);
    (secret && url.starts_with("http://") && !is_loopback(url)).then(|| {
        format!(
            "warning: API key sent to {} over plain http (readable on the network): use https or ssh -L",
            host(url)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_survive_redaction() {
        assert_eq!(
            redact_credentials("http://alice:s3cret@gpu07:8000/v1"),
            "http://***@gpu07:8000/v1"
        );
        assert_eq!(
            redact_credentials("https://token@[::1]:8/v1?x=a@b"),
            "https://***@[::1]:8/v1?x=a@b"
        );
        assert_eq!(redact_credentials("http://gpu07/v1"), "http://gpu07/v1");
        assert_eq!(redact_credentials("not a url"), "not a url");
        assert!(has_credentials("http://u@h/v1"));
    }

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost/v1",
            "http://[::1]:80/v1",
            "http://u:p@127.0.0.2/v1",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in ["http://gpu07:8000/v1", "https://10.0.0.1/v1"] {
            assert!(!is_loopback(url), "{url}");
        }
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.3.2.1"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["0.0.0.0", "10.0.0.7", "gpu07"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn a_key_over_plain_http_to_another_host_is_warned_about() {
        assert!(plain_http_warning("http://gpu07:8000/v1", true).is_some());
        assert!(plain_http_warning("http://u:p@gpu07:8000/v1", false).is_some());
        assert!(plain_http_warning("https://gpu07/v1", true).is_none());
        assert!(plain_http_warning("http://127.0.0.1:8000/v1", true).is_none());
        assert!(plain_http_warning("http://gpu07:8000/v1", false).is_none());
    }
}
