//! The read-side commands of SPEC §12: `report`, `audit verify`,
//! `case show`. They open the store, ask `report` / `store::evidence`, and
//! print; exit codes: 0 ok, 1 a broken evidence log or an unreadable
//! store, 2 bad input.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

use crate::config::{self, Config};
use crate::report::{self, load, render, Period};
use crate::rules::calendar::Calendar;
use crate::store::{evidence, facts, Store};

/// Output format of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn setup(path: &Path) -> Result<(Config, Calendar, Store), ExitCode> {
    let cfg = config::load(path).map_err(|e| {
        eprintln!("{}: configuration refused:\n{e}", path.display());
        ExitCode::from(2)
    })?;
    let cal = Calendar::from_config(&cfg.calendar).map_err(|e| {
        eprintln!("error: [calendar]: {e}");
        ExitCode::from(2)
    })?;
    let store = Store::open(&cfg.storage.database).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    Ok((cfg, cal, store))
}

fn print(text: &str) -> ExitCode {
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

/// The fallbacks the report needs from the config.
pub fn defaults(cfg: &Config) -> load::Defaults {
    load::Defaults {
        working_days: cfg.reply.working_days,
        ack: cfg.reply.ack,
    }
}

/// Longest period a report covers (about ten years).
pub const MAX_REPORT_DAYS: i64 = 3660;

/// Check a period given by a person.
pub fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), String> {
    if from > to {
        return Err(format!(
            "--from {from} is after --to {to}: give the earlier date first"
        ));
    }
    if (to - from).num_days() >= MAX_REPORT_DAYS {
        return Err(format!("a report covers at most {MAX_REPORT_DAYS} days"));
    }
    Ok(())
}

/// `report --from D --to D [--now T] [--json | --csv]`.
pub fn report_cmd(
    path: &Path,
    from: NaiveDate,
    to: NaiveDate,
    now: Option<DateTime<FixedOffset>>,
    format: Format,
) -> ExitCode {
    if let Err(e) = check_period(from, to) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let (cfg, cal, store) = match setup(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let as_of = now.map(|t| t.with_timezone(&Utc)).unwrap_or_else(Utc::now);
    let r = match load::report(store.conn(), &cal, defaults(&cfg), Period { from, to, as_of }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match format {
        Format::Table => print(&render::table(&r)),
        Format::Json => match serde_json::to_string(&r) {
            Ok(s) => print(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Format::Csv => match render::csv(&r, &cal) {
            Ok(s) => print(&s),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// `audit verify [--json]`: exit 0 when the chain holds, 1 at the first
/// broken entry.
pub fn audit_verify(path: &Path, json: bool) -> ExitCode {
    let (_, _, store) = match setup(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let v = match evidence::verify(store.conn()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let code = if v.broken.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if json {
        print(&format!("{}\n", serde_json::to_string(&v).unwrap_or_default()));
        return code;
    }
    match &v.broken {
        None => {
            print(&format!(
                "evidence log intact: {} entries; head {}\n",
                v.entries, v.head
            ));
        }
        Some(b) => {
            eprintln!("evidence log BROKEN at entry {}: {}", b.id, b.reason);
        }
    }
    code
}

/// A case's timeline (`case show`, `/cases/CASE`).
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub id: String,
    pub client: String,
    pub subject: String,
    pub kind: String,
    pub state: String,
    pub received: String,
    pub deadline: String,
    pub first_deadline: Option<String>,
    pub acknowledged_at: Option<String>,
    pub first_response: Option<String>,
    pub first_response_kind: Option<String>,
    pub first_response_by: Option<String>,
    pub answered_at: Option<String>,
    pub closed_at: Option<String>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub detail: String,
    pub actor: String,
}

/// Read one case's timeline; `None` when there is no such case.
pub fn timeline(
    store: &Store,
    cal: &Calendar,
    id: &str,
) -> Result<Option<Timeline>, crate::store::StoreError> {
    let Some(c) = store.read().case(id)? else {
        return Ok(None);
    };
    let f = facts::get(store.conn(), id)?.unwrap_or_default();
    let t = |x: DateTime<Utc>| report::local_rfc3339(cal, x);
    let events = evidence::case_entries(store.conn(), id)?
        .into_iter()
        .map(|e| Event {
            id: e.id,
            at: t(e.at),
            action: e.action,
            detail: e.detail,
            actor: e.actor,
        })
        .collect();
    Ok(Some(Timeline {
        id: c.id.clone(),
        client: c.client.clone(),
        subject: c.subject.clone(),
        kind: c.kind.to_string(),
        state: c.state.as_str().to_string(),
        received: t(c.opened_at),
        deadline: t(c.deadline),
        first_deadline: f.first_deadline.map(t),
        acknowledged_at: c.acknowledged_at.map(t),
        first_response: f.first_response_at.map(t),
        first_response_kind: f.first_response_kind.map(|k| k.as_str().to_string()),
        first_response_by: f.first_response_by,
        answered_at: c.answered_at.map(t),
        closed_at: c.closed_at.map(t),
        events,
    }))
}

/// The timeline as text for a terminal.
pub fn timeline_text(tl: &Timeline) -> String {
    let c = render::clean;
    let mut o = format!(
        "{} · {} · {} · {}\nclient {}\nsubject {}\nreceived {} · deadline {}{}\n\n",
        tl.id,
        tl.kind,
        tl.state,
        tl.first_response_kind.as_deref().unwrap_or("no response yet"),
        c(&tl.client),
        c(&tl.subject),
        tl.received,
        tl.deadline,
        tl.first_deadline
            .as_ref()
            .filter(|d| **d != tl.deadline)
            .map(|d| format!(" (first set {d})"))
            .unwrap_or_default()
    );
    for e in &tl.events {
        o.push_str(&format!(
            "{}  {:<18} {}  [{}]\n",
            e.at,
            c(&e.action),
            c(&e.detail),
            c(&e.actor)
        ));
    }
    o
}

/// `case show CASE [--json]`.
pub fn case_show(path: &Path, id: &str, json: bool) -> ExitCode {
    let (_, cal, store) = match setup(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match timeline(&store, &cal, id) {
        Ok(Some(tl)) if json => print(&format!("{}\n", serde_json::to_string(&tl).unwrap_or_default())),
        Ok(Some(tl)) => print(&timeline_text(&tl)),
        Ok(None) => {
            eprintln!("error: no case {}", render::clean(id));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
