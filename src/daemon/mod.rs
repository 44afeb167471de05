//! The daemon (`replygate run`): keeps the mailbox in sync and sends what
//! falls due, unattended.
//!
//! Task layout:
//! - the **worker** (the task running [`run`]) owns the SQLite store, the
//!   [`Context`] and its own IMAP session, and does all the work: a *sync*
//!   ([`pipeline::sync_all`], cheap when nothing is new) and, when the sync
//!   recorded mail or something is due, the *full* step
//!   ([`pipeline::track_and_decide`], [`pipeline::recover_interrupted`],
//!   [`outbox::flush`],
//!   [`pipeline::save_copies`]). Between steps it sleeps until the earliest
//!   of: a wake-up from a watcher, the next poll tick (`imap.poll_interval`,
//!   a sync only, which also keeps the health check fresh), the next due
//!   instant (acknowledgement, reminder, escalation and digest times from
//!   [`crate::rules::engine::next_due`], worked out after the step's actions, and
//!   the earliest outbox `not_before` / retry time:
//!   [`pipeline::next_due_after`]), a retry after a fault, a signal or
//!   the systemd watchdog tick. No busy loop: with nothing due it wakes
//!   once per poll interval.
//! - one **IDLE watcher** per folder (inbox and sent folders), each on its
//!   own IMAP session: EXAMINE, then IDLE re-issued every
//!   [`IDLE_RENEW`] (RFC 2177 asks for less than 30 minutes); a change or a
//!   (re)connection wakes the worker through a [`Notify`]. A server that
//!   refuses IDLE leaves that folder to the poll tick.
//! - the optional **HTTP** task (`[http] listen`): `/healthz` and
//!   `/metrics` from a [`Shared`] state the worker updates after each step;
//!   it never touches the store.
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

pub mod http;
pub mod metrics;
pub mod notify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{self, Config};
use crate::inbound::imap::{self, IdleOutcome, ImapError, ImapSession};
use crate::outbound::outbox;
use crate::pipeline::{self, Context, Report};
use crate::store::Store;
use http::{Handler, Response};
use metrics::{Live, Snapshot};

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

/// Most glibc malloc arenas the daemon uses (see [`limit_arenas`]).
pub const MALLOC_ARENAS: i32 = 1;

/// Cap glibc's malloc arenas before the runtime's threads start. glibc gives
/// each thread that allocates its own arena (up to 8 per core), and every
/// arena keeps its own freed pages and fragments: with the runtime's worker
/// and blocking threads that was ~3.5 MB of the idle daemon's RSS. The
/// daemon allocates little and rarely from several threads at once, so one
/// shared arena costs it no measurable time. Call before any thread starts.
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
    pub watchers: BTreeMap<String, WatchState>,
    pub poll_interval: Duration,
}

impl Shared {
    /// `/healthz`: 200 while IMAP is up and the last sync is recent
    /// (younger than 3 × poll interval, at least 5 minutes), else 503 with
    /// the reasons.
    pub fn health(&self, now: DateTime<Utc>) -> Response {
        let mut why = Vec::new();
        if let Some(e) = &self.worker_error {
            why.push(format!("last step failed: {e}"));
        }
        let limit = (self.poll_interval * 3).max(Duration::from_secs(300));
        match self.live.last_sync {
            None => why.push("no successful sync yet".to_string()),
            Some(t) => {
                let age = (now - t).to_std().unwrap_or_default();
                if age > limit {
                    why.push(format!(
                        "last successful sync {} ago (limit {})",
                        human(age),
                        human(limit)
                    ));
                }
            }
        }
        for (folder, st) in &self.watchers {
            match st {
                WatchState::Idling | WatchState::Polling => {}
                WatchState::Connecting => why.push(format!("{folder}: IDLE session connecting")),
                WatchState::Down(e) => why.push(format!("{folder}: IDLE session down: {e}")),
            }
        }
        if why.is_empty() {
            Response::text(200, "ok\n")
        } else {
            Response::text(503, format!("{}\n", why.join("\n")))
        }
    }
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(s: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves plain data: keep using it.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

fn handler(shared: SharedRef) -> Handler {
    Arc::new(move |path: &str| {
        let s = lock(&shared).clone();
        match path {
            "/healthz" => s.health(Utc::now()),
            "/metrics" => Response {
                status: 200,
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body: metrics::render(&s.snapshot, &s.live),
            },
            _ => Response::text(404, "not found: try /healthz or /metrics\n"),
        }
    })
}

async fn start_http(listen: &Option<String>, shared: &SharedRef) -> Option<JoinHandle<()>> {
    let addr = listen.as_deref()?;
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => {
            tracing::info!(listen = %addr, "serving /healthz and /metrics");
            Some(tokio::spawn(http::serve(l, handler(shared.clone()))))
        }
        Err(e) => {
            tracing::error!(listen = %addr, error = %e, "cannot listen for HTTP (http.listen); running without /healthz and /metrics");
            None
        }
    }
}

/// One folder's IDLE watcher: wakes the worker on changes and after every
/// (re)connection. Runs until aborted.
async fn watch(
    cfg: crate::config::ImapConfig,
    password: String,
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
            let mut s = imap::connect(&cfg, &password).await?;
            s.examine(&folder).await?;
            Ok::<ImapSession, ImapError>(s)
        }
        .await;
        let mut session = match attempt {
            Ok(s) => s,
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
struct Watchers {
    tasks: Vec<JoinHandle<()>>,
}

impl Watchers {
    fn start(ctx: &Context, wake: &Arc<Notify>, shared: &SharedRef) -> Watchers {
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
                    ctx.imap_password.clone(),
                    f,
                    wake.clone(),
                    shared.clone(),
                ))
            })
            .collect();
        Watchers { tasks }
    }

    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// The worker's state.
struct Worker {
    path: PathBuf,
    ctx: Context,
    store: Store,
    session: Option<ImapSession>,
    session_used: Instant,
    shared: SharedRef,
    /// The next instant something falls due (wall clock).
    next_due: Option<DateTime<Utc>>,
    ready: bool,
    /// The IMAP server failed at least once since the last success.
    imap_failed: bool,
}

/// What a step did.
struct StepDone {
    report: Option<Report>,
}

impl Worker {
    /// A sync, and the full step when something is new or due.
    async fn step(&mut self, full: bool) -> anyhow::Result<StepDone> {
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
            let s = imap::connect(&self.ctx.cfg.imap, &self.ctx.imap_password).await?;
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

    async fn after_sync(
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
    fn status_line(&self) -> String {
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

struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
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
    // The database: a locked or briefly unavailable file is retried.
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
                    _ = sig.term.recv() => return ExitCode::SUCCESS,
                    _ = sig.int.recv() => return ExitCode::SUCCESS,
                }
            }
        }
    };
    backoff.reset();
    if let Err(e) = store.conn().pragma_update(None, "cache_size", -SQLITE_CACHE_KIB) {
        tracing::debug!(error = %e, "cannot set the SQLite cache size");
    }

    let shared: SharedRef = Arc::new(Mutex::new(Shared {
        poll_interval: ctx.cfg.imap.poll_interval.std(),
        ..Shared::default()
    }));
    if let Ok(snap) = Snapshot::collect(&store, Utc::now()) {
        lock(&shared).snapshot = snap;
    }
    let wake = Arc::new(Notify::new());
    let mut http_task = start_http(&ctx.cfg.http.listen, &shared).await;
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
            let mut stop = false;
            let outcome = {
                let fut = w.step(full);
                tokio::pin!(fut);
                let first = loop {
                    tokio::select! {
                        r = &mut fut => break Some(r),
                        _ = watchdog_tick(&mut watchdog) => notify::watchdog(),
                        _ = sig.term.recv() => { stop = true; break None; }
                        _ = sig.int.recv() => { stop = true; break None; }
                    }
                };
                match first {
                    Some(r) => Some(r),
                    None => {
                        tracing::info!(
                            "stop requested: finishing the current step (at most {})",
                            human(SHUTDOWN_GRACE)
                        );
                        notify::stopping();
                        match tokio::time::timeout(SHUTDOWN_GRACE, &mut fut).await {
                            Ok(r) => Some(r),
                            Err(_) => {
                                tracing::warn!("the current step did not finish in time and was abandoned (every write is a transaction: nothing is half done)");
                                None
                            }
                        }
                    }
                }
            };
            if stop {
                if let Some(Err(e)) = &outcome {
                    tracing::warn!("the last step failed: {e:#}");
                }
                return shutdown(w, watchers, http_task).await;
            }
            match outcome {
                Some(Ok(done)) => {
                    backoff.reset();
                    lock(&shared).worker_error = None;
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
                    } else if line != last_status {
                        notify::status(&line);
                    }
                    last_status = line;
                }
                Some(Err(e)) => {
                    let d = backoff.delay();
                    let server = format!("{}:{}", w.ctx.cfg.imap.host, w.ctx.cfg.imap.port);
                    // ImapError's text already names its cause.
                    let msg = short_err(&e);
                    if imap_error(&e).is_some() {
                        tracing::warn!("IMAP {server} unreachable ({msg}): retrying in {}", human(d));
                    } else {
                        tracing::warn!("step failed ({msg}): retrying in {}", human(d));
                    }
                    lock(&shared).worker_error = Some(msg.clone());
                    notify::status(&format!("waiting: {msg}; retrying in {}", human(d)));
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
        || new.imap_password != w.ctx.imap_password;
    let http_changed = new.cfg.http.listen != w.ctx.cfg.http.listen;
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
        *http_task = start_http(&w.ctx.cfg.http.listen, shared).await;
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
        let r = s.health(now);
        assert_eq!(r.status, 503);
        assert!(r.body.contains("no successful sync yet"), "{}", r.body);
        s.live.last_sync = Some(now - chrono::Duration::seconds(100));
        s.watchers.insert("INBOX".into(), WatchState::Idling);
        s.watchers.insert("Sent".into(), WatchState::Polling);
        assert_eq!(s.health(now).status, 200);
        // 3 × 60 s is less than 5 min: 5 min is the limit.
        s.live.last_sync = Some(now - chrono::Duration::seconds(299));
        assert_eq!(s.health(now).status, 200);
        s.live.last_sync = Some(now - chrono::Duration::seconds(301));
        let r = s.health(now);
        assert_eq!(r.status, 503);
        assert!(
            r.body.contains("last successful sync 5 min 1 s ago"),
            "{}",
            r.body
        );
        s.live.last_sync = Some(now);
        s.watchers
            .insert("INBOX".into(), WatchState::Down("connection refused".into()));
        let r = s.health(now);
        assert_eq!(r.status, 503);
        assert!(
            r.body.contains("INBOX: IDLE session down: connection refused"),
            "{}",
            r.body
        );
        s.watchers.insert("INBOX".into(), WatchState::Idling);
        s.worker_error = Some("database is locked".into());
        assert!(s.health(now).body.contains("database is locked"));
    }
}
