//! A `radiochat serve` process for the tests, and hand-made HTTP servers that misbehave.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `radiochat serve … --port 0`, killed when dropped; its stderr lines are collected.
pub struct Served {
    child: Child,
    /// Held open: stdout is a pipe, as under `radiochat serve | tee log` or a job script.
    _stdout: Option<std::process::ChildStdout>,
    pub url: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    pub fn start(home: &Path, args: &[&str], envs: &[(&str, &str)]) -> Served {
        Self::start_with_fd_limit(home, args, envs, None)
    }

    /// As `start`, with the server's open-file limit (soft and hard) set to `fd_limit`.
    pub fn start_with_fd_limit(
        home: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        fd_limit: Option<u64>,
    ) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_radiochat"));
        if let Some(limit) = fd_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        command
            .arg("serve")
            .args(["--port", "0"])
            .args(args)
            .env("RADIOCHAT_CONFIG", home.join("config.toml"))
            .env("RADIOCHAT_DATA", home.join("data"))
            .env("HF_HUB_OFFLINE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("starting radiochat serve");
        let stderr = child.stderr.take().unwrap();
        let stdout = child.stdout.take();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" at http://").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(format!("http://{url}"));
                }
                lines.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start: {:?}", log.lock().unwrap()));
        Served {
            child,
            _stdout: stdout,
            url,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The key `radiochat serve` made for this run (none with --api-key-env or --no-auth).
    pub fn key(&self) -> Option<String> {
        self.log.lock().unwrap().iter().find_map(|line| {
            line.strip_prefix("API key for this run: ")
                .and_then(|rest| rest.split_whitespace().next())
                .map(String::from)
        })
    }

    pub fn address(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .to_string()
    }

    /// SIGTERM, then the exit status within `limit`.
    pub fn stop(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw HTTP exchange: the status code and the body.
pub fn http(address: &str, request: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    status_and_body(&text)
}

/// An HTTP response's status code and body.
fn status_and_body(text: &str) -> (u16, String) {
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// The head of a POST of `length` JSON bytes to /v1/chat/completions, `Connection: close`.
fn chat_head(address: &str, length: usize, key: Option<&str>) -> String {
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

/// POST `json` to /v1/chat/completions with `Connection: close`.
pub fn post_chat(address: &str, json: &str, key: Option<&str>) -> (u16, String) {
    http(
        address,
        &chat_head(address, json.len(), key),
        json.as_bytes(),
    )
}

/// [`post_chat`] read as it streams: `on_first_chunk` runs when the first `data:` line of the
/// answer arrives; returns the status code and the whole body once the server closes.
pub fn post_chat_streaming(
    address: &str,
    json: &str,
    key: Option<&str>,
    on_first_chunk: impl FnOnce(),
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .write_all(chat_head(address, json.len(), key).as_bytes())
        .unwrap();
    stream.write_all(json.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut text = String::new();
    let mut on_first_chunk = Some(on_first_chunk);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if line.starts_with("data: ")
            && let Some(notify) = on_first_chunk.take()
        {
            notify();
        }
        text.push_str(&line);
    }
    status_and_body(&text)
}

/// What a fake server does with a chat request.
pub enum Fake {
    /// Write these bytes (a whole HTTP response, or the start of one) and close.
    Reply(Vec<u8>),
    /// Accept and never answer.
    Silent,
}

/// A server on loopback that lists one model `fake` and answers POSTs with `respond(n)` (n
/// counts the POSTs from 1). Returns its /v1 URL and the POST counter.
pub fn fake_server(respond: impl Fn(usize) -> Fake + Send + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let posts = Arc::new(AtomicUsize::new(0));
    let counter = posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut stream = stream;
            if first.starts_with("GET") {
                let models = r#"{"object":"list","data":[{"id":"fake","object":"model"}]}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{models}",
                    models.len()
                );
                continue;
            }
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            match respond(n) {
                Fake::Reply(bytes) => {
                    let _ = stream.write_all(&bytes);
                }
                Fake::Silent => {
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(30));
                        drop(stream);
                    });
                }
            }
        }
    });
    (url, posts)
}

/// An SSE response head (no length: the body ends when the connection closes).
pub fn sse_head() -> String {
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".into()
}

/// One SSE chunk carrying `text`.
pub fn sse_token(text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n",
        serde_json::to_string(text).unwrap()
    )
}

/// The path of the Python with the test packages (scripts/setup.sh makes it).
pub fn venv_python() -> std::path::PathBuf {
    std::env::var_os("RADIOCHAT_PY_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/radiochat-py")
        })
        .join("bin/python")
}
