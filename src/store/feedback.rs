//! The `feedback` table (SPEC §14): which cases carry client feedback about
//! the service, who said so (the recogniser or an admin's `mark`), and the
//! words that were recognised. A case without a row is not feedback.
//!
//! An admin's verdict is final: the recogniser never overrides a `manual`
//! row, so a case unmarked by hand stays unmarked when the client writes
//! again in the same words.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{parse_ts, ts, Reader, Result, Tx};

/// One case's feedback verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackMark {
    pub case_id: String,
    pub feedback: bool,
    /// `auto` (the recogniser) or `manual` (`replygate mark`).
    pub source: String,
    /// The recognised words, or the admin's reason.
    pub detail: String,
    pub at: DateTime<Utc>,
}

impl Reader<'_> {
    pub fn feedback_mark(&self, case_id: &str) -> Result<Option<FeedbackMark>> {
        let row = self
            .conn
            .prepare_cached("SELECT case_id, feedback, source, detail, at FROM feedback WHERE case_id = ?1")?
            .query_row([case_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        row.map(|(case_id, feedback, source, detail, at)| {
            Ok(FeedbackMark {
                case_id,
                feedback,
                source,
                detail,
                at: parse_ts("feedback.at", &at)?,
            })
        })
        .transpose()
    }

    /// Is the case feedback (a row saying so)?
    pub fn is_feedback(&self, case_id: &str) -> Result<bool> {
        Ok(self.feedback_mark(case_id)?.is_some_and(|m| m.feedback))
    }

    /// The ids of all cases marked feedback.
    pub fn feedback_cases(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT case_id FROM feedback WHERE feedback = 1 ORDER BY case_id")?;
        let ids = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }
}

impl Tx<'_> {
    /// The recogniser found feedback in a client mail of `case_id`. Returns
    /// true when this newly marks the case (no verdict before): only then is
    /// the quality owner told. An existing verdict, automatic or manual,
    /// is kept.
    pub fn flag_feedback(&self, case_id: &str, matched: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO feedback (case_id, feedback, source, detail, at) VALUES (?1, 1, 'auto', ?2, ?3) \
             ON CONFLICT(case_id) DO NOTHING",
            params![case_id, matched, ts(at)],
        )?;
        Ok(n > 0)
    }

    /// An admin's verdict (`replygate mark`). Returns the verdict before.
    pub fn mark_feedback(
        &self,
        case_id: &str,
        feedback: bool,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<bool>> {
        let before = self.reader().feedback_mark(case_id)?.map(|m| m.feedback);
        self.execute(
            "INSERT INTO feedback (case_id, feedback, source, detail, at) VALUES (?1, ?2, 'manual', ?3, ?4) \
             ON CONFLICT(case_id) DO UPDATE SET feedback = excluded.feedback, source = 'manual', \
             detail = excluded.detail, at = excluded.at",
            params![case_id, feedback, reason, ts(at)],
        )?;
        Ok(before)
    }

    /// Withdraw the quality owner's notice for `case_id` if it has not
    /// started to leave (`mark --not-feedback`).
    pub fn cancel_feedback_notice(&self, case_id: &str) -> Result<bool> {
        let n = self.execute(
            "UPDATE outbox SET state = 'cancelled', last_error = ?2 WHERE dedup_key = ?1 AND state = 'pending'",
            params![format!("feedback:{case_id}"), "marked not feedback by an admin"],
        )?;
        Ok(n > 0)
    }
}
