//! Server-rendered SVG charts for the dashboard: readable without
//! JavaScript, accessible (`role="img"` with `<title>` and `<desc>` named by
//! `aria-labelledby`; every bar carries its value as text), and always
//! shown next to a table of the same numbers (pages.rs).
//!
//! Decision: written here rather than with a charting crate (plotters):
//! the charts are three simple bar charts, and their SVG must carry the
//! accessibility markup and per-bar labels a crate's backend does not emit.
//! Every text that comes from data goes through [`esc`].

use std::fmt::Write as _;

/// One bar (or stack) of a chart.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// Stacked values, bottom first; `None` means "no data" (no bar).
    pub values: Vec<Option<f64>>,
    /// The text written on the bar (e.g. "83 %", "4 + 2").
    pub text: String,
}

/// A series of a chart: its name (for the legend) and colour.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
}

/// Colours with at least 4.5:1 contrast on white (WCAG 1.4.11 asks 3:1).
pub const BLUE: &str = "#1f5f99";
pub const RED: &str = "#a4262c";
pub const GREEN: &str = "#2e6b30";
const INK: &str = "#1a1a1a";
const GRID: &str = "#767676";

/// XML-escape text for SVG and HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// The opening of a chart: the `<svg>` element named by its `<title>` and
/// `<desc>` (`role="img"`, `aria-labelledby`), `w` × `h` user units.
fn open_svg(id: &str, title: &str, desc: &str, w: f64, h: f64) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        o,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        esc(title),
        esc(desc)
    );
    o
}

/// A vertical bar chart (stacked when a bar has several values).
/// `max`: the top of the scale (e.g. 100 for percentages).
pub fn columns(
    id: &str,
    title: &str,
    desc: &str,
    series: &[Series],
    bars: &[Bar],
    max: f64,
    unit: &str,
) -> String {
    let (w, h) = (760.0, 300.0);
    let (left, right, top, bottom) = (48.0, 12.0, 36.0, 40.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = if max > 0.0 { max } else { 1.0 };
    let mut o = open_svg(id, title, desc, w, h);
    // Scale: 0, 50 %, 100 % of max.
    for i in 0..=2 {
        let v = max * i as f64 / 2.0;
        let y = top + plot_h - plot_h * i as f64 / 2.0;
        let _ = write!(
            o,
            r#"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="{GRID}" stroke-width="0.5"/><text x="{}" y="{}" text-anchor="end" fill="{INK}">{}{}</text>"#,
            w - right,
            left - 6.0,
            y + 4.0,
            fmt_num(v),
            esc(unit)
        );
    }
    // Legend.
    let mut lx = left;
    for s in series {
        let _ = write!(
            o,
            r#"<rect x="{lx}" y="8" width="12" height="12" fill="{}"/><text x="{}" y="18" fill="{INK}">{}</text>"#,
            s.color,
            lx + 16.0,
            esc(&s.name)
        );
        lx += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let bw = (slot * 0.6).min(48.0);
    for (i, b) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bw) / 2.0;
        let mut y = top + plot_h;
        for (v, s) in b.values.iter().zip(series.iter()) {
            if let Some(v) = v {
                let bh = (plot_h * v / max).clamp(0.0, plot_h);
                y -= bh;
                let _ = write!(
                    o,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{}"/>"#,
                    s.color
                );
            }
        }
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{}</text>"#,
            x + bw / 2.0,
            y - 4.0,
            esc(&b.text),
            x + bw / 2.0,
            top + plot_h + 16.0,
            esc(&b.label)
        );
    }
    o.push_str("</svg>");
    o
}

/// A horizontal bar chart of percentages (0–100), one row per bar.
pub fn rows(id: &str, title: &str, desc: &str, bars: &[Bar]) -> String {
    let row_h = 28.0;
    let (w, label_w, top) = (760.0, 240.0, 8.0);
    let h = top * 2.0 + row_h * bars.len().max(1) as f64;
    let plot_w = w - label_w - 70.0;
    let mut o = open_svg(id, title, desc, w, h);
    for (i, b) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let v = b
            .values
            .first()
            .copied()
            .flatten()
            .unwrap_or(0.0)
            .clamp(0.0, 100.0);
        let bw = plot_w * v / 100.0;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{INK}">{}</text><rect x="{label_w}" y="{:.1}" width="{plot_w:.1}" height="16" fill="none" stroke="{GRID}" stroke-width="0.5"/><rect x="{label_w}" y="{:.1}" width="{bw:.1}" height="16" fill="{GREEN}"/><text x="{:.1}" y="{:.1}" fill="{INK}">{}</text>"#,
            label_w - 8.0,
            y + 17.0,
            esc(&b.label),
            y + 5.0,
            y + 5.0,
            label_w + plot_w + 6.0,
            y + 17.0,
            esc(&b.text)
        );
    }
    o.push_str("</svg>");
    o
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_accessible_and_escaped() {
        let bars = vec![Bar {
            label: "<x>".into(),
            values: vec![Some(50.0)],
            text: "50 %".into(),
        }];
        let s = columns(
            "c",
            "On time & more",
            "d",
            &[Series {
                name: "a".into(),
                color: BLUE,
            }],
            &bars,
            100.0,
            " %",
        );
        assert!(s.contains(r#"role="img""#) && s.contains(r#"aria-labelledby="c-title c-desc""#));
        assert!(s.contains("<title id=\"c-title\">On time &amp; more</title>"));
        assert!(s.contains("&lt;x&gt;") && !s.contains("<x>"));
        let r = rows("r", "t", "d", &bars);
        assert!(r.contains("50 %") && r.contains("<desc id=\"r-desc\">d</desc>"));
    }
}
