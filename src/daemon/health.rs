//! What the worker and the watchers publish ([`Shared`]) and the health
//! verdict `/healthz` gives from it (SPEC §11.4: reason words only, never
//! an internal error text).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::metrics::{Live, Snapshot};

/// How a folder's IDLE watcher is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchState {
    Connecting,
    Idling,
    /// The server does not do IDLE: the poll tick covers the folder.
    Polling,
    Down(String),
}

/// What the worker and the watchers publish for `/healthz`, `/metrics`
/// and the systemd status line.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    pub snapshot: Snapshot,
    pub live: Live,
    /// The worker's last step failed with this (cleared by a success).
    pub worker_error: Option<String>,
    /// That failure was the IMAP server's.
    pub worker_imap_down: bool,
    pub watchers: BTreeMap<String, WatchState>,
    pub poll_interval: Duration,
}

impl Shared {
    /// `/healthz`: 200 `ok` while IMAP is up and the last sync is recent
    /// (younger than 3 × poll interval, at least 5 minutes), else 503 with
    /// one reason word per line: `imap_down`, `imap_connecting`,
    /// `worker_error`, `no_sync_yet`, `sync_stale`. The details are in the
    /// log, never on the wire.
    pub fn health(&self, now: DateTime<Utc>) -> (u16, String) {
        let mut why: Vec<&str> = Vec::new();
        if self.worker_error.is_some() {
            why.push(if self.worker_imap_down {
                "imap_down"
            } else {
                "worker_error"
            });
        }
        let limit = (self.poll_interval * 3).max(Duration::from_secs(300));
        match self.live.last_sync {
            None => why.push("no_sync_yet"),
            Some(t) => {
                let age = (now - t).to_std().unwrap_or_default();
                if age > limit {
                    why.push("sync_stale");
                }
            }
        }
        for st in self.watchers.values() {
            match st {
                WatchState::Idling | WatchState::Polling => {}
                WatchState::Connecting => why.push("imap_connecting"),
                WatchState::Down(_) => why.push("imap_down"),
            }
        }
        why.sort_unstable();
        why.dedup();
        if why.is_empty() {
            (200, "ok\n".into())
        } else {
            (503, format!("{}\n", why.join("\n")))
        }
    }
}

pub type SharedRef = Arc<Mutex<Shared>>;

pub fn lock(s: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves plain data: keep using it.
    s.lock().unwrap_or_else(|p| p.into_inner())
}
