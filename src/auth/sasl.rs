//! The SASL messages that carry an OAuth 2.0 access token to IMAP and SMTP
//! servers: `XOAUTH2` (Microsoft, Google) and `OAUTHBEARER` (RFC 7628).
//! Pure functions; the bytes returned hold the token, so never log them.

use crate::config::AuthMethod;

/// The SASL mechanism name for the `AUTHENTICATE` / `AUTH` command.
pub fn mechanism_name(m: AuthMethod) -> &'static str {
    match m {
        AuthMethod::Oauthbearer => "OAUTHBEARER",
        _ => "XOAUTH2",
    }
}

/// The client's initial response (unencoded): XOAUTH2 is
/// `user=U ^A auth=Bearer T ^A ^A`; OAUTHBEARER (RFC 7628 §3.1) is the GS2
/// header `n,a=U,` then `^A auth=Bearer T ^A ^A`, with `,` and `=` in the
/// user escaped as `=2C` and `=3D`.
pub fn initial_response(m: AuthMethod, user: &str, token: &str) -> Vec<u8> {
    match m {
        AuthMethod::Oauthbearer => {
            let user = user.replace('=', "=3D").replace(',', "=2C");
            format!("n,a={user},\x01auth=Bearer {token}\x01\x01").into_bytes()
        }
        _ => format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes(),
    }
}

/// What to answer the server's error challenge (a JSON status sent after
/// a refused token): XOAUTH2 wants an empty line, OAUTHBEARER the single
/// byte `^A` (RFC 7628 §3.2.3). The server then ends the exchange with NO
/// (IMAP) or 535 (SMTP).
pub fn error_ack(m: AuthMethod) -> &'static [u8] {
    match m {
        AuthMethod::Oauthbearer => b"\x01",
        _ => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_by_mechanism() {
        let cases: &[(AuthMethod, &str, &str, &[u8])] = &[
            (
                AuthMethod::Xoauth2,
                "pasts@sif.gov.lv",
                "tok",
                b"user=pasts@sif.gov.lv\x01auth=Bearer tok\x01\x01",
            ),
            (
                AuthMethod::Oauthbearer,
                "pasts@sif.gov.lv",
                "tok",
                b"n,a=pasts@sif.gov.lv,\x01auth=Bearer tok\x01\x01",
            ),
            (
                AuthMethod::Oauthbearer,
                "a=b,c",
                "t",
                b"n,a=a=3Db=2Cc,\x01auth=Bearer t\x01\x01",
            ),
        ];
        for (m, user, token, want) in cases {
            assert_eq!(initial_response(*m, user, token), *want, "{m:?} {user}");
        }
        assert_eq!(mechanism_name(AuthMethod::Xoauth2), "XOAUTH2");
        assert_eq!(mechanism_name(AuthMethod::Oauthbearer), "OAUTHBEARER");
        assert_eq!(error_ack(AuthMethod::Xoauth2), b"");
        assert_eq!(error_ack(AuthMethod::Oauthbearer), b"\x01");
    }
}
