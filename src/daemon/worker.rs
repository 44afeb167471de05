//! The worker: owns the store, the context and its own IMAP session, and
//! runs the steps (a sync, then the full step when something is new or
//! due).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::health::{lock, SharedRef};
use super::*;
use crate::inbound::imap::{self, ImapSession};
use crate::outbound::outbox;
use crate::pipeline::{self, Context, Report};
use crate::store::Store;

/// The worker's state.
pub(super) struct Worker {
    pub(super) path: PathBuf,
    pub(super) ctx: Context,
    pub(super) store: Store,
    pub(super) session: Option<ImapSession>,
    pub(super) session_used: Instant,
    pub(super) shared: SharedRef,
    /// The next instant something falls due (wall clock).
    pub(super) next_due: Option<DateTime<Utc>>,
    pub(super) ready: bool,
    /// The IMAP server failed at least once since the last success.
    pub(super) imap_failed: bool,
}

/// What a step did.
pub(super) struct StepDone {
    pub(super) report: Option<Report>,
}

impl Worker {
    /// A sync, and the full step when something is new or due.
    pub(super) async fn step(&mut self, full: bool) -> anyhow::Result<StepDone> {
        let now = Utc::now();
        if self.session.is_some() && self.session_used.elapsed() > SESSION_MAX_IDLE {
            if let Some(s) = self.session.take() {
                s.logout().await;
            }
        }
        if let Some(session) = self.session.as_mut() {
            match pipeline::sync_all(&self.ctx, session, &mut self.store, now).await {
                Ok(stats) => {
                    self.session_used = Instant::now();
                    return self.after_sync(full, now, stats).await;
                }
                Err(e) => {
                    // A stale connection (server restarted, timed out): one
                    // immediate retry on a new one before counting a fault.
                    tracing::info!("IMAP session no longer usable ({}); reconnecting", short_err(&e));
                    self.session = None;
                    self.imap_failed = true;
                }
            }
        }
        let r = async {
            let s = imap::connect_with(&self.ctx.cfg.imap, &self.ctx.imap_login).await?;
            let session = self.session.insert(s);
            pipeline::sync_all(&self.ctx, session, &mut self.store, now).await
        }
        .await;
        match r {
            Ok(stats) => {
                self.session_used = Instant::now();
                if self.imap_failed {
                    let server = self
                        .session
                        .as_ref()
                        .map(|s| s.server().to_string())
                        .unwrap_or_default();
                    tracing::info!("IMAP {server} reachable again: reconnected and caught up");
                    lock(&self.shared).live.imap_reconnects += 1;
                    self.imap_failed = false;
                }
                self.after_sync(full, now, stats).await
            }
            Err(e) => {
                self.session = None;
                self.imap_failed = true;
                Err(e)
            }
        }
    }

    pub(super) async fn after_sync(
        &mut self,
        full: bool,
        now: DateTime<Utc>,
        stats: crate::inbound::sync::SyncStats,
    ) -> anyhow::Result<StepDone> {
        lock(&self.shared).live.last_sync = Some(now);
        let full = full || stats.recorded > 0 || self.store.read().pending_count()? > 0;
        let mut report = None;
        if full {
            let t0 = std::time::Instant::now();
            let mut r = Report {
                sync: stats,
                ..Report::default()
            };
            pipeline::track_and_decide(&self.ctx, &mut self.store, now, &mut r)?;
            let t1 = std::time::Instant::now();
            // Entries a crash left `sending` (cheap when there are none).
            if let Some(session) = self.session.as_mut() {
                r.recovered = pipeline::recover_interrupted(&self.ctx, session, &mut self.store, now).await?;
            }
            r.flushed = outbox::flush(&mut self.store, &self.ctx.mailer, now, Utc::now(), false).await?;
            if let Some(session) = self.session.as_mut() {
                r.copies_saved = pipeline::save_copies(&self.ctx, session, &mut self.store).await?;
            }
            let t2 = std::time::Instant::now();
            let due = pipeline::next_due_after(r.rules_next_due, &self.store)?;
            // Still due right after the step: the SMTP server failed and the
            // queue waits for its retry time.
            self.next_due = due.map(|t| {
                let floor = now + chrono::Duration::from_std(OUTBOX_RECHECK).unwrap_or_default();
                if t <= now {
                    floor
                } else {
                    t
                }
            });
            let t3 = std::time::Instant::now();
            let snap = metrics::Snapshot::collect(&self.store, now)?;
            lock(&self.shared).snapshot = snap;
            trim_heap();
            tracing::debug!(
                decide_ms = (t1 - t0).as_millis() as u64,
                send_ms = (t2 - t1).as_millis() as u64,
                next_due_ms = (t3 - t2).as_millis() as u64,
                metrics_ms = t3.elapsed().as_millis() as u64,
                "full step timings"
            );
            report = Some(r);
        }
        pipeline::retention(&self.ctx, &mut self.store, now)?;
        Ok(StepDone { report })
    }

    /// "watching INBOX, Sent; 12 open cases, 2 overdue; next action 17:00".
    pub(super) fn status_line(&self) -> String {
        let s = lock(&self.shared);
        let folders: Vec<&str> = self
            .ctx
            .cfg
            .imap
            .inbox
            .iter()
            .chain(self.ctx.cfg.imap.sent.iter())
            .map(String::as_str)
            .collect();
        let next = match self.next_due {
            Some(t) => {
                let local = self.ctx.cal.to_local(t);
                let today = self.ctx.cal.to_local(Utc::now()).date_naive();
                if local.date_naive() == today {
                    local.format("%H:%M").to_string()
                } else {
                    local.format("%a %Y-%m-%d %H:%M").to_string()
                }
            }
            None => "none scheduled".to_string(),
        };
        format!(
            "watching {}; {} open cases, {} overdue; next action {}",
            folders.join(", "),
            s.snapshot.open,
            s.snapshot.overdue,
            next
        )
    }
}
