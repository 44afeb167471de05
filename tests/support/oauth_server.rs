//! A small OAuth 2.0 authorization server for tests, on 127.0.0.1: the
//! client-credentials token endpoint (`POST /token`, RFC 6749 §4.4) and a
//! token introspection endpoint (`POST /introspect`, RFC 7662) for
//! Dovecot's `oauth2` passdb and the test SMTP server. Tokens can be made
//! short-lived, revoked, and the token endpoint made to fail.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Issued {
    at: Instant,
    revoked: bool,
}

struct State {
    client_id: String,
    secret: String,
    user: String,
    /// `expires_in` told to the client.
    expires_in: u64,
    /// How long a token is really accepted (None: until revoked).
    valid_for: Option<Duration>,
    tokens: HashMap<String, Issued>,
    token_requests: u32,
    introspections: u32,
    /// Answer /token with this status instead.
    fail_with: Option<u16>,
    /// Demand HTTP Basic client authentication.
    basic_only: bool,
    scopes: Vec<String>,
    n: u32,
}

pub struct OAuthServer {
    pub port: u16,
    pub client_id: String,
    pub secret: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl OAuthServer {
    /// Issues tokens for `user` to a client that presents `secret`.
    pub fn start(user: &str, secret: &str) -> OAuthServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            client_id: "replygate-test-client".into(),
            secret: secret.into(),
            user: user.into(),
            expires_in: 3600,
            valid_for: None,
            tokens: HashMap::new(),
            token_requests: 0,
            introspections: 0,
            fail_with: None,
            basic_only: false,
            scopes: Vec::new(),
            n: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &st);
                });
            }
        });
        OAuthServer {
            port,
            client_id: "replygate-test-client".into(),
            secret: secret.into(),
            state,
            stop,
        }
    }

    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    pub fn introspection_url(&self) -> String {
        format!("http://127.0.0.1:{}/introspect", self.port)
    }

    /// Tokens told to live `expires_in` s and really accepted for `valid_for`.
    pub fn set_lifetime(&self, expires_in: u64, valid_for: Option<Duration>) {
        let mut s = self.state.lock().unwrap();
        s.expires_in = expires_in;
        s.valid_for = valid_for;
    }

    /// Every token issued so far stops working.
    pub fn revoke_all(&self) {
        for t in self.state.lock().unwrap().tokens.values_mut() {
            t.revoked = true;
        }
    }

    pub fn fail_token_endpoint(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_with = status;
    }

    pub fn require_basic(&self, yes: bool) {
        self.state.lock().unwrap().basic_only = yes;
    }

    pub fn token_requests(&self) -> u32 {
        self.state.lock().unwrap().token_requests
    }

    /// Tokens issued (successful /token answers).
    pub fn issued(&self) -> u32 {
        self.state.lock().unwrap().n
    }

    pub fn introspections(&self) -> u32 {
        self.state.lock().unwrap().introspections
    }

    /// The `scope` of every token request, in order.
    pub fn scopes(&self) -> Vec<String> {
        self.state.lock().unwrap().scopes.clone()
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn respond(conn: &mut TcpStream, status: u16, extra: &str, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

fn handle(mut conn: TcpStream, st: &Mutex<State>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut rd = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    rd.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("").to_string());
    let mut len = 0usize;
    let mut authz = None;
    loop {
        let mut h = String::new();
        rd.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("authorization") {
                authz = Some(v.trim().to_string());
            }
        }
    }
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body)?;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if method != "POST" {
        return respond(&mut conn, 404, "", "{}");
    }
    match path.as_str() {
        "/token" => {
            let mut s = st.lock().unwrap();
            s.token_requests += 1;
            s.scopes.push(form.get("scope").cloned().unwrap_or_default());
            if let Some(code) = s.fail_with {
                return respond(&mut conn, code, "", r#"{"error":"temporarily_unavailable"}"#);
            }
            let basic = authz
                .as_deref()
                .and_then(|a| a.strip_prefix("Basic "))
                .and_then(|b| {
                    use base64::Engine as _;
                    let raw = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
                    let text = String::from_utf8(raw).ok()?;
                    let (id, sec) = text.split_once(':')?;
                    let dec = |x: &str| {
                        url::form_urlencoded::parse(format!("a={x}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                    };
                    Some((dec(id)?, dec(sec)?))
                });
            let (id, secret) = match basic {
                Some(p) => p,
                None if s.basic_only => {
                    return respond(
                        &mut conn,
                        401,
                        "WWW-Authenticate: Basic realm=\"token\"\r\n",
                        r#"{"error":"invalid_client","error_description":"use HTTP Basic"}"#,
                    )
                }
                None => (
                    form.get("client_id").cloned().unwrap_or_default(),
                    form.get("client_secret").cloned().unwrap_or_default(),
                ),
            };
            if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
                return respond(&mut conn, 400, "", r#"{"error":"unsupported_grant_type"}"#);
            }
            if id != s.client_id || secret != s.secret {
                return respond(
                    &mut conn,
                    401,
                    "",
                    r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
                );
            }
            s.n += 1;
            let token = format!("tok-{}-{}", s.n, std::process::id());
            s.tokens.insert(
                token.clone(),
                Issued {
                    at: Instant::now(),
                    revoked: false,
                },
            );
            let body = format!(
                r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{}}}"#,
                s.expires_in
            );
            drop(s);
            respond(&mut conn, 200, "", &body)
        }
        "/introspect" => {
            let mut s = st.lock().unwrap();
            s.introspections += 1;
            let token = form.get("token").cloned().unwrap_or_default();
            let active = s
                .tokens
                .get(&token)
                .is_some_and(|t| !t.revoked && s.valid_for.is_none_or(|v| t.at.elapsed() < v));
            let body = if active {
                format!(r#"{{"active":true,"email":"{}"}}"#, s.user)
            } else {
                r#"{"active":false}"#.to_string()
            };
            drop(s);
            respond(&mut conn, 200, "", &body)
        }
        _ => respond(&mut conn, 404, "", "{}"),
    }
}
