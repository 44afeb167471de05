//! The daemon's numbers: a [`Snapshot`] taken from the store by the worker
//! after each cycle (the SQLite connection never leaves the worker) and
//! rendered in the Prometheus text format for `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::store::{ts, Store, StoreError};

/// The kinds of mail the gateway sends (outbox `kind`, counter `sent_<kind>`).
pub const SENT_KINDS: [&str; 5] = ["ack", "reminder", "escalation", "digest", "signature_warning"];

/// What `/metrics` shows about the store, as of the last cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Recorded messages (duplicates not counted) by class.
    pub messages: BTreeMap<String, i64>,
    /// All open cases, including the overdue ones.
    pub open: i64,
    /// Open cases whose deadline has passed.
    pub overdue: i64,
    pub answered: i64,
    pub closed: i64,
    /// Sent mail by kind (every kind of [`SENT_KINDS`] present).
    pub sent: BTreeMap<String, i64>,
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    /// Staff mail found without a complete signature.
    pub signature_warnings: i64,
    /// The earliest deadline among open cases that are not overdue.
    pub next_deadline: Option<DateTime<Utc>>,
    /// Messages whose processing failed twice and were set aside (§11.1).
    pub message_errors: i64,
    /// Header blocks cut at 256 KiB (§11.1).
    pub headers_truncated: i64,
}

impl Snapshot {
    /// Read the numbers from the store at `now`.
    pub fn collect(store: &Store, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        let r = store.read();
        let mut s = Snapshot::default();
        for (class, _reason, n) in r.message_counts()? {
            *s.messages.entry(class).or_default() += n;
        }
        let conn = store.conn();
        let mut st = conn.prepare("SELECT state, COUNT(*) FROM cases GROUP BY state")?;
        let rows = st.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            match state.as_str() {
                "open" => s.open = n,
                "answered" => s.answered = n,
                "closed" => s.closed = n,
                _ => {}
            }
        }
        s.overdue = conn.query_row(
            "SELECT COUNT(*) FROM cases WHERE state = 'open' AND deadline <= ?1",
            [ts(now)],
            |row| row.get(0),
        )?;
        let next: Option<String> = conn.query_row(
            "SELECT MIN(deadline) FROM cases WHERE state = 'open' AND deadline > ?1",
            [ts(now)],
            |row| row.get(0),
        )?;
        s.next_deadline = next.and_then(|t| crate::store::parse_ts("cases.deadline", &t).ok());
        for kind in SENT_KINDS {
            s.sent
                .insert(kind.to_string(), r.counter(&format!("sent_{kind}"))?);
        }
        // By the state index: the outbox holds whole messages, a scan of
        // the table would read them all.
        let mut st = conn.prepare(
            "SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending', 'sending', 'failed') GROUP BY state",
        )?;
        let rows = st.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            match state.as_str() {
                "pending" | "sending" => s.outbox_pending += n,
                "failed" => s.outbox_failed += n,
                _ => {}
            }
        }
        s.message_errors = r.failed_message_counts()?.0;
        s.headers_truncated = r.counter("headers_truncated")?;
        s.signature_warnings = conn.query_row(
            "SELECT COUNT(*) FROM signature_checks WHERE compliant = 0",
            [],
            |row| row.get(0),
        )?;
        Ok(s)
    }
}

/// What the daemon itself knows (not in the store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    pub last_sync: Option<DateTime<Utc>>,
    pub imap_reconnects: u64,
}

/// Escape a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The Prometheus text exposition (format 0.0.4).
pub fn render(s: &Snapshot, live: &Live) -> String {
    let mut o = String::new();
    let head = |o: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} {kind}");
    };
    head(
        &mut o,
        "replygate_messages_total",
        "counter",
        "Messages recorded, by class.",
    );
    for (class, n) in &s.messages {
        let _ = writeln!(o, "replygate_messages_total{{class=\"{}\"}} {n}", label(class));
    }
    head(
        &mut o,
        "replygate_cases",
        "gauge",
        "Cases by state; open includes overdue.",
    );
    for (state, n) in [
        ("open", s.open),
        ("overdue", s.overdue),
        ("answered", s.answered),
        ("closed", s.closed),
    ] {
        let _ = writeln!(o, "replygate_cases{{state=\"{state}\"}} {n}");
    }
    head(&mut o, "replygate_sent_total", "counter", "Mail sent, by kind.");
    for (kind, n) in &s.sent {
        let _ = writeln!(o, "replygate_sent_total{{kind=\"{}\"}} {n}", label(kind));
    }
    head(
        &mut o,
        "replygate_outbox",
        "gauge",
        "Outbox entries waiting or failed for good.",
    );
    let _ = writeln!(o, "replygate_outbox{{state=\"pending\"}} {}", s.outbox_pending);
    let _ = writeln!(o, "replygate_outbox{{state=\"failed\"}} {}", s.outbox_failed);
    head(
        &mut o,
        "replygate_signature_warnings_total",
        "counter",
        "Staff mail found without a complete signature.",
    );
    let _ = writeln!(o, "replygate_signature_warnings_total {}", s.signature_warnings);
    head(
        &mut o,
        "replygate_message_errors_total",
        "counter",
        "Messages whose processing failed twice and that were set aside (SPEC 11.1).",
    );
    let _ = writeln!(o, "replygate_message_errors_total {}", s.message_errors);
    head(
        &mut o,
        "replygate_headers_truncated_total",
        "counter",
        "Header blocks cut at 256 KiB (SPEC 11.1).",
    );
    let _ = writeln!(o, "replygate_headers_truncated_total {}", s.headers_truncated);
    head(
        &mut o,
        "replygate_last_sync_timestamp_seconds",
        "gauge",
        "Unix time of the last successful sync (0: none yet).",
    );
    let _ = writeln!(
        o,
        "replygate_last_sync_timestamp_seconds {}",
        live.last_sync.map(|t| t.timestamp()).unwrap_or(0)
    );
    head(
        &mut o,
        "replygate_imap_reconnects_total",
        "counter",
        "IMAP connections re-established after a failure.",
    );
    let _ = writeln!(o, "replygate_imap_reconnects_total {}", live.imap_reconnects);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_store_snapshot_and_rendering() {
        let store = Store::open_in_memory().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let s = Snapshot::collect(&store, now).unwrap();
        assert_eq!(s.open, 0);
        assert_eq!(s.sent.len(), SENT_KINDS.len());
        let text = render(
            &s,
            &Live {
                last_sync: Some(now),
                imap_reconnects: 3,
            },
        );
        for want in [
            "replygate_cases{state=\"open\"} 0",
            "replygate_cases{state=\"overdue\"} 0",
            "replygate_sent_total{kind=\"ack\"} 0",
            "replygate_sent_total{kind=\"signature_warning\"} 0",
            "replygate_outbox{state=\"pending\"} 0",
            "replygate_outbox{state=\"failed\"} 0",
            "replygate_signature_warnings_total 0",
            "replygate_message_errors_total 0",
            "replygate_headers_truncated_total 0",
            "replygate_last_sync_timestamp_seconds 1795600800",
            "replygate_imap_reconnects_total 3",
            "# TYPE replygate_messages_total counter",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut s = Snapshot::default();
        s.messages.insert("we\"ird\\".into(), 1);
        let text = render(&s, &Live::default());
        assert!(
            text.contains(r#"replygate_messages_total{class="we\"ird\\"} 1"#),
            "{text}"
        );
    }
}
