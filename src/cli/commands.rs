//! The commands that work on the mailbox and the case store: `run`,
//! `status`, `close`, `extend`. Errors are printed for people; exit codes
//! follow SPEC §9 (0 ok, 1 a fault during `run --once`, 2 bad input).

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::cli::admin;
use crate::cli::escape::escape_controls;
use crate::config::{self, Config};
use crate::pipeline::{self, Context};
use crate::rules::calendar::Calendar;
use crate::store::Store;

/// Log to stderr (journald keeps it); `RUST_LOG` wins over `log.level`.
pub fn init_logging(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level.unwrap_or("info")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // The filters' most verbose level, also given to the `log` crate (which
    // async-imap and rustls log through): without it `log` stays at
    // `trace` and async-imap checks the UTF-8 of its whole read buffer for
    // a trace line at every parse attempt (8 % of a backlog's first sync).
    let hint = filter
        .max_level_hint()
        .unwrap_or(tracing::level_filters::LevelFilter::TRACE);
    let fmt = tracing_subscriber::fmt::layer()
        // Colours only for a person at a terminal, not in journald.
        // No colours: the writer escapes every control character (ESC
        // included) of each line, so a mail subject cannot drive the
        // terminal or forge a log line (SPEC §11.4).
        .with_ansi(false)
        .with_writer(crate::cli::escape::LogWriter::new())
        .with_target(false)
        .with_filter(filter)
        .with_filter(
            tracing_subscriber::filter::filter_fn(|m| !is_secret_bearing(m.target(), *m.level()))
                .with_max_level_hint(hint),
        );
    let _ = tracing_subscriber::registry().with(fmt).try_init();
}

/// Dependencies' own protocol logging that carries credentials, dropped
/// whatever `RUST_LOG` says (SPEC §11.4): async-imap traces every command it
/// writes (`LOGIN user password`, `AUTHENTICATE` responses with OAuth
/// tokens) and every response (mail content) at `trace`; lettre logs
/// `AUTH PLAIN <base64>` at `debug` when its `tracing` feature is on (it is
/// off in Cargo.toml; this is the second fence, in case a dependency turns
/// it back on through feature unification).
pub fn is_secret_bearing(target: &str, level: tracing::Level) -> bool {
    let under = |root: &str| target == root || target.starts_with(&format!("{root}::"));
    (under("async_imap") && level >= tracing::Level::DEBUG) || under("lettre") || under("imap_proto")
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("{}: configuration refused:\n{e}", path.display());
        ExitCode::from(2)
    })
}

fn open_store(cfg: &Config) -> Result<Store, ExitCode> {
    Store::open(&cfg.storage.database).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })
}

fn calendar(cfg: &Config) -> Result<Calendar, ExitCode> {
    Calendar::from_config(&cfg.calendar).map_err(|e| {
        eprintln!("error: [calendar]: {e}");
        ExitCode::from(2)
    })
}

fn instant(now: Option<DateTime<FixedOffset>>) -> DateTime<Utc> {
    now.map(|t| t.with_timezone(&Utc)).unwrap_or_else(Utc::now)
}

/// `run` and `run --once`.
pub fn run(path: &Path, once: bool, now: Option<DateTime<FixedOffset>>, dry_run: bool) -> ExitCode {
    let cfg = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_logging(cfg.log.level.as_deref());
    // `run --once` is one sequential cycle: a current-thread runtime spares
    // every socket read a wake-up hop between threads (measured by
    // scripts/bench-send: most of the send path's time went to those).
    // The same malloc arena cap for `run --once`: its reading of a batch
    // runs on blocking threads, each of which would keep an arena of its own.
    crate::daemon::limit_arenas();
    let built = if once {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if !once {
        return rt.block_on(crate::daemon::run(path.to_path_buf(), cfg));
    }
    let ctx = match Context::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut store = match open_store(&ctx.cfg) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = instant(now);
    let result = rt.block_on(async { pipeline::run_once(&ctx, &mut store, now, dry_run).await });
    // The SMTP pool must be dropped inside the runtime.
    rt.block_on(async move { drop(ctx) });
    match result {
        Ok(report) => {
            tracing::info!(dry_run, "cycle done: {report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("cycle failed: {e:#}");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `status [--now T] [--all] [--json]`.
pub fn status(path: &Path, now: Option<DateTime<FixedOffset>>, all: bool, json: bool) -> ExitCode {
    let cfg = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (cal, store) = match (calendar(&cfg), open_store(&cfg)) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match admin::status(&store, &cal, instant(now), all) {
        Ok(s) if json => match serde_json::to_string(&s) {
            Ok(text) => out(&format!("{text}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Ok(s) => out(&admin::status_text(&s)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Print to stdout; a closed pipe (`status | head`) is not an error.
fn out(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(1)
        }
    }
}

fn manual(
    path: &Path,
    f: impl FnOnce(&mut Store, &Calendar) -> Result<String, admin::AdminError>,
) -> ExitCode {
    let cfg = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (cal, mut store) = match (calendar(&cfg), open_store(&cfg)) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match f(&mut store, &cal) {
        Ok(msg) => {
            println!("{}", escape_controls(&msg));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", escape_controls(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// `close CASE --reason TEXT`.
pub fn close(path: &Path, case: &str, reason: &str, now: Option<DateTime<FixedOffset>>) -> ExitCode {
    manual(path, |store, _| {
        let c = admin::close(store, case, reason, instant(now))?;
        Ok(format!("{} closed: {reason}", c.id))
    })
}

/// `mark CASE --feedback | --not-feedback --reason TEXT`.
pub fn mark(
    path: &Path,
    case: &str,
    feedback: bool,
    reason: &str,
    now: Option<DateTime<FixedOffset>>,
) -> ExitCode {
    manual(path, |store, _| {
        let before = admin::mark(store, case, feedback, reason, instant(now))?;
        let verdict = if feedback { "feedback" } else { "not feedback" };
        let was = match before {
            Some(true) => " (was: feedback)",
            Some(false) => " (was: not feedback)",
            None => "",
        };
        Ok(format!("{} marked {verdict}{was}: {reason}", case))
    })
}

/// `extend CASE --until D --reason TEXT`.
pub fn extend(
    path: &Path,
    case: &str,
    until: NaiveDate,
    reason: &str,
    now: Option<DateTime<FixedOffset>>,
) -> ExitCode {
    manual(path, |store, cal| {
        let c = admin::extend(store, cal, case, until, reason, instant(now))?;
        Ok(format!(
            "{} extended: reply due {}",
            c.id,
            cal.to_local(c.deadline).format("%a %Y-%m-%d %H:%M")
        ))
    })
}

#[cfg(test)]
mod tests {
    /// The `log` crate (async-imap, rustls) learns the filter's level: at
    /// `warn`, their trace lines are not even formatted.
    #[test]
    fn log_crate_gets_the_filter_level() {
        std::env::remove_var("RUST_LOG");
        super::init_logging(Some("warn"));
        assert_eq!(log::max_level(), log::LevelFilter::Warn);
    }
}
