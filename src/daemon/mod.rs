//! The daemon (`replygate run`): keeps the mailbox in sync and sends what
//! falls due, unattended.
//!
//! Task layout:
//! - the **worker** (the task running [`run`]) owns the SQLite store, the
//!   [`Context`] and its own IMAP session, and does all the work: a *sync*
//!   ([`crate::pipeline::sync_all`], cheap when nothing is new) and, when
//!   the sync recorded mail or something is due, the *full* step
//!   ([`crate::pipeline::track_and_decide`],
//!   [`crate::pipeline::recover_interrupted`],
//!   [`crate::outbound::outbox::flush()`],
//!   [`crate::pipeline::save_copies`]). Between steps it sleeps until the
//!   earliest of: a wake-up from a watcher, the next poll tick
//!   (`imap.poll_interval`, a sync only, which also keeps the health check
//!   fresh), the next due instant (acknowledgement, reminder, escalation
//!   and digest times from [`crate::rules::engine::next_due`], worked out
//!   after the step's actions, and the earliest outbox `not_before` / retry
//!   time: [`crate::pipeline::next_due_after`]), a retry after a fault, a
//!   signal or the systemd watchdog tick. No busy loop: with nothing due it
//!   wakes once per poll interval.
//! - one **IDLE watcher** per folder (inbox and sent folders), each on its
//!   own IMAP session: EXAMINE, then IDLE re-issued every
//!   [`IDLE_RENEW`] (RFC 2177 asks for less than 30 minutes); a change or a
//!   (re)connection wakes the worker through a [`Notify`]. A server that
//!   refuses IDLE leaves that folder to the poll tick.
//! - the optional **HTTP** task (`[http] listen`): `/healthz` and
//!   `/metrics` from a [`Shared`] state the worker updates after each step,
//!   and the dashboard pages (src/web), each request reading the store
//!   through its own read-only connection (it never writes).
//!
//! Faults (connection lost, server restarted, DNS, TLS, a locked
//! database) never end the daemon: the step is retried with capped
//! exponential backoff ([`Backoff`]: 1 s doubling to 5 min, ±20 % jitter)
//! and the next sync catches up on everything new by UID. SIGTERM/SIGINT
//! let the current step finish (at most [`SHUTDOWN_GRACE`]) and exit 0;
//! SIGHUP reloads the configuration: a bad one is refused and logged, the
//! running one stays.
//!
//! Decisions:
//! - READY=1 goes to systemd after the first successful sync, so a service
//!   that cannot reach its mailbox does not report itself started.
//! - While IMAP is unreachable nothing is decided or sent: the mailbox is
//!   the truth about which cases were answered, and a reminder about a case
//!   answered during the outage would be wrong. Everything due goes out at
//!   the first successful sync.
//! - A reload applies everything except `log.level` (the tracing filter
//!   is set once at start); IMAP watchers restart when `[imap]` or its
//!   password changed, the HTTP listener when `http.listen` changed.

pub mod health;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod signals;
pub mod watchers;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{self, Config};
use crate::inbound::imap::ImapError;
use crate::pipeline::Context;
use crate::store::Store;
use health::{lock, SharedRef};
pub use health::{Shared, WatchState};
use metrics::Snapshot;
use signals::Signals;
use watchers::Watchers;
use worker::Worker;

/// IDLE is ended and re-issued this often (RFC 2177: servers may drop an
/// IDLE after 30 minutes).
pub const IDLE_RENEW: Duration = Duration::from_secs(29 * 60);
/// First retry delay after a fault.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How long a step may still run after SIGTERM before it is abandoned
/// (every write is transactional, so abandoning loses nothing).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// The worker's own IMAP session is renewed when unused this long
/// (servers log idle clients out after 30 minutes).
pub const SESSION_MAX_IDLE: Duration = Duration::from_secs(25 * 60);
/// An outbox entry still due right after a step (the SMTP server failed
/// and the rest of the queue waits) is tried again after this.
pub const OUTBOX_RECHECK: Duration = Duration::from_secs(60);

/// Capped exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: BACKOFF_MIN }
    }
}

impl Backoff {
    /// The delay before the next attempt; doubles up to [`BACKOFF_MAX`].
    /// `jitter` in [0, 1) spreads it by ±20 %.
    pub fn delay_with(&mut self, jitter: f64) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
        base.mul_f64(factor).min(BACKOFF_MAX)
    }

    pub fn delay(&mut self) -> Duration {
        let j: f64 = rand::rng().random();
        self.delay_with(j)
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// Give freed heap memory back to the system after a full step: with
/// 10 000 open cases a step allocates megabytes that glibc would otherwise
/// keep for the life of the process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    extern "C" {
        fn malloc_trim(pad: usize) -> std::os::raw::c_int;
    }
    // SAFETY: glibc's malloc_trim only releases free memory and may be
    // called from any thread at any time.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

/// Most glibc malloc arenas replygate uses (see [`limit_arenas`]): two,
/// one per core of a small server. A backlog's reading runs on two threads
/// at once (the feedback judge, the signature checks); with one shared
/// arena they waited for its lock (a backlog first sync: 5.3–6.1 s with
/// one, 4.6–5.5 s with two, system time 1.0 s → 0.65 s), while the idle
/// daemon's RSS is the same with one or two (17.9–18.0 MB, bench_daemon).
pub const MALLOC_ARENAS: i32 = 2;

/// Cap glibc's malloc arenas before the runtime's threads start. glibc gives
/// each thread that allocates its own arena (up to 8 per core), and every
/// arena keeps its own freed pages and fragments: with the runtime's worker
/// and blocking threads that was ~3.5 MB of the idle daemon's RSS. Call
/// before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_arenas() {
    extern "C" {
        fn mallopt(param: std::os::raw::c_int, value: std::os::raw::c_int) -> std::os::raw::c_int;
    }
    const M_ARENA_MAX: std::os::raw::c_int = -8;
    // SAFETY: mallopt only changes allocator parameters; called before the
    // process starts other threads.
    unsafe {
        mallopt(M_ARENA_MAX, MALLOC_ARENAS);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// SQLite page cache of the daemon's connection, in KiB (the default is
/// 2 000; the working set is read from the OS page cache cheaply).
pub const SQLITE_CACHE_KIB: i64 = 1024;

/// "8 s", "2 min 30 s".
fn human(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// The IMAP error behind `e`, if that is what it is.
fn imap_error(e: &anyhow::Error) -> Option<&ImapError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<ImapError>()
            .or(match c.downcast_ref::<crate::inbound::sync::SyncError>() {
                Some(crate::inbound::sync::SyncError::Imap(ie)) => Some(ie),
                _ => None,
            })
    })
}

/// An error for a log line: an IMAP error's own text (it names its
/// cause), else the whole chain.
fn short_err(e: &anyhow::Error) -> String {
    match imap_error(e) {
        Some(ie) => ie.to_string(),
        None => format!("{e:#}"),
    }
}

/// Start the web side on `http.listen` (none when absent or the address
/// cannot be bound: the daemon runs on without it).
async fn start_http(ctx: &Context, shared: &SharedRef) -> Option<JoinHandle<()>> {
    let addr = ctx.cfg.http.listen.as_deref()?;
    let token = match ctx.cfg.http.token_file.as_deref() {
        None => None,
        Some(f) => match crate::config::secret::read_secret(Some(f), None) {
            Ok(t) => Some(Arc::new(t.expose().to_string())),
            Err(e) => {
                tracing::error!(error = %e, "http.token_file unreadable: not serving HTTP");
                return None;
            }
        },
    };
    let (h, m) = (shared.clone(), shared.clone());
    let web = crate::web::Web {
        database: ctx.cfg.storage.database.clone(),
        cal: Arc::new(ctx.cal.clone()),
        defaults: crate::cli::reports::defaults(&ctx.cfg),
        org: ctx.cfg.organization.name.clone(),
        token,
        health: Arc::new(move || lock(&h).health(Utc::now())),
        metrics: Arc::new(move || {
            let s = lock(&m);
            metrics::render(&s.snapshot, &s.live)
        }),
    };
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => {
            tracing::info!(listen = %addr, "serving /healthz, /metrics and the dashboard");
            Some(tokio::spawn(http::serve(l, crate::web::router(web))))
        }
        Err(e) => {
            tracing::error!(listen = %addr, error = %e, "cannot listen for HTTP (http.listen); running without /healthz, /metrics and the dashboard");
            None
        }
    }
}

/// A future that never completes when the watchdog is off.
async fn watchdog_tick(iv: &mut Option<tokio::time::Interval>) {
    match iv {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Sleep until `at` (never when `None`).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending::<()>().await,
    }
}

/// Wall-clock instant → tokio instant (past instants: now).
fn instant_of(t: DateTime<Utc>) -> Instant {
    let d = (t - Utc::now()).to_std().unwrap_or_default();
    Instant::now() + d
}

/// Open the database; a locked or briefly unavailable file is retried with
/// backoff. `None` when a stop signal came first.
async fn open_store(ctx: &Context, sig: &mut Signals) -> Option<Store> {
    let mut backoff = Backoff::default();
    let store = loop {
        match Store::open(&ctx.cfg.storage.database) {
            Ok(s) => break s,
            Err(e) => {
                let d = backoff.delay();
                tracing::warn!(
                    "database {} unavailable ({e}): retrying in {}",
                    ctx.cfg.storage.database.display(),
                    human(d)
                );
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = sig.term.recv() => return None,
                    _ = sig.int.recv() => return None,
                }
            }
        }
    };
    if let Err(e) = store.conn().pragma_update(None, "cache_size", -SQLITE_CACHE_KIB) {
        tracing::debug!(error = %e, "cannot set the SQLite cache size");
    }
    Some(store)
}

/// Run one step while answering the watchdog; a stop signal lets the step
/// finish within [`SHUTDOWN_GRACE`]. Returns the step's outcome (`None`:
/// abandoned) and whether a stop was requested.
async fn guarded_step(
    w: &mut Worker,
    full: bool,
    watchdog: &mut Option<tokio::time::Interval>,
    sig: &mut Signals,
) -> (Option<anyhow::Result<worker::StepDone>>, bool) {
    let fut = w.step(full);
    tokio::pin!(fut);
    let first = loop {
        tokio::select! {
            r = &mut fut => break Some(r),
            _ = watchdog_tick(watchdog) => notify::watchdog(),
            _ = sig.term.recv() => break None,
            _ = sig.int.recv() => break None,
        }
    };
    if let Some(r) = first {
        return (Some(r), false);
    }
    tracing::info!(
        "stop requested: finishing the current step (at most {})",
        human(SHUTDOWN_GRACE)
    );
    notify::stopping();
    match tokio::time::timeout(SHUTDOWN_GRACE, &mut fut).await {
        Ok(r) => (Some(r), true),
        Err(_) => {
            tracing::warn!("the current step did not finish in time and was abandoned (every write is a transaction: nothing is half done)");
            (None, true)
        }
    }
}

/// After a successful step: clear the error, log, tell systemd (READY=1
/// after the first one, STATUS= when the line changed).
fn step_succeeded(w: &mut Worker, done: &worker::StepDone, last_status: &mut String) {
    lock(&w.shared).worker_error = None;
    lock(&w.shared).worker_imap_down = false;
    if let Some(r) = &done.report {
        if r.sync.fetched > 0 || r.flushed.sent > 0 || r.opened > 0 || r.flushed.retry > 0 {
            tracing::info!("cycle done: {r}");
        } else {
            tracing::debug!("cycle done: {r}");
        }
    }
    let line = w.status_line();
    if !w.ready {
        w.ready = true;
        tracing::info!("first sync done; ready: {line}");
        notify::ready(&line);
    } else if line != *last_status {
        notify::status(&line);
    }
    *last_status = line;
}

/// After a failed step: log what it waits for, publish it for `/healthz`
/// (as a reason word) and systemd; the caller retries after `d`.
fn step_failed(w: &Worker, e: &anyhow::Error, d: Duration) {
    let server = format!("{}:{}", w.ctx.cfg.imap.host, w.ctx.cfg.imap.port);
    // ImapError's text already names its cause.
    let msg = short_err(e);
    let imap = imap_error(e).is_some();
    if imap {
        tracing::warn!("IMAP {server} unreachable ({msg}): retrying in {}", human(d));
    } else {
        tracing::warn!("step failed ({msg}): retrying in {}", human(d));
    }
    {
        let mut sh = lock(&w.shared);
        sh.worker_error = Some(msg.clone());
        sh.worker_imap_down = imap;
    }
    notify::status(&format!("waiting: {msg}; retrying in {}", human(d)));
}

/// `replygate run`. Exit 0 on SIGTERM/SIGINT, 2 when the configuration
/// cannot be used at start, 1 when the process cannot set itself up.
pub async fn run(path: PathBuf, cfg: Config) -> ExitCode {
    // Signal handlers first: a SIGTERM during start-up must not kill us
    // half-way (see deploy/README).
    let mut sig = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let ctx = match Context::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration refused: {e:#}");
            return ExitCode::from(2);
        }
    };
    let Some(store) = open_store(&ctx, &mut sig).await else {
        return ExitCode::SUCCESS;
    };
    let mut backoff = Backoff::default();

    let shared: SharedRef = Arc::new(Mutex::new(Shared {
        poll_interval: ctx.cfg.imap.poll_interval.std(),
        ..Shared::default()
    }));
    if let Ok(snap) = Snapshot::collect(&store, Utc::now()) {
        lock(&shared).snapshot = snap;
    }
    let wake = Arc::new(Notify::new());
    let mut http_task = start_http(&ctx, &shared).await;
    let mut watchers = Watchers::start(&ctx, &wake, &shared);
    let mut watchdog = notify::watchdog_interval().map(|d| {
        tracing::info!(every = ?d, "systemd watchdog enabled");
        let mut i = tokio::time::interval(d);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });

    let mut w = Worker {
        path,
        ctx,
        store,
        session: None,
        session_used: Instant::now(),
        shared: shared.clone(),
        next_due: None,
        ready: false,
        imap_failed: false,
    };
    tracing::info!(
        inbox = %w.ctx.cfg.imap.inbox.join(","),
        sent = %w.ctx.cfg.imap.sent.join(","),
        poll_interval = ?w.ctx.cfg.imap.poll_interval.std(),
        "replygate daemon starting"
    );

    // What the next step must do.
    let mut want_sync = true;
    let mut want_full = true;
    let mut retry_at: Option<Instant> = None;
    let mut next_tick = Instant::now() + w.ctx.cfg.imap.poll_interval.std();
    let mut last_status = String::new();

    loop {
        // Run a step when one is wanted and no retry wait is pending.
        let waiting = retry_at.is_some_and(|r| r > Instant::now());
        if (want_sync || want_full) && !waiting {
            retry_at = None;
            let full = want_full;
            want_sync = false;
            want_full = false;
            next_tick = Instant::now() + w.ctx.cfg.imap.poll_interval.std();
            let (outcome, stop) = guarded_step(&mut w, full, &mut watchdog, &mut sig).await;
            if stop {
                if let Some(Err(e)) = &outcome {
                    tracing::warn!("the last step failed: {e:#}");
                }
                return shutdown(w, watchers, http_task).await;
            }
            match outcome {
                Some(Ok(done)) => {
                    backoff.reset();
                    step_succeeded(&mut w, &done, &mut last_status);
                }
                Some(Err(e)) => {
                    let d = backoff.delay();
                    step_failed(&w, &e, d);
                    retry_at = Some(Instant::now() + d);
                    want_full = true;
                }
                None => {}
            }
        }

        // Sleep until something happens.
        let due_at = w.next_due.map(instant_of);
        let wake_at = [Some(next_tick), due_at, retry_at].into_iter().flatten().min();
        tokio::select! {
            _ = sleep_until(wake_at) => {
                let now = Instant::now();
                if now >= next_tick {
                    want_sync = true;
                }
                if w.next_due.is_some_and(|t| t <= Utc::now()) {
                    want_full = true;
                }
                if retry_at.is_some_and(|r| r <= now) {
                    want_full = true;
                }
            }
            _ = wake.notified() => {
                // A watcher saw a change or (re)connected: the server is
                // there, so a retry wait for it can end now.
                want_sync = true;
                retry_at = None;
            }
            _ = watchdog_tick(&mut watchdog) => notify::watchdog(),
            _ = sig.hup.recv() => {
                if reload(&mut w, &mut watchers, &mut http_task, &wake, &shared).await {
                    want_full = true;
                    retry_at = None;
                    backoff.reset();
                }
            }
            _ = sig.term.recv() => {
                tracing::info!("SIGTERM: stopping");
                notify::stopping();
                return shutdown(w, watchers, http_task).await;
            }
            _ = sig.int.recv() => {
                tracing::info!("SIGINT: stopping");
                notify::stopping();
                return shutdown(w, watchers, http_task).await;
            }
        }
    }
}

async fn shutdown(w: Worker, mut watchers: Watchers, http_task: Option<JoinHandle<()>>) -> ExitCode {
    watchers.stop();
    if let Some(h) = http_task {
        h.abort();
    }
    if let Some(s) = w.session {
        let _ = tokio::time::timeout(Duration::from_secs(1), s.logout()).await;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// SIGHUP: load and check the configuration; a bad one is refused (logged)
/// and the running one stays. Returns whether the new one is in force.
async fn reload(
    w: &mut Worker,
    watchers: &mut Watchers,
    http_task: &mut Option<JoinHandle<()>>,
    wake: &Arc<Notify>,
    shared: &SharedRef,
) -> bool {
    tracing::info!(config = %w.path.display(), "SIGHUP: reloading the configuration");
    notify::reloading();
    let loaded = config::load(&w.path)
        .map_err(|e| format!("{e}"))
        .and_then(|cfg| Context::new(cfg).map_err(|e| format!("{e:#}")));
    let new = match loaded {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(config = %w.path.display(), "configuration reload refused; the running configuration stays in force:\n{e}");
            notify::reloaded(&format!("reload refused (see the log); {}", w.status_line()));
            return false;
        }
    };
    if new.cfg.storage.database != w.ctx.cfg.storage.database {
        match Store::open(&new.cfg.storage.database) {
            Ok(s) => w.store = s,
            Err(e) => {
                tracing::error!("configuration reload refused: the new storage.database cannot be opened ({e}); the running configuration stays in force");
                notify::reloaded(&format!("reload refused (see the log); {}", w.status_line()));
                return false;
            }
        }
    }
    let imap_changed = format!("{:?}", new.cfg.imap) != format!("{:?}", w.ctx.cfg.imap)
        || new.imap_login != w.ctx.imap_login;
    let http_changed =
        new.cfg.http.listen != w.ctx.cfg.http.listen || new.cfg.http.token_file != w.ctx.cfg.http.token_file;
    let old = std::mem::replace(&mut w.ctx, new);
    drop(old);
    lock(shared).poll_interval = w.ctx.cfg.imap.poll_interval.std();
    if imap_changed {
        tracing::info!("IMAP settings changed: reconnecting");
        watchers.stop();
        if let Some(s) = w.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), s.logout()).await;
        }
        *watchers = Watchers::start(&w.ctx, wake, shared);
    }
    if http_changed {
        if let Some(h) = http_task.take() {
            h.abort();
        }
        *http_task = start_http(&w.ctx, shared).await;
    }
    w.next_due = None;
    tracing::info!("configuration reloaded");
    notify::reloaded(&w.status_line());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes_with_jitter() {
        let mut b = Backoff::default();
        let got: Vec<u64> = (0..12).map(|_| b.delay_with(0.5).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        // Jitter spreads ±20 % and never passes the cap.
        let mut b = Backoff::default();
        assert_eq!(b.delay_with(0.0), Duration::from_millis(800));
        let mut b = Backoff::default();
        assert_eq!(b.delay_with(1.0), Duration::from_millis(1200));
        for _ in 0..20 {
            assert!(b.delay_with(1.0) <= BACKOFF_MAX);
        }
        b.reset();
        assert_eq!(b.delay_with(0.5), Duration::from_secs(1));
    }

    #[test]
    fn human_durations() {
        for (secs, want) in [
            (1, "1 s"),
            (59, "59 s"),
            (60, "1 min"),
            (150, "2 min 30 s"),
            (300, "5 min"),
        ] {
            assert_eq!(human(Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn health_reasons() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut s = Shared {
            poll_interval: Duration::from_secs(60),
            ..Shared::default()
        };
        assert_eq!(s.health(now), (503, "no_sync_yet\n".to_string()));
        s.live.last_sync = Some(now - chrono::Duration::seconds(100));
        s.watchers.insert("INBOX".into(), WatchState::Idling);
        s.watchers.insert("Sent".into(), WatchState::Polling);
        assert_eq!(s.health(now).0, 200);
        // 3 × 60 s is less than 5 min: 5 min is the limit.
        s.live.last_sync = Some(now - chrono::Duration::seconds(299));
        assert_eq!(s.health(now).0, 200);
        s.live.last_sync = Some(now - chrono::Duration::seconds(301));
        assert_eq!(s.health(now), (503, "sync_stale\n".to_string()));
        s.live.last_sync = Some(now);
        // Reason words only: the error text stays in the log.
        s.watchers.insert(
            "INBOX".into(),
            WatchState::Down("connection refused by 10.0.0.1".into()),
        );
        assert_eq!(s.health(now), (503, "imap_down\n".to_string()));
        s.watchers.insert("INBOX".into(), WatchState::Idling);
        s.worker_error = Some("database is locked".into());
        assert_eq!(s.health(now), (503, "worker_error\n".to_string()));
        s.worker_imap_down = true;
        assert_eq!(s.health(now), (503, "imap_down\n".to_string()));
    }
}
