//! `radiochat serve` with real clients on loopback: the official `openai` Python client (plain
//! and streamed, image as data URL and as an allowed file path), many concurrent clients, the
//! bad requests a server must refuse, the refusals at start, and a graceful stop.

mod common;

use common::cli::{assert_bad_input, radiochat, random_model_flag, synth_sky};
use common::serve::{Served, http, post_chat, venv_python};
use serde_json::{Value, json};
use std::time::Duration;

fn first_image(data: &std::path::Path) -> std::path::PathBuf {
    let dataset: Value = serde_json::from_str(&std::fs::read_to_string(data).unwrap()).unwrap();
    let rel = dataset["data"][0]["filepaths"][0].as_str().unwrap();
    data.parent().unwrap().join(rel)
}

#[test]
fn the_openai_python_client_chats_plain_and_streamed_with_images() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flag = random_model_flag(home);
    let model = flag.trim_start_matches("--model ");
    let data = synth_sky(home, "sky", "radioimg", 2, 6);
    let fits = first_image(&data);
    let png = home.join("cutout.png");
    let view = radiochat(
        &[
            "view",
            fits.to_str().unwrap(),
            "--png",
            png.to_str().unwrap(),
            "--no-preview",
        ],
        home,
    );
    assert_eq!(view.status.code(), Some(0), "{view:?}");
    let served = Served::start(
        home,
        &[
            "--model",
            model,
            "--api-key-env",
            "RC_KEY",
            "--allow-files",
            data.parent().unwrap().to_str().unwrap(),
        ],
        &[("RC_KEY", "sk-local")],
    );
    let out = std::process::Command::new(venv_python())
        .arg(common::checkout_file("tests/openai_client.py"))
        .args([
            served.url.as_str(),
            "sk-local",
            png.to_str().unwrap(),
            fits.to_str().unwrap(),
        ])
        .output()
        .expect("the venv's python (scripts/setup.sh installs openai)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["models"], json!(["random-idefics3"]));
    let plain = &result["plain"];
    assert!(!plain["text"].as_str().unwrap().is_empty(), "{result}");
    assert_eq!(plain["finish"], "length");
    assert_eq!(plain["usage"]["completion_tokens"], 12);
    let streamed = &result["streamed"];
    assert_eq!(
        streamed["text"], plain["text"],
        "streamed and plain agree (greedy)"
    );
    assert_eq!(streamed["finish"], "length");
    assert_eq!(streamed["usage"]["completion_tokens"], 12);
    // Role, text (tokens that queue behind a slow reader share a chunk), finish, usage.
    assert!(streamed["chunks"].as_u64().unwrap() >= 4, "{result}");
    // The FITS file, read by the server with radio-llava's transform, is the PNG's pixels.
    assert_eq!(result["fits_file"]["text"], plain["text"]);
    assert!(
        result["wrong_model"]
            .as_str()
            .unwrap()
            .contains("model 'gpt-4o' does not exist"),
        "{result}"
    );
}

#[test]
fn concurrent_streaming_clients_each_get_their_own_whole_answer() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flag = random_model_flag(home);
    let served = Served::start(home, &["--model", flag.trim_start_matches("--model ")], &[]);
    let address = served.address();
    // The default: a key made at start, which clients must send.
    let key = served.key().expect("serve prints the key it made");
    let ask = |prompt: String| {
        let body = json!({"messages": [{"role": "user", "content": prompt}], "max_tokens": 16, "stream": true});
        post_chat(&address, &body.to_string(), Some(&key))
    };
    let (refused, _) = post_chat(
        &address,
        &json!({"messages": [{"role": "user", "content": "hi"}]}).to_string(),
        None,
    );
    assert_eq!(refused, 401, "no key, no answer");
    let alone: Vec<(u16, String)> = (0..8).map(|i| ask(format!("Question {i}?"))).collect();
    let together: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| scope.spawn(move || ask(format!("Question {i}?"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let text = |body: &str| -> String {
        body.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(String::from)
            })
            .collect()
    };
    for (i, ((s1, b1), (s2, b2))) in alone.iter().zip(&together).enumerate() {
        assert_eq!((*s1, *s2), (200, 200), "{b1}\n{b2}");
        assert!(b2.contains("data: [DONE]"), "{b2}");
        assert_eq!(
            text(b1),
            text(b2),
            "client {i}: the same answer alone and among 8"
        );
    }
}

#[test]
fn bad_requests_are_refused_with_api_errors() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flag = random_model_flag(home);
    let data = synth_sky(home, "sky", "radioimg", 1, 7);
    let allowed = data.parent().unwrap().join("images");
    let served = Served::start(
        home,
        &[
            "--model",
            flag.trim_start_matches("--model "),
            "--allow-files",
            allowed.to_str().unwrap(),
            "--max-body-mb",
            "1",
            "--max-image-mpix",
            "0.001",
            "--max-images",
            "2",
            "--max-tokens-cap",
            "64",
            "--no-auth",
        ],
        &[],
    );
    let address = served.address();
    let message = |body: &str| -> String {
        serde_json::from_str::<Value>(body)
            .map(|v| v["error"]["message"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let image_request = |url: &str| {
        json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "What?"}]}],
            "max_tokens": 4})
        .to_string()
    };
    let outside = home.join("secret.png");
    image::RgbImage::new(4, 4).save(&outside).unwrap();
    let big = {
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(image::RgbImage::new(64, 64))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        use base64::Engine as _;
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&png)
        )
    };
    let fits_inside = first_image(&data);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "{\"messages\": [".into(),
            400,
            "not a chat completion request",
        ),
        ("{\"messages\": []}".into(), 400, "no user turn"),
        (
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).to_string(),
            404,
            "does not exist",
        ),
        (
            json!({"n": 2, "messages": [{"role": "user", "content": "hi"}]}).to_string(),
            400,
            "n must be 1",
        ),
        (
            json!({"messages": [{"role": "tool", "content": "hi"}]}).to_string(),
            400,
            "role 'tool'",
        ),
        (
            image_request(outside.to_str().unwrap()),
            403,
            "outside the allowed directory",
        ),
        (
            image_request(&format!("file://{}/../../secret.png", allowed.display())),
            403,
            "outside the allowed directory",
        ),
        (
            image_request("https://example.org/cutout.png"),
            400,
            "not fetched",
        ),
        (
            image_request("data:image/png;base64,!!!"),
            400,
            "not valid base64",
        ),
        (image_request(&big), 413, "over this server's limit"),
        (
            image_request(fits_inside.to_str().unwrap()),
            413,
            "over this server's limit",
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:,"}},
                {"type": "image_url", "image_url": {"url": "data:,"}},
                {"type": "image_url", "image_url": {"url": "data:,"}}]}]})
            .to_string(),
            413,
            "at most 2 (--max-images)",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 65}).to_string(),
            400,
            "cap of 64",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "ignore_eos": true})
                .to_string(),
            400,
            "--allow-ignore-eos",
        ),
    ];
    for (body, status, needle) in &cases {
        let (got, answer) = post_chat(&address, body, None);
        assert_eq!(got, *status, "{body}: {answer}");
        assert!(message(&answer).contains(needle), "{body}: {answer}");
    }
    // A huge body is refused from its Content-Length, before it is read.
    let (status, answer) = http(
        &address,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 500000000\r\n\r\n"
        ),
        b"{",
    );
    assert_eq!(status, 413, "{answer}");
    assert!(message(&answer).contains("over the limit"), "{answer}");
    let (status, _) = http(
        &address,
        &format!("GET /v2/nothing HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
        b"",
    );
    assert_eq!(status, 404);
    let (status, _) = http(&address, "garbage\r\n\r\n", b"");
    assert_eq!(status, 400);
    // A page led here by DNS rebinding names its own host: refused before anything else.
    let (status, answer) = http(
        &address,
        "GET /v1/models HTTP/1.1\r\nHost: attacker.example:8080\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(status, 421, "{answer}");
    assert!(message(&answer).contains("DNS rebinding"), "{answer}");
    // Still serving after all that.
    let (status, answer) = post_chat(
        &address,
        &json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}).to_string(),
        None,
    );
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn serve_refuses_an_open_port_without_a_key_and_a_port_in_use_and_stops_gracefully() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flag = random_model_flag(home);
    let model = flag.trim_start_matches("--model ");
    let open = radiochat(
        &[
            "serve",
            "--model",
            model,
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--no-auth",
        ],
        home,
    );
    assert_bad_input(
        &open,
        &[
            "refusing to serve on 0.0.0.0:0 without an API key",
            "--no-auth",
        ],
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let busy = radiochat(&["serve", "--model", model, "--port", &port], home);
    assert_bad_input(&busy, &["address in use"]);
    let unset = radiochat(
        &[
            "serve",
            "--model",
            model,
            "--api-key-env",
            "RC_NOT_SET_ANYWHERE",
        ],
        home,
    );
    assert_bad_input(&unset, &["RC_NOT_SET_ANYWHERE is not set"]);

    // SIGTERM while an answer streams: the answer finishes, then the server exits 0.
    let served = Served::start(home, &["--model", model, "--allow-ignore-eos"], &[]);
    let address = served.address();
    let key = served.key().unwrap();
    let key_file = home
        .join("data/serve")
        .join(format!("{}.key", address.rsplit(':').next().unwrap()));
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        key,
        "the key is in the data directory"
    );
    assert_eq!(common::mode(&key_file), 0o600);
    let (streaming, started) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let body = json!({"messages": [{"role": "user", "content": "long"}], "max_tokens": 400, "stream": true, "ignore_eos": true});
        common::serve::post_chat_streaming(&address, &body.to_string(), Some(&key), || {
            let _ = streaming.send(());
        })
    });
    // SIGTERM once the first chunk of the answer has reached the client.
    started
        .recv_timeout(Duration::from_secs(60))
        .expect("the answer starts streaming");
    let status = served.stop(Duration::from_secs(40)).expect("serve stopped");
    assert!(status.success(), "{status:?}");
    assert!(!key_file.exists(), "the run's key goes with it");
    let (code, body) = client.join().unwrap();
    assert_eq!(code, 200);
    assert!(
        body.contains("\"finish_reason\":\"length\"") && body.contains("data: [DONE]"),
        "{body}"
    );
}
