//! Retention (SPEC §11.5): a purged case leaves no row anywhere — messages
//! (and their duplicates), thread ids, outbox rows in every state, audit,
//! signature verdicts — and history older than the retention goes too;
//! nothing younger and no open case is touched. The purged case's audit
//! entries are redacted by the evidence log (its hash chain stays
//! verifiable); audit entries outside cases are part of that chain and stay. Deleted content is
//! overwritten (`secure_delete`), so after the purge and the checkpoint the
//! database files hold no byte of it.

use chrono::{DateTime, Duration, Utc};
use replygate::rules::deadline::CaseKind;
use replygate::store::{
    Case, CaseState, NewMessage, NewOutbox, OutboxKind, OutboxState, SignatureRecord, Store, StoreError,
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const OLD_SUBJECT: &str = "Slepenais jautajums par Annas veselibu";
const OLD_CLIENT: &str = "anna.slepena@example.lv";

struct Seed<'a> {
    folder: &'a str,
    uid: u32,
    msgid: &'a str,
    when: &'a str,
    from: &'a str,
    subject: &'a str,
    case: Option<&'a str>,
}

fn message(tx: &replygate::store::Tx<'_>, s: &Seed<'_>, duplicate_of: Option<i64>) -> i64 {
    let rcpts = vec!["pasts@sif.gov.lv".to_string()];
    let id = tx
        .insert_message(
            &NewMessage {
                folder: s.folder,
                uidvalidity: 1,
                uid: s.uid,
                message_id: Some(s.msgid),
                fingerprint: s.msgid,
                internaldate: at(s.when),
                from_addr: Some(s.from),
                subject: s.subject,
                norm_subject: s.subject,
                recipients: &rcpts,
                class: "client",
                reason: None,
                pending: Some("{}"),
                role: None,
            },
            duplicate_of,
        )
        .unwrap();
    tx.finish_message(id, s.case, if s.case.is_some() { "question" } else { "history" })
        .unwrap();
    tx.link_thread(s.msgid, s.case).unwrap();
    id
}

fn outbox(
    tx: &replygate::store::Tx<'_>,
    case: Option<&str>,
    key: &str,
    to: &str,
    subject: &str,
    when: &str,
    state: &str,
) {
    let rcpts = vec![to.to_string()];
    let raw = format!("To: {to}\r\nSubject: Re: {subject}\r\n\r\nPaldies!\r\n");
    assert!(tx
        .enqueue(&NewOutbox {
            kind: OutboxKind::Ack,
            case_id: case,
            dedup_key: key,
            message_id: &format!("replygate.{key}@sif.gov.lv"),
            mail_from: "pasts@sif.gov.lv",
            rcpts: &rcpts,
            raw: raw.as_bytes(),
            not_before: at(when),
            created_at: at(when),
        })
        .unwrap());
    let id: i64 = tx
        .query_row("SELECT id FROM outbox WHERE dedup_key = ?1", [key], |r| r.get(0))
        .unwrap();
    let state = match state {
        "pending" => None,
        "sent" => Some(OutboxState::Sent),
        "failed" => Some(OutboxState::Failed),
        "cancelled" => Some(OutboxState::Cancelled),
        other => panic!("state {other}"),
    };
    if let Some(state) = state {
        tx.outbox_mark(id, state, at(when), None).unwrap();
    }
    if case.is_some() {
        tx.link_thread(&format!("replygate.{key}@sif.gov.lv"), case)
            .unwrap();
    }
}

fn case(
    tx: &replygate::store::Tx<'_>,
    id: &str,
    client: &str,
    subject: &str,
    received: &str,
    state: CaseState,
    done: Option<&str>,
) {
    let mut c = Case::open(
        id.to_string(),
        client,
        subject,
        CaseKind::Email,
        at(received),
        at(received) + Duration::days(10),
    );
    c.state = state;
    match state {
        CaseState::Closed => c.closed_at = done.map(at),
        CaseState::Answered => c.answered_at = done.map(at),
        CaseState::Open => {}
    }
    tx.save_case(&c, at(done.unwrap_or(received))).unwrap();
}

/// Every text and blob value of every table, for "nothing mentions X".
fn dump(store: &Store) -> String {
    let conn = store.conn();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut out = String::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            out.push_str(&format!("{t}:"));
            for i in 0..n {
                match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        out.push_str(&String::from_utf8_lossy(b));
                        out.push('|');
                    }
                    v => out.push_str(&format!("{v:?}|")),
                }
            }
            out.push('\n');
        }
    }
    out
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_purged_case_leaves_no_row_and_old_history_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replygate.db");
    let mut store = Store::open(&path).unwrap();
    let secure: i64 = store
        .conn()
        .query_row("PRAGMA secure_delete", [], |r| r.get(0))
        .unwrap();
    assert_eq!(secure, 1, "secure_delete is off");

    store
        .transaction(|tx| -> Result<(), StoreError> {
            // A: closed long ago — purged with everything about it.
            case(
                tx,
                "SIF-2026-00001",
                OLD_CLIENT,
                OLD_SUBJECT,
                "2026-01-05T10:00:00Z",
                CaseState::Closed,
                Some("2026-01-20T10:00:00Z"),
            );
            let q = message(
                tx,
                &Seed {
                    folder: "INBOX",
                    uid: 1,
                    msgid: "qa@example.lv",
                    when: "2026-01-05T10:00:00Z",
                    from: OLD_CLIENT,
                    subject: OLD_SUBJECT,
                    case: Some("SIF-2026-00001"),
                },
                None,
            );
            // The same question again in another folder (a duplicate row).
            message(
                tx,
                &Seed {
                    folder: "Archive",
                    uid: 7,
                    msgid: "qa-copy@example.lv",
                    when: "2026-01-05T10:00:00Z",
                    from: OLD_CLIENT,
                    subject: OLD_SUBJECT,
                    case: None,
                },
                Some(q),
            );
            message(
                tx,
                &Seed {
                    folder: "Sent",
                    uid: 2,
                    msgid: "ra@sif.gov.lv",
                    when: "2026-01-10T10:00:00Z",
                    from: "janis@sif.gov.lv",
                    subject: OLD_SUBJECT,
                    case: Some("SIF-2026-00001"),
                },
                None,
            );
            outbox(
                tx,
                Some("SIF-2026-00001"),
                "a-ack",
                OLD_CLIENT,
                OLD_SUBJECT,
                "2026-01-05T10:05:00Z",
                "sent",
            );
            outbox(
                tx,
                Some("SIF-2026-00001"),
                "a-rem",
                OLD_CLIENT,
                OLD_SUBJECT,
                "2026-01-08T10:05:00Z",
                "cancelled",
            );
            outbox(
                tx,
                Some("SIF-2026-00001"),
                "a-not",
                OLD_CLIENT,
                OLD_SUBJECT,
                "2026-01-09T10:05:00Z",
                "failed",
            );
            tx.audit(
                at("2026-01-20T10:00:00Z"),
                Some("SIF-2026-00001"),
                "close",
                &format!("{OLD_CLIENT}: {OLD_SUBJECT}"),
                "admin:root",
            )?;
            tx.record_signature(&SignatureRecord {
                message_id: "ra@sif.gov.lv",
                author: "janis@sif.gov.lv",
                case_id: Some("SIF-2026-00001"),
                compliant: false,
                missing: "contact",
                sent_at: at("2026-01-10T10:00:00Z"),
                checked_at: at("2026-05-30T10:00:00Z"),
            })?;

            // B: closed recently — kept whole.
            case(
                tx,
                "SIF-2026-00002",
                "berzins@example.lv",
                "Jaunais jautajums",
                "2026-05-01T10:00:00Z",
                CaseState::Closed,
                Some("2026-05-20T10:00:00Z"),
            );
            message(
                tx,
                &Seed {
                    folder: "INBOX",
                    uid: 3,
                    msgid: "qb@example.lv",
                    when: "2026-05-01T10:00:00Z",
                    from: "berzins@example.lv",
                    subject: "Jaunais jautajums",
                    case: Some("SIF-2026-00002"),
                },
                None,
            );
            outbox(
                tx,
                Some("SIF-2026-00002"),
                "b-ack",
                "berzins@example.lv",
                "Jaunais jautajums",
                "2026-05-01T10:05:00Z",
                "sent",
            );
            tx.audit(
                at("2026-05-20T10:00:00Z"),
                Some("SIF-2026-00002"),
                "close",
                "done",
                "admin:root",
            )?;
            // C: open since long ago — never purged.
            case(
                tx,
                "SIF-2026-00003",
                "ozols@example.lv",
                "Ilgais jautajums",
                "2026-01-02T10:00:00Z",
                CaseState::Open,
                None,
            );
            message(
                tx,
                &Seed {
                    folder: "INBOX",
                    uid: 4,
                    msgid: "qc@example.lv",
                    when: "2026-01-02T10:00:00Z",
                    from: "ozols@example.lv",
                    subject: "Ilgais jautajums",
                    case: Some("SIF-2026-00003"),
                },
                None,
            );
            outbox(
                tx,
                Some("SIF-2026-00003"),
                "c-ack",
                "ozols@example.lv",
                "Ilgais jautajums",
                "2026-01-02T10:05:00Z",
                "sent",
            );

            // History without a case: old goes, young stays.
            message(
                tx,
                &Seed {
                    folder: "INBOX",
                    uid: 5,
                    msgid: "h-old@example.lv",
                    when: "2026-01-03T10:00:00Z",
                    from: "vecs@example.lv",
                    subject: "Veca vesture",
                    case: None,
                },
                None,
            );
            message(
                tx,
                &Seed {
                    folder: "INBOX",
                    uid: 6,
                    msgid: "h-new@example.lv",
                    when: "2026-05-03T10:00:00Z",
                    from: "jauns@example.lv",
                    subject: "Jauna vesture",
                    case: None,
                },
                None,
            );
            outbox(
                tx,
                None,
                "digest-old",
                "vaditajs@sif.gov.lv",
                "Vecais kopsavilkums",
                "2026-01-03T08:00:00Z",
                "cancelled",
            );
            outbox(
                tx,
                None,
                "digest-pending",
                "vaditajs@sif.gov.lv",
                "Gaidosais",
                "2026-01-03T08:00:00Z",
                "pending",
            );
            tx.audit(
                at("2026-01-03T08:00:00Z"),
                None,
                "config",
                "vecs ieraksts",
                "admin:root",
            )?;
            tx.audit(
                at("2026-05-03T08:00:00Z"),
                None,
                "config",
                "jauns ieraksts",
                "admin:root",
            )?;
            tx.record_signature(&SignatureRecord {
                message_id: "s-old@sif.gov.lv",
                author: "liga@sif.gov.lv",
                case_id: None,
                compliant: true,
                missing: "",
                sent_at: at("2026-01-04T10:00:00Z"),
                checked_at: at("2026-01-04T10:00:00Z"),
            })?;
            tx.record_bounce("vecs@example.lv", at("2026-01-04T10:00:00Z"), Some("dsn-old@mx"))?;
            tx.record_bounce("jauns@example.lv", at("2026-05-30T10:00:00Z"), Some("dsn-new@mx"))?;
            Ok(())
        })
        .unwrap();
    assert!(dump(&store).contains(OLD_SUBJECT));

    // Retention 90 days at 1 June: before = 3 March.
    let before = at("2026-06-01T00:00:00Z") - Duration::days(90);
    let n = store
        .transaction(|tx| tx.purge(before, at("2026-06-01T00:00:00Z")))
        .unwrap();
    assert_eq!(n, 1);
    store.checkpoint().unwrap();

    // The evidence log's own purge entry names the purged case numbers (so
    // the redaction is auditable); nothing else may.
    let all: String = dump(&store)
        .lines()
        .filter(|l| !(l.starts_with("audit:") && l.contains("|purged|")))
        .map(|l| format!("{l}\n"))
        .collect();
    for gone in [
        "SIF-2026-00001",
        OLD_CLIENT,
        OLD_SUBJECT,
        "qa@example.lv",
        "qa-copy@example.lv",
        "ra@sif.gov.lv",
        "replygate.a-",
        "h-old@example.lv",
        "Veca vesture",
        "Vecais kopsavilkums",
        "s-old@sif.gov.lv",
        "vecs@example.lv",
    ] {
        assert!(!all.contains(gone), "{gone:?} is still stored:\n{all}");
    }
    for kept in [
        "SIF-2026-00002",
        "qb@example.lv",
        "replygate.b-ack",
        "SIF-2026-00003",
        "qc@example.lv",
        "replygate.c-ack",
        "h-new@example.lv",
        "Gaidosais",
        "jauns ieraksts",
        "jauns@example.lv",
    ] {
        assert!(all.contains(kept), "{kept:?} was purged too early:\n{all}");
    }
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM thread_ids WHERE message_id = 'h-new@example.lv'"
        ),
        1
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM cases"), 2);

    // Overwritten, not just unlinked: no byte of the purged text is left in
    // the database or its write-ahead log.
    drop(store);
    for f in ["replygate.db", "replygate.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(f)) {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains(OLD_SUBJECT), "{f} still holds the purged subject");
            assert!(!hay.contains(OLD_CLIENT), "{f} still holds the purged address");
        }
    }
}
