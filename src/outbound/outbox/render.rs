//! Rendering: a case (or a notice) and a template become a composed
//! message with its final Message-ID, ready to be queued.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::OutboxError;
use crate::cases::signature;
use crate::config::Config;
use crate::inbound::message::Address;
use crate::outbound::compose::{self, AutoReply, Outgoing};
use crate::outbound::templates::{
    self, AckContext, CaseLine, CaseNoticeContext, DigestCase, EscalationLine, SignatureWarningContext,
    Templates,
};
use crate::rules::calendar::Calendar;
use crate::rules::deadline::CaseKind;
use crate::store::Case;

/// Renders and composes the gateway's messages.
pub struct Composer<'a> {
    pub cfg: &'a Config,
    pub cal: &'a Calendar,
    pub templates: &'a Templates,
    /// Domain of generated Message-IDs (the first organisation domain).
    pub domain: String,
    /// The randomness of Message-IDs, drawn by the caller (`rand::random`
    /// in the pipeline, fixed values in tests).
    pub random: &'a dyn Fn() -> u128,
}

impl<'a> Composer<'a> {
    pub fn new(
        cfg: &'a Config,
        cal: &'a Calendar,
        templates: &'a Templates,
        random: &'a dyn Fn() -> u128,
    ) -> Self {
        let domain = cfg
            .organization
            .domains
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".into());
        Composer {
            cfg,
            cal,
            templates,
            domain,
            random,
        }
    }

    /// A new Message-ID from the injected randomness ([`Composer::ack_as`]
    /// takes one drawn on another thread).
    pub(super) fn message_id(&self) -> String {
        compose::message_id((self.random)(), &self.domain)
    }

    pub(super) fn dt(&self, t: DateTime<Utc>) -> String {
        templates::format_datetime(&self.cal.to_local(t))
    }

    pub(super) fn render(
        &self,
        name: &'static str,
        ctx: &impl serde::Serialize,
    ) -> Result<templates::Rendered, OutboxError> {
        self.render_with_lists::<()>(name, ctx, Vec::new())
    }

    /// [`Composer::render`] with long lists of lines (see
    /// [`Templates::render_with_lists`]).
    fn render_with_lists<L>(
        &self,
        name: &'static str,
        ctx: &impl serde::Serialize,
        lists: Vec<(&'static str, Vec<L>)>,
    ) -> Result<templates::Rendered, OutboxError>
    where
        L: serde::Serialize + std::fmt::Debug + Send + Sync + 'static,
    {
        self.templates
            .render_with_lists(name, ctx, lists)
            .map_err(|source| OutboxError::Template { name, source })
    }

    fn submission(c: &Case) -> bool {
        c.kind == CaseKind::Submission
    }

    pub fn ack(&self, c: &Case, now: DateTime<Utc>) -> Result<Outgoing, OutboxError> {
        self.ack_as(c, now, &self.message_id())
    }

    /// The acknowledgement of `c` with the Message-ID `mid`: the
    /// composing alone, which draws no randomness, so it can run on
    /// another thread than the one that drew `mid`.
    pub(super) fn ack_as(&self, c: &Case, now: DateTime<Utc>, mid: &str) -> Result<Outgoing, OutboxError> {
        let ctx = AckContext::new(
            &c.id,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            &c.subject,
            Self::submission(c),
            &self.cfg.organization,
            &self.cfg.calendar.hours,
        );
        let r = self.render("ack", &ctx)?;
        compose::auto_reply(&AutoReply {
            from: &self.cfg.smtp.from,
            to: &c.reply_to,
            subject: &r.subject,
            text: &r.text,
            in_reply_to: c.last_client_msgid.as_deref(),
            references: &c.last_client_refs,
            message_id: mid,
            date: now,
        })
        .map_err(|source| OutboxError::Compose {
            what: format!("the acknowledgement of {}", c.id),
            source,
        })
    }

    pub(super) fn notice(
        &self,
        what: String,
        to: &[String],
        cc: &[String],
        r: &templates::Rendered,
        now: DateTime<Utc>,
        related: Option<&str>,
    ) -> Result<Outgoing, OutboxError> {
        let mid = self.message_id();
        compose::staff_notice(
            &self.cfg.smtp.from,
            to,
            cc,
            &r.subject,
            &r.text,
            &mid,
            now,
            related,
        )
        .map_err(|source| OutboxError::Compose { what, source })
    }

    pub fn reminder(&self, c: &Case, now: DateTime<Utc>) -> Result<Outgoing, OutboxError> {
        let ctx = CaseNoticeContext::reminder(
            &c.id,
            &c.client,
            &c.subject,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            working_time_between(self.cal, now, c.deadline),
            Self::submission(c),
            &self.cfg.organization.name,
        );
        let r = self.render("reminder", &ctx)?;
        let to = vec![self.cfg.reminders.team.clone()];
        self.notice(
            format!("the reminder for {}", c.id),
            &to,
            &[],
            &r,
            now,
            c.last_client_msgid.as_deref(),
        )
    }

    /// The quality owner's notice of client feedback (SPEC §14).
    pub fn feedback_notice(
        &self,
        c: &Case,
        matched: &str,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, OutboxError> {
        let ctx = CaseNoticeContext::feedback(
            &c.id,
            &c.client,
            &c.subject,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            matched,
            Self::submission(c),
            &self.cfg.organization.name,
        );
        let r = self.render("feedback_notice", &ctx)?;
        self.notice(
            format!("the feedback notice for {}", c.id),
            &self.cfg.feedback.notify,
            &[],
            &r,
            now,
            c.last_client_msgid.as_deref(),
        )
    }

    pub fn escalation(&self, c: &Case, now: DateTime<Utc>) -> Result<Outgoing, OutboxError> {
        let ctx = CaseNoticeContext::escalation(
            &c.id,
            &c.client,
            &c.subject,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            now - c.deadline,
            Self::submission(c),
            &self.cfg.organization.name,
        );
        let r = self.render("escalation", &ctx)?;
        let to = self.cfg.reminders.escalate_to.clone();
        let cc = vec![self.cfg.reminders.team.clone()];
        self.notice(
            format!("the escalation for {}", c.id),
            &to,
            &cc,
            &r,
            now,
            c.last_client_msgid.as_deref(),
        )
    }

    /// A case as a line of a list ([`Composer::digest`],
    /// [`Composer::escalation_list`]).
    fn case_line(&self, c: &Case) -> CaseLine {
        CaseLine::new(
            &c.id,
            &c.client,
            &c.subject,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            Self::submission(c),
        )
    }

    /// One line of an [`Composer::escalation_list`].
    pub fn escalation_line(&self, c: &Case, now: DateTime<Utc>) -> EscalationLine {
        EscalationLine {
            case: self.case_line(c),
            overdue_by: templates::format_duration(now - c.deadline),
        }
    }

    /// One escalation for many cases (`reminders.combine_escalations_over`),
    /// to the same people as [`Composer::escalation`].
    pub fn escalation_list(
        &self,
        cases: Vec<EscalationLine>,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, OutboxError> {
        let ctx = serde_json::json!({
            "count": cases.len(),
            "org_name": self.cfg.organization.name,
        });
        let r = self.render_with_lists("escalation_list", &ctx, vec![("cases", cases)])?;
        let to = self.cfg.reminders.escalate_to.clone();
        let cc = vec![self.cfg.reminders.team.clone()];
        self.notice(
            "the escalation listing overdue cases".to_string(),
            &to,
            &cc,
            &r,
            now,
            None,
        )
    }

    /// One line of a [`Composer::digest`].
    pub fn digest_line(&self, c: &Case, feedback: bool) -> DigestCase {
        DigestCase {
            case: self.case_line(c),
            feedback,
        }
    }

    pub fn digest(
        &self,
        date: NaiveDate,
        due: Vec<DigestCase>,
        overdue: Vec<DigestCase>,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, OutboxError> {
        let ctx = serde_json::json!({
            "date": date.format("%d.%m.%Y").to_string(),
            "org_name": self.cfg.organization.name,
        });
        let r = self.render_with_lists("digest", &ctx, vec![("due_today", due), ("overdue", overdue)])?;
        let to = vec![self.cfg.reminders.team.clone()];
        self.notice(format!("the digest of {date}"), &to, &[], &r, now, None)
    }

    pub fn signature_warning(
        &self,
        author: &Address,
        subject: &str,
        to: &[String],
        sent_at: DateTime<Utc>,
        missing: &[crate::config::SignatureElement],
        now: DateTime<Utc>,
    ) -> Result<Outgoing, OutboxError> {
        let codes: Vec<String> = missing.iter().map(element_code).collect();
        let ctx = SignatureWarningContext::new(
            &author.email,
            author.name.as_deref().unwrap_or_default(),
            subject,
            to,
            &self.cal.to_local(sent_at),
            &codes,
            &signature::expected_signature(author, &self.cfg.staff, &self.cfg.organization),
            &self.cfg.organization.name,
        );
        let r = self.render("signature_warning", &ctx)?;
        let rcpt = vec![author.email.clone()];
        self.notice(
            format!("the signature warning to {}", author.email),
            &rcpt,
            &self.cfg.signature.cc,
            &r,
            now,
            None,
        )
    }
}

/// The code of a signature element as in JSON (`organization`, `name`, ...).
pub fn element_code(e: &crate::config::SignatureElement) -> String {
    use crate::config::SignatureElement::*;
    match e {
        Organization => "organization",
        Name => "name",
        Surname => "surname",
        Contact => "contact",
    }
    .to_string()
}

/// Working time between two instants (for "4 h left").
fn working_time_between(cal: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    if to <= from {
        return Duration::zero();
    }
    // Binary search on subtract_working_time would be exact; walking back by
    // minutes is plenty for a reminder text and bounded by `before`.
    let mut lo = Duration::zero();
    let mut hi = to - from;
    while hi - lo > Duration::minutes(1) {
        let mid = lo + (hi - lo) / 2;
        if cal.subtract_working_time(to, mid) >= from {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}
