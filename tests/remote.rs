//! The remote backend (`--remote URL`) against real peers on loopback: `radiochat serve` over
//! the embedded engine (answers and benchmark scores identical to the embedded engine's, the
//! API key never written anywhere), and hand-made servers that fail in every way a real one
//! can.

mod common;

use common::cli::{random_model_flag, synth_sky};
use common::serve::{Fake, Served, fake_server, sse_head, sse_token};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "sk-radiochat-test-7f3a9c1e";

fn run(home: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_radiochat"));
    command
        .args(args)
        .env("RADIOCHAT_CONFIG", home.join("config.toml"))
        .env("RADIOCHAT_DATA", home.join("data"))
        .env("HF_HUB_OFFLINE", "1");
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("running radiochat")
}

fn first_image(data: &Path) -> String {
    let dataset: Value = serde_json::from_str(&std::fs::read_to_string(data).unwrap()).unwrap();
    let rel = dataset["data"][0]["filepaths"][0].as_str().unwrap();
    data.parent().unwrap().join(rel).display().to_string()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn remote_answers_and_scores_equal_the_embedded_engine_and_the_key_stays_secret() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flag = random_model_flag(home);
    let model = flag.trim_start_matches("--model ");
    let data = synth_sky(home, "sky", "radioimg", 8, 5);
    let key_env = [("RC_TEST_KEY", SECRET)];
    let served = Served::start(
        home,
        &["--model", model, "--api-key-env", "RC_TEST_KEY"],
        &key_env,
    );
    let remote = [
        "--remote",
        served.url.as_str(),
        "--api-key-env",
        "RC_TEST_KEY",
    ];

    // One question, the same answer both ways (greedy; the image travels as lossless PNG).
    let image = first_image(&data);
    let question = [
        "--image",
        image.as_str(),
        "--max-tokens",
        "24",
        "--json",
        "Describe it.",
    ];
    let local = run(
        home,
        &[&["ask", "--model", model][..], &question].concat(),
        &[],
    );
    let far_out = run(home, &[&["ask"][..], &remote, &question].concat(), &key_env);
    assert_eq!(far_out.status.code(), Some(0), "{far_out:?}");
    let (local, far): (Value, Value) = (
        serde_json::from_slice(&local.stdout).unwrap(),
        serde_json::from_slice(&far_out.stdout).unwrap(),
    );
    assert_eq!(far["answer"], local["answer"]);
    assert_eq!(far["finish_reason"], "length");
    assert_eq!(far["usage"]["completion_tokens"], 24);
    assert_eq!(
        far["usage"]["prompt_tokens"],
        local["usage"]["prompt_tokens"]
    );
    assert_eq!(far["model"]["architecture"], "remote (OpenAI API)");

    // A benchmark run over the remote, four requests in flight: the embedded run's scores.
    let bench = |out: &Path, engine: &[&str], envs: &[(&str, &str)]| {
        let args = [
            "bench",
            "run",
            "B1",
            "--data",
            data.to_str().unwrap(),
            "--max-tokens",
            "8",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ];
        run(home, &[&args[..], engine].concat(), envs)
    };
    let embedded = bench(&home.join("run-local"), &["--model", model], &[]);
    assert_eq!(embedded.status.code(), Some(0), "{embedded:?}");
    let far_run = bench(
        &home.join("run-remote"),
        &[&remote[..], &["--concurrency", "4"]].concat(),
        &key_env,
    );
    assert_eq!(far_run.status.code(), Some(0), "{far_run:?}");
    let metrics = |dir: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(home.join(dir).join("metrics.json")).unwrap())
            .unwrap()
    };
    assert_eq!(metrics("run-remote"), metrics("run-local"));
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("run-remote/run.json")).unwrap())
            .unwrap();
    assert_eq!(info["engine"], "OpenAI-compatible server");
    assert!(
        info["model"]
            .as_str()
            .unwrap()
            .starts_with("remote:http://127.0.0.1:"),
        "{info}"
    );

    // Without the key, or with a wrong one: refused, and said so in one line.
    let no_key = run(
        home,
        &[&["ask", "--remote", served.url.as_str()][..], &question].concat(),
        &[],
    );
    assert_eq!(no_key.status.code(), Some(1), "{no_key:?}");
    let err = String::from_utf8_lossy(&no_key.stderr);
    assert!(
        err.contains("401") && err.contains("--api-key-env"),
        "{err}"
    );
    let wrong = run(
        home,
        &[&["ask"][..], &remote, &question].concat(),
        &[("RC_TEST_KEY", "sk-wrong")],
    );
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("refused the API key"),
        "{wrong:?}"
    );
    let unset = run(home, &[&["ask"][..], &remote, &question].concat(), &[]);
    assert!(
        String::from_utf8_lossy(&unset.stderr).contains("RC_TEST_KEY is not set"),
        "{unset:?}"
    );
    // The same server from the config file ([remote]), which names the variable, not the key.
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[remote]\nurl = \"{}\"\napi_key_env = \"RC_TEST_KEY\"\n",
            served.url
        ),
    )
    .unwrap();
    let shown = run(home, &["config", "show"], &key_env);
    assert!(
        String::from_utf8_lossy(&shown.stdout)
            .contains("remote.api_key_env = RC_TEST_KEY  (config)"),
        "{shown:?}"
    );
    let configured = run(home, &[&["ask"][..], &question].concat(), &key_env);
    let configured: Value = serde_json::from_slice(&configured.stdout).unwrap();
    assert_eq!(configured["answer"], local["answer"]);

    // The key is in no file radiochat wrote and in no output.
    for path in files(home) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the API key leaked into {}",
            path.display()
        );
    }
    for out in [&far_out, &far_run, &no_key, &wrong, &unset, &shown] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains(SECRET),
            "the API key leaked into an output: {all}"
        );
    }
    let log = served.log.lock().unwrap().join("\n");
    assert!(
        !log.contains(SECRET),
        "the API key leaked into the server log: {log}"
    );
}

#[test]
fn remote_failures_are_one_line_errors_and_partial_answers_are_kept() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let ask = |url: &str, extra: &[&str]| {
        run(
            home,
            &[
                &["ask", "--remote", url, "--max-tokens", "8"][..],
                extra,
                &["Hello?"],
            ]
            .concat(),
            &[],
        )
    };
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();

    // Nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = ask(&format!("http://127.0.0.1:{port}/v1"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));

    // A web page where the API should be.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let html_url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let page = "<html><body>Welcome to nginx</body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    let out = ask(&html_url, &[]);
    assert!(
        stderr(&out).contains("an HTML page, not the OpenAI API"),
        "{}",
        stderr(&out)
    );

    // A model the server does not have.
    let (url, _) = fake_server(|_| Fake::Silent);
    let out = ask(&url, &["--remote-model", "radio-llava"]);
    assert!(
        stderr(&out).contains("serves fake; no model named radio-llava"),
        "{}",
        stderr(&out)
    );

    // The stream is cut mid-answer: the text so far is printed, then the error.
    let (url, posts) = fake_server(|_| {
        Fake::Reply(
            format!(
                "{}{}{}",
                sse_head(),
                sse_token("The source"),
                sse_token(" is")
            )
            .into_bytes(),
        )
    });
    let out = ask(&url, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "The source is");
    assert!(
        stderr(&out).contains("closed the stream mid-answer"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        posts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "text was shown: never retried"
    );

    // A server that never answers.
    let (url, _) = fake_server(|_| Fake::Silent);
    let started = std::time::Instant::now();
    let out = ask(&url, &["--remote-timeout", "1"]);
    assert!(
        stderr(&out).contains("no answer within 1 s"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // Busy twice (503, then 429), then an answer: retried with backoff, nothing lost.
    let (url, posts) = fake_server(|n| {
        match n {
        1 => Fake::Reply(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()),
        2 => Fake::Reply(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 41\r\nConnection: close\r\n\r\n{\"error\":{\"message\":\"slow down please\"}}".to_vec()),
        _ => Fake::Reply(
            format!("{}{}data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}}}\n\ndata: [DONE]\n\n", sse_head(), sse_token("FR-II")).into_bytes(),
        ),
    }
    });
    let out = ask(&url, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["answer"], "FR-II");
    assert_eq!(answer["finish_reason"], "stop");
    assert_eq!(answer["usage"]["prompt_tokens"], 5);
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 3);

    // Always refused (500 with a JSON error): the server's message after the retries.
    let (url, posts) = fake_server(|_| {
        let body = r#"{"error":{"message":"CUDA out of memory"}}"#;
        Fake::Reply(format!("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_bytes())
    });
    let out = ask(&url, &[]);
    assert!(
        stderr(&out).contains("CUDA out of memory (after 4 tries)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 4);

    // Not JSON in the stream.
    let (url, _) =
        fake_server(|_| Fake::Reply(format!("{}data: <b>oops</b>\n\n", sse_head()).into_bytes()));
    let out = ask(&url, &[]);
    assert!(stderr(&out).contains("instead of JSON"), "{}", stderr(&out));
}

#[test]
fn credentials_in_a_remote_url_are_never_shown_or_stored() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    const PASSWORD: &str = "s3cret-in-the-url";
    let served = Served::start(home, &["--demo", "--no-auth"], &[]);
    let with_credentials = served
        .url
        .replace("http://", &format!("http://alice:{PASSWORD}@"));
    let data = synth_sky(home, "sky", "radioimg", 3, 5);
    let image = first_image(&data);
    let asked = run(
        home,
        &[
            "ask",
            "--remote",
            &with_credentials,
            "--image",
            &image,
            "--max-tokens",
            "4",
            "--json",
            "Describe it.",
        ],
        &[],
    );
    assert_eq!(asked.status.code(), Some(0), "{asked:?}");
    let answer: Value = serde_json::from_slice(&asked.stdout).unwrap();
    assert!(
        answer["model"]["source"].as_str().unwrap().contains("***@"),
        "{answer}"
    );
    // Loopback: nothing crosses the network, so no warning.
    assert!(!String::from_utf8_lossy(&asked.stderr).contains("plain http"));
    let bench = run(
        home,
        &[
            "bench",
            "run",
            "B1",
            "--remote",
            &with_credentials,
            "--data",
            data.to_str().unwrap(),
            "--max-tokens",
            "4",
            "--out",
            home.join("run").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(bench.status.code(), Some(0), "{bench:?}");
    let unreachable = run(
        home,
        &[
            "ask",
            "--remote",
            &format!("http://alice:{PASSWORD}@127.0.0.1:9/v1"),
            "--image",
            &image,
            "Describe it.",
        ],
        &[],
    );
    assert_eq!(unreachable.status.code(), Some(1), "{unreachable:?}");
    assert!(
        String::from_utf8_lossy(&unreachable.stderr).contains("http://***@127.0.0.1:9/v1"),
        "{unreachable:?}"
    );
    // A URL with credentials to another host over plain http: shown redacted, warned about.
    std::fs::write(
        home.join("config.toml"),
        format!("[remote]\nurl = \"http://alice:{PASSWORD}@gpu07.invalid:8000/v1\"\n"),
    )
    .unwrap();
    let shown = run(home, &["config", "show"], &[]);
    let shown_json = run(home, &["config", "show", "--json"], &[]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("http://***@gpu07.invalid:8000/v1"),
        "{shown:?}"
    );
    assert!(
        String::from_utf8_lossy(&shown.stderr).contains("plain http"),
        "{shown:?}"
    );
    for out in [&asked, &bench, &unreachable, &shown, &shown_json] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(PASSWORD), "credentials leaked: {all}");
    }
    // Every file radiochat wrote (the config file is the user's own).
    for path in files(home)
        .into_iter()
        .filter(|p| !p.ends_with("config.toml"))
    {
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "credentials leaked into {}",
            path.display()
        );
    }
    let log = served.log.lock().unwrap().join("\n");
    assert!(!log.contains(PASSWORD), "{log}");
}
