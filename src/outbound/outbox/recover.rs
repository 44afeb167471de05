//! Recovery: entries a crash left `sending` (the server may or may not
//! have accepted them) are looked up in the sent folders before the flush.

use chrono::{DateTime, Utc};

use super::OutboxError;
use crate::store::Store;

/// What [`recover_interrupted`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Interrupted entries whose copy was found in a sent folder: marked sent.
    pub found: u32,
    /// Interrupted entries not found: left for [`super::flush()`] to send
    /// again with the same Message-ID.
    pub resend: u32,
}

/// Entries left `sending` by a crash (between marking `sending` and marking
/// `sent`): the SMTP server may or may not have accepted them. Look for each
/// one's Message-ID in `folders` (the IMAP sent folders: `imap.sent` and
/// `smtp.save_copy_to`, where servers such as Exchange and Gmail file
/// submitted mail); found → mark it sent without sending again; not found
/// (or the search failed) → leave it for [`super::flush()`], which sends it
/// again with the same Message-ID (a duplicate acknowledgement is better
/// than a lost escalation). Read-only on the mailbox (EXAMINE + UID SEARCH).
pub async fn recover_interrupted(
    store: &mut Store,
    session: &mut crate::inbound::imap::ImapSession,
    folders: &[String],
    now: DateTime<Utc>,
) -> Result<Recovered, OutboxError> {
    let mut r = Recovered::default();
    let interrupted = store.read().outbox_interrupted()?;
    for e in interrupted {
        let mut found_in = None;
        for folder in folders {
            match session.has_message_id(folder, &e.message_id).await {
                Ok(true) => {
                    found_in = Some(folder.clone());
                    break;
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(folder = %folder, message_id = %e.message_id, error = %err, "cannot search the sent folder for an interrupted message");
                }
            }
        }
        match found_in {
            Some(folder) => {
                store.transaction(|tx| -> Result<(), OutboxError> {
                    super::flush::mark_sent(tx, &e, now)?;
                    tx.bump_counter(&format!("sent_{}", e.kind), 1)?;
                    tx.audit(
                        now,
                        e.case_id.as_deref(),
                        "sent-recovered",
                        &format!(
                            "{} to {} was interrupted by a crash; its copy {} is in {folder}: not sent again",
                            e.kind,
                            e.rcpts.join(","),
                            e.message_id
                        ),
                        "replygate",
                    )?;
                    Ok(())
                })?;
                tracing::info!(kind = %e.kind, message_id = %e.message_id, folder = %folder, "interrupted message found in a sent folder: marked sent, not sent again");
                r.found += 1;
            }
            None => {
                tracing::warn!(kind = %e.kind, message_id = %e.message_id, to = %e.rcpts.join(","), "interrupted message not found in any sent folder: sending it again with the same Message-ID");
                r.resend += 1;
            }
        }
    }
    Ok(r)
}
