//! The outbox: every message replygate sends is first rendered, composed
//! with its final Message-ID and written to SQLite (in the same transaction
//! as the case change that caused it), then sent, then marked sent.
//!
//! - Nothing is queued twice: each entry has a dedup key (`ack:CASE:CYCLE`,
//!   `reminder:CASE:DEADLINE`, `escalation:CASE:DEADLINE`,
//!   `escalation_list:NOW:FIRST-CASE`, `digest:DATE`, `sigwarn:MESSAGE-ID`,
//!   `interim:MESSAGE-ID`) with a UNIQUE constraint. An escalation list's
//!   cases are in `outbox_cases`, marked escalated in the same transaction.
//! - Each entry is committed `sending` before its SMTP transaction starts
//!   and `sent` right after the server's 250 to the final `.`. Up to
//!   `smtp.connections` transactions run at once (one per connection).
//!   Entries are marked `sending` a few per connection ahead (once a
//!   transaction has succeeded in the flush), so a transaction that
//!   finishes is replaced at once and its outcome committed while the next
//!   one runs; the outcomes of the transactions that finished together and
//!   the next marks are one commit. An outcome is never held back to wait
//!   for another transaction (so the crash window below is not widened).
//!   A flush stopped by a temporary failure puts the entries it marked and
//!   did not start back to `pending`.
//! - Temporary failures are retried with capped exponential backoff (1 min
//!   doubling to 1 h) by the daemon; `run --once` retries everything due.
//!   An unreachable server stops the flush (the rest would fail the same
//!   way); the cycle still succeeds (`run --once` exits 0 with a warning):
//!   an SMTP outage only delays. Permanent failures (5xx) are marked
//!   `failed`, logged, shown by `status` and never retried.
//! - Acknowledgements, reminders and escalations whose case is no longer
//!   open when their turn comes are `cancelled`, not sent; an escalation
//!   list when none of its cases is.
//!
//! # Crashes
//!
//! What a crash (kill -9, power loss, OOM) at each point leaves, and what
//! the next start does:
//!
//! 1. before the queueing transaction commits: nothing queued, the case not
//!    marked; the next cycle decides again and queues it;
//! 2. queued (`pending`), not yet `sending`: sent by the next flush;
//!    (committed `sending` but its SMTP transaction not yet started: as 3;
//!    at most `smtp.connections` × 5 entries are `sending` at a time);
//! 3. `sending` committed, SMTP transaction not finished (the server has not
//!    answered the final `.`): the server discards an unfinished
//!    transaction, so nothing was delivered;
//! 4. the server answered 250, `sent` not yet committed: delivered, but the
//!    outbox does not know.
//!
//! Cases 3 and 4 both leave the entry `sending` and cannot be told apart
//! locally. On the next start, [`recover_interrupted`] (called by
//! [`crate::pipeline::run_once`] before the flush) looks for the entry's
//! Message-ID in the IMAP sent folders (`imap.sent` and
//! `smtp.save_copy_to`) with a read-only `UID SEARCH HEADER Message-ID`:
//! servers that file submitted mail in Sent (Exchange, Gmail, many
//! submission setups with Sieve/BCC-to-Sent) show case 4 there, and the
//! entry is marked sent without resending. Otherwise it is sent again with
//! the same Message-ID, so a case-4 crash on a server that files nothing
//! repeats that one message (recipients' clients that thread by Message-ID
//! show it once). The remaining window is therefore: the time between the
//! server's 250 and the commit of `sent` (one small SQLite WAL commit,
//! well under a millisecond), on a server that does not file submitted
//! mail, for the messages in flight (at most `smtp.connections`). SMTP allows no better: there is no
//! way to ask a server whether it accepted a transaction.
//!
//! The module, one concept per file: `render` (templates → composed
//! messages), `queue` (the engine's actions and the tracker's notices →
//! outbox entries, with the case changes), [`flush`] (outbox → SMTP),
//! `recover` (entries a crash left `sending`).
//!
//! Test hooks (debug builds only, see `flush::test_crash_point`):
//! `REPLYGATE_TEST_CRASH_BEFORE_SEND=1` aborts after `sending` is committed,
//! before SMTP (case 3); `REPLYGATE_TEST_CRASH_AFTER_SENDING=1` aborts right
//! after the server accepted the first message (case 4). tests/e2e_crash.rs
//! uses them.

mod flush;
mod queue;
mod recover;
mod render;

pub use flush::{backoff, flush, Flushed};
pub use queue::{apply_actions, apply_notices, Applied};
pub use recover::{recover_interrupted, Recovered};
pub use render::{element_code, Composer};

use crate::outbound::{compose, templates};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template {name}: {source}")]
    Template {
        name: &'static str,
        source: templates::TemplateError,
    },
    /// The thread composing acknowledgements ahead of their queueing
    /// stopped (a bug): the actions are carried out one by one instead.
    #[error("composing acknowledgements: {0}")]
    Composer(String),
    #[error("composing {what}: {source}")]
    Compose {
        what: String,
        source: compose::ComposeError,
    },
}
