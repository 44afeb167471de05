//! The pure part of threading (SPEC §2): which Message-IDs a message refers
//! to, the normalised subject for the fallback match, and case references
//! written in a subject.
//!
//! Decisions for [`normalize_subject`]:
//! - reply/forward prefixes are removed repeatedly, case-insensitively, with
//!   or without a counter (`RE[2]:`, `Re(2):`, `Re^2:`) and with a full-width
//!   colon, with or without a dot after the word (`Atb.:`), with or without
//!   space before the colon (`Re : `): `Re`, `Aw`, `Sv`, `Svar`, `Vs`, `Atb`,
//!   `Antw`, `Fw`, `Fwd`, `Wg`, `Tr`, `Rv`, `Enc`, `Rif`, `Odp`, `Pd`, `Ynt`,
//!   `Ats`, `Pers`, `Doorst`, `Pārs`, `Pārsūt`, `Pars`, `Ответ`, `Отв`,
//!   `Пересл`, `回复`, `答复`, `转发`;
//! - the gateway's own acknowledgement prefix `Auto:` (SPEC §5.3) is removed
//!   too, so a client replying to the acknowledgement matches the case;
//! - leading bracketed tags (`[EXTERNAL]`, `[ĀRĒJS]`, `[#48213]`, a case tag
//!   `[SIF-2026-00042]`) and a trailing case tag are removed;
//! - white space is collapsed, the result lower-cased and trimmed.

use std::sync::LazyLock;

use regex::Regex;

use crate::inbound::message::MessageMeta;

static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:re|aw|sv|svar|vs|atb|antw|fw|fwd|wg|tr|rv|enc|rif|odp|pd|ynt|ats|pers|doorst|pārs|pārsūt|pars|ответ|отв|пересл|回复|答复|转发|auto)\.?\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]",
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

/// Does the subject start with a reply or forward prefix (`Re:`, `Atb:`, …)?
pub fn has_reply_prefix(s: &str) -> bool {
    PREFIX.is_match(s)
}

/// The Message-IDs a message refers to: In-Reply-To first, then References
/// newest-first (the last one written is the direct parent), without
/// duplicates and without the message's own id.
pub fn referenced_ids(m: &MessageMeta) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let own = m.message_id.as_deref();
    for id in m.in_reply_to.iter().chain(m.references.iter().rev()) {
        if Some(id.as_str()) != own && seen.insert(id.as_str()) {
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

    /// Subjects real clients' mailers produce, each against its original.
    #[test]
    fn normalize_real_client_prefixes() {
        let base = "jautājums par projektu";
        let table = [
            "RE: AW: Fwd: Atb.: Jautājums par projektu",
            "Atb.: Jautājums par projektu",
            "ATB.: Jautājums par projektu",
            "Atb. : Jautājums par projektu",
            "RE[3]: Jautājums par projektu",
            "Re[12]: Re[11]: Jautājums par projektu",
            "Ynt: Jautājums par projektu",
            "YNT: Ynt: Jautājums par projektu",
            "Odp: Jautājums par projektu",
            "Vs: Jautājums par projektu",
            "VS: SV: Jautājums par projektu",
            "SV: Jautājums par projektu",
            "Svar: Jautājums par projektu",
            "Ответ: Jautājums par projektu",
            "Отв.: Jautājums par projektu",
            "Re : Jautājums par projektu",
            "TR : RE : Jautājums par projektu",
            "RV: Jautājums par projektu",
            "Pārs.: Jautājums par projektu",
            "Pārsūt.: Jautājums par projektu",
            "Antw: Doorst: Jautājums par projektu",
            "回复: Jautājums par projektu",
            " \t Re:\tJautājums   par projektu \t ",
            "\tJautājums par projektu\t",
            "Jautājums par projektu [SIF-2026-00042]",
            "Re: Jautājums par projektu [SIF-2026-00042]",
            "[SIF-2026-00042] Atb.: Jautājums par projektu",
            "Re: [SIF-2026-00042] Jautājums par projektu",
            "Re: Auto: Jautājums par projektu (SIF-2026-00042)",
            "Re: [EXTERNAL] RE: Jautājums par projektu",
        ];
        for input in table {
            assert_eq!(normalize_subject(input), base, "{input:?}");
        }
        // Only a prefix: nothing left.
        for input in ["Re:", "RE: ", " re : ", "Atb.:", "Fwd: Re:", "[SIF-2026-00042]"] {
            assert_eq!(normalize_subject(input), "", "{input:?}");
        }
        // Words that start like a prefix are kept.
        for input in [
            "Atbilde uz vēstuli",
            "Revīzija: rezultāti",
            "Pdf: kā atvērt?",
            "Odpady: x",
            "Svarīgi: termiņš",
            "Pers. kods: jautājums",
        ] {
            assert_eq!(normalize_subject(input), input.to_lowercase(), "{input:?}");
        }
    }

    /// References/In-Reply-To as broken mailers write them.
    #[test]
    fn referenced_ids_from_malformed_headers() {
        fn refs(headers: &str) -> Vec<String> {
            let raw = format!("From: a@b.lv\r\nMessage-ID: <self@x>\r\n{headers}\r\n\r\nbody");
            referenced_ids(&MessageMeta::parse(raw.as_bytes()).expect("parses"))
        }
        let table: &[(&str, &[&str])] = &[
            // No angle brackets at all.
            ("References: a@x b@x", &["b@x", "a@x"]),
            // Commas between ids, with and without brackets.
            ("References: <a@x>,<b@x>, <c@x>", &["c@x", "b@x", "a@x"]),
            ("References: a@x,b@x", &["b@x", "a@x"]),
            // Comments, including one that quotes an id.
            (
                "References: <a@x> (Anna's message of 24 Nov <fake@x>) <b@x>",
                &["b@x", "a@x"],
            ),
            ("In-Reply-To: <p@x> (from Anna (inbox.lv))", &["p@x"]),
            // Duplicates, and the message's own id.
            ("References: <a@x> <b@x> <a@x> <self@x> <b@x>", &["b@x", "a@x"]),
            // Mixed bracketed and bare ids.
            ("References: a@x <b@x>", &["b@x", "a@x"]),
            // Folded inside an id.
            ("References: <a@x>\r\n <long-\r\n id@x>", &["long-id@x", "a@x"]),
            // An unclosed bracket at the end.
            ("References: <a@x> <b@x", &["b@x", "a@x"]),
            // Old RFC 822 style In-Reply-To with words around the id.
            (
                "In-Reply-To: Your message of \"Tue, 24 Nov 2026\" <p@x>\r\nReferences: <r@x> <p@x>",
                &["p@x", "r@x"],
            ),
            // Nothing usable.
            ("References: (none) garbage ,,, <>", &[]),
        ];
        for (headers, want) in table {
            assert_eq!(refs(headers), *want, "{headers:?}");
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
