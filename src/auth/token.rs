//! OAuth 2.0 access tokens from the client-credentials grant (RFC 6749
//! §4.4), cached for every IMAP and SMTP connection of the process.
//!
//! The endpoint is asked no more often than needed (SPEC §13.1):
//! - a token is reused until near the end of its lifetime (the last tenth,
//!   between 1 s and 5 min before `expires_in` runs out);
//! - never two requests within [`MIN_INTERVAL`] (a failure is remembered as
//!   long), except once after a server refused the current token
//!   ([`TokenSource::after_refusal`]);
//! - while the endpoint fails, a cached token that has not expired is
//!   still used.
//!
//! The client secret goes in the form body; when the endpoint answers 401
//! asking for HTTP Basic (`WWW-Authenticate: Basic`), it is sent that way
//! from then on. Errors name the URL and the HTTP status, never the secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};

use super::http::{self, HttpError};
use crate::config::secret::Secret;
use crate::config::OAuth2Config;

/// Least time between two requests to the token endpoint (unless a token
/// was refused).
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// Lifetime assumed when the endpoint gives no `expires_in`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Why no token could be had. Never holds the secret or a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    #[error("OAuth 2.0 token endpoint {url} answered {error}; check oauth2.client_id, the client secret and oauth2.scope")]
    Refused { url: String, error: HttpError },
    #[error("OAuth 2.0 token endpoint {url} unreachable: {error}")]
    Unreachable { url: String, error: HttpError },
    #[error("OAuth 2.0 token endpoint {url} sent an unusable answer: {reason}")]
    Invalid { url: String, reason: String },
    #[error("cannot set up TLS for the OAuth 2.0 token endpoint: {0}")]
    Tls(String),
}

impl TokenError {
    /// The HTTP status, when the endpoint answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            TokenError::Refused {
                error: HttpError::Status { status, .. },
                ..
            } => Some(*status),
            _ => None,
        }
    }
}

struct Token {
    access: Secret,
    fetched: Instant,
    lifetime: Duration,
}

impl Token {
    fn refresh_at(&self) -> Instant {
        let margin = (self.lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(300));
        self.fetched + self.lifetime.saturating_sub(margin)
    }

    fn expired(&self, now: Instant) -> bool {
        now >= self.fetched + self.lifetime
    }
}

/// What [`TokenSource::token`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Hand out the cached token.
    Cached,
    /// Ask the endpoint.
    Fetch,
    /// Repeat the last failure (the endpoint was asked less than
    /// [`MIN_INTERVAL`] ago).
    LastError,
}

/// The refresh rule, pure: `refresh_at` of the cached token (if any), when
/// the endpoint was last asked, whether that failed.
fn plan(now: Instant, refresh_at: Option<Instant>, last_request: Option<Instant>, failed: bool) -> Plan {
    if refresh_at.is_some_and(|r| now < r) {
        return Plan::Cached;
    }
    if last_request.is_some_and(|at| now.saturating_duration_since(at) < MIN_INTERVAL) {
        if refresh_at.is_some() {
            return Plan::Cached;
        }
        if failed {
            return Plan::LastError;
        }
    }
    Plan::Fetch
}

#[derive(Default)]
struct State {
    current: Option<Token>,
    last_request: Option<Instant>,
    last_error: Option<TokenError>,
    basic: bool,
    requests: u64,
}

/// The process-wide token cache. Share it with `Arc`.
pub struct TokenSource {
    cfg: OAuth2Config,
    secret: Secret,
    tls: Arc<rustls::ClientConfig>,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.cfg.token_url)
            .field("client_id", &self.cfg.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Needs no runtime and does no I/O except reading `oauth2.ca_file`.
    pub fn new(cfg: OAuth2Config, secret: Secret) -> Result<TokenSource, TokenError> {
        let tls =
            crate::tls::client_config(cfg.ca_file.as_deref()).map_err(|e| TokenError::Tls(e.to_string()))?;
        Ok(TokenSource {
            cfg,
            secret,
            tls,
            state: tokio::sync::Mutex::new(State::default()),
        })
    }

    /// The settings this source was built from (to see whether a reload
    /// changed them).
    pub fn settings(&self) -> (&OAuth2Config, &Secret) {
        (&self.cfg, &self.secret)
    }

    /// The token endpoint's URL, for messages.
    pub fn url(&self) -> &str {
        &self.cfg.token_url
    }

    /// How many requests went to the endpoint so far.
    pub async fn requests(&self) -> u64 {
        self.state.lock().await.requests
    }

    /// A token for a login: the cached one unless it is near its end.
    pub async fn token(&self) -> Result<Secret, TokenError> {
        let mut st = self.state.lock().await;
        let now = Instant::now();
        let step = plan(
            now,
            st.current.as_ref().map(Token::refresh_at),
            st.last_request,
            st.last_error.is_some(),
        );
        match (step, &st.current, &st.last_error) {
            (Plan::Cached, Some(t), _) => return Ok(t.access.clone()),
            (Plan::LastError, _, Some(e)) => return Err(e.clone()),
            _ => {}
        }
        match self.fetch(&mut st).await {
            Ok(t) => Ok(t),
            Err(e) => match &st.current {
                Some(t) if !t.expired(Instant::now()) => {
                    tracing::warn!("{e}; using the cached token until it expires");
                    Ok(t.access.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// A server refused `refused`: a new token, fetched at once unless
    /// another connection already replaced it.
    pub async fn after_refusal(&self, refused: &Secret) -> Result<Secret, TokenError> {
        let mut st = self.state.lock().await;
        if let Some(t) = &st.current {
            if t.access != *refused {
                return Ok(t.access.clone());
            }
        }
        st.current = None;
        self.fetch(&mut st).await
    }

    async fn fetch(&self, st: &mut State) -> Result<Secret, TokenError> {
        st.last_request = Some(Instant::now());
        st.requests += 1;
        let mut r = self.request(st.basic).await;
        if let Err(TokenError::Refused {
            error:
                HttpError::Status {
                    status: 401,
                    wants_basic: true,
                    ..
                },
            ..
        }) = &r
        {
            if !st.basic {
                tracing::info!(url = %self.cfg.token_url, "the token endpoint asks for HTTP Basic client authentication; using it");
                st.basic = true;
                st.requests += 1;
                r = self.request(true).await;
            }
        }
        match r {
            Ok((access, lifetime)) => {
                tracing::debug!(url = %self.cfg.token_url, lifetime_s = lifetime.as_secs(), "OAuth 2.0 token fetched");
                st.current = Some(Token {
                    access: access.clone(),
                    fetched: Instant::now(),
                    lifetime,
                });
                st.last_error = None;
                Ok(access)
            }
            Err(e) => {
                st.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    async fn request(&self, basic: bool) -> Result<(Secret, Duration), TokenError> {
        let url = self.cfg.token_url.trim().to_string();
        let token_url = TokenUrl::new(url.clone()).map_err(|e| TokenError::Invalid {
            url: url.clone(),
            reason: format!("not a URL: {e}"),
        })?;
        let client = BasicClient::new(ClientId::new(self.cfg.client_id.trim().to_string()))
            .set_client_secret(ClientSecret::new(self.secret.expose().to_string()))
            .set_token_uri(token_url)
            .set_auth_type(if basic {
                AuthType::BasicAuth
            } else {
                AuthType::RequestBody
            });
        let mut req = client.exchange_client_credentials();
        for s in self.cfg.scope.as_deref().unwrap_or("").split_whitespace() {
            req = req.add_scope(Scope::new(s.to_string()));
        }
        let tls = self.tls.clone();
        let send = move |r: oauth2::HttpRequest| {
            let tls = tls.clone();
            async move { http::send(&tls, r).await }
        };
        match req.request_async(&send).await {
            Ok(resp) => {
                let lifetime = resp.expires_in().unwrap_or(DEFAULT_LIFETIME);
                let access = resp.access_token().secret().to_string();
                if access.is_empty() {
                    return Err(TokenError::Invalid {
                        url,
                        reason: "empty access_token".into(),
                    });
                }
                Ok((Secret::new(access), lifetime))
            }
            Err(RequestTokenError::Request(error)) => Err(match error {
                HttpError::Status { .. } => TokenError::Refused { url, error },
                HttpError::Transport(_) => TokenError::Unreachable { url, error },
            }),
            Err(RequestTokenError::ServerResponse(e)) => Err(TokenError::Invalid {
                url,
                reason: format!("error {}", e.error()),
            }),
            Err(RequestTokenError::Parse(e, _body)) => Err(TokenError::Invalid {
                url,
                reason: format!("not a token response ({})", e.path()),
            }),
            Err(RequestTokenError::Other(s)) => Err(TokenError::Invalid {
                url,
                reason: s.chars().flat_map(char::escape_debug).take(300).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_rule() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let at = |n: u64| t0 + s(n);
        // (now, refresh_at, last_request, failed) -> plan
        type Case = (Instant, Option<Instant>, Option<Instant>, bool, Plan);
        let cases: &[Case] = &[
            (at(0), None, None, false, Plan::Fetch),
            (at(10), Some(at(100)), Some(at(0)), false, Plan::Cached),
            // near the end of its lifetime: fetched anew
            (at(100), Some(at(100)), Some(at(0)), false, Plan::Fetch),
            // ... but never twice within 5 s
            (at(3), Some(at(2)), Some(at(0)), false, Plan::Cached),
            (at(5), Some(at(2)), Some(at(0)), false, Plan::Fetch),
            // a failure is repeated for 5 s, then the endpoint is asked again
            (at(4), None, Some(at(0)), true, Plan::LastError),
            (at(5), None, Some(at(0)), true, Plan::Fetch),
            // a failure while a token is cached: the token
            (at(4), Some(at(1)), Some(at(0)), true, Plan::Cached),
        ];
        for (i, (now, r, last, failed, want)) in cases.iter().enumerate() {
            assert_eq!(plan(*now, *r, *last, *failed), *want, "case {i}");
        }
    }

    #[test]
    fn refresh_margin_is_a_tenth_within_bounds() {
        let t0 = Instant::now();
        let tok = |secs: u64| Token {
            access: Secret::new("x"),
            fetched: t0,
            lifetime: Duration::from_secs(secs),
        };
        assert_eq!(tok(3600).refresh_at(), t0 + Duration::from_secs(3300));
        assert_eq!(tok(100).refresh_at(), t0 + Duration::from_secs(90));
        assert_eq!(tok(5).refresh_at(), t0 + Duration::from_secs(4));
        assert_eq!(tok(0).refresh_at(), t0);
        assert!(tok(10).expired(t0 + Duration::from_secs(10)));
        assert!(!tok(10).expired(t0 + Duration::from_secs(9)));
    }

    #[test]
    fn errors_name_url_and_status_not_the_secret() {
        let e = TokenError::Refused {
            url: "https://login.example/token".into(),
            error: HttpError::Status {
                status: 401,
                detail: "invalid_client".into(),
                wants_basic: false,
            },
        };
        let m = e.to_string();
        assert!(
            m.contains("https://login.example/token")
                && m.contains("HTTP 401")
                && m.contains("invalid_client"),
            "{m}"
        );
        assert_eq!(e.status(), Some(401));
    }
}
