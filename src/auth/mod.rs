//! How replygate proves who it is to the IMAP and SMTP servers: a password
//! (LOGIN / AUTH PLAIN) or an OAuth 2.0 access token (SASL XOAUTH2 or
//! OAUTHBEARER, SPEC §13.1) from the client-credentials grant.
//!
//! - [`token`]: the token cache shared by every connection of the process;
//! - [`http`]: the HTTP client under the token request (hyper + rustls);
//! - [`sasl`]: the SASL messages that carry a token.

pub mod http;
pub mod sasl;
pub mod token;

use std::sync::Arc;

use crate::config::secret::{Secret, SecretError};
use crate::config::{AuthMethod, Config};
pub use token::{TokenError, TokenSource};

/// The credentials of one server.
#[derive(Clone, Debug)]
pub enum Login {
    Password(Secret),
    /// A token from `tokens`, sent with `mechanism` (XOAUTH2 / OAUTHBEARER).
    Token {
        mechanism: AuthMethod,
        tokens: Arc<TokenSource>,
    },
}

impl PartialEq for Login {
    /// Same credentials configured (a reload compares these; the tokens
    /// themselves do not count).
    fn eq(&self, other: &Login) -> bool {
        match (self, other) {
            (Login::Password(a), Login::Password(b)) => a == b,
            (
                Login::Token {
                    mechanism: m1,
                    tokens: t1,
                },
                Login::Token {
                    mechanism: m2,
                    tokens: t2,
                },
            ) => m1 == m2 && t1.settings() == t2.settings(),
            _ => false,
        }
    }
}

/// Why the credentials could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("IMAP password: {0}")]
    ImapPassword(#[source] SecretError),
    #[error("SMTP password: {0}")]
    SmtpPassword(#[source] SecretError),
    #[error("[oauth2] client secret: {0}")]
    ClientSecret(#[source] SecretError),
    #[error("[oauth2]: {0}")]
    Token(#[from] TokenError),
    #[error("auth = \"{0}\" needs an [oauth2] section")]
    NoOAuth2(&'static str),
}

/// The credentials of both servers, sharing one token cache. Reads the
/// secrets; fetches no token.
#[derive(Debug, Clone)]
pub struct Logins {
    pub imap: Login,
    /// `None`: SMTP without authentication.
    pub smtp: Option<Login>,
    pub tokens: Option<Arc<TokenSource>>,
}

impl Logins {
    pub fn from_config(cfg: &Config) -> Result<Logins, LoginError> {
        let tokens = if cfg.uses_oauth2() {
            let o = cfg
                .oauth2
                .clone()
                .ok_or(LoginError::NoOAuth2(if cfg.imap.auth.is_oauth() {
                    cfg.imap.auth.name()
                } else {
                    cfg.smtp.auth.name()
                }))?;
            let secret = cfg.oauth2_secret().map_err(LoginError::ClientSecret)?;
            Some(Arc::new(TokenSource::new(o, secret)?))
        } else {
            None
        };
        let token_login = |m: AuthMethod| -> Option<Login> {
            tokens.as_ref().map(|t| Login::Token {
                mechanism: m,
                tokens: t.clone(),
            })
        };
        let imap = if cfg.imap.auth.is_oauth() {
            token_login(cfg.imap.auth).ok_or(LoginError::NoOAuth2(cfg.imap.auth.name()))?
        } else {
            Login::Password(cfg.imap_password().map_err(LoginError::ImapPassword)?)
        };
        let smtp = if cfg.smtp.auth.is_oauth() {
            Some(token_login(cfg.smtp.auth).ok_or(LoginError::NoOAuth2(cfg.smtp.auth.name()))?)
        } else {
            cfg.smtp_password()
                .map_err(LoginError::SmtpPassword)?
                .map(Login::Password)
        };
        Ok(Logins { imap, smtp, tokens })
    }
}
