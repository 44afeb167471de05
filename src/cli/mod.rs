//! Command line (SPEC §9). Commands are added as they work.

pub mod admin;
pub mod commands;
pub mod escape;
pub mod reports;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::{Parser, Subcommand};

use crate::config::{CalendarConfig, ReplyConfig};
use crate::rules::calendar::Calendar;
use crate::rules::deadline::{self, CaseKind};

#[derive(Parser, Debug)]
#[command(
    name = "replygate",
    version,
    about = "Keeps a shared client mailbox's promises"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(short, long, global = true, default_value = "/etc/replygate/replygate.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the config, templates and secret files.
    CheckConfig,
    /// Show the working calendar: each day, working or not, hours and why.
    Calendar {
        /// First day (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last day, inclusive (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check the signature of a staff reply (an .eml file): exit 0 when
    /// compliant, 1 when something is missing, 2 when the file or the config
    /// cannot be read.
    CheckSignature {
        /// The message, as a raw RFC 5322 file.
        file: PathBuf,
        /// Print `{"compliant": …, "missing": […], "author": …}`.
        #[arg(long)]
        json: bool,
    },
    /// Watch the mailbox and keep its promises (the daemon). With --once:
    /// one cycle (sync every folder, update cases, send what is due), then exit.
    Run {
        /// One cycle, then exit (exit 1 on a fault).
        #[arg(long)]
        once: bool,
        /// Act as if it were this instant (RFC 3339); only with --once.
        #[arg(long, value_name = "T", value_parser = parse_rfc3339, requires = "once")]
        now: Option<DateTime<FixedOffset>>,
        /// Decide and log what would be sent, record case changes, send nothing;
        /// only with --once.
        #[arg(long, requires = "once")]
        dry_run: bool,
    },
    /// List cases (open ones unless --all) and outbox problems.
    Status {
        /// Judge "overdue" at this instant (RFC 3339) instead of now.
        #[arg(long, value_name = "T", value_parser = parse_rfc3339)]
        now: Option<DateTime<FixedOffset>>,
        /// Every case, not only open ones.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Close a case by hand (answered by phone, spam, ...). Audited.
    Close {
        /// The case reference, e.g. SIF-2026-00042.
        case: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// The instant of the action (RFC 3339); default now.
        #[arg(long, value_name = "T", value_parser = parse_rfc3339, hide = true)]
        now: Option<DateTime<FixedOffset>>,
    },
    /// Record an interim reply made outside e-mail: move the deadline. Audited.
    Extend {
        /// The case reference, e.g. SIF-2026-00042.
        case: String,
        /// The promised date (YYYY-MM-DD); the deadline is its closing time.
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: NaiveDate,
        /// How the client was told (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// The instant of the action (RFC 3339); default now.
        #[arg(long, value_name = "T", value_parser = parse_rfc3339, hide = true)]
        now: Option<DateTime<FixedOffset>>,
    },
    /// Compliance report (SPEC §12) for the cases received from --from to --to.
    Report {
        /// First day of receipt (YYYY-MM-DD, local).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last day of receipt, inclusive (YYYY-MM-DD, local).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// Judge as of this instant (RFC 3339) instead of now.
        #[arg(long, value_name = "T", value_parser = parse_rfc3339)]
        now: Option<DateTime<FixedOffset>>,
        /// Print the JSON of SPEC §12.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print one CSV row per case.
        #[arg(long)]
        csv: bool,
    },
    /// The evidence log (hash-chained case events).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// One case.
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// When the acknowledgement would go and when the reply is due.
    Deadline {
        /// Receipt time, RFC 3339 (e.g. 2026-11-24T17:01:00+02:00).
        #[arg(long, value_name = "T", value_parser = parse_rfc3339)]
        received: DateTime<FixedOffset>,
        /// Count it as a written submission (one month) instead of an e-mail.
        #[arg(long)]
        submission: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain; exit 1 and name the first broken entry.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// The case's timeline: received, acknowledged, reminders, replies, closing.
    Show {
        /// The case reference, e.g. SIF-2026-00042.
        case: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_rfc3339(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("\"{s}\" is not an RFC 3339 time ({e}): write e.g. 2026-11-24T17:01:00+02:00"))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig => check_config(&cli.config),
        Command::Run { once, now, dry_run } => crate::cli::commands::run(&cli.config, once, now, dry_run),
        Command::Status { now, all, json } => crate::cli::commands::status(&cli.config, now, all, json),
        Command::Close { case, reason, now } => crate::cli::commands::close(&cli.config, &case, &reason, now),
        Command::Extend {
            case,
            until,
            reason,
            now,
        } => crate::cli::commands::extend(&cli.config, &case, until, &reason, now),
        Command::CheckSignature { file, json } => {
            crate::cases::signature::run_check_signature(&cli.config, &file, json)
        }
        Command::Report {
            from,
            to,
            now,
            json,
            csv,
        } => {
            use reports::Format;
            let format = if json {
                Format::Json
            } else if csv {
                Format::Csv
            } else {
                Format::Table
            };
            reports::report_cmd(&cli.config, from, to, now, format)
        }
        Command::Audit {
            command: AuditCommand::Verify { json },
        } => reports::audit_verify(&cli.config, json),
        Command::Case {
            command: CaseCommand::Show { case, json },
        } => reports::case_show(&cli.config, &case, json),
        Command::Calendar { from, to, json } => report(calendar_cmd(&cli.config, from, to, json)),
        Command::Deadline {
            received,
            submission,
            json,
        } => report(deadline_cmd(&cli.config, received, submission, json)),
    }
}

/// Prints a command's error and maps it to exit code 2.
fn report(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The calendar and reply settings: from the config file when it exists,
/// the built-in defaults when it does not (so `calendar` and `deadline`
/// work before anything is installed).
fn calendar_settings(path: &Path) -> Result<(CalendarConfig, ReplyConfig), String> {
    if !path.exists() {
        return Ok((CalendarConfig::default(), ReplyConfig::default()));
    }
    let cfg = crate::config::load(path).map_err(|e| format!("{}: {e:#}", path.display()))?;
    Ok((cfg.calendar, cfg.reply))
}

fn build_calendar(cfg: &CalendarConfig, path: &Path) -> Result<Calendar, String> {
    Calendar::from_config(cfg).map_err(|e| format!("{}: {e}", path.display()))
}

/// Longest span `calendar` prints (about ten years).
const MAX_CALENDAR_DAYS: i64 = 3660;

#[derive(serde::Serialize)]
struct CalendarJson {
    days: Vec<DayJson>,
}

#[derive(serde::Serialize)]
struct DayJson {
    date: String,
    working: bool,
    hours: Option<String>,
    reason: Option<String>,
}

fn calendar_cmd(config: &Path, from: NaiveDate, to: NaiveDate, json: bool) -> Result<(), String> {
    if from > to {
        return Err(format!(
            "--from {from} is after --to {to}: give the earlier date first"
        ));
    }
    let span = (to - from).num_days() + 1;
    if span > MAX_CALENDAR_DAYS {
        return Err(format!(
            "{from}..{to} is {span} days: show at most {MAX_CALENDAR_DAYS} days (about ten years) at a time"
        ));
    }
    let (cal_cfg, _) = calendar_settings(config)?;
    let cal = build_calendar(&cal_cfg, config)?;
    let days = cal.days(from, to);
    if json {
        let out = CalendarJson {
            days: days
                .into_iter()
                .map(|d| DayJson {
                    date: d.date.format("%Y-%m-%d").to_string(),
                    working: d.working,
                    hours: d.hours.map(|h| h.to_string()),
                    reason: d.reason,
                })
                .collect(),
        };
        println!("{}", serde_json::to_string(&out).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!(
        "{:<10}  {:<3}  {:<7}  {:<11}  reason",
        "date", "day", "working", "hours"
    );
    for d in days {
        let line = format!(
            "{:<10}  {:<3}  {:<7}  {:<11}  {}",
            d.date.format("%Y-%m-%d"),
            d.date.format("%a"),
            if d.working { "yes" } else { "no" },
            d.hours.map(|h| h.to_string()).unwrap_or_else(|| "-".into()),
            d.reason.unwrap_or_default()
        );
        println!("{}", line.trim_end());
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct DeadlineJson {
    received: String,
    kind: CaseKind,
    ack_at: String,
    deadline: String,
}

fn deadline_cmd(
    config: &Path,
    received: DateTime<FixedOffset>,
    submission: bool,
    json: bool,
) -> Result<(), String> {
    let (cal_cfg, reply) = calendar_settings(config)?;
    let cal = build_calendar(&cal_cfg, config)?;
    let received = received.with_timezone(&chrono::Utc);
    let kind = if submission {
        CaseKind::Submission
    } else {
        CaseKind::Email
    };
    let ack = deadline::ack_at(&cal, received, reply.ack);
    let due = deadline::reply_deadline(&cal, received, kind, reply.working_days);
    let iso = |t: DateTime<chrono::Utc>| cal.to_local(t).format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    if json {
        let out = DeadlineJson {
            received: iso(received),
            kind,
            ack_at: iso(ack),
            deadline: iso(due),
        };
        println!("{}", serde_json::to_string(&out).map_err(|e| e.to_string())?);
        return Ok(());
    }
    let human = |t: DateTime<chrono::Utc>| cal.to_local(t).format("%a %Y-%m-%d %H:%M %:z").to_string();
    let term = match kind {
        CaseKind::Email => format!("{} working days after the day of receipt", reply.working_days),
        CaseKind::Submission => "one month after the day of receipt".to_string(),
    };
    let when_ack = if ack == received {
        "at once"
    } else {
        "at closing time, if still unanswered"
    };
    println!("received: {}", human(received));
    println!("kind:     {kind} ({term})");
    println!("ack at:   {} ({when_ack})", human(ack));
    println!("deadline: {}", human(due));
    if kind == CaseKind::Submission {
        let limit = deadline::submission_limit(&cal, received);
        println!(
            "interim replies may promise at most {} (four months)",
            limit.format("%a %Y-%m-%d")
        );
    }
    Ok(())
}

/// `check-config`: exit 0 with a short summary, or 2 listing every problem
/// (warnings are printed in both cases). Never prints a secret.
fn check_config(path: &std::path::Path) -> ExitCode {
    use crate::config::{Problem, Severity};
    let print = |p: &Problem| match p.severity {
        Severity::Error => eprintln!("{p}"),
        Severity::Warning => eprintln!("warning: {p}"),
    };
    match crate::config::check(path) {
        Ok(report) => {
            let problems: Vec<Problem> = template_problems(&report.config)
                .into_iter()
                .map(|message| Problem {
                    severity: Severity::Error,
                    file: path.to_path_buf(),
                    line: None,
                    column: None,
                    key: Some("templates".into()),
                    message,
                })
                .collect();
            for w in &report.warnings {
                print(w);
            }
            for p in &problems {
                print(p);
            }
            if problems.iter().any(|p| p.severity == Severity::Error) {
                eprintln!("{}: configuration refused", path.display());
                return ExitCode::from(2);
            }
            println!("{}", report.summary());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                print(p);
            }
            let n = problems.iter().filter(|p| p.severity == Severity::Error).count();
            eprintln!(
                "{}: configuration refused: {n} problem{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            ExitCode::from(2)
        }
    }
}

/// Load the templates (built-in or from `templates.directory`) and render
/// each with sample data, so a broken one is found before it is needed.
fn template_problems(cfg: &crate::config::Config) -> Vec<String> {
    match crate::outbound::templates::Templates::load(cfg.templates.directory.as_deref()) {
        Ok(t) => t.check_all().into_iter().map(|e| e.to_string()).collect(),
        Err(e) => vec![e.to_string()],
    }
}
