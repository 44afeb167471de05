//! Loading a configuration file: read it ([`super::read`]), check what each
//! section means ([`validate`]), and for `check-config` also its secrets
//! ([`check`]).

use std::path::{Path, PathBuf};

use super::problem::{sort_problems, Checker, ConfigError, Problem, Severity};
use super::read::read;
use super::{staff, Config};

/// Read, parse and validate the configuration file.
///
/// Besides parsing it checks everything that can be checked without secrets
/// (see [`validate`]), and collects every problem before refusing. Relative
/// `ca_file` paths, and relative `password_file` paths when
/// `$CREDENTIALS_DIRECTORY` is not set, are made relative to the directory
/// of the configuration file. Secrets are not read here: commands that need
/// no server (`calendar`, `deadline`, `status`) must work for an admin who
/// cannot read them; `check-config` ([`check`]) and the daemon read them.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read_file(path)?;
    accept(evaluate(&text, path, Some(base_of(path)), false))
}

/// Parse and validate configuration text; `file` is only used in messages.
/// Relative paths stay as written.
pub fn parse_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    accept(evaluate(text, file, None, false))
}

/// Every semantic problem of a parsed config (errors and warnings), located
/// in `text`: one check per section. Does not read secrets; does read
/// `ca_file`s.
pub fn validate(cfg: &Config, text: &str, file: &Path) -> Vec<Problem> {
    let mut c = Checker::new(text, file);
    cfg.organization.validate(&mut c);
    cfg.imap.validate(&mut c);
    cfg.smtp.validate(&cfg.organization, &mut c);
    cfg.calendar.validate(&mut c);
    cfg.reply.validate(cfg.calendar.timezone, &mut c);
    cfg.reminders.validate(&mut c);
    cfg.signature.validate(&mut c);
    cfg.storage.validate(&mut c);
    cfg.http.validate(&mut c);
    cfg.log.validate(&mut c);
    staff::validate(&cfg.staff, &cfg.organization, &mut c);
    c.problems
}

/// A configuration that `check-config` accepted.
#[derive(Debug)]
pub struct CheckReport {
    pub path: PathBuf,
    pub config: Config,
    /// Things worth fixing that do not stop the daemon.
    pub warnings: Vec<Problem>,
}

impl CheckReport {
    /// A short human summary; never holds a secret.
    pub fn summary(&self) -> String {
        let c = &self.config;
        let smtp_auth = if c.smtp.authenticates() {
            "with authentication"
        } else {
            "without authentication"
        };
        format!(
            "{}: configuration OK\n  organization: {} (case prefix {}, domains {})\n  IMAP: {}:{} ({}), inbox {:?}, sent {:?}\n  SMTP: {}:{} ({}, {}), from {}\n  calendar: {}, holidays {}, reply within {} working day(s)\n  staff: {} listed\n  database: {}",
            self.path.display(),
            c.organization.name,
            c.organization.case_prefix,
            c.organization.domains.join(", "),
            c.imap.host,
            c.imap.port,
            c.imap.security.name(),
            c.imap.inbox,
            c.imap.sent,
            c.smtp.host,
            c.smtp.port,
            c.smtp.security.name(),
            smtp_auth,
            c.smtp.from,
            c.calendar.timezone,
            c.calendar.holidays,
            c.reply.working_days,
            c.staff.len(),
            c.storage.database.display(),
        )
    }
}

/// Everything `check-config` checks that is about the config file and its
/// secrets: [`load`]'s checks, then the secret files/variables (readable,
/// non-empty; a warning when a file is readable by group or others), and
/// warnings (missing database directory). On failure the list holds every
/// problem, errors and warnings.
///
/// Hook: the CLI arm runs further checks (templates) on the returned
/// [`CheckReport::config`] and adds their problems.
pub fn check(path: &Path) -> Result<CheckReport, Vec<Problem>> {
    let text = read_file(path).map_err(|e| e.problems())?;
    let (config, all) = evaluate(&text, path, Some(base_of(path)), true);
    match config {
        Some(config) if !all.iter().any(|p| p.severity == Severity::Error) => Ok(CheckReport {
            path: path.to_path_buf(),
            config,
            warnings: all,
        }),
        _ => Err(all),
    }
}

fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn base_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Every problem of `text`, errors and warnings in file order, and the
/// config as far as it could be read. Relative paths are resolved against
/// `base` when given; `secrets` adds the checks that read them.
fn evaluate(text: &str, file: &Path, base: Option<&Path>, secrets: bool) -> (Option<Config>, Vec<Problem>) {
    let read = read(text, file);
    let mut all = read.problems;
    let mut config = read.config;
    if let Some(cfg) = &mut config {
        if let Some(base) = base {
            resolve_relative_paths(cfg, base);
        }
        all.extend(validate(cfg, text, file));
        if secrets {
            all.extend(secret_problems(cfg, text, file));
        }
    }
    sort_problems(&mut all);
    (config, all)
}

/// The config when there is no error (warnings are `check`'s business).
fn accept((config, all): (Option<Config>, Vec<Problem>)) -> Result<Config, ConfigError> {
    let errors: Vec<Problem> = all
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    match config {
        Some(cfg) if errors.is_empty() => Ok(cfg),
        _ => Err(ConfigError::Invalid(errors)),
    }
}

fn resolve_relative_paths(cfg: &mut Config, base: &Path) {
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").is_some_and(|v| !v.is_empty());
    let fix = |p: &mut Option<PathBuf>| {
        if let Some(x) = p {
            if x.is_relative() && !x.as_os_str().is_empty() {
                *x = base.join(&*x);
            }
        }
    };
    fix(&mut cfg.imap.ca_file);
    fix(&mut cfg.smtp.ca_file);
    if !creds {
        fix(&mut cfg.imap.password_file);
        fix(&mut cfg.smtp.password_file);
    }
}

/// Problems with the secrets and the file system around the config.
fn secret_problems(cfg: &Config, text: &str, file: &Path) -> Vec<Problem> {
    let mut c = Checker::new(text, file);
    let sources = [
        (
            "imap",
            cfg.imap.password_file.as_deref(),
            cfg.imap.password_env.as_deref(),
            true,
        ),
        (
            "smtp",
            cfg.smtp.password_file.as_deref(),
            cfg.smtp.password_env.as_deref(),
            false,
        ),
    ];
    for (table, f, e, required) in sources {
        if !required && f.is_none() && e.is_none() {
            continue;
        }
        // Both or neither is already reported by `validate`.
        if f.is_some() == e.is_some() {
            continue;
        }
        let key = if f.is_some() {
            format!("{table}.password_file")
        } else {
            format!("{table}.password_env")
        };
        match super::secret::read_secret(f, e) {
            Ok(_) => {
                if let Some(w) = f.and_then(super::secret::permission_warning) {
                    c.warn(&key, w);
                }
            }
            Err(err) => c.error(&key, err.to_string()),
        }
    }
    if let Some(dir) = cfg.storage.database.parent() {
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            c.warn(
                "storage.database",
                format!(
                    "the directory {} does not exist yet: create it (systemd: StateDirectory=replygate) before starting the daemon",
                    dir.display()
                ),
            );
        }
    }
    c.problems
}
