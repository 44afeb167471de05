//! The daemon's numbers: a [`Snapshot`] taken from the store by the worker
//! after each cycle (the SQLite connection never leaves the worker) and
//! rendered for `GET /metrics` by `prometheus-client` (OpenMetrics text).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::store::{ts, Store, StoreError};

/// The kinds of mail the gateway sends (outbox `kind`, counter `sent_<kind>`).
pub const SENT_KINDS: [&str; 7] = [
    "ack",
    "reminder",
    "escalation",
    "escalation_list",
    "digest",
    "signature_warning",
    "feedback",
];

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

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labeled<M> = Family<Vec<(String, String)>, M>;

fn labeled<M: Default + prometheus_client::metrics::TypedMetric>(
    registry: &mut Registry,
    name: &str,
    help: &str,
) -> Labeled<M>
where
    Labeled<M>: prometheus_client::registry::Metric + Clone,
{
    let f = Labeled::<M>::default();
    registry.register(name, help, f.clone());
    f
}

/// The exposition (OpenMetrics text, which Prometheus reads), built by
/// `prometheus-client` from a fresh registry per scrape: the numbers are
/// the store's, read by the worker, not counters this process keeps.
pub fn render(s: &Snapshot, live: &Live) -> String {
    let mut reg = Registry::with_prefix("replygate");
    let l = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let messages: Labeled<Counter> = labeled(&mut reg, "messages", "Messages recorded, by class");
    for (class, n) in &s.messages {
        messages.get_or_create(&l("class", class)).inc_by(*n as u64);
    }
    let cases: Labeled<Gauge> = labeled(&mut reg, "cases", "Cases by state; open includes overdue");
    for (state, n) in [
        ("open", s.open),
        ("overdue", s.overdue),
        ("answered", s.answered),
        ("closed", s.closed),
    ] {
        cases.get_or_create(&l("state", state)).set(n);
    }
    let sent: Labeled<Counter> = labeled(&mut reg, "sent", "Mail sent, by kind");
    for (kind, n) in &s.sent {
        sent.get_or_create(&l("kind", kind)).inc_by(*n as u64);
    }
    let outbox: Labeled<Gauge> = labeled(&mut reg, "outbox", "Outbox entries waiting or failed for good");
    outbox.get_or_create(&l("state", "pending")).set(s.outbox_pending);
    outbox.get_or_create(&l("state", "failed")).set(s.outbox_failed);
    let warnings = Counter::<u64>::default();
    warnings.inc_by(s.signature_warnings as u64);
    reg.register(
        "signature_warnings",
        "Staff mail found without a complete signature",
        warnings,
    );
    let last = Gauge::<i64>::default();
    last.set(live.last_sync.map(|t| t.timestamp()).unwrap_or(0));
    reg.register(
        "last_sync_timestamp_seconds",
        "Unix time of the last successful sync (0: none yet)",
        last,
    );
    let reconnects = Counter::<u64>::default();
    reconnects.inc_by(live.imap_reconnects);
    reg.register(
        "imap_reconnects",
        "IMAP connections re-established after a failure",
        reconnects,
    );
    let errors = Counter::<u64>::default();
    errors.inc_by(s.message_errors.max(0) as u64);
    reg.register(
        "message_errors",
        "Messages whose processing failed twice and that were set aside (SPEC 11.1)",
        errors,
    );
    let truncated = Counter::<u64>::default();
    truncated.inc_by(s.headers_truncated.max(0) as u64);
    reg.register(
        "headers_truncated",
        "Header blocks cut at 256 KiB (SPEC 11.1)",
        truncated,
    );
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
        tracing::warn!(error = %e, "cannot encode /metrics");
    }
    out
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
            "# TYPE replygate_cases gauge",
            "# EOF",
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
