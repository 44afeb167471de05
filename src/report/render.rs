//! The report for people (a plain-text table) and for spreadsheets (CSV,
//! SPEC §12: one row per case in receipt order). The JSON is
//! `serde_json::to_string(&Report)`.

use super::{local_rfc3339, Report};
use crate::rules::calendar::Calendar;

/// The CSV header, exactly as SPEC §12 gives it.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "kind",
    "client",
    "received",
    "deadline",
    "first_response",
    "on_time",
    "working_hours",
    "acknowledged",
    "signature_compliant",
];

/// Control characters from mail shown escaped (SPEC §11.4).
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn b(v: Option<bool>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Hours with two decimals as a plain number (`6.5`, `15.25`, `0`).
pub fn hours(h: f64) -> String {
    let s = format!("{h:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The CSV text.
pub fn csv(r: &Report, cal: &Calendar) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for c in &r.rows {
        w.write_record([
            c.id.clone(),
            c.kind.to_string(),
            clean(&c.client),
            local_rfc3339(cal, c.received),
            local_rfc3339(cal, c.deadline),
            c.first_response
                .map(|t| local_rfc3339(cal, t))
                .unwrap_or_default(),
            b(c.on_time),
            c.working_hours.map(hours).unwrap_or_default(),
            c.acknowledged.to_string(),
            b(c.signature_compliant),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn opt_rate(r: Option<f64>) -> String {
    r.map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn opt_hours(h: Option<f64>) -> String {
    h.map(|x| format!("{} h", hours(x))).unwrap_or_else(|| "–".into())
}

/// The readable table (default output of `replygate report`).
pub fn table(r: &Report) -> String {
    let mut o = String::new();
    let mut line = |k: &str, v: String| o.push_str(&format!("  {k:<34} {v}\n"));
    let mut head = Vec::new();
    head.push(format!(
        "Compliance report {} – {} (as of {})\n",
        r.from, r.to, r.as_of
    ));
    let c = &r.cases;
    let a = &r.ack;
    let p = &r.reply;
    let s = &r.signature;
    line(
        "Cases received",
        format!("{} ({} e-mail, {} submissions)", c.total, c.email, c.submission),
    );
    line("  closed by hand before a response", c.closed_by_hand.to_string());
    line(
        "Acknowledgements due",
        format!(
            "{} (sent {}, on time {}, suppressed {})",
            a.due, a.sent, a.on_time, a.suppressed
        ),
    );
    line(
        "First responses",
        format!(
            "{} (on time {}, late {}, interim {})",
            p.answered, p.on_time, p.late, p.interim
        ),
    );
    line(
        "Open without a response",
        format!("{} in time, {} overdue", p.open_in_time, p.open_overdue),
    );
    line("On-time rate", opt_rate(p.on_time_rate));
    line(
        "Working hours to first response",
        format!(
            "median {}, 90th percentile {}",
            opt_hours(p.median_working_hours),
            opt_hours(p.p90_working_hours)
        ),
    );
    line(
        "Signatures checked",
        format!("{} (compliant {}, {})", s.checked, s.compliant, opt_rate(s.rate)),
    );
    line(
        "  missing",
        format!(
            "organization {}, name {}, surname {}, contact {}",
            s.missing.organization, s.missing.name, s.missing.surname, s.missing.contact
        ),
    );
    line(
        "Client feedback (SPEC §14)",
        format!(
            "{} cases (answered {}, on time {})",
            r.feedback.cases, r.feedback.answered, r.feedback.on_time
        ),
    );
    let mut out = head.concat();
    out.push_str(&o);
    if !r.by_staff.is_empty() {
        out.push_str("\nBy staff member:\n");
        out.push_str(&format!(
            "  {:<36} {:>7} {:>7} {:>9} {:>9}\n",
            "address", "replies", "on time", "sig. chk", "sig. ok"
        ));
        for st in &r.by_staff {
            out.push_str(&format!(
                "  {:<36} {:>7} {:>7} {:>9} {:>9}\n",
                clean(&st.email),
                st.replies,
                st.on_time,
                st.signature_checked,
                st.signature_compliant
            ));
        }
    }
    if !r.weeks.is_empty() {
        out.push_str("\nBy week of receipt:\n");
        out.push_str(&format!(
            "  {:<10} {:>8} {:>8} {:>8}\n",
            "week", "received", "answered", "on time"
        ));
        for w in &r.weeks {
            out.push_str(&format!(
                "  {:<10} {:>8} {:>8} {:>8}\n",
                w.week, w.received, w.answered, w.on_time
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_plain_numbers() {
        for (h, want) in [
            (6.5, "6.5"),
            (15.25, "15.25"),
            (0.0, "0"),
            (24.0, "24"),
            (2.1, "2.1"),
        ] {
            assert_eq!(hours(h), want);
        }
    }
}
