//! A lean load generator for the turn benchmark: HTTP/1.1 over plain tokio sockets,
//! for the webhook client and for the fake Zalo's send endpoint.
//!
//! Why: on a 2-core machine the driver shares the cores with the service. With reqwest
//! as the client and the axum fake (which parses every message into a JSON tree and
//! keeps it) the driver used about a quarter of the CPU of a turn, so the benchmark
//! measured the driver as much as the service. The issue asks for a load generator that
//! is not itself the bottleneck (as `wrk` is for ingest). This one does only what the
//! measurement needs: keep-alive connections, `Content-Length` bodies, and for the fake,
//! the access-token check, the recipient and Zalo's success answer.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A keep-alive HTTP/1.1 connection that posts bodies to one path.
pub struct RawClient {
    stream: TcpStream,
    host: String,
    path: String,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl RawClient {
    /// `base` is `http://host:port`.
    pub async fn connect(base: &str, path: &str) -> io::Result<RawClient> {
        let host = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let stream = TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient { stream, host, path: path.to_owned(), out: Vec::new(), buf: Vec::new() })
    }

    /// POSTs `body` with the extra `headers`; returns the response's status code.
    pub async fn post(&mut self, headers: &[(&str, &str)], body: &[u8]) -> io::Result<u16> {
        use std::io::Write;
        self.out.clear();
        write!(self.out, "POST {} HTTP/1.1\r\nhost: {}\r\n", self.path, self.host)?;
        for (name, value) in headers {
            write!(self.out, "{name}: {value}\r\n")?;
        }
        write!(
            self.out,
            "content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )?;
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out).await?;
        let (status, _head_end, total) = loop {
            if let Some(parsed) = parse_response(&self.buf) {
                break parsed;
            }
            if read_more(&mut self.stream, &mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        while self.buf.len() < total {
            if read_more(&mut self.stream, &mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        self.buf.drain(..total);
        Ok(status)
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(4096);
    stream.read_buf(buf).await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of header `name` (lower case) in a request or response head.
fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon].eq_ignore_ascii_case(name.as_bytes()).then(|| line[colon + 1..].trim_ascii())
    })
}

fn content_length(head: &[u8]) -> usize {
    header(head, "content-length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// (status, end of the head, end of the whole response) once the head is complete.
fn parse_response(buf: &[u8]) -> Option<(u16, usize, usize)> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = &buf[..head_end];
    let status = std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()?;
    Some((status, head_end, head_end + content_length(head)))
}

/// Replies the fake accepted, counted per user; a user's task waits on its `Notify`.
pub struct Replies {
    base: u64,
    counts: Vec<AtomicUsize>,
    wakes: Vec<Notify>,
}

impl Replies {
    /// Users are numbered `base`, `base + 1`, … `base + users - 1`.
    pub fn new(base: u64, users: usize) -> Arc<Replies> {
        Arc::new(Replies {
            base,
            counts: (0..users).map(|_| AtomicUsize::new(0)).collect(),
            wakes: (0..users).map(|_| Notify::new()).collect(),
        })
    }

    pub fn count(&self, index: usize) -> usize {
        self.counts[index].load(Ordering::Acquire)
    }

    /// Waits until user `index` has received at least `target` replies in all.
    pub async fn wait_for(&self, index: usize, target: usize) {
        while self.count(index) < target {
            self.wakes[index].notified().await;
        }
    }

    fn record(&self, user: u64) {
        let Some(index) = user.checked_sub(self.base).map(|i| i as usize) else { return };
        if let Some(count) = self.counts.get(index) {
            count.fetch_add(1, Ordering::AcqRel);
            self.wakes[index].notify_one();
        }
    }
}

/// Serves Zalo's send endpoint on `127.0.0.1:0`, checking the `access_token` header,
/// counting each accepted message for its recipient; returns the base URL.
pub async fn serve_fake_zalo(access_token: &str, replies: Arc<Replies>) -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let token: Arc<[u8]> = access_token.as_bytes().into();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (token, replies) = (token.clone(), replies.clone());
            tokio::spawn(async move {
                let _ = fake_connection(stream, &token, &replies).await;
            });
        }
    });
    Ok(base)
}

async fn fake_connection(mut stream: TcpStream, token: &[u8], replies: &Replies) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(8192);
    let mut out = Vec::with_capacity(256);
    let mut seq = 0u64;
    loop {
        // Answer every complete request in the buffer, then read more.
        out.clear();
        while let Some(head_end) = find(&buf, b"\r\n\r\n").map(|i| i + 4) {
            let total = head_end + content_length(&buf[..head_end]);
            if buf.len() < total {
                break;
            }
            let (head, body) = (&buf[..head_end], &buf[head_end..total]);
            let answer = if !head.starts_with(b"POST /v3.0/oa/message/cs ") {
                r#"{"error":404,"message":"not faked here"}"#.to_owned()
            } else if header(head, "access_token") != Some(token) {
                r#"{"error":-216,"message":"Access token is invalid"}"#.to_owned()
            } else {
                match recipient(body) {
                    Some(user) if find(body, b"\"message\":").is_some() => {
                        seq += 1;
                        replies.record(user);
                        format!(
                            r#"{{"error":0,"message":"Success","data":{{"message_id":"fake{seq:016x}","user_id":"{user}"}}}}"#
                        )
                    }
                    _ => r#"{"error":-201,"message":"user_id is invalid!"}"#.to_owned(),
                }
            };
            use std::io::Write;
            write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            )?;
            buf.drain(..total);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if read_more(&mut stream, &mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// The numeric `recipient.user_id` of a send body.
fn recipient(body: &[u8]) -> Option<u64> {
    const AT: &[u8] = br#""recipient":{"user_id":""#;
    let start = find(body, AT)? + AT.len();
    let digits = body[start..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&body[start..start + digits]).ok()?.parse().ok()
}
