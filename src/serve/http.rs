//! The HTTP/1.1 that an OpenAI API server needs, on tokio: requests with a Content-Length
//! body (what the OpenAI clients, curl and httpx send), keep-alive, `Expect: 100-continue`,
//! JSON responses and chunked server-sent-event streams flushed event by event.
//!
//! Why not hyper: the server half of hyper is a feature mistralrs's build does not enable,
//! and enabling it rebuilds mistralrs-core (40 minutes of a fresh CI build) for what is a
//! few hundred lines here.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The head of a request may not exceed this.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// HTTP/1.1 without `Connection: close`.
    pub keep_alive: bool,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection between requests (the normal end of keep-alive).
    Closed,
    /// Unparseable; answered with 400 and the connection closed.
    Bad(String),
    /// The body is larger than allowed; answered with 413 without reading it.
    TooLarge(usize),
    /// A chunked request body, which no OpenAI client sends.
    LengthRequired,
    Io(std::io::Error),
}

/// A client connection: its two halves, so an answer can be written while the reading half
/// watches for the client hanging up.
pub struct Connection {
    pub reader: Reader,
    pub writer: Writer,
}

pub struct Reader(BufReader<OwnedReadHalf>);
pub struct Writer(OwnedWriteHalf);

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        Connection {
            reader: Reader(BufReader::new(read)),
            writer: Writer(write),
        }
    }

    /// Read one request; bodies over `max_body` bytes are refused before they are read.
    pub async fn read_request(&mut self, max_body: usize) -> Result<Request, ReadError> {
        self.reader.read_request(&mut self.writer, max_body).await
    }
}

impl Reader {
    async fn read_request(
        &mut self,
        writer: &mut Writer,
        max_body: usize,
    ) -> Result<Request, ReadError> {
        let mut head = Vec::new();
        loop {
            let before = head.len();
            let n = (&mut self.0)
                .take((MAX_HEAD + 1 - head.len()) as u64)
                .read_until(b'\n', &mut head)
                .await
                .map_err(ReadError::Io)?;
            if n == 0 {
                return if head.is_empty() {
                    Err(ReadError::Closed)
                } else {
                    Err(ReadError::Bad("the request ended inside its head".into()))
                };
            }
            if head.len() > MAX_HEAD {
                return Err(ReadError::Bad("request head over 64 KiB".into()));
            }
            let line = &head[before..];
            if (line == b"\r\n" || line == b"\n") && before > 0 {
                break;
            }
            if (line == b"\r\n" || line == b"\n") && before == 0 {
                // Stray blank lines before a request are allowed (RFC 9112 §2.2).
                head.clear();
            }
        }
        let text = String::from_utf8(head).map_err(|_| ReadError::Bad("non-UTF-8 head".into()))?;
        let mut lines = text.lines();
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ReadError::Bad(format!("bad request line '{request_line}'")));
        };
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ReadError::Bad(format!("bad header line '{line}'")));
            };
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let mut request = Request {
            method: method.to_string(),
            path: path.to_string(),
            headers,
            body: Vec::new(),
            keep_alive: false,
        };
        let connection = request
            .header("connection")
            .unwrap_or("")
            .to_ascii_lowercase();
        request.keep_alive = version == "HTTP/1.1" && !connection.contains("close");
        if request
            .header("transfer-encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
        {
            return Err(ReadError::LengthRequired);
        }
        let length = match request.header("content-length") {
            None => 0,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| ReadError::Bad(format!("bad Content-Length '{v}'")))?,
        };
        if length > max_body {
            return Err(ReadError::TooLarge(length));
        }
        if length > 0
            && request
                .header("expect")
                .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            writer
                .0
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(ReadError::Io)?;
        }
        request.body = vec![0; length];
        self.0
            .read_exact(&mut request.body)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    ReadError::Bad(format!("the body ended before its {length} bytes"))
                }
                _ => ReadError::Io(e),
            })?;
        Ok(request)
    }

    /// Resolves when the client hangs up (reads nothing more: a request is never pipelined
    /// behind a streamed one by the clients that stream).
    pub async fn closed(&mut self) {
        let mut byte = [0u8; 1];
        loop {
            match self.0.read(&mut byte).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

impl Writer {
    /// A complete JSON response.
    pub async fn send_json(
        &mut self,
        status: u16,
        body: &serde_json::Value,
        keep_alive: bool,
    ) -> std::io::Result<()> {
        let body = body.to_string();
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
            reason(status),
            body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        );
        self.0.write_all(head.as_bytes()).await?;
        self.0.write_all(body.as_bytes()).await?;
        self.0.flush().await
    }

    /// Start a server-sent-event stream (chunked, so the connection can be kept after it).
    pub async fn start_events(&mut self) -> std::io::Result<()> {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
        self.0.write_all(head.as_bytes()).await?;
        self.0.flush().await
    }

    /// One event, `data: …\n\n`, sent at once.
    pub async fn send_event(&mut self, data: &str) -> std::io::Result<()> {
        let event = format!("data: {data}\n\n");
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        self.0.write_all(chunk.as_bytes()).await?;
        self.0.flush().await
    }

    pub async fn end_events(&mut self) -> std::io::Result<()> {
        self.0.write_all(b"0\r\n\r\n").await?;
        self.0.flush().await
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}
