//! replygate: keeps a shared client mailbox's promises.
//!
//! The modules are declared in the order of ARCHITECTURE.md's map, which
//! follows a message through the system: `inbound` reads and judges mail,
//! `cases` turns it into case changes, `rules` decides what is due on the
//! working calendar, `outbound` queues and sends what was decided, `store`
//! keeps it all in SQLite, and `pipeline` strings one cycle together. At the
//! edges: `daemon` runs cycles, `cli` and `config` are the admin's side,
//! `auth` and `tls` log in to the servers, `web` and `report` show what was
//! kept.

// ---- The flow of a message ----

// Inbound: IMAP, the header view of a message and what it is.
pub mod inbound;
// Cases: tracking, interim replies, signatures, client feedback.
pub mod cases;
// Rules, the pure core: the working calendar, deadlines and the engine.
pub mod rules;
// Outbound: templates, composition, the outbox and SMTP.
pub mod outbound;
// Store: SQLite, one file per table group.
pub mod store;
// One cycle: sync, track, decide, send.
pub mod pipeline;

// ---- At the edges ----

// The long-running service: worker, IDLE watchers, signals, HTTP, metrics.
pub mod daemon;
// The command line.
pub mod cli;
// The config file and secrets.
pub mod config;
// Logging in: passwords, OAuth 2.0 tokens (client credentials), SASL.
pub mod auth;
// TLS client configuration shared by IMAP, SMTP and the token client.
pub mod tls;
// The dashboard and the HTTP endpoints (axum).
pub mod web;
// Compliance reports from the recorded facts (pure computation).
pub mod report;

#[cfg(test)]
mod tests {
    /// `tracing` keeps an event's text in its field `message`: an event
    /// that also names a field `message` prints the two run together
    /// ("it changes nothing 3"), which an admin cannot read. Every source
    /// file is checked, so a new log line cannot bring it back.
    #[test]
    fn no_log_event_has_a_field_named_message() {
        fn walk(dir: &std::path::Path, bad: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("src is readable") {
                let path = entry.expect("src entry").path();
                if path.is_dir() {
                    walk(&path, bad);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                    // Each event's macro call, up to its closing `);`.
                    for (at, _) in text.match_indices("tracing::") {
                        let call = &text[at..];
                        let call = &call[..call.find(");").unwrap_or(call.len())];
                        let levels = ["trace!(", "debug!(", "info!(", "warn!(", "error!("];
                        if levels.iter().any(|l| call["tracing::".len()..].starts_with(l))
                            && call
                                .split(['(', ','])
                                .any(|f| f.trim_start().starts_with("message ="))
                        {
                            let line = text[..at].lines().count() + 1;
                            bad.push(format!("{}:{line}", path.display()));
                        }
                    }
                }
            }
        }
        let mut bad = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut bad,
        );
        assert!(bad.is_empty(), "log events with a field named `message`: {bad:?}");
    }
}
