//! Retention (SPEC §11.5): the purge of finished cases and old history. It
//! deletes from every table (`cases`, `messages`, `thread_ids`, `outbox`,
//! `outbox_cases`,
//! `signature_checks`, `case_facts`, `feedback`, `bounces`) and has the
//! evidence log redact the `audit` entries.

use chrono::{DateTime, Utc};

use super::{evidence, ts, Result, Tx};

impl Tx<'_> {
    /// Delete finished cases — closed, or answered and not reopened — whose
    /// closing or last answer is older than `before`, with every row about
    /// them (SPEC §11.5): their messages' rows (and rows of duplicates of
    /// those messages), thread ids, outbox rows in any state (the rendered
    /// acknowledgements and notices hold the client's address and subject),
    /// signature verdicts and report facts; their audit entries are redacted
    /// by the evidence log (`evidence::purge`, which keeps the hash chain).
    /// Then the history older than
    /// `before` that belongs to no case: processed message rows, thread ids
    /// of history threads whose messages are gone, finished outbox rows
    /// (sent, failed, cancelled), signature verdicts and bounce records. Open cases and pending or sending mail are never touched.
    /// Returns the number of cases purged.
    pub fn purge(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize> {
        let b = ts(before);
        let ids: Vec<String> = {
            let mut st = self.prepare(
                "SELECT id FROM cases WHERE (state = 'closed' AND COALESCE(closed_at, updated_at) < ?1) \
                 OR (state = 'answered' AND COALESCE(answered_at, updated_at) < ?1)",
            )?;
            let rows = st.query_map([&b], |r| r.get(0))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        for id in &ids {
            // Message-IDs of the case's mail: their thread ids go even
            // where a row was recorded without the case.
            self.execute(
                "DELETE FROM thread_ids WHERE case_id = ?1 OR message_id IN \
                 (SELECT message_id FROM messages WHERE case_id = ?1 AND message_id IS NOT NULL) \
                 OR message_id IN (SELECT message_id FROM outbox WHERE case_id = ?1)",
                [id],
            )?;
            self.execute(
                "DELETE FROM messages WHERE duplicate_of IN (SELECT id FROM messages WHERE case_id = ?1)",
                [id],
            )?;
            self.execute("DELETE FROM messages WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM outbox WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM outbox_cases WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM signature_checks WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM case_facts WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM feedback WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM cases WHERE id = ?1", [id])?;
        }
        // History older than the retention that belongs to no live case.
        let live = "SELECT id FROM cases";
        self.execute(
            &format!(
                "DELETE FROM messages WHERE processed = 1 AND internaldate < ?1 \
                 AND (case_id IS NULL OR case_id NOT IN ({live}))"
            ),
            [&b],
        )?;
        self.execute(
            &format!(
                "DELETE FROM thread_ids WHERE (case_id IS NULL OR case_id NOT IN ({live})) \
                 AND message_id NOT IN (SELECT message_id FROM messages WHERE message_id IS NOT NULL)"
            ),
            [],
        )?;
        self.execute(
            &format!(
                "DELETE FROM outbox WHERE state IN ('sent', 'failed', 'cancelled') AND created_at < ?1 \
                 AND (case_id IS NULL OR case_id NOT IN ({live}))"
            ),
            [&b],
        )?;
        self.execute(
            &format!(
                "DELETE FROM signature_checks WHERE checked_at < ?1 \
                 AND (case_id IS NULL OR case_id NOT IN ({live}))"
            ),
            [&b],
        )?;
        self.execute(
            "DELETE FROM outbox_cases WHERE outbox_id NOT IN (SELECT id FROM outbox)",
            [],
        )?;
        self.execute("DELETE FROM bounces WHERE at < ?1", [&b])?;
        // The evidence log keeps a verifiable chain: the purged cases'
        // entries are redacted and a purge entry says so (evidence.rs).
        evidence::purge(self, &ids, now)?;
        Ok(ids.len())
    }
}
