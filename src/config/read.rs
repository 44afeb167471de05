//! From TOML text to a [`Config`], with every syntax and type error located
//! (`FILE:LINE:COL: key: message`) and worded for an admin.
//!
//! serde stops at the first error. To report more than one, each top-level
//! table is read on its own; a key with a type error is set aside (left at
//! its default) and the table read again, so every such key is reported and
//! the rest of the file can still be checked for its meaning (see
//! [`super::load::validate`]). A table that cannot be read even so (a
//! required key missing, say) gives its first error, and no [`Config`].

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::locate::{key_at, line_col, split_key, Seg};
use super::problem::{Problem, Severity};
use super::{
    CalendarConfig, Config, HttpConfig, ImapConfig, LogConfig, OrganizationConfig, RemindersConfig,
    ReplyConfig, SignatureConfig, SmtpConfig, StaffMember, StorageConfig, TemplatesConfig,
};

/// What reading the text gave.
pub(super) struct Read {
    /// The config, with keys that had type errors at their defaults; `None`
    /// when the text could not be made into one.
    pub config: Option<Config>,
    /// Syntax and type errors, in file order.
    pub problems: Vec<Problem>,
}

type Span = Option<std::ops::Range<usize>>;

/// One error: where, which key, what.
type Found = (Span, Option<String>, String);

const TOP_LEVEL_KEYS: &str = "`organization`, `imap`, `smtp`, `calendar`, `reply`, `reminders`, `signature`, `storage`, `http`, `templates`, `log`, `staff`";

/// Parse `text` (`file` is only named in messages).
pub(super) fn read(text: &str, file: &Path) -> Read {
    let problem = |span: Span, key: Option<String>, message: String| {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Problem {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            key,
            message,
        }
    };
    let de = match toml::de::Deserializer::parse(text) {
        Ok(d) => d,
        Err(first) => {
            // Report every syntax error the recovering parser finds. Never
            // quote the offending line: it could hold a password pasted where
            // it does not belong; only a key name at the error is shown.
            let (_, mut errors) = DeTable::parse_recoverable(text);
            if errors.is_empty() {
                errors.push(first);
            }
            let mut out: Vec<Problem> = Vec::new();
            for e in errors {
                let key = e.span().and_then(|s| key_at(text, s.start));
                let p = problem(
                    e.span(),
                    key,
                    format!("TOML syntax error: {}", e.message().trim()),
                );
                if !out.iter().any(|q| q.line == p.line && q.message == p.message) {
                    out.push(p);
                }
            }
            return Read {
                config: None,
                problems: out,
            };
        }
    };
    let e = match serde_path_to_error::deserialize::<_, Config>(de) {
        Ok(config) => {
            return Read {
                config: Some(config),
                problems: vec![],
            }
        }
        Err(e) => e,
    };
    let (found, config) = table_by_table(text);
    let problems = if found.is_empty() {
        let inner = e.inner();
        let (key, message) = explain_serde_error(&e.path().to_string(), inner.message().trim());
        vec![problem(inner.span(), key, message)]
    } else {
        found
            .into_iter()
            .map(|(span, key, message)| problem(span, key, message))
            .collect()
    };
    Read { config, problems }
}

/// Read each top-level table on its own (see the module doc): the errors of
/// every table, unknown top-level keys and missing required tables, and the
/// config built from what could be read.
fn table_by_table(text: &str) -> (Vec<Found>, Option<Config>) {
    let Ok(root) = DeTable::parse(text) else {
        return (vec![], None);
    };
    let mut out = Vec::new();
    let mut readable = DeTable::new();
    let mut complete = true;
    let table = root.get_ref();
    for (k, v) in table.iter() {
        let name: &str = k.get_ref();
        let read = match name {
            "organization" => section::<OrganizationConfig>(name, v),
            "imap" => section::<ImapConfig>(name, v),
            "smtp" => section::<SmtpConfig>(name, v),
            "calendar" => section::<CalendarConfig>(name, v),
            "reply" => section::<ReplyConfig>(name, v),
            "reminders" => section::<RemindersConfig>(name, v),
            "signature" => section::<SignatureConfig>(name, v),
            "storage" => section::<StorageConfig>(name, v),
            "http" => section::<HttpConfig>(name, v),
            "templates" => section::<TemplatesConfig>(name, v),
            "log" => section::<LogConfig>(name, v),
            "staff" => section::<Vec<StaffMember>>(name, v),
            other => {
                let msg = format!("unknown field `{other}`, expected one of {TOP_LEVEL_KEYS}");
                let (key, message) = explain_serde_error(".", &msg);
                out.push((Some(k.span()), key, message));
                continue;
            }
        };
        out.extend(read.0);
        match read.1 {
            Some(value) => {
                readable.insert(k.clone(), value);
            }
            None => complete = false,
        }
    }
    for required in ["organization", "imap", "smtp", "reminders"] {
        if table.get(required).is_none() {
            let (key, message) = explain_serde_error(".", &format!("missing field `{required}`"));
            out.push((Some(0..0), key, message));
        }
    }
    out.sort_by_key(|(span, _, _)| span.as_ref().map_or(usize::MAX, |s| s.start));
    let config = complete
        .then(|| {
            let whole = Spanned::new(root.span(), DeValue::Table(readable));
            serde_path_to_error::deserialize::<_, Config>(ValueDeserializer::from(whole)).ok()
        })
        .flatten();
    (out, config)
}

/// Read one top-level table, setting aside each key with a type error: the
/// errors, and the table without those keys (`None` when it still cannot be
/// read).
fn section<'a, T: DeserializeOwned>(
    name: &str,
    v: &Spanned<DeValue<'a>>,
) -> (Vec<Found>, Option<Spanned<DeValue<'a>>>) {
    let mut found = Vec::new();
    let mut value = v.clone();
    let mut set_aside: Vec<String> = Vec::new();
    loop {
        let de = ValueDeserializer::from(value.clone());
        let Err(e) = serde_path_to_error::deserialize::<_, T>(de) else {
            return (found, Some(value));
        };
        let inner_path = e.path().to_string();
        let path = match inner_path.as_str() {
            "." => name.to_string(),
            p if p.starts_with('[') => format!("{name}{p}"),
            p => format!("{name}.{p}"),
        };
        let inner = e.inner();
        let (key, message) = explain_serde_error(&path, inner.message().trim());
        // A required key set aside is now missing: that is not news.
        if key.as_ref().is_some_and(|k| set_aside.contains(k)) {
            return (found, None);
        }
        found.push((inner.span().or_else(|| Some(v.span())), key.clone(), message));
        if !remove(&mut value, &inner_path) {
            return (found, None);
        }
        set_aside.extend(key);
    }
}

/// Remove the key that `path` (serde's path inside a table) leads to; for a
/// path into an array, the key holding the array. False when there is no
/// such key (the table itself is at fault).
fn remove(value: &mut Spanned<DeValue<'_>>, path: &str) -> bool {
    let keys: Vec<&str> = split_key(path)
        .into_iter()
        .map_while(|s| match s {
            Seg::Key(k) => Some(k),
            Seg::Index(_) => None,
        })
        .collect();
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut cur = value;
    for k in parents {
        let DeValue::Table(t) = cur.get_mut() else {
            return false;
        };
        let Some(next) = t.get_mut(*k) else {
            return false;
        };
        cur = next;
    }
    match cur.get_mut() {
        DeValue::Table(t) => t.remove(*last).is_some(),
        _ => false,
    }
}

/// Turn serde's wording into an admin's: name the key and the table.
fn explain_serde_error(path: &str, msg: &str) -> (Option<String>, String) {
    let table = if path == "." { None } else { Some(path.to_string()) };
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return match &table {
            None => (
                Some(field.to_string()),
                format!(
                    "the required table [{field}] is missing: add it (see config/replygate.toml for an example)"
                ),
            ),
            Some(t) => (
                Some(format!("{t}.{field}")),
                format!("the required key `{field}` is missing from [{t}]: add `{field} = ...`"),
            ),
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let allowed = rest.split_once(", expected ").map(|(_, a)| a).unwrap_or("");
        let (key, place) = match &table {
            // serde_path_to_error records the unknown key itself as the
            // last path segment; keep the path as it is.
            Some(t) if t.ends_with(field) => (t.clone(), parent_of(t)),
            Some(t) => (format!("{t}.{field}"), Some(t.clone())),
            None => (field.to_string(), None),
        };
        let place = match place {
            Some(p) => format!("in [{p}]"),
            None => "at the top level".to_string(),
        };
        let allowed = if allowed.is_empty() {
            String::new()
        } else {
            format!("; allowed keys: {}", allowed.trim_start_matches("one of "))
        };
        return (
            Some(key),
            format!("unknown key `{field}` {place} (check the spelling){allowed}"),
        );
    }
    (table, msg.to_string())
}

fn parent_of(path: &str) -> Option<String> {
    let cut = path.rfind(['.', '['])?;
    path.get(..cut).map(str::to_string)
}
