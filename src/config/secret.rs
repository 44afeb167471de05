//! Secrets (IMAP/SMTP passwords): read from a file or an environment
//! variable, held in a type that never prints its content (SPEC §10, "leak
//! secrets").
//!
//! Where a secret comes from:
//! - `password_file = "/abs/path"`: the file's content, with the trailing line
//!   break (`\n` or `\r\n`) removed; nothing else is trimmed, so a password
//!   may start or end with a space.
//! - `password_file = "name"` (a relative path) while `$CREDENTIALS_DIRECTORY`
//!   is set (systemd `LoadCredential=name:/etc/replygate/...`): the file
//!   `$CREDENTIALS_DIRECTORY/name`. Without that variable a relative path is
//!   taken relative to the configuration file's directory (the loader makes
//!   it absolute, see [`crate::config::load`]).
//! - `password_env = "NAME"`: the environment variable `NAME`, taken as is.
//!
//! Errors name the file or the variable, never the content. An empty secret
//! is refused: it is always a mistake (an empty file, an unset value).

use std::fmt;
use std::path::{Path, PathBuf};

/// A password. `Debug` and `Display` print `***`; only [`Secret::expose`]
/// gives the text, for the one call that hands it to the server.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The password itself. Call it only where it is handed to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a secret could not be read. Never carries the secret's content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no password source: set either password_file or password_env")]
    NoSource,
    #[error("both password_file and password_env are set: keep only one of them")]
    BothSources,
    // The I/O error is part of the message and deliberately not a `source`:
    // `{:#}` would print it twice.
    #[error("cannot read the password file {}: {error}", path.display())]
    FileUnreadable { path: PathBuf, error: std::io::Error },
    #[error("the password file {} is empty: write the password into it", path.display())]
    FileEmpty { path: PathBuf },
    #[error("the environment variable {name} is not set: export it for the service (e.g. systemd Environment= or EnvironmentFile=)")]
    EnvMissing { name: String },
    #[error("the environment variable {name} is not valid UTF-8")]
    EnvNotUnicode { name: String },
    #[error("the environment variable {name} is empty")]
    EnvEmpty { name: String },
}

/// Where a `password_file` is actually read from: a relative path is looked
/// up in `$CREDENTIALS_DIRECTORY` when that variable is set (systemd
/// credentials), otherwise it is used as given.
pub fn resolve_secret_path(file: &Path) -> PathBuf {
    if file.is_relative() {
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            if !dir.is_empty() {
                return Path::new(&dir).join(file);
            }
        }
    }
    file.to_path_buf()
}

/// Read a secret from exactly one of a file or an environment variable.
pub fn read_secret(file: Option<&Path>, env: Option<&str>) -> Result<Secret, SecretError> {
    match (file, env) {
        (Some(_), Some(_)) => Err(SecretError::BothSources),
        (None, None) => Err(SecretError::NoSource),
        (Some(f), None) => read_secret_file(f),
        (None, Some(name)) => match std::env::var(name) {
            Ok(v) if v.is_empty() => Err(SecretError::EnvEmpty { name: name.into() }),
            Ok(v) => Ok(Secret(v)),
            Err(std::env::VarError::NotPresent) => Err(SecretError::EnvMissing { name: name.into() }),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::EnvNotUnicode { name: name.into() }),
        },
    }
}

fn read_secret_file(file: &Path) -> Result<Secret, SecretError> {
    let path = resolve_secret_path(file);
    let mut text = std::fs::read_to_string(&path).map_err(|error| SecretError::FileUnreadable {
        path: path.clone(),
        error,
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(SecretError::FileEmpty { path });
    }
    Ok(Secret(text))
}

/// A warning when the secret file can be read by group or others
/// (`mode & 0o077 != 0`); `None` when it is private or cannot be examined.
pub fn permission_warning(file: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = resolve_secret_path(file);
        let meta = std::fs::metadata(&path).ok()?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(format!(
                "the password file {} is accessible by group or others (mode {:o}): run `chmod 600 {}`",
                path.display(),
                mode,
                path.display()
            ));
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn debug_and_display_hide_the_content() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn file_content_is_trimmed_of_one_trailing_line_break_only() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw", "pw"),
            (" pw \n", " pw "),
            ("pw\n\n", "pw\n"),
        ];
        for (i, (content, want)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("s{i}"));
            std::fs::File::create(&p)
                .unwrap()
                .write_all(content.as_bytes())
                .unwrap();
            let got = read_secret(Some(&p), None).unwrap();
            assert_eq!(got.expose(), *want, "content {content:?}");
        }
    }

    #[test]
    fn errors_name_the_source_and_not_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = read_secret(Some(&missing), None).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let e = read_secret(Some(&empty), None).unwrap_err();
        assert!(matches!(e, SecretError::FileEmpty { .. }), "{e}");

        let e = read_secret(None, Some("REPLYGATE_TEST_SURELY_UNSET_VAR"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("REPLYGATE_TEST_SURELY_UNSET_VAR"), "{e}");

        assert!(matches!(read_secret(None, None), Err(SecretError::NoSource)));
        assert!(matches!(
            read_secret(Some(&empty), Some("X")),
            Err(SecretError::BothSources)
        ));
    }

    #[test]
    fn permission_warning_on_group_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "x\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let w = permission_warning(&p).expect("0640 must warn");
        assert!(w.contains("640") && w.contains("chmod 600"), "{w}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(permission_warning(&p), None);
    }
}
