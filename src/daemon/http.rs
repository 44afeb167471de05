//! A tiny HTTP/1.1 server for `/healthz` and `/metrics` (`[http] listen`).
//!
//! Deliberately minimal: GET (and HEAD) only, one request per connection
//! (`Connection: close`), the request head capped at [`MAX_REQUEST`] bytes
//! and [`READ_TIMEOUT`] to arrive, at most [`MAX_CONNECTIONS`] served at
//! once. What to answer is up to the handler; it runs on the HTTP task and
//! must not block (the daemon gives it a snapshot behind a mutex).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Largest request head accepted.
pub const MAX_REQUEST: usize = 8 * 1024;
/// Time allowed for the request head to arrive.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 16;

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// Maps a request path (without the query) to an answer.
pub type Handler = Arc<dyn Fn(&str) -> Response + Send + Sync>;

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// GET or HEAD of this path (query string removed).
    Get { path: String, head: bool },
    /// Another method.
    Method,
    /// Not an HTTP request line.
    Bad,
}

/// Parse the request line of a head (`GET /metrics HTTP/1.1`).
pub fn parse_request(head: &[u8]) -> Request {
    let line_end = head.windows(2).position(|w| w == b"\r\n").unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Request::Bad;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::Bad;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Request::Bad;
    }
    let path = target.split('?').next().unwrap_or(target).to_string();
    match method {
        "GET" => Request::Get { path, head: false },
        "HEAD" => Request::Get { path, head: true },
        _ => Request::Method,
    }
}

/// Render a whole response.
pub fn render(r: &Response, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    if r.status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(r.body.as_bytes());
    }
    bytes
}

/// Read the request head: up to the blank line, bounded in size and time.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, u16> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            let n = stream.read(&mut chunk).await.map_err(|_| 400u16)?;
            if n == 0 {
                return Err(400);
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok(());
            }
            if buf.len() > MAX_REQUEST {
                return Err(431);
            }
        }
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Err(_) => Err(408),
        Ok(Err(code)) => Err(code),
        Ok(Ok(())) => Ok(buf),
    }
}

async fn serve_one(mut stream: TcpStream, handler: Handler) {
    let (resp, head_only) = match read_head(&mut stream).await {
        Err(code) => (Response::text(code, reason(code)), false),
        Ok(head) => match parse_request(&head) {
            Request::Get { path, head } => (handler(&path), head),
            Request::Method => (Response::text(405, "only GET is served\n"), false),
            Request::Bad => (Response::text(400, "bad request\n"), false),
        },
    };
    let bytes = render(&resp, head_only);
    let _ = tokio::time::timeout(READ_TIMEOUT, async {
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serve `listener` forever (until the task is aborted).
pub async fn serve(listener: TcpListener, handler: Handler) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait a little.
                tracing::warn!(error = %e, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let h = handler.clone();
        tokio::spawn(async move {
            serve_one(stream, h).await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let rows: &[(&[u8], Request)] = &[
            (
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                Request::Get {
                    path: "/healthz".into(),
                    head: false,
                },
            ),
            (
                b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n",
                Request::Get {
                    path: "/metrics".into(),
                    head: true,
                },
            ),
            (b"POST /metrics HTTP/1.1\r\n\r\n", Request::Method),
            (b"GET metrics HTTP/1.1\r\n\r\n", Request::Bad),
            (b"GET / HTTP/2\r\n\r\n", Request::Bad),
            (b"\xff\xfe\r\n\r\n", Request::Bad),
            (b"GET  /x HTTP/1.1\r\n\r\n", Request::Bad),
        ];
        for (raw, want) in rows {
            assert_eq!(&parse_request(raw), want, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn rendering() {
        let r = Response::text(503, "IMAP down\n");
        let text = String::from_utf8(render(&r, false)).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{text}");
        assert!(text.contains("Content-Length: 10\r\n"));
        assert!(text.ends_with("\r\n\r\nIMAP down\n"));
        let head = String::from_utf8(render(&r, true)).unwrap();
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[tokio::test]
    async fn serves_and_bounds_requests() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(|path: &str| match path {
            "/healthz" => Response::text(200, "ok\n"),
            _ => Response::text(404, "not found\n"),
        });
        let task = tokio::spawn(serve(listener, handler));
        async fn ask(addr: std::net::SocketAddr, req: &[u8]) -> String {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(req).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        }
        let ok = ask(addr, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK") && ok.ends_with("ok\n"), "{ok}");
        let nf = ask(addr, b"GET /nope HTTP/1.1\r\n\r\n").await;
        assert!(nf.starts_with("HTTP/1.1 404"), "{nf}");
        let post = ask(addr, b"POST /healthz HTTP/1.1\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
        let mut big = b"GET /healthz HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_REQUEST + 10));
        let too_big = ask(addr, &big).await;
        assert!(too_big.starts_with("HTTP/1.1 431"), "{too_big}");
        task.abort();
    }
}
