//! The IDLE watchers: one IMAP session per folder that wakes the worker
//! when something changes (or after a reconnection).

use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::health::{lock, SharedRef, WatchState};
use super::{human, Backoff, IDLE_RENEW};
use crate::inbound::imap::{self, IdleOutcome, ImapError, ImapSession};
use crate::pipeline::Context;

/// One folder's IDLE watcher: wakes the worker on changes and after every
/// (re)connection. Runs until aborted.
async fn watch(
    cfg: crate::config::ImapConfig,
    login: crate::auth::Login,
    folder: String,
    wake: Arc<Notify>,
    shared: SharedRef,
) {
    let server = format!("{}:{}", cfg.host, cfg.port);
    let mut backoff = Backoff::default();
    let mut failed = false;
    let set = |st: WatchState| {
        lock(&shared).watchers.insert(folder.clone(), st);
    };
    loop {
        let attempt = async {
            let mut s = imap::connect_with(&cfg, &login).await?;
            let idle = s.supports_idle().await?;
            if idle {
                s.examine(&folder).await?;
            }
            Ok::<(ImapSession, bool), ImapError>((s, idle))
        }
        .await;
        let mut session = match attempt {
            Ok((s, true)) => s,
            Ok((s, false)) => {
                tracing::info!(folder = %folder, "the IMAP server does not advertise IDLE; polling every imap.poll_interval");
                set(WatchState::Polling);
                if failed {
                    lock(&shared).live.imap_reconnects += 1;
                }
                wake.notify_one();
                s.logout().await;
                return;
            }
            Err(e) => {
                let d = backoff.delay();
                tracing::warn!(folder = %folder, "IMAP {server} unreachable for the IDLE watcher ({e}): retrying in {}", human(d));
                set(WatchState::Down(e.to_string()));
                failed = true;
                tokio::time::sleep(d).await;
                continue;
            }
        };
        if failed {
            tracing::info!(folder = %folder, "IDLE watcher reconnected to IMAP {server}");
            lock(&shared).live.imap_reconnects += 1;
        }
        backoff.reset();
        tracing::info!(folder = %folder, "watching with IMAP IDLE");
        set(WatchState::Idling);
        // Catch up on whatever arrived while this watcher was away.
        wake.notify_one();
        loop {
            match session.idle_wait(IDLE_RENEW).await {
                Ok(IdleOutcome::Changed) => {
                    tracing::debug!(folder = %folder, "IDLE: change");
                    wake.notify_one();
                }
                Ok(IdleOutcome::Timeout) => {}
                Err(ImapError::Unexpected { op, detail })
                    if op == "IDLE" && detail.starts_with("refused") =>
                {
                    tracing::info!(folder = %folder, %detail, "the IMAP server does not do IDLE; polling every imap.poll_interval");
                    set(WatchState::Polling);
                    session.logout().await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(folder = %folder, "IDLE session to IMAP {server} lost ({e}); reconnecting");
                    set(WatchState::Down(e.to_string()));
                    failed = true;
                    break;
                }
            }
        }
        tokio::time::sleep(backoff.delay()).await;
    }
}

/// The running watchers.
pub struct Watchers {
    tasks: Vec<JoinHandle<()>>,
}

impl Watchers {
    pub fn start(ctx: &Context, wake: &Arc<Notify>, shared: &SharedRef) -> Watchers {
        let folders: Vec<String> = ctx
            .cfg
            .imap
            .inbox
            .iter()
            .chain(ctx.cfg.imap.sent.iter())
            .cloned()
            .collect();
        {
            let mut s = lock(shared);
            s.watchers.clear();
            for f in &folders {
                s.watchers.insert(f.clone(), WatchState::Connecting);
            }
        }
        let tasks = folders
            .into_iter()
            .map(|f| {
                tokio::spawn(watch(
                    ctx.cfg.imap.clone(),
                    ctx.imap_login.clone(),
                    f,
                    wake.clone(),
                    shared.clone(),
                ))
            })
            .collect();
        Watchers { tasks }
    }

    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
