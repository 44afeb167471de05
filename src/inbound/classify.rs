//! Who wrote a message and whether it needs an answer (SPEC §2, §5.2).
//!
//! Pure: a [`MessageMeta`], the folder kind it was found in and the
//! [`ClassifySettings`] give a [`Class`]. [`automatic_triggers`] lists every
//! §5.2 rule a message meets, for counting and logging.
//!
//! Order of decisions (see [`classify`]):
//! 1. **Own**: the gateway's loop header `X-Replygate-Loop`, a Message-ID the
//!    gateway generates (`replygate.<anything>@<org domain>`, see
//!    [`GATEWAY_MESSAGE_ID_PREFIX`]), or, in an inbox folder, From = the gateway
//!    address or one of its aliases.
//! 2. **Automatic**: any §5.2 trigger other than the out-of-office subject
//!    (a signal only) and `internal`. This wins over Staff and Internal too:
//!    an auto-reply or a bulk mail from the organisation never answers a case.
//!    Beyond SPEC's list (decisions, each with its reason at the rule):
//!    an out-of-office subject on a reply to the gateway's own message
//!    ([`Trigger::OofReplyToGateway`]); a calendar reply
//!    ([`Trigger::CalendarReply`], [`is_calendar_reply`]); bounce processors
//!    and Mailman `-bounces` robots as senders; `X-Auto-Reply` and
//!    `X-Autoresponder` as vendor markers; `reply.never_ack` words matched as
//!    words, not substrings (see `never_ack_matches`).
//! 3. From in `organization.domains` (the domain or a subdomain): **Staff** when
//!    found in a sent folder, or in an inbox when a To/Cc recipient is
//!    outside the organisation and the mail is proven internal
//!    ([`proven_internal`], SPEC §11.2) — unproven it is
//!    **UnverifiedInternal** and changes nothing; else **Internal** (a
//!    colleague writing to the shared mailbox).
//! 4. A sent folder message whose From is not in the organisation (say an
//!    alias domain that is missing from the config) was still sent from this
//!    mailbox: **Staff** (decision: better a reply answers its case than an
//!    unconfigured domain making every reply invisible).
//! 5. Otherwise **Client**.
//!
//! [`ack_recipient`] picks who gets a client's acknowledgement (SPEC §5.3).

use std::fmt;

use crate::config::Config;
use crate::inbound::message::{message_id_domain, MessageMeta};

/// The Message-ID local-part prefix of mail the gateway generates: the
/// outbox writes `<replygate.{random}@{first organisation domain}>`. A
/// Message-ID starting with this prefix whose domain is one of the
/// organisation's domains (or a subdomain) is the gateway's own.
pub const GATEWAY_MESSAGE_ID_PREFIX: &str = "replygate.";

/// The loop header the gateway puts on everything it sends.
pub const LOOP_HEADER: &str = "X-Replygate-Loop";

/// The kind of IMAP folder a message was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    Inbox,
    Sent,
}

impl FolderKind {
    /// The name the store keeps for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FolderKind::Inbox => "inbox",
            FolderKind::Sent => "sent",
        }
    }
}

/// What the classifier needs from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassifySettings {
    /// `organization.domains`, lower-case, without a leading `@`.
    pub org_domains: Vec<String>,
    /// The gateway's own address (`smtp.from`'s address), lower-case.
    pub gateway_address: String,
    /// Other addresses of the gateway (`imap.username`, `smtp.username`).
    pub gateway_aliases: Vec<String>,
    /// `reply.never_ack`, lower-case. An entry without `@` matches a run of
    /// whole words of the sender's local part (`noreply` matches
    /// `noreply-portal@x.lv`, `no_reply@`, `noreply2@`, not `noreplyjanis@`);
    /// `@domain` matches that domain and its subdomains; `local@domain`
    /// matches that address exactly.
    pub never_ack: Vec<String>,
    /// `reply.trusted_authserv_id`: only `Authentication-Results` headers with
    /// this authserv-id are believed. `None`: DMARC results are ignored.
    pub trusted_authserv_id: Option<String>,
    /// `reply.trust_exchange_headers`: `X-MS-Exchange-Organization-AuthAs:
    /// Internal` proves internal origin (SPEC §11.2).
    pub trust_exchange_headers: bool,
    /// `reply.internal_header` as (lower-case name, expected value if any).
    pub internal_header: Option<(String, Option<String>)>,
}

impl ClassifySettings {
    pub fn from_config(c: &Config) -> Self {
        let gateway_address = mailbox_address(&c.smtp.from);
        let mut gateway_aliases: Vec<String> = Vec::new();
        let candidates = std::iter::once(c.imap.username.as_str()).chain(c.smtp.username.as_deref());
        for a in candidates {
            let a = mailbox_address(a);
            if a.contains('@') && a != gateway_address && !gateway_aliases.contains(&a) {
                gateway_aliases.push(a);
            }
        }
        ClassifySettings {
            org_domains: c
                .organization
                .domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            gateway_address,
            gateway_aliases,
            never_ack: c
                .reply
                .never_ack
                .iter()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            trusted_authserv_id: c
                .reply
                .trusted_authserv_id
                .as_deref()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            trust_exchange_headers: c.reply.trust_exchange_headers,
            internal_header: c.reply.internal_header.as_deref().and_then(parse_internal_header),
        }
    }

    /// Is this address in one of the organisation's domains (or a subdomain)?
    pub fn is_org_address(&self, email: &str) -> bool {
        match email.rsplit_once('@') {
            Some((_, dom)) => self.is_org_domain(dom),
            None => false,
        }
    }

    /// Is this domain one of the organisation's, or a subdomain of one?
    pub fn is_org_domain(&self, domain: &str) -> bool {
        let dom = domain.trim().trim_end_matches('.').to_lowercase();
        self.org_domains.iter().any(|d| {
            dom == *d
                || (dom.len() > d.len()
                    && dom.ends_with(d.as_str())
                    && dom[..dom.len() - d.len()].ends_with('.'))
        })
    }

    /// Is this the gateway's address or one of its aliases?
    pub fn is_gateway_address(&self, email: &str) -> bool {
        let e = email.trim().to_lowercase();
        (!self.gateway_address.is_empty() && e == self.gateway_address) || self.gateway_aliases.contains(&e)
    }

    /// Is this a Message-ID the gateway generated (see [`GATEWAY_MESSAGE_ID_PREFIX`])?
    pub fn is_gateway_message_id(&self, id: &str) -> bool {
        let id = id.trim().trim_matches(['<', '>']);
        let lower = id.to_lowercase();
        lower.starts_with(GATEWAY_MESSAGE_ID_PREFIX)
            && message_id_domain(id).is_some_and(|d| self.is_org_domain(d))
    }
}

/// `"X-Internal-Origin: yes"` → (`x-internal-origin`, Some(`yes`));
/// `"X-Internal-Origin"` → (`x-internal-origin`, None).
pub fn parse_internal_header(s: &str) -> Option<(String, Option<String>)> {
    let (name, value) = match s.split_once(':') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (s.trim(), None),
    };
    if name.is_empty() {
        return None;
    }
    Some((
        name.to_ascii_lowercase(),
        value.filter(|v| !v.is_empty()).map(str::to_string),
    ))
}

/// The address inside a mailbox (`Name <a@b>` → `a@b`), lower-case.
fn mailbox_address(s: &str) -> String {
    let s = s.trim();
    let inner = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if b > a => &s[a + 1..b],
        _ => s,
    };
    inner.trim().to_lowercase()
}

/// What a message is, for the case engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Inbound client mail: opens or joins a case.
    Client,
    /// Outbound staff mail: may answer a case; its signature is checked.
    Staff,
    /// A colleague writing to the shared mailbox: no case, no ack.
    Internal,
    /// The gateway's own mail: never a case, never an answer.
    Own,
    /// Automatic or bulk mail: no case, no ack; the triggers say why.
    Automatic(Vec<Trigger>),
    /// An inbox message with an organisation From written to someone outside
    /// the organisation, without proof of internal origin (SPEC §11.2):
    /// anyone can write such a From. It answers, extends and opens nothing,
    /// gets no signature check; it is logged and counted.
    UnverifiedInternal,
}

impl Class {
    /// `client`, `staff`, `internal`, `own` or `automatic`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Client => "client",
            Class::Staff => "staff",
            Class::Internal => "internal",
            Class::Own => "own",
            Class::Automatic(_) => "automatic",
            Class::UnverifiedInternal => "unverified_internal",
        }
    }

    /// Does this message need no answer (no case, no acknowledgement)?
    pub fn needs_no_answer(&self) -> bool {
        matches!(
            self,
            Class::Internal | Class::Own | Class::Automatic(_) | Class::UnverifiedInternal
        )
    }
}

/// A §5.2 rule a message meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trigger {
    /// `Auto-Submitted` other than `no`.
    AutoSubmitted,
    /// `Precedence` / `X-Precedence` bulk, list, junk or auto_reply.
    Precedence,
    /// Any `List-*` header or `Mailing-List`.
    ListHeaders,
    /// `Return-Path: <>`.
    NullReturnPath,
    /// `X-Auto-Response-Suppress` with All, OOF or AutoReply.
    XAutoResponseSuppress,
    /// `X-Loop` or `X-No-Loop`.
    XLoop,
    /// `X-MS-Exchange-Generated-Message-Source` or `X-MS-Exchange-Inbox-Rules-Loop`.
    ExchangeOof,
    /// An out-of-office subject: a signal only, never enough alone.
    OofSubject,
    /// `multipart/report`, `X-Failed-Recipients`, or a mailer/list robot sender.
    DeliveryReport,
    /// The sender matches `reply.never_ack`.
    NeverAck,
    /// `dmarc=fail` from the trusted authserv-id.
    DmarcFail,
    /// From the organisation to the organisation only.
    Internal,
    /// A vendor auto-reply marker (`X-Autoreply`, `X-Autorespond`, ...).
    VendorAutoreply,
    /// An out-of-office subject on a reply to one of the gateway's own
    /// messages (In-Reply-To/References name a gateway Message-ID): a person
    /// answering an acknowledgement writes `Re:`, only an autoresponder puts
    /// an out-of-office prefix there. Decisive.
    OofReplyToGateway,
    /// A calendar reply (iTIP `METHOD:REPLY`: accepted, declined, tentative),
    /// generated by the calendar from a click. Decisive; see [`is_calendar_reply`].
    CalendarReply,
}

impl Trigger {
    /// The manifest's / log word for this trigger.
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::AutoSubmitted => "auto-submitted",
            Trigger::Precedence => "precedence",
            Trigger::ListHeaders => "list-headers",
            Trigger::NullReturnPath => "null-return-path",
            Trigger::XAutoResponseSuppress => "x-auto-response-suppress",
            Trigger::XLoop => "x-loop",
            Trigger::ExchangeOof => "exchange-oof",
            Trigger::OofSubject => "oof-subject",
            Trigger::DeliveryReport => "delivery-report",
            Trigger::NeverAck => "never-ack",
            Trigger::DmarcFail => "dmarc-fail",
            Trigger::Internal => "internal",
            Trigger::VendorAutoreply => "vendor-autoreply",
            Trigger::OofReplyToGateway => "oof-reply-to-gateway",
            Trigger::CalendarReply => "calendar-reply",
        }
    }

    /// Is this trigger, alone, proof that the message is automatic?
    /// (`oof-subject` is only a signal; `internal` is its own class.)
    pub fn is_decisive(&self) -> bool {
        !matches!(self, Trigger::OofSubject | Trigger::Internal)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies one message found in a folder of the given kind.
pub fn classify(m: &MessageMeta, folder: FolderKind, s: &ClassifySettings) -> Class {
    let from = m.from.as_ref().map(|a| a.email.as_str());
    if m.header(LOOP_HEADER).is_some()
        || m.message_id
            .as_deref()
            .is_some_and(|id| s.is_gateway_message_id(id))
        || (folder == FolderKind::Inbox && from.is_some_and(|f| s.is_gateway_address(f)))
    {
        return Class::Own;
    }
    let triggers = automatic_triggers(m, s);
    if triggers.iter().any(Trigger::is_decisive) {
        return Class::Automatic(triggers);
    }
    if from.is_some_and(|f| s.is_org_address(f)) {
        let outside = m.recipients().any(|a| !s.is_org_address(&a.email));
        return match folder {
            FolderKind::Sent => Class::Staff,
            FolderKind::Inbox if !outside => Class::Internal,
            FolderKind::Inbox if proven_internal(m, s) => Class::Staff,
            FolderKind::Inbox => Class::UnverifiedInternal,
        };
    }
    match folder {
        FolderKind::Sent => Class::Staff,
        FolderKind::Inbox => Class::Client,
    }
}

/// Is this (inbox) message proven to come from inside the organisation
/// (SPEC §11.2)? One of:
/// - the topmost `Authentication-Results` whose authserv-id is
///   `reply.trusted_authserv_id` says `dmarc=pass` (for an organisation
///   `header.from` when it names one), or `dkim=pass` with `header.d` an
///   organisation domain;
/// - `X-MS-Exchange-Organization-AuthAs: Internal`, only with
///   `reply.trust_exchange_headers`;
/// - the `reply.internal_header` (its value compared case-insensitively
///   when one is configured).
///
/// Decision: only the topmost field from the trusted id counts (it is the
/// one the receiving server added; lower ones may come from the sender).
pub fn proven_internal(m: &MessageMeta, s: &ClassifySettings) -> bool {
    if let Some(trusted) = s.trusted_authserv_id.as_deref() {
        let topmost = m
            .header_values("authentication-results")
            .find(|v| authserv_id(v).eq_ignore_ascii_case(trusted));
        if let Some(v) = topmost {
            if auth_results_prove_org(v, s) {
                return true;
            }
        }
    }
    if s.trust_exchange_headers
        && m.header_values("x-ms-exchange-organization-authas")
            .any(|v| v.trim().eq_ignore_ascii_case("internal"))
    {
        return true;
    }
    if let Some((name, want)) = &s.internal_header {
        let mut values = m.header_values(name);
        let ok = match want {
            Some(w) => values.any(|v| v.trim().eq_ignore_ascii_case(w)),
            None => values.next().is_some(),
        };
        if ok {
            return true;
        }
    }
    false
}

/// The authserv-id of an `Authentication-Results` value (the first word
/// before the first `;`).
fn authserv_id(v: &str) -> &str {
    let head = v.split(';').next().unwrap_or("");
    head.split_whitespace().next().unwrap_or("")
}

/// Removes RFC 5322 comments (`(...)`, nested) from a header value.
fn strip_comments(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut depth = 0usize;
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Does one `Authentication-Results` value (already from the trusted id)
/// say `dmarc=pass`, or `dkim=pass` for an organisation domain?
fn auth_results_prove_org(v: &str, s: &ClassifySettings) -> bool {
    let clean = strip_comments(v).to_ascii_lowercase();
    for resinfo in clean.split(';').skip(1) {
        let mut words = resinfo.split_whitespace();
        let Some(first) = words.next() else { continue };
        let Some((method, result)) = first.split_once('=') else {
            continue;
        };
        if result != "pass" {
            continue;
        }
        let props: Vec<(&str, &str)> = words.filter_map(|w| w.split_once('=')).collect();
        let prop = |name: &str| {
            props
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.trim_matches('"'))
        };
        match method {
            "dmarc" if prop("header.from").is_none_or(|d| s.is_org_domain(d)) => return true,
            "dkim" => {
                if let Some(d) = prop("header.d") {
                    if s.is_org_domain(d) {
                        return true;
                    }
                }
                // `header.i=@sif.gov.lv` names the signing domain too.
                if let Some(i) = prop("header.i") {
                    if i.rsplit_once('@').is_some_and(|(_, d)| s.is_org_domain(d)) {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// Why an address gets no acknowledgement (SPEC §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unacceptable {
    Syntax,
    NoDot,
    IpLiteral,
    Organisation,
    Gateway,
    NeverAck,
    Robot,
}

impl fmt::Display for Unacceptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unacceptable::Syntax => "not a valid address",
            Unacceptable::NoDot => "its domain has no dot",
            Unacceptable::IpLiteral => "its domain is an IP address",
            Unacceptable::Organisation => "it is an organisation address",
            Unacceptable::Gateway => "it is the gateway's own address",
            Unacceptable::NeverAck => "it matches reply.never_ack",
            Unacceptable::Robot => {
                "it is a mailer or list robot (MAILER-DAEMON, postmaster, *-request, owner-* ...)"
            }
        })
    }
}

/// Is `addr` acceptable as the recipient of an acknowledgement (SPEC §5.3)?
pub fn ack_acceptable(addr: &str, s: &ClassifySettings) -> Result<(), Unacceptable> {
    let a = addr.trim();
    let Some((local, domain)) = a.rsplit_once('@') else {
        return Err(Unacceptable::Syntax);
    };
    let d = domain.trim_end_matches('.');
    if d.starts_with('[')
        || d.parse::<std::net::IpAddr>().is_ok()
        || (!d.is_empty() && d.chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        return Err(Unacceptable::IpLiteral);
    }
    if local.is_empty()
        || a.len() > 254
        || local.len() > 64
        || a.chars().any(|c| c.is_control() || c.is_whitespace())
        || a.parse::<lettre::Address>().is_err()
        || d.split('.')
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        || !d.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
    {
        return Err(Unacceptable::Syntax);
    }
    if !d.contains('.') {
        return Err(Unacceptable::NoDot);
    }
    if s.is_gateway_address(a) {
        return Err(Unacceptable::Gateway);
    }
    if s.is_org_domain(d) {
        return Err(Unacceptable::Organisation);
    }
    if is_robot_local_part(local) {
        return Err(Unacceptable::Robot);
    }
    if s.never_ack.iter().any(|p| never_ack_matches(p, a)) {
        return Err(Unacceptable::NeverAck);
    }
    Ok(())
}

/// Who gets the acknowledgement of a client mail (SPEC §5.3): the Reply-To
/// address if there is exactly one and it is acceptable, else the From
/// address if acceptable, else nobody (the error says why, for the log).
pub fn ack_recipient(m: &MessageMeta, s: &ClassifySettings) -> Result<String, String> {
    let mut why = Vec::new();
    match m.reply_to.as_slice() {
        [] => {}
        [one] => match ack_acceptable(&one.email, s) {
            Ok(()) => return Ok(one.email.clone()),
            Err(e) => why.push(format!("Reply-To {}: {e}", one.email)),
        },
        many => why.push(format!("Reply-To has {} addresses", many.len())),
    }
    match &m.from {
        Some(f) => match ack_acceptable(&f.email, s) {
            Ok(()) => return Ok(f.email.clone()),
            Err(e) => why.push(format!("From {}: {e}", f.email)),
        },
        None => why.push("no From".into()),
    }
    Err(why.join("; "))
}

/// Every §5.2 rule the message meets, in a fixed order, without duplicates.
///
/// `internal` is recorded only when no decisive trigger fired: a bounce from
/// `MAILER-DAEMON@mx.<org domain>` is a delivery report, not internal mail.
pub fn automatic_triggers(m: &MessageMeta, s: &ClassifySettings) -> Vec<Trigger> {
    let mut t: Vec<Trigger> = Vec::new();
    fn add(x: Trigger, t: &mut Vec<Trigger>) {
        if !t.contains(&x) {
            t.push(x);
        }
    }

    if m.return_path.as_deref() == Some("") {
        add(Trigger::NullReturnPath, &mut t);
    }
    if m.header_values("auto-submitted").any(auto_submitted_is_auto) {
        add(Trigger::AutoSubmitted, &mut t);
    }
    const LIST_HEADERS: &[&str] = &[
        "list-id",
        "list-help",
        "list-subscribe",
        "list-unsubscribe",
        "list-post",
        "list-owner",
        "list-archive",
        "mailing-list",
    ];
    if LIST_HEADERS.iter().any(|h| m.header(h).is_some()) || has_list_server_header(m) {
        add(Trigger::ListHeaders, &mut t);
    }
    if m.header_values("precedence")
        .chain(m.header_values("x-precedence"))
        .any(precedence_is_bulk)
    {
        add(Trigger::Precedence, &mut t);
    }
    if m.header_values("x-auto-response-suppress").any(suppress_is_auto) {
        add(Trigger::XAutoResponseSuppress, &mut t);
    }
    if m.header("x-ms-exchange-generated-message-source").is_some()
        || m.header("x-ms-exchange-inbox-rules-loop").is_some()
    {
        add(Trigger::ExchangeOof, &mut t);
    }
    if has_vendor_autoreply(m) {
        add(Trigger::VendorAutoreply, &mut t);
    }
    if m.header("x-loop").is_some() || m.header("x-no-loop").is_some() {
        add(Trigger::XLoop, &mut t);
    }

    let sender = sender_address(m);
    let local = sender
        .as_deref()
        .map(|a| a.rsplit_once('@').map_or(a, |(l, _)| l))
        .unwrap_or("");
    if m.content_type == "multipart/report"
        || m.content_type == "message/delivery-status"
        || m.header("x-failed-recipients").is_some()
        || is_robot_local_part(local)
        || is_unmarked_delivery_report(m)
    {
        add(Trigger::DeliveryReport, &mut t);
    }
    if let Some(addr) = sender.as_deref() {
        if s.never_ack.iter().any(|p| never_ack_matches(p, addr)) {
            add(Trigger::NeverAck, &mut t);
        }
    }
    if let Some(trusted) = s.trusted_authserv_id.as_deref() {
        if m.header_values("authentication-results")
            .any(|v| dmarc_fail_from(v, trusted))
        {
            add(Trigger::DmarcFail, &mut t);
        }
    }
    if is_oof_subject(&m.subject) {
        add(Trigger::OofSubject, &mut t);
        if m.in_reply_to
            .iter()
            .chain(m.references.iter())
            .any(|id| s.is_gateway_message_id(id))
        {
            add(Trigger::OofReplyToGateway, &mut t);
        }
    }
    if is_calendar_reply(m) {
        add(Trigger::CalendarReply, &mut t);
    }
    let decisive = t.iter().any(Trigger::is_decisive);
    if !decisive {
        if let Some(f) = m.from.as_ref() {
            if s.is_org_address(&f.email)
                && !s.is_gateway_address(&f.email)
                && m.recipients().all(|a| s.is_org_address(&a.email))
            {
                add(Trigger::Internal, &mut t);
            }
        }
    }
    t
}

/// The sender for the robot/never-ack rules: From, else a non-empty Return-Path.
fn sender_address(m: &MessageMeta) -> Option<String> {
    m.from
        .as_ref()
        .map(|a| a.email.clone())
        .or_else(|| m.return_path.clone().filter(|r| !r.is_empty()))
}

fn first_token(v: &str) -> String {
    v.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// RFC 3834: any value other than `no` (parameters after `;` ignored). An
/// empty value is not `no` either.
fn auto_submitted_is_auto(v: &str) -> bool {
    first_token(v) != "no"
}

fn precedence_is_bulk(v: &str) -> bool {
    matches!(
        first_token(v).as_str(),
        "bulk" | "list" | "junk" | "auto_reply" | "auto-reply"
    )
}

fn suppress_is_auto(v: &str) -> bool {
    v.split([',', ';', ' ', '\t']).map(|tok| tok.trim()).any(|tok| {
        ["all", "oof", "autoreply"]
            .iter()
            .any(|w| tok.eq_ignore_ascii_case(w))
    })
}

fn is_falsy(v: &str) -> bool {
    matches!(first_token(v).as_str(), "no" | "false" | "0" | "off")
}

/// Vendor auto-reply markers; a present marker with an explicit `no`/`false`
/// value does not count.
fn has_vendor_autoreply(m: &MessageMeta) -> bool {
    const MARKERS: &[&str] = &[
        "x-autoreply",
        "x-autorespond",
        "x-autoresponse",
        "x-autoreply-from",
        "x-mail-autoreply",
        // Not in SPEC's list, same meaning (osTicket, cPanel, Cyrus):
        "x-auto-reply",
        "x-autoresponder",
    ];
    MARKERS.iter().any(|h| m.header_values(h).any(|v| !is_falsy(v)))
        || m.header_values("x-autogenerated")
            .any(|v| first_token(v) == "reply")
        || m.header_values("x-fc-machinegenerated")
            .any(|v| first_token(v) == "true")
}

/// Mailer and list robots (RFC 3834 §2, RFC 2142 and common practice):
/// `MAILER-DAEMON`, `postmaster`, `LISTSERV`, `majordomo`, `*-request`,
/// `owner-*`, and bounce processors (`bounce`, `bounces`, `bounce+…`,
/// `bounce-…`, Mailman's `*-bounces`). A sub-address (`+…`) is ignored
/// first: `fondi-bounces+anna=inbox.lv` is a list robot.
fn is_robot_local_part(local: &str) -> bool {
    let l = local.trim().trim_matches('"').to_ascii_lowercase();
    if matches!(l.as_str(), "bounce" | "bounces") || l.starts_with("bounce+") || l.starts_with("bounces+") {
        return true;
    }
    let l = l.split('+').next().unwrap_or("");
    matches!(
        l,
        "mailer-daemon" | "mailer_daemon" | "mailerdaemon" | "postmaster" | "listserv" | "majordomo"
    ) || (l.len() > "-request".len() && l.ends_with("-request"))
        || (l.len() > "owner-".len() && l.starts_with("owner-"))
        || (l.len() > "-bounces".len() && l.ends_with("-bounces"))
        || (l.len() > "bounce-".len() && l.starts_with("bounce-"))
        || (l.len() > "bounces-".len() && l.starts_with("bounces-"))
}

/// See [`ClassifySettings::never_ack`] for the matching rules.
///
/// Decision for an entry without `@`: it matches when its letters equal a
/// run of consecutive words of the local part, words being split at
/// anything that is not a letter (`.`, `-`, `_`, `+`, digits). So `noreply`
/// matches `noreply`, `no-reply`, `no_reply.notifications`, `NoReply2`,
/// `portal-noreply`, `do-not-reply` (for `donotreply`); it does not match a
/// person whose name merely starts with the letters (`noreplyjanis`).
fn never_ack_matches(pattern: &str, addr: &str) -> bool {
    let addr = addr.to_lowercase();
    let (local, domain) = addr.rsplit_once('@').unwrap_or((addr.as_str(), ""));
    if let Some(dom) = pattern.strip_prefix('@') {
        return !domain.is_empty() && (domain == dom || domain.ends_with(&format!(".{dom}")));
    }
    if pattern.contains('@') {
        return addr == pattern;
    }
    let want: String = pattern.chars().filter(|c| c.is_alphabetic()).collect();
    if want.is_empty() {
        return false;
    }
    let words: Vec<&str> = local
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    (0..words.len()).any(|i| {
        let mut run = String::new();
        for w in &words[i..] {
            run.push_str(w);
            if run == want {
                return true;
            }
            if run.len() >= want.len() {
                return false;
            }
        }
        false
    })
}

/// Subject prefixes of meeting responses (Outlook/Exchange, Gmail,
/// Thunderbird), lower-case, without the colon.
const CALENDAR_RESPONSE_PREFIXES: &[&str] = &[
    "accepted",
    "declined",
    "tentative",
    "tentatively accepted",
    "updated invitation with note",
    "pieņemts",
    "noraidīts",
    "iepriekš pieņemts",
    "provizoriski pieņemts",
    "angenommen",
    "abgelehnt",
    "mit vorbehalt angenommen",
    "vorläufig angenommen",
    "принято",
    "отклонено",
    "под вопросом",
    "предварительно принято",
];

/// Is this a calendar reply (iTIP `METHOD:REPLY`)?
///
/// Decision (SPEC §5.2 does not list it): accepting, declining or
/// tentatively accepting an invitation produces a machine-written message
/// from one click; it asks nothing and needs no answer, so it opens no case
/// and gets no acknowledgement. Evidence: a `text/calendar` part with
/// `method=REPLY` (see [`MessageMeta::calendar_method`], whole message
/// needed for a multipart), or, from headers alone, Exchange's
/// `Content-Class: urn:content-classes:calendarmessage` together with a
/// meeting-response subject (`Accepted:`, `Pieņemts:`, ...). An invitation
/// (`METHOD:REQUEST`) or a counter-proposal from a client stays a client mail.
pub fn is_calendar_reply(m: &MessageMeta) -> bool {
    if m.calendar_method
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("reply"))
    {
        return true;
    }
    let calendar_class = m.header_values("content-class").any(|v| {
        v.trim()
            .eq_ignore_ascii_case("urn:content-classes:calendarmessage")
    });
    if !calendar_class || m.calendar_method.is_some() {
        return false;
    }
    let subj = m.subject.trim().to_lowercase();
    CALENDAR_RESPONSE_PREFIXES.iter().any(|p| {
        subj.strip_prefix(p)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// `Authentication-Results: <authserv-id> [version]; ... dmarc=fail ...`
/// counts only when the authserv-id is the trusted one: any other may be forged
/// by the sender.
fn dmarc_fail_from(value: &str, trusted: &str) -> bool {
    let Some((id_part, results)) = value.split_once(';') else {
        return false;
    };
    let id = id_part.split_whitespace().next().unwrap_or("");
    if !id.eq_ignore_ascii_case(trusted) {
        return false;
    }
    let lower = results.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(p) = rest.find("dmarc") {
        let before_ok = p == 0 || !rest.as_bytes()[p - 1].is_ascii_alphanumeric();
        let after = rest[p + "dmarc".len()..].trim_start();
        if before_ok {
            if let Some(val) = after.strip_prefix('=') {
                let val = val.trim_start();
                let word: String = val.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                if word == "fail" {
                    return true;
                }
            }
        }
        rest = &rest[p + "dmarc".len()..];
    }
    false
}

/// Out-of-office subject prefixes in the languages the mailbox sees
/// (Outlook/Exchange, Gmail, Thunderbird wordings), lower-case, without the
/// trailing colon.
const OOF_PREFIXES: &[&str] = &[
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "out of office",
    "out of the office",
    "out-of-office",
    "automātiskā atbilde",
    "automātiska atbilde",
    "automatiskā atbilde",
    "prombūtnē",
    "abwesenheitsnotiz",
    "automatische antwort",
    "автоматический ответ",
    "автоответ",
    "automatinis atsakymas",
    "automaatne vastus",
    "automaattinen vastaus",
    "automatiskt svar",
    "automatisk svar",
    "automatisch antwoord",
    "réponse automatique",
    "respuesta automática",
    "risposta automatica",
    "odpowiedź automatyczna",
    "vacation reply",
];

/// Does the subject start with an out-of-office prefix (followed by `:`)?
pub fn is_oof_subject(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    OOF_PREFIXES.iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    }) || s.contains("out of office")
}

// ---------------------------------------------------------------------------
// Delivery reports and robot notices without the standard markers (SPEC §5.2,
// issue 9 deliverable 8). Real bounces from old or unusual MTAs, antivirus
// gateways and webmail providers often carry no `multipart/report`, no
// `X-Failed-Recipients`, no null Return-Path and no MAILER-DAEMON sender.
// Headers alone decide here when the evidence is strong (a robot sender, or a
// report subject together with a second sign); a weaker case is left to
// [`needs_body_check`] and the body phrases in `bounce::is_robot_notice`.
// A person who writes "my mail was returned", or forwards a bounce
// (`Fwd: Undeliverable: ...`), stays a client.
// ---------------------------------------------------------------------------

/// Subject starts (after whitespace, never after `Re:`/`Fwd:`) of delivery
/// reports and robot notices of the common MTAs and gateways, lower-case.
const REPORT_SUBJECT_STARTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "undelivered message",
    "undeliverable mail",
    "returned mail",
    "mail returned",
    "returning message to sender",
    "delivery status notification",
    "delivery notification",
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "delivery report",
    "delivery problem",
    "mail delivery failed",
    "mail delivery failure",
    "mail delivery error",
    "mail delivery problem",
    "mail delivery system",
    "message delivery failure",
    "message not delivered",
    "message undeliverable",
    "message could not be delivered",
    "failure notice",
    "failure delivery",
    "nondeliverable",
    "non-deliverable",
    "non-delivery",
    "non delivery",
    "notice: mail delivery status",
    "mail system error",
    "postmaster notify",
    "returned to sender",
    "could not send message",
    "warning: could not send message",
    "delayed mail",
    "delivery delayed",
    "message you sent blocked",
    "**message you sent blocked",
    "virus found",
    "virus alert",
    "virus detected",
    "mail rejected",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "non recapitabile",
    "onbestelbaar",
    "olevererbart",
    "kan ikke leveres",
    "no se puede entregar",
    "niedostarczalne",
    "nepiegādāts",
    "nepiegādājams",
    "недоставленное сообщение",
    "не доставлено",
    "сообщение не доставлено",
    "ваше сообщение не доставлено",
];

/// Subjects that contain one of these anywhere are report-like (a second
/// sign is still needed), lower-case.
const REPORT_SUBJECT_WORDS: &[&str] = &[
    "undeliver",
    "undelivered",
    "not delivered",
    "delivery status",
    "delivery failure",
    "delivery failed",
    "mail delivery",
    "returned mail",
    "failure notice",
    "mail failure",
    "non-delivery",
    "nondelivery",
    "could not be delivered",
    "returning message",
    "メールエラー",
    "配信エラー",
    "不達",
];

/// Does the subject carry a reply or forward prefix (`Re:`, `Fwd:`, `AW:`,
/// `Pārsūt.:`...)? A person answering or forwarding wrote it.
fn has_reply_or_forward_prefix(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    const PREFIXES: &[&str] = &[
        "re",
        "fw",
        "fwd",
        "aw",
        "wg",
        "sv",
        "vs",
        "tr",
        "rv",
        "enc",
        "atb",
        "pārsūt",
        "pārs",
        "pāradr",
        "отв",
        "пересл",
        "ответ",
    ];
    let Some((head, _)) = s.split_once(':') else {
        return false;
    };
    let head = head.trim().trim_end_matches('.');
    PREFIXES.contains(&head) || head.starts_with("re[") || head.starts_with("re(")
}

/// Is the subject that of a delivery report (start) or like one (words)?
fn report_subject(subject: &str) -> (bool, bool) {
    if has_reply_or_forward_prefix(subject) {
        return (false, false);
    }
    let s = subject
        .trim()
        .trim_start_matches(['*', '[', '(', ' '])
        .to_lowercase();
    let starts = REPORT_SUBJECT_STARTS.iter().any(|p| s.starts_with(p));
    let words = starts || REPORT_SUBJECT_WORDS.iter().any(|w| s.contains(w));
    (starts, words)
}

/// Display names of mailer robots, lower-case substrings.
const ROBOT_NAMES: &[&str] = &[
    "mail delivery",
    "mailer-daemon",
    "mailer daemon",
    "mail deliver",
    "postmaster",
    "post master",
    "system administrator",
    "mail administrator",
    "mail system",
    "mailsystem",
    "content-filter",
    "content filter",
    "antivirus",
    "anti-virus",
    "virus scanner",
    "e-mail interconnect",
    "delivery status",
    "delivery notification",
];

/// Local parts of mailer robots beyond [`is_robot_local_part`]'s RFC names.
fn is_robot_like_local_part(local: &str) -> bool {
    let l = local.trim().trim_matches('"').to_ascii_lowercase();
    let l = l.split('+').next().unwrap_or("");
    let squeezed: String = l.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    matches!(
        squeezed.as_str(),
        "postmaster"
            | "mailerdaemon"
            | "maildaemon"
            | "mdaemon"
            | "smtpdaemon"
            | "maildelivery"
            | "mailadmin"
            | "ndr"
            | "nondelivery"
            | "deliverystatus"
            | "mailsystem"
    )
}

/// The From display name, lower-case.
fn from_name(m: &MessageMeta) -> String {
    m.from
        .as_ref()
        .and_then(|a| a.name.as_deref())
        .unwrap_or("")
        .to_lowercase()
}

/// A sender that looks like a robot: robot-like local part (`post_master`,
/// `mail-daemon`), a robot display name ("Mail Delivery System",
/// "System Administrator"), or a From without any address (`MAILER-DAEMON <>`).
fn robot_like_sender(m: &MessageMeta) -> bool {
    let Some(f) = m.from.as_ref() else {
        return true;
    };
    let local = f.email.rsplit_once('@').map_or(f.email.as_str(), |(l, _)| l);
    f.email.trim().is_empty() || is_robot_like_local_part(local) || {
        let n = from_name(m);
        ROBOT_NAMES.iter().any(|r| n.contains(r))
    }
}

/// A delivery report or robot notice recognisable from the headers without
/// the standard markers:
/// - a robot-like sender address (`post_master@`, `mail-daemon@`);
/// - a report subject start ("Undeliverable:", "Returned mail:", "Delivery
///   Status Notification", "failure notice", ...) together with a second
///   sign: a robot display name, `Auto-Submitted`, a null or missing
///   Return-Path, a returned message or its headers attached, or no
///   Message-ID.
pub fn is_unmarked_delivery_report(m: &MessageMeta) -> bool {
    let local = m
        .from
        .as_ref()
        .map(|a| a.email.rsplit_once('@').map_or(a.email.as_str(), |(l, _)| l))
        .unwrap_or("");
    if m.from.as_ref().is_some_and(|f| !f.email.trim().is_empty()) && is_robot_like_local_part(local) {
        return true;
    }
    let (starts, _) = report_subject(&m.subject);
    if !starts {
        return false;
    }
    robot_like_sender(m)
        || m.header("auto-submitted").is_some()
        || m.return_path
            .as_deref()
            .is_some_and(|r| r.trim().is_empty() || r.contains("MAILER-DAEMON"))
        || m.message_id.is_none()
        || has_returned_message_part(m)
}

/// Does the BODYSTRUCTURE summary show a returned message (`message/rfc822`,
/// `text/rfc822-headers`) next to the text?
fn has_returned_message_part(m: &MessageMeta) -> bool {
    m.content_type.starts_with("multipart/")
        && m.attachments.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a.ends_with(".eml") || a.ends_with(".msg") || a.contains("rfc822")
        })
}

/// Should the sync read the whole message and look for the phrases of an
/// MTA or gateway report (`bounce::is_robot_notice`) before treating this
/// client mail as one? True for report-like subjects (not replies or
/// forwards), robot-like display names, and mail without a subject or a
/// Message-ID: cheap signs that cost one body fetch, never a decision.
pub fn needs_body_check(m: &MessageMeta) -> bool {
    if has_reply_or_forward_prefix(&m.subject) {
        return false;
    }
    let (_, words) = report_subject(&m.subject);
    words || robot_like_sender(m) || m.subject.trim().is_empty() || m.message_id.is_none()
}

/// Mailing-list servers that mark their mail with their own header (fml,
/// ezmlm, Sympa, Listar) instead of `List-*` fields.
fn has_list_server_header(m: &MessageMeta) -> bool {
    [
        "x-mlserver",
        "x-ml-name",
        "x-ml-count",
        "mailing-list",
        "x-mailing-list",
        "x-sympa-to",
        "x-ezmlm-id",
    ]
    .iter()
    .any(|h| m.header(h).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::message::Address;

    fn settings() -> ClassifySettings {
        ClassifySettings {
            org_domains: vec!["sif.gov.lv".into()],
            gateway_address: "pasts@sif.gov.lv".into(),
            gateway_aliases: vec!["gateway@sif.gov.lv".into()],
            never_ack: vec![
                "noreply".into(),
                "no-reply".into(),
                "donotreply".into(),
                "mailer-daemon".into(),
                "@spam.example".into(),
                "alerts@bank.example".into(),
            ],
            trusted_authserv_id: Some("mx.sif.gov.lv".into()),
            ..ClassifySettings::default()
        }
    }

    fn addr(e: &str) -> Address {
        Address {
            name: None,
            email: e.into(),
        }
    }

    /// A plain client mail to the shared mailbox plus the given headers.
    fn mail(from: &str, to: &[&str], subject: &str, headers: &[(&str, &str)]) -> MessageMeta {
        MessageMeta {
            message_id: Some("abc@client.example".into()),
            from: Some(addr(from)),
            to: to.iter().map(|t| addr(t)).collect(),
            subject: subject.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
            content_type: "text/plain".into(),
            ..MessageMeta::default()
        }
    }

    fn client(headers: &[(&str, &str)]) -> MessageMeta {
        mail("anna@inbox.lv", &["pasts@sif.gov.lv"], "Jautājums", headers)
    }

    fn auto(ts: &[Trigger]) -> Class {
        Class::Automatic(ts.to_vec())
    }

    #[test]
    fn single_header_rules() {
        use Trigger::*;
        let s = settings();
        let table: &[(&[(&str, &str)], Class)] = &[
            (&[], Class::Client),
            (&[("Auto-Submitted", "auto-replied")], auto(&[AutoSubmitted])),
            (
                &[("Auto-Submitted", "Auto-Generated; owner-email=x@y")],
                auto(&[AutoSubmitted]),
            ),
            (&[("Auto-Submitted", "no")], Class::Client),
            (&[("Auto-Submitted", "No ; comment")], Class::Client),
            (&[("List-Id", "<forum.lists.example>")], auto(&[ListHeaders])),
            (&[("List-Unsubscribe", "<mailto:x@y>")], auto(&[ListHeaders])),
            (&[("List-Archive", "<https://x>")], auto(&[ListHeaders])),
            (&[("Mailing-List", "contact x@y")], auto(&[ListHeaders])),
            (&[("Precedence", "bulk")], auto(&[Precedence])),
            (&[("Precedence", "LIST")], auto(&[Precedence])),
            (&[("Precedence", "junk")], auto(&[Precedence])),
            (&[("X-Precedence", "auto_reply")], auto(&[Precedence])),
            (&[("Precedence", "first-class")], Class::Client),
            (
                &[("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")],
                auto(&[XAutoResponseSuppress]),
            ),
            (
                &[("X-Auto-Response-Suppress", "all")],
                auto(&[XAutoResponseSuppress]),
            ),
            (&[("X-Auto-Response-Suppress", "DR, RN")], Class::Client),
            (
                &[("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent")],
                auto(&[ExchangeOof]),
            ),
            (
                &[("X-MS-Exchange-Inbox-Rules-Loop", "someone@sif.gov.lv")],
                auto(&[ExchangeOof]),
            ),
            (&[("X-Autoreply", "yes")], auto(&[VendorAutoreply])),
            (&[("X-Autorespond", "x")], auto(&[VendorAutoreply])),
            (&[("X-AutoReply-From", "a@b")], auto(&[VendorAutoreply])),
            (&[("X-Mail-Autoreply", "1")], auto(&[VendorAutoreply])),
            (&[("X-Autogenerated", "Reply")], auto(&[VendorAutoreply])),
            (&[("X-Autogenerated", "Forward")], Class::Client),
            (&[("X-FC-Machinegenerated", "true")], auto(&[VendorAutoreply])),
            (&[("X-FC-Machinegenerated", "false")], Class::Client),
            (&[("X-Loop", "pasts@sif.gov.lv")], auto(&[XLoop])),
            (&[("X-No-Loop", "")], auto(&[XLoop])),
            (&[("X-Failed-Recipients", "a@b")], auto(&[DeliveryReport])),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; spf=fail smtp.mailfrom=x; dmarc=fail (p=reject) header.from=x",
                )],
                auto(&[DmarcFail]),
            ),
            (
                &[(
                    "Authentication-Results",
                    "MX.SIF.GOV.LV 1; DMARC = FAIL header.from=x",
                )],
                auto(&[DmarcFail]),
            ),
            // A-R from another authserv-id may be forged: ignored.
            (
                &[(
                    "Authentication-Results",
                    "mx.evil.example; dmarc=fail header.from=x",
                )],
                Class::Client,
            ),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dmarc=pass header.from=x",
                )],
                Class::Client,
            ),
            (
                &[("Authentication-Results", "mx.sif.gov.lv; arc=fail; dmarc=none")],
                Class::Client,
            ),
            // Unrelated headers mean nothing.
            (&[("X-Mailer", "Outlook"), ("Importance", "high")], Class::Client),
        ];
        for (headers, want) in table {
            let m = client(headers);
            assert_eq!(&classify(&m, FolderKind::Inbox, &s), want, "{headers:?}");
        }
    }

    #[test]
    fn return_path_rules() {
        let s = settings();
        let mut m = client(&[]);
        m.return_path = Some(String::new());
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[Trigger::NullReturnPath])
        );
        m.return_path = None;
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
        m.return_path = Some("anna@inbox.lv".into());
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
    }

    #[test]
    fn sender_rules() {
        use Trigger::*;
        let s = settings();
        let table: &[(&str, Class)] = &[
            ("MAILER-DAEMON@mx.example.lv", auto(&[DeliveryReport, NeverAck])),
            ("postmaster@example.lv", auto(&[DeliveryReport])),
            ("LISTSERV@lists.example.org", auto(&[DeliveryReport])),
            ("majordomo@example.org", auto(&[DeliveryReport])),
            ("forum-request@lists.example.org", auto(&[DeliveryReport])),
            ("owner-forum@lists.example.org", auto(&[DeliveryReport])),
            ("noreply@latvija.gov.lv", auto(&[NeverAck])),
            ("No-Reply.Portal@vid.gov.lv", auto(&[NeverAck])),
            ("system-donotreply@bank.example", auto(&[NeverAck])),
            ("anyone@spam.example", auto(&[NeverAck])),
            ("anyone@mx.spam.example", auto(&[NeverAck])),
            ("alerts@bank.example", auto(&[NeverAck])),
            ("other@bank.example", Class::Client),
            ("requests@example.org", Class::Client),
            ("owner@example.org", Class::Client),
            ("reply@example.org", Class::Client),
            // never_ack words match whole runs of the local part's words.
            ("no_reply.notifications@portal.example", auto(&[NeverAck])),
            ("noreply2@portal.example", auto(&[NeverAck])),
            ("portal-noreply@portal.example", auto(&[NeverAck])),
            ("do-not-reply@portal.example", auto(&[NeverAck])),
            ("do_not_reply@portal.example", auto(&[NeverAck])),
            ("no.reply@portal.example", auto(&[NeverAck])),
            ("noreplyjanis@gmail.com", Class::Client),
            ("janisnoreply@gmail.com", Class::Client),
            ("replyno@gmail.com", Class::Client),
            ("norepl@gmail.com", Class::Client),
            // Bounce processors and list robots, sub-addresses ignored.
            ("bounce@mail.shop.example", auto(&[DeliveryReport])),
            ("bounces+123-abc@mail.shop.example", auto(&[DeliveryReport])),
            ("bounce-mc.us1_1.2-x=y@mail.mcsv.example", auto(&[DeliveryReport])),
            ("fondi-bounces@lists.example.lv", auto(&[DeliveryReport])),
            (
                "fondi-bounces+anna=inbox.lv@lists.example.lv",
                auto(&[DeliveryReport]),
            ),
            ("fondi-request+x@lists.example.lv", auto(&[DeliveryReport])),
            ("postmaster+ndr@example.lv", auto(&[DeliveryReport])),
            ("bouncer@example.lv", Class::Client),
            ("bouncekaste@example.lv", Class::Client),
            ("-bounces@example.lv", Class::Client),
        ];
        for (from, want) in table {
            let mut m = client(&[]);
            m.from = Some(addr(&from.to_lowercase()));
            assert_eq!(&classify(&m, FolderKind::Inbox, &s), want, "{from}");
        }
    }

    #[test]
    fn oof_subject_replying_to_the_gateway_is_automatic() {
        use Trigger::*;
        let s = settings();
        let mut m = mail(
            "anna@inbox.lv",
            &["pasts@sif.gov.lv"],
            "Out of Office: Auto: x",
            &[],
        );
        m.in_reply_to = vec!["replygate.abc@sif.gov.lv".into()];
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[OofSubject, OofReplyToGateway])
        );
        m.in_reply_to.clear();
        m.references = vec!["x@inbox.lv".into(), "replygate.abc@sif.gov.lv".into()];
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[OofSubject, OofReplyToGateway])
        );
        // A human answering the acknowledgement writes Re: and stays a client.
        m.subject = "Re: Auto: x".into();
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
        // An OOF subject replying to someone else's message: only a signal.
        m.subject = "Out of Office: Auto: x".into();
        m.references = vec!["replygate.abc@evil.example".into(), "y@inbox.lv".into()];
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
    }

    #[test]
    fn calendar_replies() {
        let s = settings();
        let cc = [("Content-Class", "urn:content-classes:calendarmessage")];
        type Row<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)], bool);
        let table: &[Row] = &[
            ("Accepted: Tikšanās", Some("REPLY"), &[], true),
            ("Tikšanās", Some("reply"), &[], true),
            ("Accepted: Tikšanās", None, &cc, true),
            ("Pieņemts: Tikšanās", None, &cc, true),
            ("Tentatively Accepted: Tikšanās", None, &cc, true),
            ("Declined : Tikšanās", None, &cc, true),
            // An invitation or a counter-proposal asks for an answer.
            ("Tikšanās", Some("REQUEST"), &cc, false),
            ("Accepted: Tikšanās", Some("COUNTER"), &cc, false),
            ("New Time Proposed: Tikšanās", None, &cc, false),
            // The subject alone proves nothing.
            ("Accepted: mans pieteikums?", None, &[], false),
            ("Re: Accepted: Tikšanās", None, &cc, false),
        ];
        for (subj, method, headers, want) in table {
            let mut m = mail("anna@inbox.lv", &["pasts@sif.gov.lv"], subj, headers);
            m.calendar_method = method.map(str::to_string);
            assert_eq!(is_calendar_reply(&m), *want, "{subj} {method:?}");
            let c = classify(&m, FolderKind::Inbox, &s);
            if *want {
                assert_eq!(c, auto(&[Trigger::CalendarReply]), "{subj}");
            } else {
                assert_eq!(c, Class::Client, "{subj}");
            }
        }
    }

    #[test]
    fn multipart_report_is_a_delivery_report() {
        let s = settings();
        let mut m = client(&[]);
        m.content_type = "multipart/report".into();
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[Trigger::DeliveryReport])
        );
    }

    #[test]
    fn oof_subject_is_only_a_signal() {
        let s = settings();
        for subj in [
            "Automatic reply: Jautājums",
            "Automātiskā atbilde: Jautājums",
            "Out of Office: x",
            "AUTOREPLY: x",
            "Abwesenheitsnotiz: x",
            "Автоматический ответ: x",
            "Réponse automatique : x",
        ] {
            let m = mail("anna@inbox.lv", &["pasts@sif.gov.lv"], subj, &[]);
            assert!(is_oof_subject(subj), "{subj}");
            assert_eq!(automatic_triggers(&m, &s), vec![Trigger::OofSubject], "{subj}");
            assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client, "{subj}");
            let m = mail(
                "anna@inbox.lv",
                &["pasts@sif.gov.lv"],
                subj,
                &[("Auto-Submitted", "auto-replied")],
            );
            assert_eq!(
                classify(&m, FolderKind::Inbox, &s),
                auto(&[Trigger::AutoSubmitted, Trigger::OofSubject]),
                "{subj}"
            );
        }
        for subj in [
            "Re: Jautājums",
            "Automatic replies are annoying",
            "Autoreplyer question",
        ] {
            assert!(!is_oof_subject(subj), "{subj}");
        }
    }

    #[test]
    fn own_mail() {
        let s = settings();
        // Loop header, anywhere.
        let m = client(&[("X-Replygate-Loop", "pasts@sif.gov.lv")]);
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Own);
        assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Own);
        // The gateway's Message-ID format.
        let mut m = mail("pasts@sif.gov.lv", &["anna@inbox.lv"], "Auto: x", &[]);
        m.message_id = Some("replygate.5f2a9c@sif.gov.lv".into());
        assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Own);
        // The prefix with a foreign domain is not ours.
        let mut m = client(&[]);
        m.message_id = Some("replygate.5f2a9c@evil.example".into());
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
        // From = gateway (or alias) in the inbox: own; in Sent: a staff reply.
        for gw in ["pasts@sif.gov.lv", "gateway@sif.gov.lv"] {
            let m = mail(gw, &["anna@inbox.lv"], "Re: x", &[]);
            assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Own, "{gw}");
        }
        let m = mail("pasts@sif.gov.lv", &["anna@inbox.lv"], "Re: x", &[]);
        assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Staff);
    }

    #[test]
    fn org_senders() {
        let s = settings();
        // A staff reply to a client, in Sent or with the client among recipients.
        let m = mail("janis.berzins@sif.gov.lv", &["anna@inbox.lv"], "Atb: x", &[]);
        assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Staff);
        // In an inbox only with proof of internal origin (SPEC §11.2).
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::UnverifiedInternal);
        let proof = (
            "Authentication-Results",
            "mx.sif.gov.lv; dmarc=pass header.from=sif.gov.lv",
        );
        let m = mail("janis.berzins@sif.gov.lv", &["anna@inbox.lv"], "Atb: x", &[proof]);
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Staff);
        // A client in Cc only.
        let mut m = mail(
            "janis.berzins@sif.gov.lv",
            &["pasts@sif.gov.lv"],
            "Atb: x",
            &[proof],
        );
        m.cc = vec![addr("anna@inbox.lv")];
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Staff);
        // A colleague to the shared mailbox (subdomains count as the org).
        for from in ["ilze.abolina@sif.gov.lv", "x@riga.sif.gov.lv"] {
            let m = mail(from, &["pasts@sif.gov.lv"], "Dežūras", &[]);
            assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Internal, "{from}");
            assert_eq!(automatic_triggers(&m, &s), vec![Trigger::Internal], "{from}");
            assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Staff, "{from}");
        }
        // A look-alike domain is not the org.
        let m = mail("x@notsif.gov.lv", &["pasts@sif.gov.lv"], "x", &[]);
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
        // A colleague's out-of-office is automatic, not internal, not staff.
        let oof = [("Auto-Submitted", "auto-replied")];
        let m = mail(
            "ilze.abolina@sif.gov.lv",
            &["pasts@sif.gov.lv"],
            "Automatic reply: x",
            &oof,
        );
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[Trigger::AutoSubmitted, Trigger::OofSubject])
        );
        let m = mail(
            "ilze.abolina@sif.gov.lv",
            &["anna@inbox.lv"],
            "Automatic reply: x",
            &oof,
        );
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[Trigger::AutoSubmitted, Trigger::OofSubject])
        );
        // Bulk mail from the org (a newsletter with list headers) never answers a case.
        let m = mail(
            "jaunumi@sif.gov.lv",
            &["anna@inbox.lv"],
            "Jaunumi",
            &[("List-Unsubscribe", "<mailto:u@sif.gov.lv>")],
        );
        assert_eq!(classify(&m, FolderKind::Sent, &s), auto(&[Trigger::ListHeaders]));
        // A staff reply whose subject quotes an OOF subject is still staff.
        let m = mail(
            "janis.berzins@sif.gov.lv",
            &["anna@inbox.lv"],
            "Re: Automatic reply: x",
            &[],
        );
        assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Staff);
        // Org mail from MAILER-DAEMON is a delivery report, not internal.
        let m = mail(
            "MAILER-DAEMON@mx.sif.gov.lv".to_lowercase().as_str(),
            &["pasts@sif.gov.lv"],
            "Undelivered",
            &[],
        );
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[Trigger::DeliveryReport, Trigger::NeverAck])
        );
    }

    #[test]
    fn sent_folder_foreign_sender_is_staff() {
        let s = settings();
        let m = mail("janis@sif.lv", &["anna@inbox.lv"], "Atb: x", &[]);
        assert_eq!(classify(&m, FolderKind::Sent, &s), Class::Staff);
    }

    #[test]
    fn missing_from_is_classified_without_panic() {
        let s = settings();
        let mut m = client(&[]);
        m.from = None;
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
        m.return_path = Some("mailer-daemon@x.example".into());
        assert_eq!(
            classify(&m, FolderKind::Inbox, &s),
            auto(&[Trigger::DeliveryReport, Trigger::NeverAck])
        );
    }

    #[test]
    fn every_rule_is_recorded() {
        let s = settings();
        let mut m = mail(
            "MAILER-DAEMON@mx.sif.gov.lv".to_lowercase().as_str(),
            &["pasts@sif.gov.lv"],
            "Out of Office: x",
            &[
                ("Auto-Submitted", "auto-replied"),
                ("Precedence", "bulk"),
                ("X-Loop", "x"),
            ],
        );
        m.return_path = Some(String::new());
        m.content_type = "multipart/report".into();
        let got: std::collections::BTreeSet<Trigger> = automatic_triggers(&m, &s).into_iter().collect();
        let want: std::collections::BTreeSet<Trigger> = [
            Trigger::NullReturnPath,
            Trigger::AutoSubmitted,
            Trigger::Precedence,
            Trigger::XLoop,
            Trigger::DeliveryReport,
            Trigger::NeverAck,
            Trigger::OofSubject,
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn trigger_words() {
        let all = [
            (Trigger::AutoSubmitted, "auto-submitted"),
            (Trigger::Precedence, "precedence"),
            (Trigger::ListHeaders, "list-headers"),
            (Trigger::NullReturnPath, "null-return-path"),
            (Trigger::XAutoResponseSuppress, "x-auto-response-suppress"),
            (Trigger::XLoop, "x-loop"),
            (Trigger::ExchangeOof, "exchange-oof"),
            (Trigger::OofSubject, "oof-subject"),
            (Trigger::DeliveryReport, "delivery-report"),
            (Trigger::NeverAck, "never-ack"),
            (Trigger::DmarcFail, "dmarc-fail"),
            (Trigger::Internal, "internal"),
            (Trigger::VendorAutoreply, "vendor-autoreply"),
            (Trigger::OofReplyToGateway, "oof-reply-to-gateway"),
            (Trigger::CalendarReply, "calendar-reply"),
        ];
        for (t, w) in all {
            assert_eq!(t.as_str(), w);
            assert_eq!(t.to_string(), w);
        }
    }

    #[test]
    fn no_trusted_authserv_ignores_dmarc() {
        let mut s = settings();
        s.trusted_authserv_id = None;
        let m = client(&[("Authentication-Results", "mx.sif.gov.lv; dmarc=fail")]);
        assert_eq!(classify(&m, FolderKind::Inbox, &s), Class::Client);
    }

    #[test]
    fn settings_from_config() {
        let toml = r#"
[organization]
name = "Sabiedrības integrācijas fonds"
domains = ["SIF.gov.lv", "@sif.lv"]
[imap]
host = "imap.example.lv"
username = "Pasts@sif.gov.lv"
password_env = "X"
[smtp]
host = "smtp.example.lv"
from = "Sabiedrības integrācijas fonds <Gateway@SIF.gov.lv>"
[reply]
never_ack = ["NoReply"]
trusted_authserv_id = "mx.sif.gov.lv"
[reminders]
team = "klienti@sif.gov.lv"
"#;
        let c = crate::config::from_str(toml).expect("test config parses");
        let s = ClassifySettings::from_config(&c);
        assert_eq!(s.gateway_address, "gateway@sif.gov.lv");
        assert_eq!(s.gateway_aliases, vec!["pasts@sif.gov.lv".to_string()]);
        assert_eq!(
            s.org_domains,
            vec!["sif.gov.lv".to_string(), "sif.lv".to_string()]
        );
        assert_eq!(s.never_ack, vec!["noreply".to_string()]);
        assert_eq!(s.trusted_authserv_id.as_deref(), Some("mx.sif.gov.lv"));
        assert!(s.is_gateway_address("PASTS@sif.gov.lv"));
        assert!(s.is_org_address("a@x.sif.lv"));
        assert!(s.is_gateway_message_id("<replygate.abc@sif.gov.lv>"));
    }

    /// SPEC §11.2: which inbox mail from the organisation, written to a
    /// client, is staff mail.
    #[test]
    fn proof_of_internal_origin() {
        let base = |headers: &[(&str, &str)]| {
            mail(
                "janis.berzins@sif.gov.lv",
                &["anna@inbox.lv", "pasts@sif.gov.lv"],
                "Atb: Jautājums",
                headers,
            )
        };
        let mut s = settings();
        let u = Class::UnverifiedInternal;
        let table: &[(&[(&str, &str)], Class)] = &[
            (&[], u.clone()),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dkim=pass header.d=sif.gov.lv; dmarc=pass header.from=sif.gov.lv",
                )],
                Class::Staff,
            ),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dmarc=pass (p=reject) header.from=sif.gov.lv",
                )],
                Class::Staff,
            ),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dkim=pass header.d=sif.gov.lv; dmarc=none",
                )],
                Class::Staff,
            ),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dkim=pass header.i=@mail.sif.gov.lv",
                )],
                Class::Staff,
            ),
            // A forger's own DKIM domain proves nothing.
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dkim=pass header.d=evil.example; dmarc=none header.from=sif.gov.lv",
                )],
                u.clone(),
            ),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dkim=pass header.d=evil.example",
                )],
                u.clone(),
            ),
            // Results from another authserv-id are the sender's own words.
            (
                &[(
                    "Authentication-Results",
                    "mx.evil.example; dmarc=pass header.from=sif.gov.lv",
                )],
                u.clone(),
            ),
            // A pass inside a comment is no pass.
            (
                &[("Authentication-Results", "mx.sif.gov.lv; spf=none (dmarc=pass)")],
                u.clone(),
            ),
            (
                &[(
                    "Authentication-Results",
                    "mx.sif.gov.lv; dmarc=passed header.from=sif.gov.lv",
                )],
                u.clone(),
            ),
            // Only the topmost field from the trusted id counts.
            (
                &[
                    (
                        "Authentication-Results",
                        "mx.sif.gov.lv; dmarc=fail header.from=sif.gov.lv",
                    ),
                    (
                        "Authentication-Results",
                        "mx.sif.gov.lv; dmarc=pass header.from=sif.gov.lv",
                    ),
                ],
                // dmarc=fail is also a §5.2 trigger.
                Class::Automatic(vec![Trigger::DmarcFail]),
            ),
            (
                &[
                    (
                        "Authentication-Results",
                        "mx.sif.gov.lv; spf=pass smtp.mailfrom=sif.gov.lv",
                    ),
                    (
                        "Authentication-Results",
                        "mx.sif.gov.lv; dmarc=pass header.from=sif.gov.lv",
                    ),
                ],
                u.clone(),
            ),
            // Exchange's header is believed only when configured.
            (&[("X-MS-Exchange-Organization-AuthAs", "Internal")], u.clone()),
            (&[("X-Internal-Origin", "yes")], u.clone()),
        ];
        for (headers, want) in table {
            assert_eq!(
                classify(&base(headers), FolderKind::Inbox, &s),
                *want,
                "{headers:?}"
            );
            // Sent folders are staff mail by definition.
            if !matches!(want, Class::Automatic(_)) {
                assert_eq!(
                    classify(&base(headers), FolderKind::Sent, &s),
                    Class::Staff,
                    "{headers:?}"
                );
            }
        }
        s.trust_exchange_headers = true;
        s.internal_header = parse_internal_header("X-Internal-Origin: yes");
        let table: &[(&[(&str, &str)], Class)] = &[
            (&[("X-MS-Exchange-Organization-AuthAs", "Internal")], Class::Staff),
            (&[("X-MS-Exchange-Organization-AuthAs", "Anonymous")], u.clone()),
            (&[("X-Internal-Origin", "YES")], Class::Staff),
            (&[("X-Internal-Origin", "no")], u.clone()),
        ];
        for (headers, want) in table {
            assert_eq!(
                classify(&base(headers), FolderKind::Inbox, &s),
                *want,
                "{headers:?}"
            );
        }
        s.internal_header = parse_internal_header("X-Internal-Origin");
        assert_eq!(
            classify(&base(&[("X-Internal-Origin", "anything")]), FolderKind::Inbox, &s),
            Class::Staff
        );
        // Colleague to colleague stays internal (it changes nothing anyway).
        let m = mail("ilze@sif.gov.lv", &["pasts@sif.gov.lv"], "Kopīgās", &[]);
        assert_eq!(classify(&m, FolderKind::Inbox, &settings()), Class::Internal);
        assert!(Class::UnverifiedInternal.needs_no_answer());
        assert_eq!(Class::UnverifiedInternal.as_str(), "unverified_internal");
    }

    /// SPEC §5.3: who gets the acknowledgement.
    #[test]
    fn ack_recipients() {
        let s = settings();
        let m = |from: &str, reply_to: &[&str]| MessageMeta {
            from: (!from.is_empty()).then(|| addr(from)),
            reply_to: reply_to.iter().map(|a| addr(a)).collect(),
            ..MessageMeta::default()
        };
        let table: &[(&str, &[&str], Option<&str>)] = &[
            ("anna@inbox.lv", &[], Some("anna@inbox.lv")),
            (
                "anna@inbox.lv",
                &["anna.work@firma.lv"],
                Some("anna.work@firma.lv"),
            ),
            // More than one Reply-To: From.
            (
                "anna@inbox.lv",
                &["a@firma.lv", "b@firma.lv"],
                Some("anna@inbox.lv"),
            ),
            // Unacceptable Reply-To: From.
            ("anna@inbox.lv", &["klienti@sif.gov.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["x@mail.sif.gov.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["victim@[127.0.0.1]"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["victim@10.0.0.1"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["noreply@firma.lv"], Some("anna@inbox.lv")),
            (
                "anna@inbox.lv",
                &["no-reply.portal@firma.lv"],
                Some("anna@inbox.lv"),
            ),
            ("anna@inbox.lv", &["pasts@sif.gov.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["postmaster@firma.lv"], Some("anna@inbox.lv")),
            (
                "anna@inbox.lv",
                &["fondi-request@firma.lv"],
                Some("anna@inbox.lv"),
            ),
            ("anna@inbox.lv", &["owner-fondi@firma.lv"], Some("anna@inbox.lv")),
            (
                "anna@inbox.lv",
                &["MAILER-DAEMON@firma.lv"],
                Some("anna@inbox.lv"),
            ),
            ("anna@inbox.lv", &["root@localhost"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["a b@firma.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["a@fir_ma.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["a@-firma.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["a@@firma.lv"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["a@spam.example"], Some("anna@inbox.lv")),
            ("anna@inbox.lv", &["alerts@bank.example"], Some("anna@inbox.lv")),
            // Nobody.
            ("noreply@portal.lv", &[], None),
            ("noreply@portal.lv", &["list@sif.gov.lv"], None),
            ("anna@localhost", &[], None),
            ("", &[], None),
            ("janis@sif.gov.lv", &[], None),
        ];
        for (from, rt, want) in table {
            let got = ack_recipient(&m(from, rt), &s);
            assert_eq!(
                got.as_ref().ok().map(String::as_str),
                *want,
                "{from} {rt:?}: {got:?}"
            );
        }
        // The reason names what was wrong.
        let e = ack_recipient(&m("noreply@portal.lv", &["x@[1.2.3.4]"]), &s).unwrap_err();
        assert!(e.contains("IP address") && e.contains("never_ack"), "{e}");
    }
}
