//! The pure part of threading (SPEC §2): which Message-IDs a message refers
//! to, the normalised subject for the fallback match, and case references
//! written in a subject.
//!
//! Decisions for [`normalize_subject`]:
//! - reply/forward prefixes are removed repeatedly, case-insensitively, with
//!   or without a counter (`RE[2]:`, `Re(2):`, `Re^2:`) and with a full-width
//!   colon: `Re`, `Aw`, `Sv`, `Vs`, `Atb`, `Antw`, `Fw`, `Fwd`, `Wg`, `Tr`,
//!   `Rif`, `Odp`, `Pārs`, `Pārsūt.`, `Pars`, `Ответ`, `Отв`, `Пересл`;
//! - the gateway's own acknowledgement prefix `Auto:` (SPEC §5.3) is removed
//!   too, so a client replying to the acknowledgement matches the case;
//! - leading bracketed tags (`[EXTERNAL]`, `[ĀRĒJS]`, `[#48213]`, a case tag
//!   `[SIF-2026-00042]`) and a trailing case tag are removed;
//! - white space is collapsed, the result lower-cased and trimmed.

use std::sync::LazyLock;

use regex::Regex;

use crate::message::MessageMeta;

static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:re|aw|sv|vs|atb|antw|fw|fwd|wg|tr|rif|odp|pārs|pārsūt\.?|pars|ответ|отв|пересл|auto)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]",
    )
    .expect("static regex")
});

static LEADING_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\[[^\[\]]{1,40}\]").expect("static regex"));

static TRAILING_CASE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*[\[(][\p{L}\p{N}]+-\d{4}-\d{3,}[\])]\s*$").expect("static regex"));

/// The subject used for the fallback thread match (see the module doc).
pub fn normalize_subject(s: &str) -> String {
    let mut cur: &str = s;
    loop {
        let before = cur.len();
        if let Some(m) = PREFIX.find(cur) {
            cur = &cur[m.end()..];
        }
        if let Some(m) = LEADING_TAG.find(cur) {
            cur = &cur[m.end()..];
        }
        if cur.len() == before {
            break;
        }
    }
    let cur = TRAILING_CASE_TAG.replace(cur, "");
    cur.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The Message-IDs a message refers to: In-Reply-To first, then References
/// newest-first (the last one written is the direct parent), without
/// duplicates and without the message's own id.
pub fn referenced_ids(m: &MessageMeta) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let own = m.message_id.as_deref();
    for id in m.in_reply_to.iter().chain(m.references.iter().rev()) {
        if Some(id.as_str()) != own && !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// Finds a case reference such as `SIF-2026-00042` in a subject
/// (case-insensitive, not inside a longer word). Returns it in canonical form:
/// the prefix as configured, the year and the number as written.
pub fn case_ref_in_subject(subject: &str, prefix: &str) -> Option<String> {
    let prefix = prefix.trim();
    if prefix.is_empty() {
        return None;
    }
    let re = Regex::new(&format!(
        r"(?i)(?:^|[^\p{{L}}\p{{N}}_-])({})-(\d{{4}})-(\d{{5,}})(?:$|[^\p{{N}}])",
        regex::escape(prefix)
    ))
    .ok()?;
    let caps = re.captures(subject)?;
    Some(format!("{}-{}-{}", prefix, &caps[2], &caps[3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        let table = [
            (
                "Jautājums par NVO fonda projektu konkursu",
                "jautājums par nvo fonda projektu konkursu",
            ),
            ("Re: Atb: Jautājums  par\tNVO", "jautājums par nvo"),
            ("RE: RE: Question", "question"),
            ("Atb: Atb: Projekta pieteikums", "projekta pieteikums"),
            ("AW: Frage", "frage"),
            ("Sv: Fråga", "fråga"),
            ("SV: Fråga", "fråga"),
            ("Fw: x", "x"),
            ("FW: x", "x"),
            ("Fwd: x", "x"),
            ("Pārs: x", "x"),
            ("PĀRS: x", "x"),
            ("Pārsūt.: x", "x"),
            ("Ответ: Вопрос о курсах", "вопрос о курсах"),
            ("RE[2]: x", "x"),
            ("Re(3): x", "x"),
            ("Re^2: x", "x"),
            ("Re : x", "x"),
            ("Re：x", "x"),
            ("Auto: Jautājums", "jautājums"),
            ("Re: Auto: Jautājums [SIF-2026-00042]", "jautājums"),
            ("[SIF-2026-00042] Re: Jautājums", "jautājums"),
            ("[EXTERNAL] RE: Question", "question"),
            ("Re: [EXTERNAL] Question", "question"),
            ("  ", ""),
            ("", ""),
            // Not prefixes: words that merely start the same.
            ("Reģistrācija semināram", "reģistrācija semināram"),
            ("Atbalsts NVO", "atbalsts nvo"),
            ("Svētku apsveikums", "svētku apsveikums"),
            ("Real question: why?", "real question: why?"),
            // A case tag in the middle stays.
            ("Par SIF-2026-00042 lietu", "par sif-2026-00042 lietu"),
        ];
        for (input, want) in table {
            assert_eq!(normalize_subject(input), want, "{input:?}");
        }
    }

    #[test]
    fn normalize_matches_corpus_pairs() {
        assert_eq!(
            normalize_subject("Atb: Par brīvprātīgā darba programmu"),
            normalize_subject("Par brīvprātīgā darba programmu")
        );
        assert_eq!(
            normalize_subject("Re: Вопрос о курсах латышского языка"),
            normalize_subject("Вопрос о курсах латышского языка")
        );
    }

    #[test]
    fn referenced_ids_order() {
        let m = MessageMeta {
            message_id: Some("self@x".into()),
            in_reply_to: vec!["parent@x".into()],
            references: vec![
                "root@x".into(),
                "mid@x".into(),
                "parent@x".into(),
                "self@x".into(),
            ],
            ..MessageMeta::default()
        };
        assert_eq!(referenced_ids(&m), ["parent@x", "mid@x", "root@x"]);
        let m = MessageMeta {
            references: vec!["a@x".into(), "b@x".into()],
            ..MessageMeta::default()
        };
        assert_eq!(referenced_ids(&m), ["b@x", "a@x"]);
        assert!(referenced_ids(&MessageMeta::default()).is_empty());
    }

    #[test]
    fn case_refs() {
        let table = [
            ("Re: Jautājums [SIF-2026-00042]", "SIF", Some("SIF-2026-00042")),
            ("sif-2026-00042 par lietu", "SIF", Some("SIF-2026-00042")),
            ("(SIF-2027-123456)", "SIF", Some("SIF-2027-123456")),
            ("XSIF-2026-00042", "SIF", None),
            ("SIF-2026-0042", "SIF", None),
            ("SIF-26-00042", "SIF", None),
            ("nothing here", "SIF", None),
            ("Ref ABC.D-2026-00001", "ABC.D", Some("ABC.D-2026-00001")),
            ("SIF-2026-00042", "", None),
        ];
        for (subject, prefix, want) in table {
            assert_eq!(
                case_ref_in_subject(subject, prefix).as_deref(),
                want,
                "{subject:?}"
            );
        }
    }
}
