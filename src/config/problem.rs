//! What is wrong in a configuration and where: [`Problem`]
//! (`FILE:LINE:COL: key: message`), [`ConfigError`], and the [`Checker`]
//! that the section validators report through.

use std::path::{Path, PathBuf};

use super::locate::Locator;

/// How serious a [`Problem`] is: an error refuses the config, a warning is
/// only reported by `check-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong in the configuration, with where it is.
///
/// Displayed as `FILE:LINE:COLUMN: KEY: MESSAGE` (parts that are unknown are
/// left out). `key` is a dotted path such as `reply.ack_min_interval` or
/// `staff[1].email` (array indexes count from 0). Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(k) = &self.key {
            write!(f, ": {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: cannot read the configuration file: {source} (give another one with -c FILE)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration: every problem
    /// found, one per line.
    #[error("{}", ProblemList(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems as a list (a read failure becomes one problem).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ConfigError::Read { path, source } => vec![Problem {
                severity: Severity::Error,
                file: path.clone(),
                line: None,
                column: None,
                key: None,
                message: format!(
                    "cannot read the configuration file: {source} (give another one with -c FILE)"
                ),
            }],
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl std::fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Errors before warnings, each in file order (problems without a line
/// last).
pub(super) fn sort_problems(p: &mut [Problem]) {
    p.sort_by_key(|p| {
        (
            p.severity == Severity::Warning,
            p.line.unwrap_or(usize::MAX),
            p.column.unwrap_or(0),
        )
    });
}

/// Collects problems with their location.
pub(crate) struct Checker<'a> {
    file: &'a Path,
    loc: Locator<'a>,
    pub(super) problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(text: &'a str, file: &'a Path) -> Self {
        Checker {
            file,
            loc: Locator::new(text),
            problems: Vec::new(),
        }
    }

    fn push(&mut self, severity: Severity, key: &str, message: String) {
        let (line, column) = match self.loc.find(key) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        self.problems.push(Problem {
            severity,
            file: self.file.to_path_buf(),
            line,
            column,
            key: Some(key.to_string()),
            message,
        });
    }
    pub(crate) fn error(&mut self, key: &str, message: impl Into<String>) {
        self.push(Severity::Error, key, message.into());
    }
    pub(crate) fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.push(Severity::Warning, key, message.into());
    }
}
