//! Interim replies (SPEC §4.3): a staff reply that promises the real answer
//! by a date ("atbildi sniegsim līdz 03.12.2026", "We will reply by
//! 7 December 2026") does not answer the case; it moves the deadline.
//!
//! The matcher only finds and parses the promised date in the author's own
//! text (quotes already removed, see [`crate::inbound::authortext`]). Whether the date
//! is acceptable (not in the past, not beyond a submission's four-month
//! limit) is [`is_acceptable`], called by the tracker's staff-mail decision
//! (`tracker::decide_staff`).
//!
//! Decisions about the default pattern ([`DEFAULT_INTERIM_PATTERN`]):
//! - A bare "līdz `<date>`" is not enough: final answers often quote deadlines
//!   ("pieteikumus var iesniegt līdz 2027. gada 15. janvārim"). The date must
//!   be tied to a promise in the same sentence: a first-person future reply
//!   verb ("atbildēsim", "informēsim", "sazināsimies", "izskatīsim",
//!   `atbildēšu`-like singulars), or any `…sim`/`…siet` verb next to a reply
//!   noun ("atbildi sniegsim", "sagatavosim atbildi", "lēmumu pieņemsim";
//!   "pieteikumus pieņemsim līdz …" announces a period, it promises nothing),
//!   a passive promise ("atbilde tiks sniegta", "lēmums tiks pieņemts"),
//!   Russian "ответим", "сообщим", "ответ … будет", either before the
//!   "until" word or after the date ("Līdz 10. decembrim sniegsim
//!   atbildi"). Nouns alone ("informāciju", "atbildot") are not promises. English needs a modal ("will",
//!   "shall", "'ll", "aim to", …) with the reply word, so "Please reply by
//!   3 December 2026" (a request to the client) is not a promise.
//! - "Until" words: līdz, ne vēlāk kā, by, no later than, until, till,
//!   before, до, не позднее.
//! - Dates: `03.12.2026`, `3.12.2026.`, `3/12/2026` (day first), `2026-12-03`,
//!   `2026. gada 3. decembrim` (every case form of the Latvian month names,
//!   with or without diacritics), `3. decembrim` (no year), `3 December 2026`,
//!   `3rd of December 2026`, `December 3, 2026`, `3 декабря 2026`.
//! - A custom `reply.interim_pattern` must have a group named `date`; the
//!   default also uses `date2` for the reversed word order. Any group whose
//!   name starts with `date` is read.
//! - A date without a year is [`InterimFinding::Unparseable`] for
//!   [`InterimMatcher::find`]; [`InterimMatcher::find_after`] resolves it to
//!   the first such date on or after a reference date (the receipt day).

use chrono::{Datelike, Months, NaiveDate};
use regex::Regex;

use crate::inbound::authortext::fold;

macro_rules! month_lv {
    () => {
        r"(?:janv[āa]r|febru[āa]r|mart|apr[īi]l|maij|j[ūu]nij|j[ūu]lij|august|septembr|oktobr|novembr|decembr)\w*"
    };
}
macro_rules! month_en {
    () => {
        r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
    };
}
macro_rules! month_ru {
    () => {
        r"(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)\w*"
    };
}
macro_rules! date_expr {
    () => {
        concat!(
            r"(?:\d{1,2}\.\s?\d{1,2}\.\s?\d{4}",
            r"|\d{1,2}/\d{1,2}/\d{4}",
            r"|\d{4}-\d{1,2}-\d{1,2}",
            r"|\d{4}\.\s*(?:gada|g\.)\s*\d{1,2}\.\s*",
            month_lv!(),
            r"|\d{1,2}\.\s*",
            month_lv!(),
            r"(?:\s+\d{4}\.?)?",
            r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?",
            month_en!(),
            r",?\s+\d{4}",
            r"|",
            month_en!(),
            r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}",
            r"|\d{1,2}\s+",
            month_ru!(),
            r"(?:\s+\d{4})?",
            r")"
        )
    };
}
macro_rules! until {
    () => {
        r"(?:l[īi]dz|ne\s+v[ēe]l[āa]k\s+k[āa]|no\s+later\s+than|not\s+later\s+than|on\s+or\s+before|by|until|till|before|не\s+позднее|не\s+позже|до)\s+(?:(?:šā|šī|ša|this|the|end\s+of|этого|текущего)\s+(?:gada\s+|year\s+|года\s+)?|š\.\s?g\.\s*)?(?:\p{L}+,?\s+)?"
    };
}
macro_rules! promise_lv_ru {
    () => {
        concat!(
            // A reply verb in the first-person future ("atbildēsim",
            // "informēsim", "sazināsimies", "izskatīsim")...
            r"(?:(?:atbild|inform|pazi[ņn]o|sazin|izskat|izv[ēe]rt|atgriez)\p{L}*(?:sim|simies|siet)",
            // ...or any such verb tied to a reply noun, before or after it
            // ("atbildi Jums sniegsim", "sagatavosim atbildi", "lēmumu
            // pieņemsim"); "pieteikumus pieņemsim" is not a promise to reply.
            r"|(?:atbild(?:e|i|es|ei)|l[ēe]mum(?:s|u|a|am|ā)|inform[āa]cij(?:a|u|as|ai)|skaidrojum\p{L}*|viedokl\p{L}*)\s+(?:\p{L}+\s+){0,3}?\p{L}+(?:sim|simies|siet)",
            r"|\p{L}+(?:sim|simies|siet)\s+(?:\p{L}+\s+){0,3}?(?:atbild(?:e|i|es|ei)|l[ēe]mum(?:s|u|a|am|ā)|inform[āa]cij(?:a|u|as|ai)|skaidrojum\p{L}*|viedokl\p{L}*)",
            r"|(?:atbild[ēe]|snieg|inform[ēe]|nos[ūu]t[īi]|pazi[ņn]o|sagatavo|izskat[īi])(?:šu|su)|sazin[āa](?:šos|sos)",
            r"|tiks\s+(?:\p{L}+\s+){0,2}?(?:sniegt|nos[ūu]t[īi]t|sagatavot|pazi[ņn]ot|izskat[īi]t|dot)\p{L}*",
            r"|l[ēe]mum\p{L}*\s+tiks",
            // "Plānojam atbildēt", "paredzamais atbildes datums": a plan or an
            // expectation tied to a reply word (not "projektu paredzēts īstenot").
            r"|(?:pl[āa]no|paredz)\p{L}*\s+(?:\p{L}+\s+){0,2}?(?:atbild|snieg|inform|nos[ūu]t|sazin|l[ēe]mum)\p{L}*",
            r"|ответим|ответ\s+(?:\p{L}+\s+){0,2}?будет|сообщим|проинформируем|свяжемся|рассмотрим|предоставим|направим|дадим)"
        )
    };
}
macro_rules! promise_en {
    () => {
        r"(?:(?:will|shall|'ll|’ll|going\s+to|aim\s+to|expect|plan\s+to|intend\s+to|hope\s+to)\b[^.!?;]{0,60}?\b(?:reply|respond|response|answer|get\s+back|revert|come\s+back|be\s+in\s+touch|let\s+you\s+know|inform|update|contact|decision|decide|write)|(?:reply|response|answer|decision)\b[^.!?;]{0,40}?\b(?:will|shall|is\s+expected))"
    };
}

/// The default `reply.interim_pattern` (see the module doc for what it
/// recognises and what it deliberately does not).
pub const DEFAULT_INTERIM_PATTERN: &str = concat!(
    r"(?i)\b(?:",
    promise_lv_ru!(),
    "|",
    promise_en!(),
    r")\b[^.!?;]{0,120}?\b",
    until!(),
    r"(?P<date>",
    date_expr!(),
    r")|\b",
    until!(),
    r"(?P<date2>",
    date_expr!(),
    r")[.,]?\s+[^.!?;]{0,60}?\b",
    promise_lv_ru!(),
    r"\b"
);

/// What an interim reply promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterimFinding {
    Date(NaiveDate),
    /// The pattern matched but the date could not be read (or has no year).
    Unparseable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum InterimPatternError {
    #[error("reply.interim_pattern is not a valid regular expression: {0}")]
    Regex(#[from] regex::Error),
    #[error("reply.interim_pattern must contain a named group `date` (e.g. `(?P<date>\\d{{2}}\\.\\d{{2}}\\.\\d{{4}})`)")]
    NoDateGroup,
    #[error("reply.interim_pattern cannot be prepared for searching ({0}); simplify the pattern")]
    Prefilter(String),
}

/// `hir` with every look-around assertion (`\b`, `^`, `$`, …) matching the
/// empty string and every group plain: a pattern that matches wherever
/// `hir` does.
fn without_assertions(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Capture(c) => without_assertions(&c.sub),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(without_assertions(&r.sub)),
            max: r.max.filter(|&n| n <= 1),
            ..r.clone()
        }),
        HirKind::Concat(v) => Hir::concat(v.iter().map(without_assertions).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(without_assertions).collect()),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => hir.clone(),
    }
}

/// Finds the promised date in an author's text.
#[derive(Debug, Clone)]
pub struct InterimMatcher {
    re: Regex,
    /// The same pattern without its word boundaries (`\b`) and groups: it
    /// matches wherever the pattern does (and a little more), and the
    /// regex crate runs it on its lazy DFA. The pattern itself, with
    /// Unicode `\b`, falls back to the much slower PikeVM on any text with
    /// a non-ASCII letter (about a millisecond per 30 KiB): with this
    /// prefilter it runs only from where a promise can start, and not at
    /// all on the staff replies that make none.
    relaxed: regex_automata::meta::Regex,
}

impl InterimMatcher {
    /// `None` uses [`DEFAULT_INTERIM_PATTERN`].
    pub fn new(pattern: Option<&str>) -> Result<Self, InterimPatternError> {
        let pattern = pattern.unwrap_or(DEFAULT_INTERIM_PATTERN);
        let re = Regex::new(pattern)?;
        if !re.capture_names().flatten().any(|n| n.starts_with("date")) {
            return Err(InterimPatternError::NoDateGroup);
        }
        // The regex crate accepted the pattern, so its parser does too.
        let hir = regex_syntax::parse(pattern).map_err(|e| InterimPatternError::Prefilter(e.to_string()))?;
        let relaxed = regex_automata::meta::Regex::builder()
            .build_from_hir(&without_assertions(&hir))
            .map_err(|e| InterimPatternError::Prefilter(e.to_string()))?;
        Ok(InterimMatcher { re, relaxed })
    }

    /// The promised date as written, from the first promise in `text`
    /// (quotes removed), if the text makes one.
    pub fn promise(&self, text: &str) -> Option<String> {
        // Every match of `re` is one of `relaxed`, so the leftmost match of
        // `re` starts at or after `relaxed`'s (and `captures_at` still sees
        // the character before `start` for `\b`).
        let start = self.relaxed.find(text)?.start();
        let caps = self.re.captures_at(text, start)?;
        self.re
            .capture_names()
            .flatten()
            .filter(|n| n.starts_with("date"))
            .find_map(|n| caps.name(n))
            .map(|m| m.as_str().trim().to_string())
    }

    /// The first promise in the text; a date without a year is unparseable.
    pub fn find(&self, author_text: &str) -> Option<InterimFinding> {
        let s = self.promise(author_text)?;
        Some(match parse_date(&s) {
            Some(d) => InterimFinding::Date(d),
            None => InterimFinding::Unparseable(s),
        })
    }

    /// Like [`find`](Self::find), but a date without a year ("līdz
    /// 10. decembrim") is the first such date on or after `reference`.
    pub fn find_after(&self, author_text: &str, reference: NaiveDate) -> Option<InterimFinding> {
        Some(resolve_after(&self.promise(author_text)?, reference))
    }
}

/// A [`InterimMatcher::promise`] as a date: one without a year ("līdz
/// 10. decembrim") is the first such date on or after `reference`.
pub fn resolve_after(promise: &str, reference: NaiveDate) -> InterimFinding {
    if let Some(d) = parse_date(promise) {
        return InterimFinding::Date(d);
    }
    let resolved = parse_day_month(promise).and_then(|(day, month)| {
        [reference.year(), reference.year() + 1]
            .into_iter()
            .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
            .find(|d| *d >= reference)
    });
    match resolved {
        Some(d) => InterimFinding::Date(d),
        None => InterimFinding::Unparseable(promise.to_string()),
    }
}

/// Month number from a (folded) month word in Latvian, English or Russian.
fn month_number(word: &str) -> Option<u32> {
    let w = fold(word);
    let w = w.trim_end_matches('.');
    const TABLE: [(&str, u32); 24] = [
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("mai", 5),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("okt", 10),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
        ("янв", 1),
        ("фев", 2),
        ("мар", 3),
        ("апр", 4),
        ("ма", 5),
        ("июн", 6),
        ("июл", 7),
        ("авг", 8),
        ("сен", 9),
        ("окт", 10),
    ];
    const RU_END: [(&str, u32); 2] = [("ноя", 11), ("дек", 12)];
    TABLE
        .iter()
        .chain(RU_END.iter())
        .find(|(p, _)| w.starts_with(p))
        .map(|(_, m)| *m)
}

/// Parse the date forms of the default pattern. `None` when it is not a
/// valid calendar date or has no year.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim().trim_end_matches(['.', ',']).trim();
    let nums: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect();
    let word = s
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .find_map(month_number);
    let year_first = s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    match (word, nums.as_slice()) {
        // 2026-12-03
        (None, [y, m, d]) if year_first => NaiveDate::from_ymd_opt(*y as i32, *m, *d),
        // 03.12.2026, 3/12/2026
        (None, [d, m, y]) if *y >= 1000 => NaiveDate::from_ymd_opt(*y as i32, *m, *d),
        // 2026. gada 3. decembrim
        (Some(m), [y, d]) if year_first => NaiveDate::from_ymd_opt(*y as i32, m, *d),
        // 3 December 2026, December 3, 2026, 3. decembrī 2026
        (Some(m), [a, b]) if *b >= 1000 => NaiveDate::from_ymd_opt(*b as i32, m, *a),
        _ => None,
    }
}

fn parse_day_month(s: &str) -> Option<(u32, u32)> {
    let day: u32 = s
        .split(|c: char| !c.is_ascii_digit())
        .find(|t| !t.is_empty())?
        .parse()
        .ok()?;
    let month = s
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .find_map(month_number)?;
    Some((day, month))
}

/// Why a promised date is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the promised date is in the past; give a date from today on")]
    InPast,
    #[error("the promised date is later than {0}, four months after the mail was received (Iesniegumu likums §5, SPEC §4.3); the deadline cannot be extended beyond it")]
    BeyondLimit(NaiveDate),
    #[error("the promised date could not be read; write it as 03.12.2026 or 2026. gada 3. decembris")]
    Unparseable,
}

/// Four months after the day of receipt (the month's last day when shorter).
pub fn submission_limit(received_local_date: NaiveDate) -> NaiveDate {
    received_local_date
        .checked_add_months(Months::new(4))
        .unwrap_or(NaiveDate::MAX)
}

/// Can the case be extended to `date`? Refused when the date is before today
/// (or before receipt), or after `limit` (for submissions:
/// [`submission_limit`]).
pub fn is_acceptable(
    date: NaiveDate,
    received_local_date: NaiveDate,
    now_local_date: NaiveDate,
    limit: Option<NaiveDate>,
) -> Result<(), Refusal> {
    if date < now_local_date || date < received_local_date {
        return Err(Refusal::InPast);
    }
    match limit {
        Some(l) if date > l => Err(Refusal::BeyondLimit(l)),
        _ => Ok(()),
    }
}

/// A finding judged in one step: the date to extend the case to, or why not.
pub fn judge(
    finding: &InterimFinding,
    received_local_date: NaiveDate,
    now_local_date: NaiveDate,
    limit: Option<NaiveDate>,
) -> Result<NaiveDate, Refusal> {
    match finding {
        InterimFinding::Date(d) => is_acceptable(*d, received_local_date, now_local_date, limit).map(|()| *d),
        InterimFinding::Unparseable(_) => Err(Refusal::Unparseable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn default_pattern_finds_promises() {
        let m = InterimMatcher::new(None).unwrap();
        let cases = [
            ("Par rezultātiem Jūs informēsim līdz 03.12.2026.", d(2026, 12, 3)),
            ("Atbildi sniegsim līdz 3.12.2026.", d(2026, 12, 3)),
            ("Atbildi sniegsim līdz 2026-12-03", d(2026, 12, 3)),
            (
                "atbildi pēc būtības Jums sniegsim līdz 2026. gada 10. decembrim.",
                d(2026, 12, 10),
            ),
            (
                "Sniegsim atbildi ne vēlāk kā 2026. gada 10. decembrī.",
                d(2026, 12, 10),
            ),
            ("Atbildi sniegsim lidz 2027. gada 5. janvarim", d(2027, 1, 5)),
            ("Atbilde tiks sniegta līdz 2027. g. 1. februārim.", d(2027, 2, 1)),
            ("Lēmumu pieņemsim līdz 15.01.2027", d(2027, 1, 15)),
            ("Lēmums tiks pieņemts līdz 15.01.2027.", d(2027, 1, 15)),
            ("Atbildi Jums saņemsiet līdz 15.01.2027.", d(2027, 1, 15)),
            ("Atbildēšu līdz 15.01.2027.", d(2027, 1, 15)),
            ("Ar Jums sazināsimies ne vēlāk kā 15.01.2027.", d(2027, 1, 15)),
            (
                "Līdz 2026. gada 10. decembrim Jums sniegsim atbildi.",
                d(2026, 12, 10),
            ),
            (
                "Jūsu jautājumu izskatīsim un\natbildēsim līdz 7.12.2026.",
                d(2026, 12, 7),
            ),
            ("We will reply by 7 December 2026.", d(2026, 12, 7)),
            (
                "We will reply to you by e-mail no later than 7 December 2026.",
                d(2026, 12, 7),
            ),
            (
                "We can expect a decision by the 7th of December 2026.",
                d(2026, 12, 7),
            ),
            (
                "Līdz pirmdienai, 2026. gada 7. decembrim, sniegsim atbildi.",
                d(2026, 12, 7),
            ),
            ("Atbildi sniegsim līdz 2026.gada 7.decembrim.", d(2026, 12, 7)),
            ("Atbildi nosūtīsim līdz 07/12/2026.", d(2026, 12, 7)),
            ("We will reply by December 7, 2026.", d(2026, 12, 7)),
            (
                "We'll get back to you no later than 7th of December 2026.",
                d(2026, 12, 7),
            ),
            ("You will receive our answer by 07.12.2026.", d(2026, 12, 7)),
            ("We will respond by Monday, 7 December 2026.", d(2026, 12, 7)),
            ("A decision will be made by 7 Dec 2026.", d(2026, 12, 7)),
            ("Ответ предоставим до 3 декабря 2026 года.", d(2026, 12, 3)),
            ("Мы ответим не позднее 03.12.2026.", d(2026, 12, 3)),
            ("Plānojam atbildēt līdz 03.12.2026.", d(2026, 12, 3)),
            ("Plānojam sniegt atbildi līdz 03.12.2026.", d(2026, 12, 3)),
            ("Paredzamais atbildes datums – līdz 03.12.2026.", d(2026, 12, 3)),
            ("Līdz 7.12.2026. sagatavosim atbildi.", d(2026, 12, 7)),
            ("Mēs sazināsimies ar Jums līdz 03.12.2026.", d(2026, 12, 3)),
            ("Informāciju nosūtīsim līdz 03.12.2026.", d(2026, 12, 3)),
        ];
        for (text, want) in cases {
            assert_eq!(m.find(text), Some(InterimFinding::Date(want)), "{text}");
        }
    }

    #[test]
    fn default_pattern_ignores_non_promises() {
        let m = InterimMatcher::new(None).unwrap();
        for text in [
            "Pieteikumus var iesniegt līdz 2027. gada 15. janvārim.",
            "Projekts jāīsteno līdz 31.12.2027.",
            "Konkurss ir atvērts līdz 2027-01-15.",
            "Please reply by 3 December 2026.",
            "Applications are accepted until 15 January 2027.",
            "Mēs sniegsim atbildi drīzumā.",
            "Atbilde: termiņš ir 03.12.2026.",
            "Документы принимаются до 15 января 2027 года.",
            "Paldies par informāciju! Dokumentus lūdzam iesniegt līdz 03.12.2026.",
            "Atbildot uz Jūsu jautājumu: pieteikumus var iesniegt līdz 15.01.2027.",
            "Jūsu pašu dokumentus latviešu valodā iesniedziet līdz 15.01.2027.",
            "Pieteikumi tiks pieņemti līdz 2027. gada 15. janvārim.",
            "Projektu paredzēts īstenot līdz 2027. gada 31. decembrim.",
            "Plānots, ka būvdarbi noslēgsies līdz 30.06.2027.",
            "В ответ на Ваш вопрос: документы принимаются до 15 января 2027 года.",
            "Pieteikumus pieņemsim līdz 2027. gada 15. janvārim.",
            "Atbildot uz jautājumu, pieteikumus pieņemsim līdz 15.01.2027.",
            "Līgumu nosūtīsim līdz 10.12.2026.",
            "Līdz 2027. gada 4. janvārim klientu centrs ir slēgts.",
        ] {
            assert_eq!(m.find(text), None, "{text}");
        }
    }

    #[test]
    fn yearless_date() {
        let m = InterimMatcher::new(None).unwrap();
        let t = "Atbildi sniegsim līdz 10. decembrim.";
        assert!(matches!(m.find(t), Some(InterimFinding::Unparseable(_))));
        assert_eq!(
            m.find_after(t, d(2026, 11, 24)),
            Some(InterimFinding::Date(d(2026, 12, 10)))
        );
        assert_eq!(
            m.find_after("Atbildi sniegsim līdz š.g. 10. decembrim.", d(2026, 11, 24)),
            Some(InterimFinding::Date(d(2026, 12, 10)))
        );
        assert_eq!(
            m.find_after("Atbildi sniegsim līdz šā gada 10. decembrim.", d(2026, 11, 24)),
            Some(InterimFinding::Date(d(2026, 12, 10)))
        );
        assert_eq!(
            m.find_after("Atbildi sniegsim līdz 5. janvārim.", d(2026, 12, 20)),
            Some(InterimFinding::Date(d(2027, 1, 5)))
        );
    }

    #[test]
    fn invalid_date_is_unparseable() {
        let m = InterimMatcher::new(None).unwrap();
        assert_eq!(
            m.find("Atbildi sniegsim līdz 31.02.2027."),
            Some(InterimFinding::Unparseable("31.02.2027".into()))
        );
    }

    #[test]
    fn custom_pattern() {
        let m = InterimMatcher::new(Some(r"termiņš (?P<date>\d{2}\.\d{2}\.\d{4})")).unwrap();
        assert_eq!(
            m.find("Jauns termiņš 03.12.2026"),
            Some(InterimFinding::Date(d(2026, 12, 3)))
        );
        assert!(matches!(
            InterimMatcher::new(Some(r"\d+")),
            Err(InterimPatternError::NoDateGroup)
        ));
        assert!(matches!(
            InterimMatcher::new(Some(r"(?P<date>")),
            Err(InterimPatternError::Regex(_))
        ));
    }

    /// The prefiltered search finds exactly what the pattern alone finds:
    /// the pieces of promises and non-promises above, glued in random
    /// order to words that put a letter (ASCII or not), a digit or nothing
    /// next to them, so word boundaries fall where the prefilter ignores
    /// them; also with custom patterns using `^`, `$` and `\b`.
    #[test]
    fn prefilter_finds_what_the_pattern_finds() {
        let pieces = [
            "Atbildi sniegsim līdz ",
            "atbildēsim",
            " līdz ",
            "03.12.2026",
            "10. decembrim",
            "2026. gada 10. decembrī",
            "We will reply by ",
            "7 December 2026",
            "Мы ответим не позднее ",
            "до 3 декабря 2026",
            "Lēmums tiks pieņemts",
            "Pieteikumus var iesniegt līdz ",
            "Projekts jāīsteno līdz ",
            "Līdz ",
            " sniegsim atbildi",
            "ā",
            "ž",
            "x",
            "7",
            " ",
            "\n",
            ". ",
            ", ",
            "Tālr. +371 67078190",
            "termiņš ",
            "līdz ",
            "\nlīdz 3. janvārim",
        ];
        let patterns = [
            None,
            Some(r"termiņš (?P<date>\d{2}\.\d{2}\.\d{4})"),
            Some(r"(?m)^līdz (?P<date>\d{1,2}\. \w+)$"),
            Some(r"\bsniegsim\b.{0,20}?\b(?P<date>\d{2}\.\d{2}\.\d{4})\b"),
        ];
        let mut seed = 7u32;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) as usize % n
        };
        for pattern in patterns {
            let m = InterimMatcher::new(pattern).unwrap();
            let alone = |text: &str| {
                let caps = m.re.captures(text)?;
                m.re.capture_names()
                    .flatten()
                    .filter(|n| n.starts_with("date"))
                    .find_map(|n| caps.name(n))
                    .map(|g| g.as_str().trim().to_string())
            };
            let mut found = 0;
            for _ in 0..1500 {
                let text: String = (0..next(12)).map(|_| pieces[next(pieces.len())]).collect();
                let want = alone(&text);
                found += usize::from(want.is_some());
                assert_eq!(m.promise(&text), want, "{pattern:?} on {text:?}");
            }
            assert!(found > 0, "{pattern:?}: the random texts never made a promise");
        }
    }

    #[test]
    fn parse_date_forms() {
        for (s, want) in [
            ("03.12.2026", Some(d(2026, 12, 3))),
            ("3.12.2026.", Some(d(2026, 12, 3))),
            ("3/12/2026", Some(d(2026, 12, 3))),
            ("2026-12-03", Some(d(2026, 12, 3))),
            ("2026. gada 3. decembrim", Some(d(2026, 12, 3))),
            ("2026. gada 3. decembris", Some(d(2026, 12, 3))),
            ("2026. gada 3. decembrī", Some(d(2026, 12, 3))),
            ("2027. gada 1. jūlijam", Some(d(2027, 7, 1))),
            ("2027. gada 1. marta", Some(d(2027, 3, 1))),
            ("2027. gada 20. maijā", Some(d(2027, 5, 20))),
            ("3 December 2026", Some(d(2026, 12, 3))),
            ("December 3, 2026", Some(d(2026, 12, 3))),
            ("3rd of December 2026", Some(d(2026, 12, 3))),
            ("3 декабря 2026", Some(d(2026, 12, 3))),
            ("30.02.2026", None),
            ("3. decembrim", None),
        ] {
            assert_eq!(parse_date(s), want, "{s}");
        }
    }

    #[test]
    fn acceptability() {
        let rec = d(2026, 11, 24);
        let now = d(2026, 11, 25);
        assert_eq!(is_acceptable(d(2026, 12, 3), rec, now, None), Ok(()));
        assert_eq!(is_acceptable(now, rec, now, None), Ok(()));
        assert_eq!(
            is_acceptable(d(2026, 11, 24), rec, now, None),
            Err(Refusal::InPast)
        );
        let limit = submission_limit(rec);
        assert_eq!(limit, d(2027, 3, 24));
        assert_eq!(is_acceptable(limit, rec, now, Some(limit)), Ok(()));
        assert_eq!(
            is_acceptable(d(2027, 3, 25), rec, now, Some(limit)),
            Err(Refusal::BeyondLimit(limit))
        );
        assert_eq!(submission_limit(d(2026, 10, 31)), d(2027, 2, 28));
        assert_eq!(
            judge(&InterimFinding::Date(d(2026, 12, 3)), rec, now, Some(limit)),
            Ok(d(2026, 12, 3))
        );
        assert_eq!(
            judge(&InterimFinding::Unparseable("x".into()), rec, now, None),
            Err(Refusal::Unparseable)
        );
        assert!(Refusal::BeyondLimit(limit).to_string().contains("2027-03-24"));
    }
}
