//! Schema upgrades (SPEC §13.3): a database as every earlier schema version
//! left it is opened by the current code, which migrates it forward on
//! start, and nothing is lost.
//!
//! The old databases are made from the migration list itself, cut at
//! version k (`store::migrate_to(conn, k)`: the SQL of migrations 1..=k and
//! their data work, `PRAGMA user_version` = k), so a new migration is
//! covered without a new fixture. Two kinds of rows go in:
//! - synthetic rows in every table of version k, one value per column, which
//!   must come out byte for byte the same (every column that existed at k);
//! - realistic rows (`SEEDS`: cases, audit, outbox, messages, ...) that the
//!   current code must read through its own API.
//!
//! A migration that adds a NOT NULL column without a default, or rewrites
//! old values on purpose, makes this test fail: add a `SEEDS` entry for the
//! new version, or teach `synthetic_rows_survive` the intended rewrite.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use replygate::store::{self, CaseState, Store};
use rusqlite::types::Value;
use rusqlite::Connection;

/// Realistic rows: (first schema version whose tables they fit, SQL). A
/// database of version k gets every seed with version <= k.
const SEEDS: &[(usize, &str)] = &[(
    1,
    r#"
    INSERT INTO meta (key, value) VALUES ('seeded_by', 'store_upgrade');
    INSERT INTO folders (name, kind, uidvalidity, last_uid, synced_at)
        VALUES ('INBOX', 'inbox', 1700000000, 42, '2026-11-20T10:00:00Z');
    INSERT INTO messages (id, folder, uidvalidity, uid, message_id, fingerprint, internaldate,
            from_addr, subject, norm_subject, recipients, class, reason, case_id, role, processed)
        VALUES (1, 'INBOX', 1700000000, 41, '<q1@client.example>', 'fp1', '2026-11-20T09:00:00Z',
            'anna@client.example', 'Jautājums par grantu', 'jautājums par grantu',
            'info@sif.example', 'client', NULL, 'SIF-2026-00001', 'opens', 1);
    INSERT INTO thread_ids (message_id, case_id) VALUES ('<q1@client.example>', 'SIF-2026-00001');
    INSERT INTO case_seq (year, last) VALUES (2026, 3);
    INSERT INTO cases (id, client, client_name, reply_to, subject, norm_subject, kind, opened_at,
            received, deadline, state, extended, cycle, last_client_msgid, last_client_refs,
            acked_cycle, acknowledged_at, answered_at, closed_at, close_reason, reminded_for,
            escalated_for, updated_at)
        VALUES
        ('SIF-2026-00001', 'anna@client.example', 'Anna Bērziņa', 'anna@client.example',
            'Jautājums par grantu', 'jautājums par grantu', 'email', '2026-11-20T09:00:00Z',
            '2026-11-20T09:00:00Z', '2026-12-04T15:00:00Z', 'open', 0, 1, '<q1@client.example>',
            '<q0@client.example> <q1@client.example>', 1, '2026-11-20T09:05:00Z', NULL, NULL, NULL,
            NULL, NULL, '2026-11-20T09:05:00Z'),
        ('SIF-2026-00002', 'janis@client.example', NULL, 'janis@client.example',
            'Iesniegums', 'iesniegums', 'submission', '2026-11-02T08:00:00Z',
            '2026-11-02T08:00:00Z', '2026-12-02T15:00:00Z', 'answered', 1, 2, NULL, '',
            2, '2026-11-02T08:01:00Z', '2026-11-25T12:00:00Z', NULL, NULL,
            '2026-12-02T15:00:00Z', NULL, '2026-11-25T12:00:00Z'),
        ('SIF-2026-00003', 'spam@client.example', NULL, 'spam@client.example',
            'Offer', 'offer', 'email', '2026-11-03T08:00:00Z',
            '2026-11-03T08:00:00Z', '2026-11-17T15:00:00Z', 'closed', 0, 1, NULL, '',
            0, NULL, NULL, '2026-11-03T09:00:00Z', 'spam', NULL, NULL, '2026-11-03T09:00:00Z');
    INSERT INTO audit (at, case_id, action, detail, actor)
        VALUES ('2026-11-03T09:00:00Z', 'SIF-2026-00003', 'close', 'spam', 'admin');
    INSERT INTO outbox (kind, case_id, dedup_key, message_id, mail_from, rcpts, raw, state,
            attempts, not_before, next_attempt_at, last_error, created_at, sent_at, copy_saved)
        VALUES ('ack', 'SIF-2026-00001', 'ack:SIF-2026-00001:1', '<ack1@sif.example>',
            'info@sif.example', 'anna@client.example', X'5375626A6563743A2061636B0D0A0D0A6F6B', 'sent',
            1, '2026-11-20T09:00:00Z', '2026-11-20T09:00:00Z', NULL, '2026-11-20T09:00:00Z',
            '2026-11-20T09:05:00Z', 1);
    INSERT INTO signature_checks (message_id, author, case_id, compliant, missing, sent_at, checked_at)
        VALUES ('<r1@sif.example>', 'staff@sif.example', 'SIF-2026-00002', 0, 'phone',
            '2026-11-25T12:00:00Z', '2026-11-25T12:01:00Z');
    INSERT INTO bounces (address, at, message_id)
        VALUES ('gone@client.example', '2026-11-21T10:00:00Z', '<b1@mx.example>');
    INSERT INTO counters (name, value) VALUES ('acks_sent', 7);
    "#,
)];

/// A database at schema version `k`, as replygate of that version left it:
/// the migrations up to `k`, with their data work, in the store's own way.
fn build_at(path: &Path, k: usize) -> Connection {
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    store::migrate_to(&mut conn, k).unwrap_or_else(|e| panic!("migrations up to {k} do not apply: {e}"));
    conn
}

fn tables(conn: &Connection) -> Vec<String> {
    let mut st = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// (column name, declared type) of a table.
fn columns(conn: &Connection, table: &str) -> Vec<(String, String)> {
    let mut st = conn.prepare(&format!("PRAGMA table_info(\"{table}\")")).unwrap();
    st.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

type Rows = BTreeMap<String, Vec<Vec<Value>>>;

/// Every row of every table, restricted to the given columns per table.
fn snapshot(conn: &Connection, cols: &BTreeMap<String, Vec<(String, String)>>) -> Rows {
    let mut out = Rows::new();
    for (table, cs) in cols {
        let list = cs
            .iter()
            .map(|(c, _)| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut st = conn
            .prepare(&format!("SELECT {list} FROM \"{table}\" ORDER BY rowid"))
            .unwrap_or_else(|e| panic!("table {table} or one of its columns is gone after the upgrade: {e}"));
        let rows = st
            .query_map([], |r| {
                (0..cs.len())
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.insert(table.clone(), rows);
    }
    out
}

/// Two synthetic rows in every table: a distinct value per column, typed by
/// the column's declared affinity.
fn insert_synthetic(conn: &Connection, cols: &BTreeMap<String, Vec<(String, String)>>) {
    for (table, cs) in cols {
        for row in 0..2i64 {
            let names = cs
                .iter()
                .map(|(c, _)| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let marks = (1..=cs.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let values: Vec<Value> = cs
                .iter()
                .enumerate()
                .map(|(i, (c, ty))| {
                    let ty = ty.to_ascii_uppercase();
                    if ty.contains("INT") {
                        Value::Integer(900_000 + row * 100 + i as i64)
                    } else if ty.contains("BLOB") {
                        Value::Blob(format!("{table}.{c}.{row}").into_bytes())
                    } else {
                        Value::Text(format!("synthetic {table}.{c} #{row} ā"))
                    }
                })
                .collect();
            conn.execute(
                &format!("INSERT INTO \"{table}\" ({names}) VALUES ({marks})"),
                rusqlite::params_from_iter(values),
            )
            .unwrap_or_else(|e| panic!("synthetic row into {table}: {e}"));
        }
    }
}

fn schema_columns(conn: &Connection) -> BTreeMap<String, Vec<(String, String)>> {
    tables(conn)
        .into_iter()
        .map(|t| {
            let c = columns(conn, &t);
            (t, c)
        })
        .collect()
}

fn user_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

#[test]
fn every_table_and_value_of_every_old_version_survives_the_upgrade() {
    let current = store::migrations().len();
    assert!(
        current >= 2,
        "the migration list is shorter than the released schema versions"
    );
    for k in 1..=current {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replygate.db");
        let conn = build_at(&path, k);
        assert_eq!(user_version(&conn), k as i64);
        let cols = schema_columns(&conn);
        insert_synthetic(&conn, &cols);
        let before = snapshot(&conn, &cols);
        drop(conn);

        let store = Store::open(&path).unwrap_or_else(|e| panic!("version {k} does not open: {e}"));
        drop(store);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(
            user_version(&conn),
            current as i64,
            "version {k} was not migrated to {current}"
        );
        let after = snapshot(&conn, &cols);
        for (table, rows) in &before {
            assert_eq!(
                Some(rows),
                after.get(table),
                "version {k}: rows of {table} changed in the upgrade"
            );
        }
    }
}

#[test]
fn realistic_data_of_every_old_version_is_read_by_the_current_code() {
    let current = store::migrations().len();
    for k in 1..=current {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replygate.db");
        let conn = build_at(&path, k);
        for (_, sql) in SEEDS.iter().filter(|(v, _)| *v <= k) {
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("seed into version {k}: {e}"));
        }
        drop(conn);

        let store = Store::open(&path).unwrap_or_else(|e| panic!("version {k} does not open: {e}"));
        let r = store.read();
        let all = r.all_cases().unwrap();
        let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "version {k}: cases after the upgrade: {ids:?}");
        let open = r.open_cases().unwrap();
        assert_eq!(open.len(), 1, "version {k}");
        let c = &open[0];
        assert_eq!(c.id, "SIF-2026-00001");
        assert_eq!(c.client_name.as_deref(), Some("Anna Bērziņa"));
        assert_eq!(c.deadline, Utc.with_ymd_and_hms(2026, 12, 4, 15, 0, 0).unwrap());
        assert_eq!(
            c.last_client_refs,
            vec!["<q0@client.example>", "<q1@client.example>"]
        );
        assert_eq!(c.acked_cycle, 1);
        let answered = r.case("SIF-2026-00002").unwrap().unwrap();
        assert_eq!(answered.state, CaseState::Answered);
        assert!(answered.extended);
        assert_eq!(answered.cycle, 2);
        let closed = r.case("SIF-2026-00003").unwrap().unwrap();
        assert_eq!(
            (closed.state, closed.close_reason.as_deref()),
            (CaseState::Closed, Some("spam"))
        );
        let audit = r.audit_for("SIF-2026-00003").unwrap();
        assert_eq!(audit.len(), 1, "version {k}: audit rows");
        assert_eq!(
            (audit[0].action.as_str(), audit[0].actor.as_str()),
            ("close", "admin")
        );
        let outbox = r.outbox_all().unwrap();
        assert_eq!(outbox.len(), 1, "version {k}: outbox rows");
        assert_eq!(outbox[0].raw, b"Subject: ack\r\n\r\nok");
        assert_eq!(outbox[0].state, store::OutboxState::Sent);
        assert!(outbox[0].copy_saved);
        let f = r.folder_state("INBOX").unwrap().unwrap();
        assert_eq!((f.uidvalidity, f.last_uid), (1_700_000_000, 42));
        assert_eq!(
            r.thread_case("<q1@client.example>").unwrap(),
            Some(Some("SIF-2026-00001".into()))
        );
        assert_eq!(r.counter("acks_sent").unwrap(), 7);
        assert_eq!(r.meta("seeded_by").unwrap().as_deref(), Some("store_upgrade"));
        assert_eq!(
            r.signature_checks().unwrap().len(),
            1,
            "version {k}: signature checks"
        );
        assert!(
            r.last_bounce("gone@client.example").unwrap().is_some(),
            "version {k}: bounce lost"
        );
        drop(store);
    }
}

#[test]
fn a_database_newer_than_this_code_is_refused_not_touched() {
    let current = store::migrations().len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replygate.db");
    let conn = build_at(&path, current);
    conn.pragma_update(None, "user_version", (current + 1) as i64)
        .unwrap();
    drop(conn);
    let err = Store::open(&path).err().expect("a newer schema must be refused");
    assert!(
        err.to_string().contains("newer than this replygate knows"),
        "{err}"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), (current + 1) as i64);
}
