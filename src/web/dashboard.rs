//! `/` (SPEC §12, §14): this month's figures, the last twelve weeks (on-time
//! rate, open and overdue backlog, signature compliance per staff member)
//! and client feedback per month over the last twelve months.
//!
//! Pure: the report's inputs and `now` in, HTML out. Every period is one
//! [`report::compute`] over the same inputs, so the page's numbers are the
//! JSON's; each chart (charts.rs) says its numbers in its description and
//! stands above a table of them (pages.rs).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use super::charts::{self, Bar, Series};
use super::pages::{self, Frame, MonthView, WeekView};
use crate::report::{self, CaseInput, Period, Report, SignatureInput};
use crate::rules::calendar::Calendar;

/// A rate as a whole percentage, `–` when there is none.
fn pct(r: Option<f64>) -> String {
    r.map(|x| format!("{:.0} %", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// `a; b; c`: a chart's numbers as text for its description.
fn listed<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join("; ")
}

/// The page as of `now`.
pub fn page(
    f: &Frame,
    cal: &Calendar,
    cases: &[CaseInput],
    sigs: &[SignatureInput],
    now: DateTime<Utc>,
) -> Result<String, minijinja::Error> {
    let at = |from, to| report::compute(cal, Period { from, to, as_of: now }, cases, sigs);
    let today = cal.local_date(now);
    let month_from = today.with_day(1).unwrap_or(today);
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let first = monday - Duration::weeks(11);
    let month = at(month_from, today);
    let twelve = at(first, today);
    let weeks = week_views(first, &at);
    let months = month_views(month_from, today, &at);
    pages::dashboard(
        f,
        pages::Dashboard {
            month: &month,
            weeks_from: first.to_string(),
            ontime_svg: ontime_chart(&weeks),
            backlog_svg: backlog_chart(&weeks),
            staff_svg: staff_chart(&twelve),
            feedback_svg: feedback_chart(&months),
            weeks,
            twelve: &twelve,
            months,
        },
    )
}

/// The twelve weeks from `first` (a Monday).
fn week_views(first: NaiveDate, at: &impl Fn(NaiveDate, NaiveDate) -> Report) -> Vec<WeekView> {
    (0..12)
        .map(|i| {
            let from = first + Duration::weeks(i);
            let to = from + Duration::days(6);
            let r = at(from, to);
            WeekView {
                week: report::iso_week(from),
                from: from.to_string(),
                to: to.to_string(),
                received: r.cases.total,
                answered: r.reply.answered,
                on_time: r.reply.on_time,
                rate: r.reply.on_time_rate,
                rate_text: pct(r.reply.on_time_rate),
                open_in_time: r.reply.open_in_time,
                open_overdue: r.reply.open_overdue,
            }
        })
        .collect()
}

/// The twelve months up to this one (cut at `today`).
fn month_views(
    month_from: NaiveDate,
    today: NaiveDate,
    at: &impl Fn(NaiveDate, NaiveDate) -> Report,
) -> Vec<MonthView> {
    (0..12)
        .rev()
        .map(|back| {
            let from = month_from
                .checked_sub_months(Months::new(back))
                .unwrap_or(month_from);
            let to = from
                .checked_add_months(Months::new(1))
                .and_then(|n| n.pred_opt())
                .unwrap_or(from)
                .min(today);
            let r = at(from, to);
            MonthView {
                month: from.format("%Y-%m").to_string(),
                from: from.to_string(),
                to: to.to_string(),
                cases: r.feedback.cases,
                answered: r.feedback.answered,
                on_time: r.feedback.on_time,
            }
        })
        .collect()
}

/// `2026-W45` → `W45`, a bar's label.
fn short(week: &str) -> String {
    week.rsplit('-').next().unwrap_or(week).to_string()
}

fn ontime_chart(weeks: &[WeekView]) -> String {
    let (Some(first), Some(last)) = (weeks.first(), weeks.last()) else {
        return String::new();
    };
    charts::columns(
        "chart-ontime",
        "Atbildēts laikā pa nedēļām (on-time rate per week)",
        &format!(
            "Daļa gadījumu, kam pirmā atbilde bija laikā, pa saņemšanas nedēļām no {} līdz {}. {}",
            first.week,
            last.week,
            listed(weeks, |w| format!("{}: {}", w.week, w.rate_text))
        ),
        &[Series {
            name: "Laikā, % (on time)".into(),
            color: charts::BLUE,
        }],
        &weeks
            .iter()
            .map(|w| Bar {
                label: short(&w.week),
                values: vec![w.rate.map(|x| x * 100.0)],
                text: w.rate_text.clone(),
            })
            .collect::<Vec<_>>(),
        100.0,
        " %",
    )
}

fn backlog_chart(weeks: &[WeekView]) -> String {
    let max = weeks
        .iter()
        .map(|w| w.open_in_time + w.open_overdue)
        .max()
        .unwrap_or(0)
        .max(1);
    charts::columns(
        "chart-backlog",
        "Neatbildēti gadījumi (open and overdue backlog)",
        &format!(
            "Gadījumi bez pirmās atbildes pa saņemšanas nedēļām: termiņš nav pagājis un nokavēti. {}",
            listed(weeks, |w| format!(
                "{}: {} laikā, {} nokavēti",
                w.week, w.open_in_time, w.open_overdue
            ))
        ),
        &[
            Series {
                name: "Atvērti laikā (open in time)".into(),
                color: charts::BLUE,
            },
            Series {
                name: "Nokavēti (overdue)".into(),
                color: charts::RED,
            },
        ],
        &weeks
            .iter()
            .map(|w| Bar {
                label: short(&w.week),
                values: vec![Some(w.open_in_time as f64), Some(w.open_overdue as f64)],
                text: format!("{} + {}", w.open_in_time, w.open_overdue),
            })
            .collect::<Vec<_>>(),
        max as f64,
        "",
    )
}

fn staff_chart(twelve: &Report) -> String {
    let bars: Vec<Bar> = twelve
        .by_staff
        .iter()
        .map(|s| {
            let rate = (s.signature_checked > 0)
                .then(|| s.signature_compliant as f64 * 100.0 / s.signature_checked as f64);
            Bar {
                label: s.email.clone(),
                values: vec![rate],
                text: format!(
                    "{} ({}/{})",
                    rate.map(|r| format!("{r:.0} %")).unwrap_or_else(|| "–".into()),
                    s.signature_compliant,
                    s.signature_checked
                ),
            }
        })
        .collect();
    charts::rows(
        "chart-staff",
        "Pilnīgi paraksti pa darbiniekiem (signature compliance per staff member)",
        &format!(
            "Pilnīgu parakstu daļa divpadsmit nedēļās. {}",
            listed(&bars, |b| format!("{}: {}", b.label, b.text))
        ),
        &bars,
    )
}

fn feedback_chart(months: &[MonthView]) -> String {
    let max = months.iter().map(|m| m.cases).max().unwrap_or(0).max(1);
    charts::columns(
        "chart-feedback",
        "Atsauksmes un sūdzības pa mēnešiem (feedback cases per month)",
        &format!(
            "Klientu atsauksmju un sūdzību gadījumi pa saņemšanas mēnešiem: saņemti, no tiem atbildēti. {}",
            listed(months, |m| format!(
                "{}: {} (atbildēti {}, laikā {})",
                m.month, m.cases, m.answered, m.on_time
            ))
        ),
        &[Series {
            name: "Gadījumi (cases)".into(),
            color: charts::GREEN,
        }],
        &months
            .iter()
            .map(|m| Bar {
                label: m.month.clone(),
                values: vec![Some(m.cases as f64)],
                text: m.cases.to_string(),
            })
            .collect::<Vec<_>>(),
        max as f64,
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CalendarConfig;

    #[test]
    fn twelve_months_end_with_this_one_cut_at_today() {
        let cal = Calendar::from_config(&CalendarConfig::default()).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 3, 17).unwrap();
        let at = |from, to| {
            report::compute(
                &cal,
                Period {
                    from,
                    to,
                    as_of: DateTime::parse_from_rfc3339("2026-03-17T12:00:00+02:00")
                        .unwrap()
                        .with_timezone(&Utc),
                },
                &[],
                &[],
            )
        };
        let m = month_views(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), today, &at);
        assert_eq!(m.len(), 12);
        assert_eq!(
            (m[0].month.as_str(), m[0].from.as_str()),
            ("2025-04", "2025-04-01")
        );
        assert_eq!(m[10].to, "2026-02-28");
        assert_eq!(
            (m[11].from.as_str(), m[11].to.as_str()),
            ("2026-03-01", "2026-03-17")
        );
        let w = week_views(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), &at);
        assert_eq!(
            (w[0].week.as_str(), w[11].to.as_str()),
            ("2026-W02", "2026-03-29")
        );
    }
}
