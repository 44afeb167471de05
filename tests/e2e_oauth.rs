//! Real mail platforms (SPEC §13): OAuth 2.0 logins (XOAUTH2, OAUTHBEARER)
//! against Dovecot's `oauth2` passdb and an SMTP server that checks tokens
//! at the same local token/introspection server; `check-config --online`;
//! an IMAP server without IDLE; sent folders with localised names.
//! Outcomes are awaited by polling with a timeout, never by fixed sleeps.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use replygate::auth::{Login, TokenSource};
use replygate::config::secret::Secret;
use replygate::config::{AuthMethod, OAuth2Config};
use replygate::inbound::imap;
use replygate::outbound::smtp::Mailer;

use support::dovecot::{Dovecot, Options};
use support::mail::client;
use support::oauth_server::OAuthServer;
use support::tls_smtp::{TlsMode, TlsSmtp};
use support::world::{t, World, STAFF};

const SECRET: &str = "Kl1ent-Secret~value.42";
const SCOPE: &str = "https://outlook.office365.com/.default";

/// Token server, Dovecot validating tokens there, SMTP server doing the same.
struct OWorld {
    oauth: OAuthServer,
    dovecot: Dovecot,
    smtp: TlsSmtp,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl OWorld {
    fn new(no_idle: bool) -> OWorld {
        let user = "pasts@example.lv";
        let oauth = OAuthServer::start(user, SECRET);
        let dovecot = Dovecot::start_with_options(&Options {
            introspection_url: Some(oauth.introspection_url()),
            no_idle,
        });
        assert_eq!(dovecot.user, user);
        let smtp = TlsSmtp::start_oauth(TlsMode::Starttls, &oauth.introspection_url());
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("replygate.toml");
        std::fs::write(dir.path().join("oauth2-secret"), format!("{SECRET}\n")).unwrap();
        OWorld {
            oauth,
            dovecot,
            smtp,
            dir,
            config,
        }
    }

    fn write_config(&self, imap_auth: &str, smtp_auth: &str, extra: &str) {
        let text = format!(
            r#"[organization]
name = "Sabiedrības integrācijas fonds"
domains = ["sif.gov.lv"]

[imap]
host = "127.0.0.1"
port = {imap_port}
security = "plain"
username = "{user}"
auth = "{imap_auth}"
inbox = ["INBOX"]
sent = ["Sent"]
poll_interval = "1s"

[smtp]
host = "localhost"
port = {smtp_port}
security = "starttls"
ca_file = "{ca}"
username = "{user}"
auth = "{smtp_auth}"
from = "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>"

[oauth2]
token_url = "{token_url}"
client_id = "{client_id}"
client_secret_file = "oauth2-secret"
scope = "{SCOPE}"

[reminders]
team = "klienti@sif.gov.lv"

[storage]
database = "{db}"

{extra}
{STAFF}
"#,
            imap_port = self.dovecot.port,
            user = self.dovecot.user,
            smtp_port = self.smtp.port,
            ca = self.smtp.cert_path().display(),
            token_url = self.oauth.token_url(),
            client_id = self.oauth.client_id,
            db = self.dir.path().join("replygate.db").display(),
        );
        std::fs::write(&self.config, text).unwrap();
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_replygate"))
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    }

    fn oauth2_config(&self) -> OAuth2Config {
        OAuth2Config {
            token_url: self.oauth.token_url(),
            client_id: self.oauth.client_id.clone(),
            client_secret_file: None,
            client_secret_env: None,
            scope: Some(SCOPE.into()),
            ca_file: None,
        }
    }

    fn smtp_config(&self, auth: AuthMethod) -> replygate::config::SmtpConfig {
        #[derive(serde::Deserialize)]
        struct W {
            smtp: replygate::config::SmtpConfig,
        }
        let mut c = toml::from_str::<W>(&format!(
            "[smtp]\nhost = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nca_file = \"{}\"\nusername = \"{}\"\nfrom = \"pasts@sif.gov.lv\"\n",
            self.smtp.port,
            self.smtp.cert_path().display(),
            self.dovecot.user
        ))
        .unwrap()
        .smtp;
        c.auth = auth;
        c
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn no_secrets(out: &str) {
    assert!(!out.contains(SECRET), "the client secret leaked:\n{out}");
    assert!(!out.contains("tok-"), "a token leaked:\n{out}");
    // base64 of "auth=Bearer tok-" anywhere in an XOAUTH2 / OAUTHBEARER line
    assert!(
        !out.contains("YXV0aD1CZWFyZXIgdG9r"),
        "a SASL token leaked:\n{out}"
    );
}

const HOLIDAY_MAIL_AT: &str = "2026-11-18T10:00:00+02:00";

fn deliver_question(d: &Dovecot, who: &str, id: &str) {
    d.append(
        "INBOX",
        &client(
            &format!("Klients <{who}>"),
            &format!("<{id}@example.lv>"),
            "Jautājums",
            "Wed, 18 Nov 2026 10:00:00 +0200",
            &[],
        ),
        t(HOLIDAY_MAIL_AT),
    );
}

#[test]
fn run_once_logs_in_with_tokens_from_one_grant_and_sends_the_ack() {
    for (imap_auth, smtp_auth, mech) in [
        ("xoauth2", "oauthbearer", "OAUTHBEARER"),
        ("oauthbearer", "xoauth2", "XOAUTH2"),
    ] {
        let w = OWorld::new(false);
        w.write_config(imap_auth, smtp_auth, "[reply]\nstart_from = \"2026-11-01\"\n");
        deliver_question(&w.dovecot, "anna@example.lv", &format!("q-{imap_auth}"));
        let out = w.cmd(&["run", "--once", "--now", "2026-11-18T10:05:00+02:00"]);
        let log = text(&out);
        assert!(out.status.success(), "run --once failed:\n{log}");
        no_secrets(&log);
        let msgs = w.smtp.wait_for(1, Duration::from_secs(10));
        assert_eq!(msgs[0].rcpt_to, vec!["anna@example.lv".to_string()]);
        assert_eq!(
            w.smtp.auth_log(),
            vec![format!("ok {mech} pasts@example.lv")],
            "SMTP logged in with the token"
        );
        // One grant served IMAP and SMTP, with the configured scope.
        assert_eq!(w.oauth.issued(), 1, "{log}");
        assert_eq!(w.oauth.scopes(), vec![SCOPE.to_string()]);
        let imap_mech = imap_auth.to_ascii_uppercase();
        assert!(
            w.dovecot.log_text().contains(&format!("method={imap_mech}")),
            "dovecot log:\n{}",
            w.dovecot.log_text()
        );
    }
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_login_retried_at_once() {
    let w = OWorld::new(false);
    let tokens = Arc::new(TokenSource::new(w.oauth2_config(), Secret::new(SECRET)).unwrap());
    for mech in [AuthMethod::Xoauth2, AuthMethod::Oauthbearer] {
        let login = Login::Token {
            mechanism: mech,
            tokens: tokens.clone(),
        };
        let before = w.oauth.issued();
        let s = imap::connect_with(&w.dovecot.imap_config(), &login)
            .await
            .unwrap();
        s.logout().await;
        // The cached token serves the next login: no new request.
        let s = imap::connect_with(&w.dovecot.imap_config(), &login)
            .await
            .unwrap();
        s.logout().await;
        assert!(w.oauth.issued() <= before + 1);
        let n = w.oauth.issued();
        // Revoked (or expired early): refused, replaced, retried at once.
        w.oauth.revoke_all();
        let t0 = Instant::now();
        let mut s = imap::connect_with(&w.dovecot.imap_config(), &login)
            .await
            .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(20));
        assert_eq!(w.oauth.issued(), n + 1, "exactly one new token");
        s.examine("INBOX").await.unwrap();
        s.logout().await;
    }

    // SMTP: the same for lettre's connection, XOAUTH2 and OAUTHBEARER.
    for mech in [AuthMethod::Xoauth2, AuthMethod::Oauthbearer] {
        let login = Login::Token {
            mechanism: mech,
            tokens: tokens.clone(),
        };
        let m = Mailer::with_login(&w.smtp_config(mech), Some(login.clone())).unwrap();
        let how = m.check_login().await.unwrap();
        assert!(how.contains(replygate::auth::sasl::mechanism_name(mech)), "{how}");
        let n = w.oauth.issued();
        w.oauth.revoke_all();
        let m = Mailer::with_login(&w.smtp_config(mech), Some(login)).unwrap();
        m.check_login().await.unwrap();
        assert_eq!(w.oauth.issued(), n + 1);
    }
    let log = w.smtp.auth_log();
    assert_eq!(
        log.iter().filter(|l| l.starts_with("fail")).count(),
        2,
        "one refusal per mechanism: {log:?}"
    );
}

#[tokio::test]
async fn the_endpoint_is_not_asked_twice_within_5_s_and_failures_name_url_and_status() {
    let w = OWorld::new(false);
    // Tokens said to live 1 s: each is "near its end" at once, yet the
    // endpoint is asked at most once per 5 s.
    w.oauth.set_lifetime(1, None);
    let tokens = TokenSource::new(w.oauth2_config(), Secret::new(SECRET)).unwrap();
    let a = tokens.token().await.unwrap();
    let b = tokens.token().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(w.oauth.token_requests(), 1);

    // A failing endpoint: URL and status, never the secret; the failure is
    // remembered (no hammering) while no token is cached.
    let fresh = TokenSource::new(w.oauth2_config(), Secret::new(SECRET)).unwrap();
    w.oauth.fail_token_endpoint(Some(503));
    let e = fresh.token().await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(&w.oauth.token_url()) && msg.contains("503"), "{msg}");
    assert!(!msg.contains(SECRET));
    let n = w.oauth.token_requests();
    assert!(fresh.token().await.is_err());
    assert_eq!(w.oauth.token_requests(), n);

    // Wrong secret: 401 with the endpoint's reason.
    w.oauth.fail_token_endpoint(None);
    let wrong = TokenSource::new(w.oauth2_config(), Secret::new("wrong-secret-xyz")).unwrap();
    let msg = wrong.token().await.unwrap_err().to_string();
    assert!(msg.contains("401") && msg.contains("invalid_client"), "{msg}");
    assert!(!msg.contains("wrong-secret-xyz"), "{msg}");

    // An endpoint that wants HTTP Basic gets it.
    w.oauth.require_basic(true);
    let basic = TokenSource::new(w.oauth2_config(), Secret::new(SECRET)).unwrap();
    basic.token().await.unwrap();
}

#[test]
fn wrong_secret_fails_run_once_and_check_config_online_without_leaking_it() {
    let w = OWorld::new(false);
    w.write_config("xoauth2", "xoauth2", "");
    // Plain check-config reads the secret file but fetches no token.
    let out = w.cmd(&["check-config"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.oauth.token_requests(), 0);

    let out = w.cmd(&["check-config", "--online"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("OAuth 2.0 token from"), "{all}");
    assert!(
        all.contains("IMAP 127.0.0.1:") && all.contains("logged in as pasts@example.lv (XOAUTH2)"),
        "{all}"
    );
    assert!(all.contains("folder \"INBOX\": ok"), "{all}");
    assert!(
        all.contains("logged in as pasts@example.lv with XOAUTH2"),
        "{all}"
    );
    no_secrets(&all);

    std::fs::write(w.dir.path().join("oauth2-secret"), "not-the-secret-123\n").unwrap();
    let out = w.cmd(&["check-config", "--online"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&w.oauth.token_url()) && all.contains("HTTP 401"),
        "{all}"
    );
    assert!(all.contains("IMAP 127.0.0.1:") && all.contains("FAILED"), "{all}");
    assert!(!all.contains("not-the-secret-123"), "{all}");

    let out = w.cmd(&["run", "--once", "--now", "2026-11-18T10:05:00+02:00"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(&w.oauth.token_url()) && all.contains("401"), "{all}");
    assert!(!all.contains("not-the-secret-123"), "{all}");
}

/// `replygate run` on the wall clock, killed on drop.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(config: &std::path::Path, dir: &std::path::Path) -> Daemon {
        let log = dir.join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_replygate"))
            .arg("-c")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "debug")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait(&self, what: &str, timeout: Duration, done: impl Fn() -> bool) {
        let t0 = Instant::now();
        while !done() {
            assert!(
                t0.elapsed() < timeout,
                "{what}: not within {timeout:?}; daemon log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A question dated a moment ago (the daemon runs on the wall clock).
fn fresh_question(d: &Dovecot, who: &str) {
    let date =
        (Utc::now() - chrono::Duration::seconds(30)).with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap());
    let raw = client(
        &format!("Klients <{who}>"),
        &format!(
            "<{}.{}@example.lv>",
            who.replace('@', "."),
            Utc::now().timestamp_micros()
        ),
        "Jautājums",
        &date.to_rfc2822(),
        &[],
    );
    d.append("INBOX", &raw, date);
}

#[test]
fn daemon_polls_a_server_without_idle_and_survives_expired_and_revoked_tokens() {
    let mut w = OWorld::new(true);
    // Short-lived tokens: told 2 s, really accepted for 2 s.
    w.oauth.set_lifetime(2, Some(Duration::from_secs(2)));
    let start = (Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    w.write_config(
        "xoauth2",
        "xoauth2",
        &format!("[reply]\nack = \"immediate\"\nstart_from = \"{start}\"\ntrusted_authserv_id = \"mx.sif.gov.lv\"\n"),
    );
    let d = Daemon::start(&w.config, w.dir.path());
    d.wait("the watcher sees no IDLE", Duration::from_secs(20), || {
        d.log_text().contains("does not advertise IDLE")
    });
    fresh_question(&w.dovecot, "anna@example.lv");
    d.wait("ack 1 by polling", Duration::from_secs(30), || {
        w.smtp.messages().len() == 1
    });

    // Every token is revoked and the IMAP server restarts: the daemon's
    // next login is refused, it fetches a new token and logs in at once.
    let issued = w.oauth.issued();
    w.oauth.revoke_all();
    w.dovecot.restart();
    fresh_question(&w.dovecot, "berta@example.lv");
    d.wait("ack 2 after the restart", Duration::from_secs(60), || {
        w.smtp.messages().len() == 2
    });
    assert!(w.oauth.issued() > issued, "a new token was fetched");
    let log = d.log_text();
    no_secrets(&log);
    assert!(!log.contains("watching with IMAP IDLE"), "IDLE used:\n{log}");
    assert!(!w.dovecot.log_text().contains("IDLE"), "{}", w.dovecot.log_text());
}

#[test]
fn localised_sent_folders_are_read_and_written_in_modified_utf7() {
    let nos_wire = "Nos&AWs-t&ASs-tie vienumi";
    assert_eq!(
        replygate::inbound::imap::utf7::encode("Nosūtītie vienumi"),
        nos_wire
    );
    let w = World::new("");
    w.dovecot.create_folder("Sent Items");
    w.dovecot.create_folder(nos_wire);
    // [imap] and [smtp] are written by World: patch the folder lists in.
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    let cfg = cfg
        .replacen(
            "sent = [\"Sent\"]",
            "sent = [\"Sent Items\", \"Nosūtītie vienumi\"]",
            1,
        )
        .replacen(
            "from = \"Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\"\n",
            "from = \"Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\"\nsave_copy_to = \"Nosūtītie vienumi\"\n",
            1,
        );
    assert!(cfg.contains("Nosūtītie vienumi\"]") && cfg.contains("save_copy_to"));
    std::fs::write(&w.config, cfg).unwrap();

    // Two questions answered by staff, one from each localised folder, and
    // one left for an acknowledgement (a holiday: sent at once).
    for (who, id) in [
        ("a@example.lv", "qa"),
        ("b@example.lv", "qb"),
        ("c@example.lv", "qc"),
    ] {
        deliver_question(&w.dovecot, who, id);
    }
    let reply = |to: &str, id: &str, mid: &str| {
        support::mail::staff_reply(
            to,
            &format!("<{id}@example.lv>"),
            "Jautājums",
            "Wed, 18 Nov 2026 10:01:00 +0200",
            mid,
        )
    };
    w.dovecot.append(
        "Sent Items",
        &reply("a@example.lv", "qa", "<ra@sif.gov.lv>"),
        t("2026-11-18T10:01:00+02:00"),
    );
    w.dovecot.append(
        nos_wire,
        &reply("b@example.lv", "qb", "<rb@sif.gov.lv>"),
        t("2026-11-18T10:01:00+02:00"),
    );

    let out = w.cmd(&["check-config", "--online"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("folder \"Nosūtītie vienumi\": ok (1 messages)"),
        "{all}"
    );
    assert!(all.contains("folder \"Sent Items\": ok (1 messages)"), "{all}");

    let log = w.run("2026-11-18T10:02:00+02:00");
    let st = w.status("2026-11-18T10:02:00+02:00");
    for who in ["a@example.lv", "b@example.lv"] {
        let c = World::case_of(&st, who);
        assert_eq!(c.len(), 1, "{st}");
        assert_eq!(c[0]["state"], "answered", "{who}: {st}\n{log}");
    }
    assert_eq!(World::case_of(&st, "c@example.lv")[0]["state"], "open");
    // The acknowledgement to c went, and its copy is in the folder whose
    // on-disk (and wire) name is the modified UTF-7 one.
    let sent = w.sent();
    assert!(
        sent.iter().any(|m| m.rcpt_to == vec!["c@example.lv".to_string()]),
        "{log}"
    );
    let dir = w.dovecot.folder_dir(nos_wire);
    let files = std::fs::read_dir(dir.join("cur"))
        .unwrap()
        .chain(std::fs::read_dir(dir.join("new")).unwrap())
        .count();
    assert_eq!(files, 2, "the staff reply and the saved acknowledgement");
}
