//! The evidence log (SPEC §12): every case event is a row of the `audit`
//! table, hash-chained so that a changed, inserted or removed entry is
//! found by `replygate audit verify`.
//!
//! Each entry carries
//! - `content_hash` = SHA-256 of the JSON array `[id, at, case_id, action,
//!   detail, actor]` (the id is inside, so renumbering shows);
//! - `prev_hash` = the `entry_hash` of the entry before it ([`GENESIS`] for
//!   the first one ever);
//! - `entry_hash` = SHA-256 of `prev_hash` + `"\n"` + `content_hash`.
//!
//! Retention (SPEC §11.5) must remove what the log says about a purged
//! case and still leave a chain that verifies. It does so in two steps,
//! both recorded by the purge's own entry (action `purged`):
//! - the purged cases' entries are **redacted** in place: case, detail and
//!   actor are emptied, `redacted` = 1, both hashes stay, so the chain still
//!   links through them; the purge entry lists the redacted ids, and an
//!   entry marked redacted that no purge entry lists is reported as
//!   tampering (redaction cannot be used to hide an entry);
//! - the leading run of redacted entries is then **deleted**; the purge
//!   entry records `continues_from` (the `entry_hash` of the last deleted
//!   entry) and `first_kept` (the first id left), so the first remaining
//!   entry's `prev_hash` is checked against it instead of [`GENESIS`].
//!
//! A hash chain proves the log was not edited *after the fact* by someone
//! who does not rewrite every later entry; `audit verify` prints the head
//! hash so it can be written down elsewhere (a ticket, the digest) as an
//! external anchor.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{parse_ts, ts, Reader, Result, StoreError, Tx};

/// `prev_hash` of the first entry ever.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The content hash of one entry.
pub fn content_hash(
    id: i64,
    at: &str,
    case_id: Option<&str>,
    action: &str,
    detail: &str,
    actor: &str,
) -> String {
    let json = serde_json::json!([id, at, case_id, action, detail, actor]).to_string();
    sha256_hex(json.as_bytes())
}

/// The chain hash of an entry from its predecessor's hash and its content.
pub fn entry_hash(prev: &str, content: &str) -> String {
    sha256_hex(format!("{prev}\n{content}").as_bytes())
}

/// The last entry's id (0 when empty) and hash (the genesis value when
/// there is none).
fn last(conn: &Connection) -> Result<(i64, String)> {
    let h: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT id, entry_hash FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match h {
        Some((id, hash)) => (id, hash.unwrap_or_else(|| GENESIS.to_string())),
        None => (0, GENESIS.to_string()),
    })
}

/// Append one entry, chained to the last one. Returns its id.
pub fn append(
    conn: &Connection,
    at: DateTime<Utc>,
    case_id: Option<&str>,
    action: &str,
    detail: &str,
    actor: &str,
) -> Result<i64> {
    // The new row's id is the last one's + 1 (what SQLite would pick for
    // an INTEGER PRIMARY KEY), so the entry is written once, hashes and
    // all: one INSERT instead of an INSERT and an UPDATE per entry.
    let (last_id, prev) = last(conn)?;
    let id = last_id + 1;
    let at = ts(at);
    let content = content_hash(id, &at, case_id, action, detail, actor);
    let hash = entry_hash(&prev, &content);
    conn.prepare_cached(
        "INSERT INTO audit (id, at, case_id, action, detail, actor, content_hash, prev_hash, entry_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id, at, case_id, action, detail, actor, content, prev, hash
    ])?;
    Ok(id)
}

/// Chain every entry that has no hash yet (entries written before the
/// evidence log existed), in id order, after the last chained one. Run by
/// the schema migration that introduced the chain.
pub fn seal_unchained(conn: &Connection) -> Result<usize> {
    let mut prev: String = conn
        .query_row(
            "SELECT entry_hash FROM audit WHERE entry_hash IS NOT NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let rows: Vec<(i64, String, Option<String>, String, String, String)> = {
        let mut st = conn.prepare(
            "SELECT id, at, case_id, action, detail, actor FROM audit WHERE entry_hash IS NULL ORDER BY id",
        )?;
        let it = st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?;
        it.collect::<std::result::Result<_, _>>()?
    };
    for (id, at, case_id, action, detail, actor) in &rows {
        let content = content_hash(*id, at, case_id.as_deref(), action, detail, actor);
        let hash = entry_hash(&prev, &content);
        conn.execute(
            "UPDATE audit SET content_hash = ?2, prev_hash = ?3, entry_hash = ?4 WHERE id = ?1",
            params![id, content, prev, hash],
        )?;
        prev = hash;
    }
    Ok(rows.len())
}

/// What a purge entry records (its `detail`, as JSON).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PurgeRecord {
    /// The cases purged by retention.
    pub cases: Vec<String>,
    /// Entries redacted by this purge.
    pub redacted: Vec<i64>,
    /// Entries deleted by this purge: the first id kept after them…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_kept: Option<i64>,
    /// …and the `entry_hash` of the last deleted one, which the first kept
    /// entry's `prev_hash` must equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues_from: Option<String>,
}

/// Retention for the evidence log: redact the entries of `cases`, delete
/// the leading run of redacted entries, and append the purge entry.
/// Nothing is written when there is nothing to purge.
pub fn purge(conn: &Connection, cases: &[String], now: DateTime<Utc>) -> Result<()> {
    let mut redacted = Vec::new();
    for c in cases {
        let ids: Vec<i64> = {
            let mut st = conn.prepare_cached("SELECT id FROM audit WHERE case_id = ?1 ORDER BY id")?;
            let it = st.query_map([c], |r| r.get(0))?;
            it.collect::<std::result::Result<_, _>>()?
        };
        conn.prepare_cached(
            "UPDATE audit SET case_id = NULL, detail = '', actor = '', redacted = 1 WHERE case_id = ?1",
        )?
        .execute([c])?;
        redacted.extend(ids);
    }
    redacted.sort_unstable();
    // The leading run of redacted entries can go altogether.
    let first_live: Option<i64> =
        conn.query_row("SELECT MIN(id) FROM audit WHERE redacted = 0", [], |r| r.get(0))?;
    let mut rec = PurgeRecord {
        cases: cases.to_vec(),
        redacted,
        ..PurgeRecord::default()
    };
    if let Some(first) = first_live {
        let last_deleted: Option<(i64, String)> = conn
            .query_row(
                "SELECT id, entry_hash FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT 1",
                [first],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((_, hash)) = last_deleted {
            conn.execute("DELETE FROM audit WHERE id < ?1", [first])?;
            rec.first_kept = Some(first);
            rec.continues_from = Some(hash);
        }
    }
    if rec.cases.is_empty() && rec.first_kept.is_none() {
        return Ok(());
    }
    let detail = serde_json::to_string(&rec).map_err(|e| StoreError::BadValue {
        column: "audit.detail",
        value: e.to_string(),
    })?;
    append(conn, now, None, "purged", &detail, "replygate")?;
    Ok(())
}

/// One entry as read back.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub case_id: Option<String>,
    pub action: String,
    pub detail: String,
    pub actor: String,
    pub redacted: bool,
    pub prev_hash: Option<String>,
    pub entry_hash: Option<String>,
    #[serde(skip)]
    pub content_hash: Option<String>,
    #[serde(skip)]
    raw_at: String,
}

fn entries(conn: &Connection, filter: Option<&str>) -> Result<Vec<Entry>> {
    let sql = format!(
        "SELECT id, at, case_id, action, detail, actor, redacted, prev_hash, entry_hash, content_hash FROM audit {} ORDER BY id",
        if filter.is_some() { "WHERE case_id = ?1" } else { "" }
    );
    let mut st = conn.prepare(&sql)?;
    let map = |r: &rusqlite::Row| -> rusqlite::Result<Entry> {
        let raw_at: String = r.get(1)?;
        Ok(Entry {
            id: r.get(0)?,
            // A tampered time must not stop the verification: show the epoch.
            at: parse_ts("audit.at", &raw_at).unwrap_or_default(),
            case_id: r.get(2)?,
            action: r.get(3)?,
            detail: r.get(4)?,
            actor: r.get(5)?,
            redacted: r.get::<_, i64>(6)? != 0,
            prev_hash: r.get(7)?,
            entry_hash: r.get(8)?,
            content_hash: r.get(9)?,
            raw_at,
        })
    };
    let rows: Vec<Entry> = match filter {
        Some(c) => st.query_map([c], map)?.collect::<std::result::Result<_, _>>()?,
        None => st.query_map([], map)?.collect::<std::result::Result<_, _>>()?,
    };
    Ok(rows)
}

/// The entries of one case, oldest first.
pub fn case_entries(conn: &Connection, case_id: &str) -> Result<Vec<Entry>> {
    entries(conn, Some(case_id))
}

/// The first broken entry of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub id: i64,
    pub reason: String,
}

/// What `audit verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub entries: usize,
    pub head: String,
    pub broken: Option<Broken>,
}

/// Check the whole chain; stops at the first broken entry.
pub fn verify(conn: &Connection) -> Result<Verdict> {
    let all = entries(conn, None)?;
    // What the purge entries say (only trusted once the chain up to them holds,
    // which the walk below establishes: a forged purge entry breaks the chain).
    let mut anchors: Vec<(i64, String)> = Vec::new();
    let mut listed: std::collections::HashSet<i64> = std::collections::HashSet::new();
    for e in all.iter().filter(|e| e.action == "purged" && !e.redacted) {
        if let Ok(rec) = serde_json::from_str::<PurgeRecord>(&e.detail) {
            if let (Some(k), Some(h)) = (rec.first_kept, rec.continues_from) {
                anchors.push((k, h));
            }
            listed.extend(rec.redacted);
        }
    }
    let mut expected = GENESIS.to_string();
    let mut prev_id: Option<i64> = None;
    let broken = |id: i64, reason: String| Verdict {
        entries: all.len(),
        head: String::new(),
        broken: Some(Broken { id, reason }),
    };
    for (i, e) in all.iter().enumerate() {
        let (Some(prev), Some(hash), Some(content)) = (&e.prev_hash, &e.entry_hash, &e.content_hash) else {
            return Ok(broken(
                e.id,
                "the entry has no hashes (inserted outside replygate?)".into(),
            ));
        };
        if i == 0 && *prev != GENESIS {
            // Older entries were deleted by retention: a purge entry must say so.
            if !anchors.iter().any(|(k, h)| *k == e.id && h == prev) {
                return Ok(broken(
                    e.id,
                    "the log does not start at the beginning and no purge entry records the entries removed before it".into(),
                ));
            }
            expected = prev.clone();
        }
        if *prev != expected {
            let before = prev_id
                .map(|p| format!("entry {p}"))
                .unwrap_or_else(|| "the start".into());
            return Ok(broken(
                e.id,
                format!("its previous-entry hash does not match {before}: an entry between them was removed, inserted or rewritten"),
            ));
        }
        if e.redacted {
            if !listed.contains(&e.id) {
                return Ok(broken(
                    e.id,
                    "marked redacted but no purge entry redacted it".into(),
                ));
            }
        } else {
            let want = content_hash(
                e.id,
                &e.raw_at,
                e.case_id.as_deref(),
                &e.action,
                &e.detail,
                &e.actor,
            );
            if want != *content {
                return Ok(broken(
                    e.id,
                    "its content (time, case, action, detail or actor) was changed after it was written"
                        .into(),
                ));
            }
        }
        if entry_hash(prev, content) != *hash {
            return Ok(broken(
                e.id,
                "its entry hash does not match its content and predecessor".into(),
            ));
        }
        expected = hash.clone();
        prev_id = Some(e.id);
    }
    Ok(Verdict {
        entries: all.len(),
        head: expected,
        broken: None,
    })
}

/// One line of a case's audit log.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    pub action: String,
    pub detail: String,
    pub actor: String,
}

impl Reader<'_> {
    pub fn audit_for(&self, case_id: &str) -> Result<Vec<AuditRow>> {
        let mut st = self
            .conn
            .prepare("SELECT at, action, detail, actor FROM audit WHERE case_id = ?1 ORDER BY id")?;
        let rows = st.query_map([case_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, a, d, who) = row?;
            out.push(AuditRow {
                at: parse_ts("audit.at", &at)?,
                action: a,
                detail: d,
                actor: who,
            });
        }
        Ok(out)
    }
}

impl Tx<'_> {
    pub fn audit(
        &self,
        at: DateTime<Utc>,
        case_id: Option<&str>,
        action: &str,
        detail: &str,
        actor: &str,
    ) -> Result<()> {
        append(self, at, case_id, action, detail, actor)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn filled() -> Store {
        let mut s = Store::open_in_memory().unwrap();
        s.transaction(|tx| -> Result<()> {
            for (i, c) in ["A", "B", "A", "C", "B"].iter().enumerate() {
                tx.audit(
                    t("2026-11-02T10:00:00Z") + chrono::Duration::minutes(i as i64),
                    Some(c),
                    "opened",
                    &format!("entry {i}"),
                    "replygate",
                )?;
            }
            Ok(())
        })
        .unwrap();
        s
    }

    #[test]
    fn intact_chain_verifies() {
        let s = filled();
        let v = verify(s.conn()).unwrap();
        assert_eq!(v.broken, None);
        assert_eq!(v.entries, 5);
        assert_eq!(v.head.len(), 64);
    }

    #[test]
    fn tampering_is_found_at_the_right_entry() {
        let cases: &[(&str, i64)] = &[
            ("UPDATE audit SET detail = 'nothing happened' WHERE id = 3", 3),
            ("UPDATE audit SET at = '2026-11-01T00:00:00Z' WHERE id = 2", 2),
            ("DELETE FROM audit WHERE id = 2", 3),
            ("UPDATE audit SET redacted = 1, detail = '' WHERE id = 4", 4),
            ("DELETE FROM audit WHERE id = 1", 2),
            ("UPDATE audit SET case_id = 'Z' WHERE id = 5", 5),
        ];
        for (sql, want) in cases {
            let s = filled();
            s.conn().execute_batch(sql).unwrap();
            let v = verify(s.conn()).unwrap();
            assert_eq!(v.broken.as_ref().map(|b| b.id), Some(*want), "{sql}: {v:?}");
        }
    }

    #[test]
    fn purge_redacts_deletes_the_prefix_and_still_verifies() {
        let mut s = filled();
        s.transaction(|tx| purge(tx, &["A".to_string()], t("2027-01-01T00:00:00Z")))
            .unwrap();
        let v = verify(s.conn()).unwrap();
        assert_eq!(v.broken, None, "{v:?}");
        // Entry 1 (A) was the leading one: deleted; entry 3 (A) redacted.
        let ids: Vec<i64> = entries(s.conn(), None).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![2, 3, 4, 5, 6]);
        assert!(case_entries(s.conn(), "A").unwrap().is_empty());
        // Purge B too: now 2..5 are all redacted or C... C stays.
        s.transaction(|tx| purge(tx, &["B".to_string()], t("2027-01-02T00:00:00Z")))
            .unwrap();
        let v = verify(s.conn()).unwrap();
        assert_eq!(v.broken, None, "{v:?}");
        let ids: Vec<i64> = entries(s.conn(), None).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 5, 6, 7]);
        // Deleting one more from the front is found.
        s.conn().execute_batch("DELETE FROM audit WHERE id = 4").unwrap();
        assert_eq!(verify(s.conn()).unwrap().broken.map(|b| b.id), Some(5));
    }
}
