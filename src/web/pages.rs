//! The dashboard's HTML (SPEC §12): `/`, `/report`, `/cases/CASE`.
//! Latvian first, English beside it (`lang="en"`); semantic HTML with
//! landmarks, captions and header cells, labels on the form, colours with
//! AA contrast; charts are inline SVG (charts.rs) each followed by a table
//! of its numbers. Rendered with minijinja, HTML auto-escaping on: every
//! value from mail (addresses, subjects, audit details) is escaped.

use minijinja::{context, AutoEscape, Environment, Value};
use serde::Serialize;

use crate::report::{render::hours, Report};

const STYLE: &str = r#"
body{font-family:system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0;line-height:1.5}
header,main,footer{max-width:64rem;margin:0 auto;padding:0 1rem}
header{border-bottom:2px solid #1f5f99}
a{color:#0b4f8a}
a:focus,input:focus,button:focus{outline:3px solid #b35c00;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
.en{color:#4a4a4a;font-size:.9em}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;max-width:100%}
th,td{border:1px solid #767676;padding:.25rem .5rem;text-align:left}
th,td,dd,p{overflow-wrap:anywhere}
td.n,th.n{text-align:right}
caption{text-align:left;font-weight:bold;padding:.25rem 0}
figure{margin:1rem 0}
nav ul{list-style:none;padding:0;display:flex;gap:1.5rem;flex-wrap:wrap}
.bad{color:#a4262c;font-weight:bold}
form{display:flex;gap:1rem;align-items:end;flex-wrap:wrap;margin:1rem 0}
label{display:block;font-weight:bold}
input,button{font-size:1rem;padding:.25rem .5rem}
button{background:#1f5f99;color:#fff;border:0;border-radius:3px;padding:.4rem .9rem}
"#;

const LAYOUT: &str = r##"<!DOCTYPE html>
<html lang="lv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} — replygate</title>
<style>{{ style }}</style>
</head>
<body>
<a class="skip" href="#saturs">Pāriet uz saturu <span lang="en">(skip to content)</span></a>
<header>
<p><strong>{{ org }}</strong> · replygate</p>
<nav aria-label="Galvenā navigācija">
<ul>
<li><a href="/{{ q }}">Pārskats <span lang="en" class="en">Dashboard</span></a></li>
<li><a href="/report{{ q }}">Atskaite <span lang="en" class="en">Report</span></a></li>
<li><a href="/metrics{{ q }}">Metrikas <span lang="en" class="en">Metrics</span></a></li>
</ul>
</nav>
</header>
<main id="saturs">
{% block main %}{% endblock %}
</main>
<footer><p>Laiki: {{ tz }} · <span lang="en">Times are {{ tz }} local.</span> Stāvoklis uz <span lang="en">as of</span> {{ as_of }}.</p></footer>
</body>
</html>
"##;

const SUMMARY: &str = r#"{% macro summary(r, caption) %}
<table class="summary">
<caption>{{ caption }}</caption>
<thead><tr><th scope="col">Rādītājs <span lang="en" class="en">Measure</span></th><th scope="col" class="n">Vērtība <span lang="en" class="en">Value</span></th></tr></thead>
<tbody>
<tr><th scope="row">Saņemti gadījumi <span lang="en" class="en">Cases received</span></th><td class="n" data-field="cases.total">{{ r.cases.total }}</td></tr>
<tr><th scope="row">E-pasti <span lang="en" class="en">E-mail</span></th><td class="n" data-field="cases.email">{{ r.cases.email }}</td></tr>
<tr><th scope="row">Iesniegumi <span lang="en" class="en">Submissions</span></th><td class="n" data-field="cases.submission">{{ r.cases.submission }}</td></tr>
<tr><th scope="row">Slēgti manuāli <span lang="en" class="en">Closed by hand</span></th><td class="n" data-field="cases.closed_by_hand">{{ r.cases.closed_by_hand }}</td></tr>
<tr><th scope="row">Apstiprinājumi jāsūta <span lang="en" class="en">Acknowledgements due</span></th><td class="n" data-field="ack.due">{{ r.ack.due }}</td></tr>
<tr><th scope="row">Nosūtīti <span lang="en" class="en">Sent</span></th><td class="n" data-field="ack.sent">{{ r.ack.sent }}</td></tr>
<tr><th scope="row">Laikā (15 min) <span lang="en" class="en">On time</span></th><td class="n" data-field="ack.on_time">{{ r.ack.on_time }}</td></tr>
<tr><th scope="row">Nesūtīti pēc noteikumiem <span lang="en" class="en">Suppressed</span></th><td class="n" data-field="ack.suppressed">{{ r.ack.suppressed }}</td></tr>
<tr><th scope="row">Atbildēti <span lang="en" class="en">Answered</span></th><td class="n" data-field="reply.answered">{{ r.reply.answered }}</td></tr>
<tr><th scope="row">Laikā <span lang="en" class="en">On time</span></th><td class="n" data-field="reply.on_time">{{ r.reply.on_time }}</td></tr>
<tr><th scope="row">Novēloti <span lang="en" class="en">Late</span></th><td class="n" data-field="reply.late">{{ r.reply.late }}</td></tr>
<tr><th scope="row">Atvērti, termiņš nav pagājis <span lang="en" class="en">Open in time</span></th><td class="n" data-field="reply.open_in_time">{{ r.reply.open_in_time }}</td></tr>
<tr><th scope="row">Atvērti, nokavēti <span lang="en" class="en">Open overdue</span></th><td class="n" data-field="reply.open_overdue">{{ r.reply.open_overdue }}</td></tr>
<tr><th scope="row">Starpatbildes <span lang="en" class="en">Interim</span></th><td class="n" data-field="reply.interim">{{ r.reply.interim }}</td></tr>
<tr><th scope="row">Laikā, daļa <span lang="en" class="en">On-time rate</span></th><td class="n" data-field="reply.on_time_rate">{{ r.reply.on_time_rate if r.reply.on_time_rate is not none else "–" }}</td></tr>
<tr><th scope="row">Mediāna, darba stundas <span lang="en" class="en">Median working hours</span></th><td class="n" data-field="reply.median_working_hours">{{ r.reply.median_working_hours if r.reply.median_working_hours is not none else "–" }}</td></tr>
<tr><th scope="row">90. procentile, darba stundas <span lang="en" class="en">p90 working hours</span></th><td class="n" data-field="reply.p90_working_hours">{{ r.reply.p90_working_hours if r.reply.p90_working_hours is not none else "–" }}</td></tr>
<tr><th scope="row">Pārbaudīti paraksti <span lang="en" class="en">Signatures checked</span></th><td class="n" data-field="signature.checked">{{ r.signature.checked }}</td></tr>
<tr><th scope="row">Pilnīgi paraksti <span lang="en" class="en">Compliant</span></th><td class="n" data-field="signature.compliant">{{ r.signature.compliant }}</td></tr>
<tr><th scope="row">Pilnīgo daļa <span lang="en" class="en">Compliance rate</span></th><td class="n" data-field="signature.rate">{{ r.signature.rate if r.signature.rate is not none else "–" }}</td></tr>
<tr><th scope="row">Atsauksmes un sūdzības <span lang="en" class="en">Feedback cases</span></th><td class="n" data-field="feedback.cases">{{ r.feedback.cases }}</td></tr>
<tr><th scope="row">Atsauksmes, atbildētas <span lang="en" class="en">Feedback answered</span></th><td class="n" data-field="feedback.answered">{{ r.feedback.answered }}</td></tr>
<tr><th scope="row">Atsauksmes, atbildētas laikā <span lang="en" class="en">Feedback answered on time</span></th><td class="n" data-field="feedback.on_time">{{ r.feedback.on_time }}</td></tr>
</tbody>
</table>
{% endmacro %}
{% macro staff_table(rows, caption) %}
<table>
<caption>{{ caption }}</caption>
<thead><tr><th scope="col">Darbinieks <span lang="en" class="en">Staff member</span></th><th scope="col" class="n">Atbildes <span lang="en" class="en">Replies</span></th><th scope="col" class="n">Pirmās, laikā <span lang="en" class="en">First, on time</span></th><th scope="col" class="n">Pārbaudīti paraksti <span lang="en" class="en">Checked</span></th><th scope="col" class="n">Pilnīgi <span lang="en" class="en">Compliant</span></th></tr></thead>
<tbody>
{% for s in rows %}<tr data-staff="{{ s.email }}"><th scope="row">{{ s.email }}</th><td class="n" data-field="replies">{{ s.replies }}</td><td class="n" data-field="on_time">{{ s.on_time }}</td><td class="n" data-field="signature_checked">{{ s.signature_checked }}</td><td class="n" data-field="signature_compliant">{{ s.signature_compliant }}</td></tr>
{% else %}<tr><td colspan="5">Nav datu <span lang="en" class="en">No data</span></td></tr>{% endfor %}
</tbody>
</table>
{% endmacro %}
"#;

const DASHBOARD: &str = r#"{% extends "layout.html" %}{% import "summary.html" as m %}
{% block title %}Pārskats{% endblock %}
{% block main %}
<h1>Klientu e-pasta atbilžu pārskats <span lang="en" class="en">Client e-mail replies</span></h1>
<section aria-labelledby="h-month" data-from="{{ month.from }}" data-to="{{ month.to }}" id="month">
<h2 id="h-month">Šis mēnesis <span lang="en" class="en">This month</span>: {{ month.from }} – {{ month.to }}</h2>
{{ m.summary(month, "Mēneša rādītāji (This month's figures)") }}
</section>
<section aria-labelledby="h-weeks" data-from="{{ weeks_from }}" data-to="{{ month.to }}" id="weeks">
<h2 id="h-weeks">Pēdējās divpadsmit nedēļas <span lang="en" class="en">The last twelve weeks</span></h2>
<figure>
{{ ontime_svg }}
<figcaption>Atbildēts laikā pa saņemšanas nedēļām <span lang="en" class="en">On-time rate by week of receipt</span></figcaption>
</figure>
<figure>
{{ backlog_svg }}
<figcaption>Neatbildēti gadījumi pa saņemšanas nedēļām <span lang="en" class="en">Open and overdue backlog by week of receipt</span></figcaption>
</figure>
<table id="weeks-table">
<caption>Nedēļu skaitļi <span lang="en" class="en">Weekly figures</span></caption>
<thead><tr><th scope="col">Nedēļa <span lang="en" class="en">Week</span></th><th scope="col" class="n">Saņemti <span lang="en" class="en">Received</span></th><th scope="col" class="n">Atbildēti <span lang="en" class="en">Answered</span></th><th scope="col" class="n">Laikā <span lang="en" class="en">On time</span></th><th scope="col" class="n">Laikā, % <span lang="en" class="en">On-time rate</span></th><th scope="col" class="n">Atvērti laikā <span lang="en" class="en">Open in time</span></th><th scope="col" class="n">Nokavēti <span lang="en" class="en">Overdue</span></th></tr></thead>
<tbody>
{% for w in weeks %}<tr data-week="{{ w.week }}"><th scope="row"><a href="/report?from={{ w.from }}&amp;to={{ w.to }}{{ amp }}">{{ w.week }}</a></th><td class="n" data-field="received">{{ w.received }}</td><td class="n" data-field="answered">{{ w.answered }}</td><td class="n" data-field="on_time">{{ w.on_time }}</td><td class="n" data-field="on_time_rate">{{ w.rate_text }}</td><td class="n" data-field="open_in_time">{{ w.open_in_time }}</td><td class="n" data-field="open_overdue">{{ w.open_overdue }}</td></tr>
{% endfor %}
</tbody>
</table>
<figure>
{{ staff_svg }}
<figcaption>Pilnīgu parakstu daļa pa darbiniekiem, divpadsmit nedēļās <span lang="en" class="en">Signature compliance per staff member, twelve weeks</span></figcaption>
</figure>
{{ m.staff_table(staff, "Darbinieki divpadsmit nedēļās (Staff, twelve weeks)") }}
</section>
<section aria-labelledby="h-feedback" id="feedback">
<h2 id="h-feedback">Klientu atsauksmes un sūdzības <span lang="en" class="en">Client feedback and complaints</span></h2>
<figure>
{{ feedback_svg }}
<figcaption>Atsauksmju gadījumi pa saņemšanas mēnešiem <span lang="en" class="en">Feedback cases by month of receipt</span></figcaption>
</figure>
<table id="feedback-table">
<caption>Atsauksmes pa mēnešiem <span lang="en" class="en">Feedback by month</span></caption>
<thead><tr><th scope="col">Mēnesis <span lang="en" class="en">Month</span></th><th scope="col" class="n">Gadījumi <span lang="en" class="en">Cases</span></th><th scope="col" class="n">Atbildēti <span lang="en" class="en">Answered</span></th><th scope="col" class="n">Laikā <span lang="en" class="en">On time</span></th></tr></thead>
<tbody>
{% for x in months %}<tr data-month="{{ x.month }}"><th scope="row"><a href="/report?from={{ x.from }}&amp;to={{ x.to }}{{ amp }}">{{ x.month }}</a></th><td class="n" data-field="cases">{{ x.cases }}</td><td class="n" data-field="answered">{{ x.answered }}</td><td class="n" data-field="on_time">{{ x.on_time }}</td></tr>
{% endfor %}
</tbody>
</table>
</section>
{% endblock %}
"#;

const REPORT: &str = r#"{% extends "layout.html" %}{% import "summary.html" as m %}
{% block title %}Atskaite {{ r.from }} – {{ r.to }}{% endblock %}
{% block main %}
<h1>Atskaite <span lang="en" class="en">Report</span>: {{ r.from }} – {{ r.to }}</h1>
<form method="get" action="/report">
<div><label for="from">No <span lang="en" class="en">From</span></label><input type="date" id="from" name="from" value="{{ r.from }}" required></div>
<div><label for="to">Līdz <span lang="en" class="en">To</span></label><input type="date" id="to" name="to" value="{{ r.to }}" required></div>
{% if token %}<input type="hidden" name="token" value="{{ token }}">{% endif %}
{% if now %}<input type="hidden" name="now" value="{{ now }}">{% endif %}
<div><button type="submit">Rādīt <span lang="en">(Show)</span></button></div>
</form>
<p><a href="/report.json?from={{ r.from }}&amp;to={{ r.to }}{{ amp }}">JSON</a></p>
<section aria-labelledby="h-sum" id="summary" data-from="{{ r.from }}" data-to="{{ r.to }}">
<h2 id="h-sum">Kopsavilkums <span lang="en" class="en">Summary</span></h2>
{{ m.summary(r, "Perioda rādītāji (Figures for the period)") }}
</section>
<section aria-labelledby="h-staff">
<h2 id="h-staff">Darbinieki <span lang="en" class="en">Staff</span></h2>
{{ m.staff_table(r.by_staff, "Atbildes un paraksti pa darbiniekiem (Replies and signatures per staff member)") }}
</section>
<section aria-labelledby="h-cases">
<h2 id="h-cases">Gadījumi <span lang="en" class="en">Cases</span></h2>
<table id="cases">
<caption>Gadījumi saņemšanas secībā (Cases in order of receipt)</caption>
<thead><tr><th scope="col">Nr.</th><th scope="col">Veids <span lang="en" class="en">Kind</span></th><th scope="col">Saņemts <span lang="en" class="en">Received</span></th><th scope="col">Termiņš <span lang="en" class="en">Deadline</span></th><th scope="col">Pirmā atbilde <span lang="en" class="en">First response</span></th><th scope="col">Laikā <span lang="en" class="en">On time</span></th><th scope="col" class="n">Darba st. <span lang="en" class="en">Hours</span></th></tr></thead>
<tbody>
{% for c in rows %}<tr><th scope="row"><a href="/cases/{{ c.id }}{{ q }}">{{ c.id }}</a></th><td>{{ c.kind }}</td><td>{{ c.received }}</td><td>{{ c.deadline }}</td><td>{{ c.first_response }}</td><td{% if c.bad %} class="bad"{% endif %}>{{ c.on_time }}</td><td class="n">{{ c.hours }}</td></tr>
{% else %}<tr><td colspan="7">Nav gadījumu <span lang="en" class="en">No cases</span></td></tr>{% endfor %}
</tbody>
</table>
</section>
{% endblock %}
"#;

const CASE: &str = r#"{% extends "layout.html" %}
{% block title %}{{ c.id }}{% endblock %}
{% block main %}
<h1>Gadījums <span lang="en" class="en">Case</span> {{ c.id }}</h1>
<dl>
<dt>Klients <span lang="en" class="en">Client</span></dt><dd>{{ c.client }}</dd>
<dt>Temats <span lang="en" class="en">Subject</span></dt><dd>{{ c.subject }}</dd>
<dt>Veids, stāvoklis <span lang="en" class="en">Kind, state</span></dt><dd>{{ c.kind }}, {{ c.state }}</dd>
<dt>Saņemts <span lang="en" class="en">Received</span></dt><dd>{{ c.received }}</dd>
<dt>Termiņš <span lang="en" class="en">Deadline</span></dt><dd>{{ c.deadline }}{% if c.first_deadline and c.first_deadline != c.deadline %} (sākotnēji <span lang="en">first set</span> {{ c.first_deadline }}){% endif %}</dd>
<dt>Pirmā atbilde <span lang="en" class="en">First response</span></dt><dd>{{ c.first_response or "–" }}{% if c.first_response_kind %} ({{ c.first_response_kind }}, {{ c.first_response_by }}){% endif %}</dd>
</dl>
<table id="timeline">
<caption>Notikumu hronoloģija <span lang="en" class="en">Timeline</span></caption>
<thead><tr><th scope="col">Laiks <span lang="en" class="en">Time</span></th><th scope="col">Notikums <span lang="en" class="en">Event</span></th><th scope="col">Apraksts <span lang="en" class="en">Detail</span></th><th scope="col">Kas <span lang="en" class="en">By</span></th></tr></thead>
<tbody>
{% for e in c.events %}<tr><td>{{ e.at }}</td><th scope="row">{{ e.action }}</th><td>{{ e.detail }}</td><td>{{ e.actor }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endblock %}
"#;

fn env() -> Environment<'static> {
    let mut e = Environment::new();
    e.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, src) in [
        ("layout.html", LAYOUT),
        ("summary.html", SUMMARY),
        ("dashboard.html", DASHBOARD),
        ("report.html", REPORT),
        ("case.html", CASE),
    ] {
        if let Err(err) = e.add_template(name, src) {
            // The templates are compiled in: a broken one is a build defect
            // that the unit tests below catch.
            tracing::error!(template = name, error = %err, "dashboard template does not compile");
        }
    }
    e
}

/// What every page shows around its content.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub org: String,
    pub tz: String,
    pub as_of: String,
    /// The token as it came in the query (kept on links), if any.
    pub token: Option<String>,
    /// `?now=` as it came in the query (kept on links), if any.
    pub now: Option<String>,
}

impl Frame {
    /// The query kept on every link: `(?a=..&b=.., &a=..&b=..)`.
    fn ctx(&self) -> (String, String) {
        let kept: Vec<String> = [("token", &self.token), ("now", &self.now)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", url_encode(v))))
            .collect();
        if kept.is_empty() {
            (String::new(), String::new())
        } else {
            let q = kept.join("&");
            (format!("?{q}"), format!("&{q}"))
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A serde value as a template value.
fn v<T: Serialize + ?Sized>(x: &T) -> Value {
    crate::outbound::templates::json_to_value(&serde_json::to_value(x).unwrap_or_default())
}

fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

/// One week of the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct WeekView {
    pub week: String,
    pub from: String,
    pub to: String,
    pub received: u32,
    pub answered: u32,
    pub on_time: u32,
    pub rate: Option<f64>,
    pub rate_text: String,
    pub open_in_time: u32,
    pub open_overdue: u32,
}

/// One month of the dashboard's feedback series (SPEC §14).
#[derive(Debug, Clone, Serialize)]
pub struct MonthView {
    /// `2026-11`.
    pub month: String,
    pub from: String,
    pub to: String,
    pub cases: u32,
    pub answered: u32,
    pub on_time: u32,
}

/// Everything `/` shows.
pub struct Dashboard<'a> {
    pub month: &'a Report,
    pub weeks_from: String,
    pub weeks: Vec<WeekView>,
    /// The twelve weeks' report (its staff rows).
    pub twelve: &'a Report,
    pub months: Vec<MonthView>,
    /// The charts' SVG (charts.rs), each shown above its table.
    pub ontime_svg: String,
    pub backlog_svg: String,
    pub staff_svg: String,
    pub feedback_svg: String,
}

/// `/`.
pub fn dashboard(f: &Frame, d: Dashboard) -> Result<String, minijinja::Error> {
    let (q, amp) = f.ctx();
    render(
        "dashboard.html",
        context! {
            style => Value::from_safe_string(STYLE.into()),
            org => &f.org, tz => &f.tz, as_of => &f.as_of, q => q, amp => amp,
            month => v(d.month), weeks_from => d.weeks_from, weeks => v(&d.weeks),
            staff => v(&d.twelve.by_staff), months => v(&d.months),
            ontime_svg => Value::from_safe_string(d.ontime_svg),
            backlog_svg => Value::from_safe_string(d.backlog_svg),
            staff_svg => Value::from_safe_string(d.staff_svg),
            feedback_svg => Value::from_safe_string(d.feedback_svg),
        },
    )
}

#[derive(Debug, Clone, Serialize)]
struct RowView {
    id: String,
    kind: String,
    received: String,
    deadline: String,
    first_response: String,
    on_time: String,
    bad: bool,
    hours: String,
}

/// `/report?from&to`.
pub fn report(
    f: &Frame,
    r: &Report,
    cal: &crate::rules::calendar::Calendar,
) -> Result<String, minijinja::Error> {
    let (q, amp) = f.ctx();
    let t = |x| cal.to_local(x).format("%Y-%m-%d %H:%M").to_string();
    let rows: Vec<RowView> = r
        .rows
        .iter()
        .map(|c| RowView {
            id: c.id.clone(),
            kind: c.kind.to_string(),
            received: t(c.received),
            deadline: t(c.deadline),
            first_response: if c.closed_by_hand {
                "slēgts manuāli (closed by hand)".into()
            } else {
                c.first_response.map(t).unwrap_or_else(|| "–".into())
            },
            on_time: match (c.on_time, c.overdue) {
                (Some(true), _) => "jā (yes)".into(),
                (Some(false), _) => "nē (no)".into(),
                (None, true) => "nokavēts (overdue)".into(),
                (None, false) => "–".into(),
            },
            bad: c.on_time == Some(false) || c.overdue,
            hours: c.working_hours.map(hours).unwrap_or_default(),
        })
        .collect();
    render(
        "report.html",
        context! {
            style => Value::from_safe_string(STYLE.into()),
            org => &f.org, tz => &f.tz, as_of => &f.as_of, q => q, amp => amp, token => f.token.clone(), now => f.now.clone(),
            r => v(r), rows => v(&rows),
        },
    )
}

/// `/cases/CASE`.
pub fn case(f: &Frame, tl: &crate::cli::reports::Timeline) -> Result<String, minijinja::Error> {
    let (q, amp) = f.ctx();
    render(
        "case.html",
        context! {
            style => Value::from_safe_string(STYLE.into()),
            org => &f.org, tz => &f.tz, as_of => &f.as_of, q => q, amp => amp,
            c => v(tl),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile() {
        let e = env();
        for n in [
            "layout.html",
            "summary.html",
            "dashboard.html",
            "report.html",
            "case.html",
        ] {
            assert!(e.get_template(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn tokens_on_links_are_encoded() {
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }
}
