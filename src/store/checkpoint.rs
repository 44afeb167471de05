//! Checkpoints off the writer's thread.
//!
//! In WAL mode every commit appends the pages it changed to the
//! write-ahead log; a checkpoint copies them back into the database file
//! and syncs both files to disk. By default SQLite runs it inside the
//! commit that takes the log past 1 000 pages, so the writer does the
//! copying: on the send path (a commit per finished SMTP transaction) 18 000
//! page reads and writes of a 2 000-message run, with the SMTP connections
//! idle meanwhile (the syncs themselves were cheap here).
//!
//! Here the writer's commit only signals: the connection's WAL hook (which
//! replaces SQLite's automatic checkpoint) wakes a thread with a
//! connection of its own, which runs a `PASSIVE` checkpoint: it copies
//! what no reader still needs, never waits for the writer and never makes
//! the writer wait. The commit copies only the last quarter of a long log
//! itself, so that SQLite can start the log over (see
//! [`Progress::committed`]); a log the thread cannot keep up with (past
//! [`WAL_PAGES_INLINE`]) is checkpointed in the commit as before. When the
//! store is dropped the thread is stopped first, and the writer's
//! connection, the last to close, copies what is left and removes the log
//! (SQLite's usual close).

use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

/// Log size (pages) from which it is copied back: SQLite's own default.
const WAL_PAGES: i32 = 1000;

/// Frames left to copy of a long log that the commit copies itself.
const FINISH_HERE: i32 = WAL_PAGES / 4;

/// Log size (pages) at which the commit checkpoints itself (the thread is
/// stuck or gone).
const WAL_PAGES_INLINE: i32 = 16 * WAL_PAGES;

/// The checkpointing thread of a [`super::Store`].
pub(super) struct Checkpointer {
    stop: SyncSender<Wake>,
    thread: Option<JoinHandle<()>>,
}

/// What the thread is woken for.
enum Wake {
    /// Copy the log.
    Copy,
    /// End (the store is dropped).
    Stop,
}

impl Checkpointer {
    /// Start the thread for the database at `path` and hook `writer`'s
    /// commits to it. `Err`: why not (the writer then checkpoints in its
    /// commits, as SQLite does by default).
    pub(super) fn start(writer: &mut Connection, path: &Path) -> Result<Checkpointer, String> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| e.to_string())?;
        let (wake, woken) = sync_channel::<Wake>(1);
        let backfilled = Arc::new(AtomicI32::new(0));
        let copied = backfilled.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Ok(Wake::Copy) = woken.recv() {
                    pass(&conn, &copied);
                }
            })
            .map_err(|e| e.to_string())?;
        let stop = wake.clone();
        let mut progress = Progress {
            wake,
            backfilled,
            last_pages: 0,
        };
        let hooked = writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            progress.committed(wal, pages);
            // Never an error: the commit has happened, and an error here
            // would be reported as the committing statement's.
            Ok(())
        }));
        let checkpointer = Checkpointer {
            stop,
            thread: Some(thread),
        };
        // (On an error the drop stops the thread.)
        hooked.map_err(|e| e.to_string())?;
        Ok(checkpointer)
    }
}

/// One `PASSIVE` checkpoint: copy what the log holds now (the writer's
/// commits meanwhile are left for the next pass, or for the writer).
fn pass(conn: &Connection, copied: &AtomicI32) {
    let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match r {
        Ok((log, done)) => {
            copied.store(i32::try_from(done).unwrap_or(0), Ordering::Relaxed);
            tracing::trace!(log, done, "checkpoint");
        }
        Err(e) => tracing::debug!(error = %e, "background checkpoint failed; the next commit tries again"),
    }
}

/// The writer's side: how long the log is and how much of it the thread
/// has copied.
struct Progress {
    wake: SyncSender<Wake>,
    /// Frames of the log the thread's last checkpoint had copied.
    backfilled: Arc<AtomicI32>,
    /// The log's length at the last commit: a shorter one since is a new
    /// log (SQLite starts it over once all of it is copied).
    last_pages: i32,
}

impl Progress {
    /// After each commit: nothing while the log is short; once it is
    /// long ([`WAL_PAGES`]), wake the thread while more than
    /// [`FINISH_HERE`] frames wait to be copied, and copy the rest here,
    /// between two of the writer's transactions, so that its next one
    /// starts the log over. SQLite starts it over only when all of it is
    /// copied when a write begins: the thread alone, copying while the
    /// writer commits, never got there, and the log of a 2 000-message
    /// send run grew to 70 MB, every page written. The copy here is a
    /// quarter of the log at most instead of all of it (SQLite's own
    /// checkpoint in the commit).
    fn committed(&mut self, wal: &mut rusqlite::hooks::Wal, pages: i32) {
        if pages < self.last_pages {
            self.backfilled.store(0, Ordering::Relaxed);
        }
        self.last_pages = pages;
        if pages < WAL_PAGES {
            return;
        }
        let copied = self.backfilled.load(Ordering::Relaxed);
        let waiting = if pages >= copied { pages - copied } else { pages };
        let here = waiting <= FINISH_HERE
            || pages >= WAL_PAGES_INLINE
            || matches!(self.wake.try_send(Wake::Copy), Err(TrySendError::Disconnected(_)));
        if here {
            match wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE) {
                Ok((_, done)) => self.backfilled.store(done, Ordering::Relaxed),
                Err(e) => tracing::debug!(error = %e, pages, "checkpoint in the commit failed"),
            }
        }
    }
}

impl Drop for Checkpointer {
    /// Stop and join the thread while the writer's connection is still
    /// open (the store drops this first): the writer's is then the last
    /// connection to close, and SQLite copies and removes the log as it
    /// closes. (Closed the other way round, each connection saw the other
    /// still open and the log stayed.)
    fn drop(&mut self) {
        let _ = self.stop.send(Wake::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, StoreError};
    use super::*;

    /// A writer committing without pause (as the send path does) keeps
    /// its log short: the thread copies it and the commit finishes the
    /// copy, so SQLite starts the log over. (Without the finishing step
    /// the log of this test grew past 60 MB, every page written.) Nothing
    /// is lost, and once the store is dropped the log is copied and gone.
    #[test]
    fn a_busy_writer_keeps_a_short_log_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replygate.db");
        let wal = dir.path().join("replygate.db-wal");
        let value = "x".repeat(3000);
        let mut longest = 0;
        {
            let mut store = Store::open(&path).unwrap();
            for i in 0..20_000 {
                store
                    .transaction(|tx| -> std::result::Result<(), StoreError> {
                        tx.set_meta(&format!("k{}", i % 50), &format!("{i} {value}"))
                    })
                    .unwrap();
                longest = longest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            }
        }
        let page = 4096 + 24;
        assert!(
            longest < 8 * WAL_PAGES as u64 * page,
            "the log grew to {longest} bytes"
        );
        assert!(!wal.exists(), "the log is copied and removed at close");
        let store = Store::open(&path).unwrap();
        let r = store.read();
        for k in 0..50 {
            let last = 20_000 - 50 + k;
            assert_eq!(r.meta(&format!("k{k}")).unwrap(), Some(format!("{last} {value}")));
        }
    }
}
