//! The `signature_checks` table: one verdict per staff message checked for
//! the required signature.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{ts, Reader, Result, Tx};

/// A signature verdict to record.
#[derive(Debug, Clone)]
pub struct SignatureRecord<'a> {
    pub message_id: &'a str,
    pub author: &'a str,
    pub case_id: Option<&'a str>,
    pub compliant: bool,
    pub missing: &'a str,
    pub sent_at: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
}

impl Reader<'_> {
    pub fn signature_checks(&self) -> Result<Vec<(String, String, bool, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT message_id, author, compliant, missing FROM signature_checks ORDER BY sent_at",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0, r.get(3)?))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

impl Tx<'_> {
    /// Record a signature verdict; false when this message was checked before.
    pub fn record_signature(&self, r: &SignatureRecord) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO signature_checks (message_id, author, case_id, compliant, missing, sent_at, checked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(message_id) DO NOTHING",
            params![r.message_id, r.author, r.case_id, r.compliant as i64, r.missing, ts(r.sent_at), ts(r.checked_at)],
        )?;
        Ok(n == 1)
    }
}
