//! Message templates (SPEC §5.3, §6, §7): the texts of acknowledgements,
//! reminders, escalations, digests and signature warnings.
//!
//! Each template is a plain-text file `<name>.txt`. After an optional leading
//! Jinja comment (`{# … #}`, used to document the variables), its first line
//! is `Subject: …`, then a blank line, then the body (Latvian first, then a
//! line `---`, "In English:" and the English text). The seven built-in
//! templates live in `templates/` of the repository and are compiled in; a
//! file of the same name in `templates.directory` replaces the built-in one.
//!
//! Rendering is strict: a variable the context lacks is an error (so a typo in
//! an override is found by [`Templates::check_all`], run by `check-config`).
//! There is no HTML escaping. `trim_blocks` and `lstrip_blocks` are on, so a
//! line holding only a `{% … %}` tag leaves no blank line behind.
//!
//! The subject line is compiled as its own template and its output is made a
//! single line (control characters and line breaks become spaces), so a
//! client's subject containing line breaks cannot spill into the body or
//! into other headers.
//!
//! Callers can build contexts with the typed structs [`AckContext`],
//! [`CaseNoticeContext`] (reminder/escalation), [`DigestContext`] and
//! [`SignatureWarningContext`], which format times and durations, or pass any
//! `Serialize` map with the variables below. Values of `subject`, `client`,
//! `to`, `author`, `author_name` and `case_id` (at any depth) are made one
//! line before rendering, since they come from mail headers.
//!
//! Context variables (all strings unless said otherwise; times are
//! Europe/Riga local, formatted with [`format_datetime`] / [`format_date`]):
//!
//! | template | variables |
//! |---|---|
//! | `ack` | `case_id`, `received` ("23.11.2026 09:14"), `deadline_date` ("25.11.2026"), `deadline` ("25.11.2026 17:00"), `subject` (the client's), `kind` ("email"/"submission"), `org_name`, `org_phone`, `org_website` (may be empty), `working_hours` (list of lines, see [`working_hours_lines`]), optional `working_hours_en` (list) |
//! | `reminder` | `case_id`, `client`, `subject`, `received`, `deadline`, `hours_left` (preformatted, see [`format_duration`]), `kind`, `org_name` |
//! | `feedback_notice` | `case_id`, `client`, `subject`, `received`, `deadline`, `matched` (the words recognised as feedback), `kind`, `org_name` |
//! | `escalation` | `case_id`, `client`, `subject`, `received`, `deadline`, `overdue_by` (preformatted), `kind`, `org_name` |
//! | `escalation_list` | `count` (a number), `cases` (list, oldest first; each a map with `case_id`, `client`, `subject`, `received`, `deadline`, `overdue_by`, `kind`), `org_name` |
//! | `digest` | `date`, `due_today` (list of cases), `overdue` (list of cases), `org_name`; a case is a map with `case_id`, `client`, `subject`, `received`, `deadline`, `kind`, `feedback` (bool: client feedback about the service) |
//! | `signature_warning` | `author`, `author_name` (may be empty), `subject`, `to` (one string), `sent_at`, `missing` (list of codes `organization`/`name`/`surname`/`contact`), `missing_lv` (list, see [`missing_lv`]), `expected_signature` (several lines), `org_name` |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// The names of all templates, in a stable order.
pub const NAMES: [&str; 8] = [
    "ack",
    "reminder",
    "escalation",
    "escalation_list",
    "digest",
    "signature_warning",
    "interim_refused",
    "feedback_notice",
];

const BUILTIN: [(&str, &str); 8] = [
    (
        "feedback_notice",
        include_str!("../../templates/feedback_notice.txt"),
    ),
    (
        "interim_refused",
        include_str!("../../templates/interim_refused.txt"),
    ),
    ("ack", include_str!("../../templates/ack.txt")),
    ("reminder", include_str!("../../templates/reminder.txt")),
    ("escalation", include_str!("../../templates/escalation.txt")),
    (
        "escalation_list",
        include_str!("../../templates/escalation_list.txt"),
    ),
    ("digest", include_str!("../../templates/digest.txt")),
    (
        "signature_warning",
        include_str!("../../templates/signature_warning.txt"),
    ),
];

/// A template problem, naming the file (and line, when known).
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// The file: the override's path, or `built-in templates/<name>.txt`.
        file: String,
        line: Option<usize>,
        message: String,
    },
    #[error("cannot read templates.directory {path}: {source}; check the path and its permissions, or remove the key to use the built-in templates")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error(
        "unknown template \"{0}\": the templates are ack, reminder, escalation, escalation_list, digest, signature_warning, interim_refused and feedback_notice"
    )]
    Unknown(String),
    #[error("template context is not serialisable: {0}")]
    Context(String),
}

/// A rendered template: a one-line subject and the plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
}

/// The loaded, compiled templates.
pub struct Templates {
    env: Environment<'static>,
    /// Template name → file shown in errors.
    files: BTreeMap<String, String>,
    /// `.txt` files in the override directory that replace nothing (typos?).
    stray: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("files", &self.files).finish()
    }
}

/// Template files found in `templates.directory`.
#[derive(Debug, Default)]
pub struct Overrides {
    /// Files that replace a built-in template.
    pub templates: Vec<Override>,
    /// `.txt` files that replace nothing (typos?), as paths.
    pub stray: Vec<String>,
}

/// One file replacing the built-in template of its name.
#[derive(Debug)]
pub struct Override {
    /// The template's name (`ack`, `reminder`, …).
    pub name: String,
    /// The file as shown in errors.
    pub file: String,
    pub text: String,
}

/// Reads the `<name>.txt` files of `dir` (the one place templates touch the
/// disk).
pub fn read_overrides(dir: &Path) -> Result<Overrides, TemplateError> {
    let mut out = Overrides::default();
    let rd = std::fs::read_dir(dir).map_err(|source| TemplateError::Directory {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in rd {
        let entry = entry.map_err(|source| TemplateError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let Some(fname) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(stem) = fname.strip_suffix(".txt") else {
            continue;
        };
        if !NAMES.contains(&stem) {
            out.stray.push(path.display().to_string());
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| TemplateError::Template {
            file: path.display().to_string(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        out.templates.push(Override {
            name: stem.to_string(),
            file: path.display().to_string(),
            text,
        });
    }
    Ok(out)
}

impl Templates {
    /// Loads the built-in templates, replaced by any `<name>.txt` in `dir`:
    /// [`read_overrides`] (the only file access) then [`Templates::compile`].
    /// Called at the edge (daemon start, `check-config`); the rest of the
    /// code is handed the compiled templates.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let overrides = match dir {
            Some(dir) => read_overrides(dir)?,
            None => Overrides::default(),
        };
        Templates::compile(overrides)
    }

    /// Compiles the built-in templates, each replaced by its override when
    /// there is one. Reads no file. A syntax error is reported with the
    /// file and line.
    pub fn compile(overrides: Overrides) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| TemplateError::Template {
                file: "(syntax configuration)".into(),
                line: None,
                message: e.to_string(),
            })?;
        env.set_syntax(syntax);

        let mut files = BTreeMap::new();
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        for (name, src) in BUILTIN {
            files.insert(name.to_string(), format!("built-in templates/{name}.txt"));
            sources.insert(name.to_string(), src.to_string());
        }
        for o in overrides.templates {
            files.insert(o.name.clone(), o.file);
            sources.insert(o.name, o.text);
        }
        let mut stray = overrides.stray;
        stray.sort();

        for (name, src) in &sources {
            let file = files.get(name).cloned().unwrap_or_default();
            let (subject_src, body_src) =
                split_source(src).map_err(|(line, message)| TemplateError::Template {
                    file: file.clone(),
                    line: Some(line),
                    message,
                })?;
            for (part, s) in [("subject", subject_src), ("body", body_src)] {
                env.add_template_owned(format!("{name}.{part}"), s)
                    .map_err(|e| jinja_error(&file, &e))?;
            }
        }
        Ok(Templates { env, files, stray })
    }

    /// Renders template `name` with a context (a map of the variables listed
    /// in the module documentation).
    pub fn render<C: Serialize>(&self, name: &str, ctx: &C) -> Result<Rendered, TemplateError> {
        self.render_with_lists::<C, ()>(name, ctx, Vec::new())
    }

    /// Renders template `name` with `ctx` plus long lists of lines (the
    /// digest's cases, an escalation list's): each list is seen by the
    /// template as a sequence whose lines become template values one at a
    /// time, as the loop reaches them, with the same one-line treatment as
    /// every context. A digest of 14 000 cases held a JSON copy and a
    /// template-value copy of every line (~40 MB); now it holds the lines.
    pub fn render_with_lists<C, L>(
        &self,
        name: &str,
        ctx: &C,
        lists: Vec<(&'static str, Vec<L>)>,
    ) -> Result<Rendered, TemplateError>
    where
        C: Serialize,
        L: Serialize + std::fmt::Debug + Send + Sync + 'static,
    {
        if !NAMES.contains(&name) {
            return Err(TemplateError::Unknown(name.to_string()));
        }
        let mut json = serde_json::to_value(ctx).map_err(|e| TemplateError::Context(e.to_string()))?;
        one_line_fields(&mut json);
        let value = if lists.is_empty() {
            json_to_value(&json)
        } else {
            let serde_json::Value::Object(fields) = &json else {
                return Err(TemplateError::Context(
                    "a context with lists must be a map".into(),
                ));
            };
            let mut map: BTreeMap<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect();
            for (key, lines) in lists {
                map.insert(key.to_string(), Value::from_object(LazyLines(lines)));
            }
            Value::from(map)
        };
        drop(json);
        let file = self.files.get(name).cloned().unwrap_or_default();
        let render = |part: &str| -> Result<String, TemplateError> {
            let t = self
                .env
                .get_template(&format!("{name}.{part}"))
                .map_err(|e| jinja_error(&file, &e))?;
            t.render(value.clone()).map_err(|e| jinja_error(&file, &e))
        };
        let subject = one_line(&render("subject")?);
        let mut text = render("body")?;
        // Leading newlines come from the padding that keeps line numbers right.
        let trimmed = text.trim_start_matches(['\n', '\r']).len();
        text.drain(..text.len() - trimmed);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(Rendered { subject, text })
    }

    /// Renders every template with its sample context and reports every
    /// problem (for `check-config`), including `.txt` files in the override
    /// directory that replace no template.
    pub fn check_all(&self) -> Vec<TemplateError> {
        let mut errs: Vec<TemplateError> = NAMES
            .iter()
            .filter_map(|n| self.render(n, &Self::sample_context(n)).err())
            .collect();
        for f in &self.stray {
            errs.push(TemplateError::Template {
                file: f.clone(),
                line: None,
                message: "this file replaces no template (the names are ack, reminder, escalation, escalation_list, digest, signature_warning, interim_refused, feedback_notice with .txt); rename or remove it".into(),
            });
        }
        errs
    }

    /// The file each template comes from (`built-in …` or an override path).
    pub fn source_file(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    /// A realistic context for template `name` (every documented variable
    /// set); `Value::Null` for an unknown name.
    pub fn sample_context(name: &str) -> serde_json::Value {
        let tz = chrono_tz::Europe::Riga;
        let at = |y, mo, d, h, mi| {
            tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
                .single()
                .unwrap_or_else(|| tz.timestamp_opt(0, 0).unwrap())
        };
        let received = at(2026, 11, 23, 9, 14);
        let deadline = at(2026, 11, 25, 9, 14);
        let org = crate::config::OrganizationConfig {
            name: "Sabiedrības integrācijas fonds".into(),
            aliases: vec!["SIF".into()],
            domains: vec!["sif.gov.lv".into()],
            case_prefix: "SIF".into(),
            phone: "+371 67078190".into(),
            website: "www.sif.gov.lv".into(),
        };
        let case = "SIF-2026-00042";
        let client = "anna.liepa@example.lv";
        let subject = "Jautājums par projekta pārskatu";
        // The lists' two sample lines: this case, due, and an older one,
        // overdue.
        let due_line = || CaseLine::new(case, client, subject, &received, &deadline, false);
        let overdue_line = || {
            CaseLine::new(
                "SIF-2026-00017",
                "peteris@example.com",
                "Iesniegums par līdzfinansējumu",
                &at(2026, 10, 20, 15, 2),
                &at(2026, 11, 20, 15, 2),
                true,
            )
        };
        let v = match name {
            "ack" => serde_json::to_value(AckContext::new(
                case,
                &received,
                &deadline,
                subject,
                false,
                &org,
                &crate::config::WeekHours::default(),
            )),
            "reminder" => serde_json::to_value(CaseNoticeContext::reminder(
                case,
                client,
                subject,
                &received,
                &deadline,
                chrono::Duration::hours(4),
                false,
                &org.name,
            )),
            "escalation" => serde_json::to_value(CaseNoticeContext::escalation(
                case,
                client,
                subject,
                &received,
                &deadline,
                chrono::Duration::minutes(90),
                false,
                &org.name,
            )),
            "escalation_list" => serde_json::to_value(EscalationListContext {
                count: 2,
                cases: vec![
                    EscalationLine {
                        case: overdue_line(),
                        overdue_by: format_duration(chrono::Duration::days(3)),
                    },
                    EscalationLine {
                        case: due_line(),
                        overdue_by: format_duration(chrono::Duration::minutes(90)),
                    },
                ],
                org_name: org.name.clone(),
            }),
            "digest" => serde_json::to_value(DigestContext {
                date: format_date(&deadline),
                due_today: vec![DigestCase {
                    case: due_line(),
                    feedback: false,
                }],
                overdue: vec![DigestCase {
                    case: overdue_line(),
                    feedback: false,
                }],
                org_name: org.name.clone(),
            }),
            "feedback_notice" => serde_json::to_value(CaseNoticeContext::feedback(
                case,
                client,
                "Sūdzība par apkalpošanu",
                &received,
                &deadline,
                "nepieklajigi",
                false,
                &org.name,
            )),
            "interim_refused" => Ok(serde_json::json!({
                "case_id": "SIF-2026-00042",
                "author": "janis.berzins@sif.gov.lv",
                "author_name": "Jānis Bērziņš",
                "subject": "Atb: Jautājums par projektu",
                "sent_at": format_datetime(&received),
                "reason": "the promised date is in the past; give a date from today on",
                "org_name": org.name,
            })),
            "signature_warning" => serde_json::to_value(SignatureWarningContext::new(
                "janis.berzins@sif.gov.lv",
                "Jānis Bērziņš",
                "Re: Jautājums par projekta pārskatu",
                &[client.to_string()],
                &at(2026, 11, 24, 11, 5),
                &["organization".to_string(), "contact".to_string()],
                "Jānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. +371 67078190\njanis.berzins@sif.gov.lv",
                &org.name,
            )),
            _ => Ok(serde_json::Value::Null),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}

/// Context of `ack`. Build it with [`AckContext::new`] (which formats the
/// times) or by hand; serialises to exactly the documented variables.
#[derive(Debug, Clone, Serialize)]
pub struct AckContext {
    pub case_id: String,
    pub received: String,
    pub deadline_date: String,
    pub deadline: String,
    pub subject: String,
    /// `"email"` or `"submission"`.
    pub kind: String,
    pub org_name: String,
    pub org_phone: String,
    pub org_website: String,
    pub working_hours: Vec<String>,
    pub working_hours_en: Vec<String>,
}

impl AckContext {
    /// `received` and `deadline` should already be in the local time zone.
    pub fn new<Tz: TimeZone>(
        case_id: &str,
        received: &DateTime<Tz>,
        deadline: &DateTime<Tz>,
        subject: &str,
        submission: bool,
        org: &crate::config::OrganizationConfig,
        hours: &crate::config::WeekHours,
    ) -> AckContext
    where
        Tz::Offset: std::fmt::Display,
    {
        AckContext {
            case_id: case_id.into(),
            received: format_datetime(received),
            deadline_date: format_date(deadline),
            deadline: format_datetime(deadline),
            subject: repeated_subject(subject),
            kind: kind_str(submission).into(),
            org_name: org.name.clone(),
            org_phone: org.phone.clone(),
            org_website: org.website.clone(),
            working_hours: working_hours_lines(hours, Lang::Lv),
            working_hours_en: working_hours_lines(hours, Lang::En),
        }
    }
}

/// Context of `reminder` (`hours_left` set) or `escalation` (`overdue_by`
/// set); the field the template does not use is left out when `None`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseNoticeContext {
    pub case_id: String,
    pub client: String,
    pub subject: String,
    pub received: String,
    pub deadline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_left: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue_by: Option<String>,
    /// `feedback_notice`: the words recognised as feedback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    pub kind: String,
    pub org_name: String,
}

impl CaseNoticeContext {
    /// The fields every case notice has; the one its template adds is set
    /// by [`Self::feedback`], [`Self::reminder`] or [`Self::escalation`].
    fn base<Tz: TimeZone>(
        case_id: &str,
        client: &str,
        subject: &str,
        received: &DateTime<Tz>,
        deadline: &DateTime<Tz>,
        submission: bool,
        org_name: &str,
    ) -> CaseNoticeContext
    where
        Tz::Offset: std::fmt::Display,
    {
        CaseNoticeContext {
            case_id: case_id.into(),
            client: client.into(),
            subject: subject.into(),
            received: format_datetime(received),
            deadline: format_datetime(deadline),
            hours_left: None,
            overdue_by: None,
            matched: None,
            kind: kind_str(submission).into(),
            org_name: org_name.into(),
        }
    }

    /// For `feedback_notice`: `matched` are the words recognised.
    #[allow(clippy::too_many_arguments)]
    pub fn feedback<Tz: TimeZone>(
        case_id: &str,
        client: &str,
        subject: &str,
        received: &DateTime<Tz>,
        deadline: &DateTime<Tz>,
        matched: &str,
        submission: bool,
        org_name: &str,
    ) -> CaseNoticeContext
    where
        Tz::Offset: std::fmt::Display,
    {
        CaseNoticeContext {
            matched: Some(matched.into()),
            ..Self::base(case_id, client, subject, received, deadline, submission, org_name)
        }
    }

    /// For `reminder`: `left` is the working time left before the deadline.
    #[allow(clippy::too_many_arguments)]
    pub fn reminder<Tz: TimeZone>(
        case_id: &str,
        client: &str,
        subject: &str,
        received: &DateTime<Tz>,
        deadline: &DateTime<Tz>,
        left: chrono::Duration,
        submission: bool,
        org_name: &str,
    ) -> CaseNoticeContext
    where
        Tz::Offset: std::fmt::Display,
    {
        CaseNoticeContext {
            hours_left: Some(format_duration(left)),
            ..Self::base(case_id, client, subject, received, deadline, submission, org_name)
        }
    }

    /// For `escalation`: `late` is how long the deadline has passed.
    #[allow(clippy::too_many_arguments)]
    pub fn escalation<Tz: TimeZone>(
        case_id: &str,
        client: &str,
        subject: &str,
        received: &DateTime<Tz>,
        deadline: &DateTime<Tz>,
        late: chrono::Duration,
        submission: bool,
        org_name: &str,
    ) -> CaseNoticeContext
    where
        Tz::Offset: std::fmt::Display,
    {
        CaseNoticeContext {
            overdue_by: Some(format_duration(late)),
            ..Self::base(case_id, client, subject, received, deadline, submission, org_name)
        }
    }
}

/// One case in a list of cases (the `digest`'s, an `escalation_list`'s).
#[derive(Debug, Clone, Serialize)]
pub struct CaseLine {
    pub case_id: String,
    pub client: String,
    pub subject: String,
    pub received: String,
    pub deadline: String,
    pub kind: &'static str,
}

impl CaseLine {
    pub fn new<Tz: TimeZone>(
        case_id: &str,
        client: &str,
        subject: &str,
        received: &DateTime<Tz>,
        deadline: &DateTime<Tz>,
        submission: bool,
    ) -> CaseLine
    where
        Tz::Offset: std::fmt::Display,
    {
        CaseLine {
            case_id: case_id.into(),
            client: client.into(),
            subject: subject.into(),
            received: format_datetime(received),
            deadline: format_datetime(deadline),
            kind: kind_str(submission),
        }
    }
}

/// One case in the `digest`.
#[derive(Debug, Clone, Serialize)]
pub struct DigestCase {
    #[serde(flatten)]
    pub case: CaseLine,
    /// Client feedback about the service (SPEC §14).
    pub feedback: bool,
}

/// One case in the `escalation_list`.
#[derive(Debug, Clone, Serialize)]
pub struct EscalationLine {
    #[serde(flatten)]
    pub case: CaseLine,
    /// How long the deadline has passed.
    pub overdue_by: String,
}

/// Context of `escalation_list`.
#[derive(Debug, Clone, Serialize)]
pub struct EscalationListContext {
    pub count: usize,
    pub cases: Vec<EscalationLine>,
    pub org_name: String,
}

/// Context of `digest`.
#[derive(Debug, Clone, Serialize)]
pub struct DigestContext {
    /// `"25.11.2026"`
    pub date: String,
    pub due_today: Vec<DigestCase>,
    pub overdue: Vec<DigestCase>,
    pub org_name: String,
}

/// Context of `signature_warning`.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureWarningContext {
    pub author: String,
    pub author_name: String,
    pub subject: String,
    pub to: String,
    pub sent_at: String,
    pub missing: Vec<String>,
    pub missing_lv: Vec<String>,
    pub expected_signature: String,
    pub org_name: String,
}

impl SignatureWarningContext {
    /// `missing` are the codes (`organization`, `name`, `surname`,
    /// `contact`); their Latvian labels are filled in.
    #[allow(clippy::too_many_arguments)]
    pub fn new<Tz: TimeZone>(
        author: &str,
        author_name: &str,
        subject: &str,
        to: &[String],
        sent_at: &DateTime<Tz>,
        missing: &[String],
        expected_signature: &str,
        org_name: &str,
    ) -> SignatureWarningContext
    where
        Tz::Offset: std::fmt::Display,
    {
        SignatureWarningContext {
            author: author.into(),
            author_name: author_name.into(),
            subject: subject.into(),
            to: to.join(", "),
            sent_at: format_datetime(sent_at),
            missing: missing.to_vec(),
            missing_lv: missing_lv(missing),
            expected_signature: expected_signature.into(),
            org_name: org_name.into(),
        }
    }
}

fn kind_str(submission: bool) -> &'static str {
    if submission {
        "submission"
    } else {
        "email"
    }
}

/// Language of helper-formatted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Lv,
    En,
}

/// The week's working hours as lines, e.g. `"Pirmdiena 9.00–18.00"` (Latvian)
/// or `"Monday 9.00–18.00"`; days without hours are left out.
pub fn working_hours_lines(hours: &crate::config::WeekHours, lang: Lang) -> Vec<String> {
    use chrono::Weekday::*;
    let days = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
    let lv = [
        "Pirmdiena",
        "Otrdiena",
        "Trešdiena",
        "Ceturtdiena",
        "Piektdiena",
        "Sestdiena",
        "Svētdiena",
    ];
    let en = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let t = |x: chrono::NaiveTime| format!("{}", x.format("%-H.%M"));
    days.iter()
        .enumerate()
        .filter_map(|(i, d)| {
            hours.for_weekday(*d).map(|r| {
                let name = if lang == Lang::Lv { lv[i] } else { en[i] };
                format!("{name} {}–{}", t(r.open), t(r.close))
            })
        })
        .collect()
}

/// Latvian labels for the signature elements (`organization`, `name`,
/// `surname`, `contact`); an unknown code is passed through.
pub fn missing_lv<S: AsRef<str>>(codes: &[S]) -> Vec<String> {
    codes
        .iter()
        .map(|c| {
            match c.as_ref() {
                "organization" => "iestādes nosaukums",
                "name" => "vārds",
                "surname" => "uzvārds",
                "contact" => "kontaktinformācija",
                other => other,
            }
            .to_string()
        })
        .collect()
}

/// `"23.11.2026 09:14"` in the time zone of `dt`.
pub fn format_datetime<Tz: TimeZone>(dt: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    dt.format("%d.%m.%Y %H:%M").to_string()
}

/// `"25.11.2026"` in the time zone of `dt`.
pub fn format_date<Tz: TimeZone>(dt: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    dt.format("%d.%m.%Y").to_string()
}

/// A duration for people: `"45 min"`, `"4 h"`, `"3 h 20 min"`, `"2 d 1 h"`
/// (`d` counts 24-hour days). Negative durations are shown by magnitude.
pub fn format_duration(d: chrono::Duration) -> String {
    let total_min = d.num_minutes().unsigned_abs();
    let (days, hours, mins) = (total_min / 1440, (total_min / 60) % 24, total_min % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} d"));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if mins > 0 && days == 0 {
        parts.push(format!("{mins} min"));
    }
    if parts.is_empty() {
        "0 min".into()
    } else {
        parts.join(" ")
    }
}

/// Splits a template file into the subject template and the body template.
/// Both are padded with newlines so that minijinja's line numbers are the
/// file's. Errors carry the 1-based line.
fn split_source(src: &str) -> Result<(String, String), (usize, String)> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut pos = 0;
    // Skip leading whitespace and Jinja comments.
    loop {
        let rest = &src[pos..];
        let ws = rest.len() - rest.trim_start().len();
        pos += ws;
        if src[pos..].starts_with("{#") {
            match src[pos..].find("#}") {
                Some(end) => pos += end + 2,
                None => {
                    return Err((
                        line_of(src, pos),
                        "unterminated comment `{#` (close it with `#}`)".into(),
                    ))
                }
            }
        } else {
            break;
        }
    }
    let subject_line_no = line_of(src, pos);
    let rest = &src[pos..];
    let Some(after) = rest
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("subject:"))
        .map(|_| &rest[8..])
    else {
        return Err((
            subject_line_no,
            "the first line must be `Subject: …` followed by a blank line and the body".into(),
        ));
    };
    let (subject, body_start) = match after.find('\n') {
        Some(i) => (&after[..i], pos + 8 + i + 1),
        None => (after, src.len()),
    };
    let pad = |n: usize| "\n".repeat(n.saturating_sub(1));
    let subject_src = format!("{}{}", pad(subject_line_no), subject.trim_end_matches('\r'));
    let body_line_no = line_of(src, body_start.min(src.len()));
    let body_src = format!("{}{}", pad(body_line_no), &src[body_start.min(src.len())..]);
    Ok((subject_src, body_src))
}

fn line_of(src: &str, byte: usize) -> usize {
    src[..byte].matches('\n').count() + 1
}

fn jinja_error(file: &str, e: &minijinja::Error) -> TemplateError {
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    TemplateError::Template {
        file: file.to_string(),
        line: e.line(),
        message,
    }
}

/// The longest client subject an acknowledgement repeats (SPEC §5.3).
pub const REPEATED_SUBJECT_MAX: usize = 120;

/// A client's subject as an acknowledgement repeats it (SPEC §5.3): one
/// line (control characters become spaces, runs collapse) of at most
/// [`REPEATED_SUBJECT_MAX`] characters, cut with `…`.
pub fn repeated_subject(s: &str) -> String {
    // Bounded work whatever the sender wrote: look at a prefix only.
    let head: String = s.chars().take(REPEATED_SUBJECT_MAX * 8).collect();
    let line = one_line(&head);
    if head.len() == s.len() && line.chars().count() <= REPEATED_SUBJECT_MAX {
        return line;
    }
    let cut: String = line.chars().take(REPEATED_SUBJECT_MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Makes rendered subject text one line: control characters (CR, LF, tabs…)
/// become spaces, runs of spaces collapse, ends are trimmed.
fn one_line(s: &str) -> String {
    let replaced: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    replaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Context keys whose values come from mail headers and must stay on one
/// line wherever a template puts them (a client's subject with a line break
/// must not start a line of its own in the body).
const ONE_LINE_KEYS: [&str; 6] = ["subject", "client", "to", "author", "author_name", "case_id"];

fn one_line_fields(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                match val {
                    serde_json::Value::String(s) if ONE_LINE_KEYS.contains(&k.as_str()) => {
                        *s = one_line(s);
                    }
                    other => one_line_fields(other),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(one_line_fields),
        _ => {}
    }
}

/// A long list as a template sees it (see [`Templates::render_with_lists`]):
/// a sequence whose lines are converted when read.
#[derive(Debug)]
struct LazyLines<L>(Vec<L>);

impl<L: Serialize + std::fmt::Debug + Send + Sync + 'static> minijinja::value::Object for LazyLines<L> {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let line = self.0.get(key.as_usize()?)?;
        let mut json = serde_json::to_value(line).ok()?;
        one_line_fields(&mut json);
        Some(json_to_value(&json))
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.0.len())
    }
}

pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => a.iter().map(json_to_value).collect(),
        serde_json::Value::Object(o) => {
            Value::from_pairs(o.iter().map(|(k, v)| (k.as_str(), json_to_value(v))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_renders_with_its_sample() {
        let t = Templates::load(None).unwrap();
        assert!(t.check_all().is_empty(), "{:?}", t.check_all());
        for n in NAMES {
            let r = t.render(n, &Templates::sample_context(n)).unwrap();
            assert!(!r.subject.is_empty(), "{n}");
            assert!(!r.subject.contains('\n'), "{n}");
            assert!(r.text.contains("---\nIn English:"), "{n}: {}", r.text);
            assert!(!r.text.starts_with('\n'), "{n}");
            assert!(
                !r.text.contains("\n\n\n"),
                "{n} has a triple newline:\n{}",
                r.text
            );
        }
    }

    #[test]
    fn ack_content() {
        let t = Templates::load(None).unwrap();
        let r = t.render("ack", &Templates::sample_context("ack")).unwrap();
        assert_eq!(r.subject, "Auto: Jautājums par projekta pārskatu");
        assert!(r.text.starts_with("Labdien!\n\nApstiprinām, ka 23.11.2026 09:14 esam saņēmuši Jūsu e-pastu „Jautājums par projekta pārskatu”. Tam piešķirts numurs SIF-2026-00042."), "{}", r.text);
        assert!(r.text.contains("līdz 25.11.2026."));
        assert!(r.text.contains("  Pirmdiena 9.00–18.00\n  Otrdiena 9.00–17.00\n"));
        assert!(r.text.contains("  Monday 9.00–18.00\n"));
        assert!(r.text.contains("Tālr. +371 67078190\n"));
        // submission wording
        let mut ctx = Templates::sample_context("ack");
        ctx["kind"] = "submission".into();
        ctx["org_phone"] = "".into();
        ctx.as_object_mut().unwrap().remove("working_hours_en");
        let r = t.render("ack", &ctx).unwrap();
        assert!(r.text.contains("Jūsu iesniegumu"));
        assert!(r.text.contains("pēc būtības"));
        assert!(!r.text.contains("Tālr."));
        assert!(r.text.contains("Our working hours:\n  Pirmdiena"));
    }

    #[test]
    fn repeated_subject_table() {
        let long = "ā".repeat(200);
        let want_long = format!("{}…", "ā".repeat(119));
        let exact = "x".repeat(120);
        let table: &[(&str, &str)] = &[
            ("Jautājums", "Jautājums"),
            ("  a\r\nBcc: x@y.lv\n\nb\t c ", "a Bcc: x@y.lv b c"),
            ("\u{7}bell\u{1b}[31m", "bell [31m"),
            (&exact, &exact),
            (&long, &want_long),
            ("", ""),
        ];
        for (input, want) in table {
            assert_eq!(repeated_subject(input), *want, "{input:?}");
        }
        let huge = format!("{}{}", "Sveiki ".repeat(20_000), "\r\n".repeat(1000));
        let r = repeated_subject(&huge);
        assert!(r.chars().count() <= 120 && r.starts_with("Sveiki Sveiki"), "{r}");
        assert!(r.ends_with('…'));
        // Spaces at the cut are trimmed before the ellipsis.
        let r = repeated_subject(&format!("{} {}", "a".repeat(118), "b".repeat(50)));
        assert_eq!(r, format!("{}…", "a".repeat(118)));
    }

    #[test]
    fn lists_read_line_by_line_render_as_the_whole_context() {
        let t = Templates::load(None).unwrap();
        for (name, keys) in [
            ("digest", &["due_today", "overdue"][..]),
            ("escalation_list", &["cases"][..]),
            ("digest", &["overdue"][..]),
        ] {
            let mut whole = Templates::sample_context(name);
            // A line break in a listed subject, and an empty list.
            whole[keys[0]][0]["subject"] = "a\nBcc: x@example.com".into();
            if name == "digest" && keys.len() == 1 {
                whole["due_today"] = serde_json::json!([]);
            }
            let mut scalars = whole.clone();
            let mut lists = Vec::new();
            for k in ["due_today", "overdue", "cases"] {
                if let Some(v) = scalars.as_object_mut().and_then(|o| o.remove(k)) {
                    lists.push((k, v.as_array().cloned().unwrap_or_default()));
                }
            }
            let expected = t.render(name, &whole).unwrap();
            let got = t.render_with_lists(name, &scalars, lists).unwrap();
            assert_eq!(got, expected, "{name}");
            assert!(got.text.contains("„a Bcc: x@example.com”"), "{}", got.text);
        }
        let empty = t
            .render_with_lists(
                "digest",
                &serde_json::json!({"date": "25.11.2026", "org_name": "SIF"}),
                vec![
                    ("due_today", Vec::<serde_json::Value>::new()),
                    ("overdue", Vec::new()),
                ],
            )
            .unwrap();
        assert!(
            empty.subject.contains("šodien jāatbild 0, nokavētas 0"),
            "{}",
            empty.subject
        );
        assert!(empty.text.contains("Nokavētu lietu nav."), "{}", empty.text);
    }

    #[test]
    fn subject_with_newlines_stays_one_line() {
        let t = Templates::load(None).unwrap();
        let mut ctx = Templates::sample_context("ack");
        ctx["subject"] = "Hi\r\nBcc: victim@example.com\n\nbody".into();
        let r = t.render("ack", &ctx).unwrap();
        assert_eq!(r.subject, "Auto: Hi Bcc: victim@example.com body");
        assert!(r.text.starts_with("Labdien!"));
        assert!(r.text.contains("„Hi Bcc: victim@example.com body”"), "{}", r.text);
        // Also inside lists (digest cases).
        let mut ctx = Templates::sample_context("digest");
        ctx["overdue"][0]["subject"] = "a\nb".into();
        let r = t.render("digest", &ctx).unwrap();
        assert!(r.text.contains("„a b”"), "{}", r.text);
    }

    #[test]
    fn missing_variable_is_an_error_with_line() {
        let t = Templates::load(None).unwrap();
        let mut ctx = Templates::sample_context("reminder");
        ctx.as_object_mut().unwrap().remove("hours_left");
        let e = t.render("reminder", &ctx).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("built-in templates/reminder.txt:"), "{s}");
        match e {
            TemplateError::Template { line, .. } => assert!(line.is_some()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(t.render("nope", &ctx), Err(TemplateError::Unknown(_))));
    }

    #[test]
    fn overrides_and_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ack.txt"),
            "{# doc #}\nSubject: Saņemts {{ case_id }}\n\nPaldies, {{ case_idd }}!\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let errs = t.check_all();
        assert_eq!(errs.len(), 1, "{errs:?}");
        let s = errs[0].to_string();
        assert!(s.contains("ack.txt:4:"), "{s}");
        // Good override replaces the built-in.
        std::fs::write(
            dir.path().join("ack.txt"),
            "Subject: Saņemts {{ case_id }}\n\nPaldies!\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("remider.txt"), "Subject: x\n\ny\n").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let r = t.render("ack", &Templates::sample_context("ack")).unwrap();
        assert_eq!(r.subject, "Saņemts SIF-2026-00042");
        assert_eq!(r.text, "Paldies!\n");
        let errs = t.check_all();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("remider.txt"));
        // Syntax error names file and line at load.
        std::fs::write(
            dir.path().join("digest.txt"),
            "Subject: x\n\nline\n{% for c in due_today %}\n",
        )
        .unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("digest.txt:"), "{e}");
        // No Subject line.
        std::fs::write(dir.path().join("digest.txt"), "\n\nHello\n").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("digest.txt:3: the first line must be"), "{e}");
        // Missing directory.
        let e = Templates::load(Some(&dir.path().join("nope"))).unwrap_err();
        assert!(matches!(e, TemplateError::Directory { .. }));
    }

    #[test]
    fn typed_contexts() {
        let tz = chrono_tz::Europe::Riga;
        let r = tz.with_ymd_and_hms(2026, 11, 23, 9, 14, 0).unwrap();
        let d = tz.with_ymd_and_hms(2026, 12, 23, 9, 14, 0).unwrap();
        let e = serde_json::to_value(CaseNoticeContext::escalation(
            "SIF-2026-00001",
            "a@b.lv",
            "s",
            &r,
            &d,
            chrono::Duration::minutes(125),
            true,
            "Org",
        ))
        .unwrap();
        assert_eq!(e["overdue_by"], "2 h 5 min");
        assert_eq!(e["kind"], "submission");
        assert!(e.get("hours_left").is_none());
        assert_eq!(e["deadline"], "23.12.2026 09:14");
        let t = Templates::load(None).unwrap();
        let out = t.render("escalation", &e).unwrap();
        assert!(out.text.contains("SIF-2026-00001 (iesniegums)"), "{}", out.text);
        // A reminder context lacks overdue_by: the escalation template refuses it.
        let rem = CaseNoticeContext::reminder(
            "SIF-2026-00001",
            "a@b.lv",
            "s",
            &r,
            &d,
            chrono::Duration::hours(3),
            false,
            "Org",
        );
        assert!(t.render("escalation", &rem).is_err());
        assert!(t
            .render("reminder", &rem)
            .unwrap()
            .text
            .contains("3 h darba laika"));
        let w = SignatureWarningContext::new(
            "j@sif.gov.lv",
            "",
            "Re: x",
            &["a@b.lv".into(), "c@d.lv".into()],
            &r,
            &["surname".into()],
            "J",
            "Org",
        );
        let out = t.render("signature_warning", &w).unwrap();
        assert!(out.text.starts_with("Labdien!\n"), "{}", out.text);
        assert!(out.text.contains("(adresāts: a@b.lv, c@d.lv)"));
        assert!(out.text.contains("  – uzvārds\n"));
        assert!(out.text.contains("  - your surname\n"));
        assert_eq!(out.subject, "Parakstā trūkst: uzvārds („Re: x”)");
    }

    #[test]
    fn helpers() {
        assert_eq!(format_duration(chrono::Duration::minutes(45)), "45 min");
        assert_eq!(format_duration(chrono::Duration::minutes(240)), "4 h");
        assert_eq!(format_duration(chrono::Duration::minutes(200)), "3 h 20 min");
        assert_eq!(
            format_duration(chrono::Duration::minutes(-(26 * 60 + 5))),
            "1 d 2 h"
        );
        assert_eq!(format_duration(chrono::Duration::zero()), "0 min");
        assert_eq!(
            missing_lv(&["organization", "name", "surname", "contact", "x"]),
            [
                "iestādes nosaukums",
                "vārds",
                "uzvārds",
                "kontaktinformācija",
                "x"
            ]
        );
        let tz: chrono_tz::Tz = "Europe/Riga".parse().unwrap();
        let dt = tz.with_ymd_and_hms(2026, 11, 23, 9, 4, 0).unwrap();
        assert_eq!(format_datetime(&dt), "23.11.2026 09:04");
        assert_eq!(format_date(&dt), "23.11.2026");
    }
}
