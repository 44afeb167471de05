//! Client feedback about the service (SPEC §14): does a client mail give
//! feedback on, or complain about, how the institution served the client?
//!
//! Judged on the subject (unless it is a reply's: `Re: Sūdzība …` repeats
//! what was said before) and the client's own text (quotes already removed),
//! folded (lower case, no diacritics), sentence by sentence:
//! - a **phrase** about the service counts wherever it stands: rudeness
//!   ("nepieklājīgi", "rude"), a complaint about staff, service, an answer
//!   or a delay ("sūdzība par darbinieku", "complaint about your staff",
//!   "jau trīs nedēļas gaidu atbildi"), a wrong answer, praise of a person
//!   or of the service ("paldies jūsu darbiniecei", "thank you for your
//!   quick answer"), feedback on the service ("atsauksme par apkalpošanu");
//! - a bare **word** ("sūdzība", "complaint", "neapmierināts", "feedback")
//!   counts only in a sentence that is not a question and does not speak of
//!   a decision, a competition, its results, an appeal or a court: "vai varu
//!   iesniegt sūdzību par konkursa rezultātiem?" asks about a grant decision,
//!   which is not feedback about the service.
//!
//! `feedback.words` replaces the built-in phrases and words with the admin's
//! own (each matched as a phrase at word starts, with the same question and
//! decision guard); `feedback.extra_words` adds to them. Mistakes are cheap:
//! `replygate mark CASE --feedback | --not-feedback` corrects a case.
//!
//! Pure and bounded: at most [`MAX_TEXT`] characters of text are read, every
//! regex is linear (Rust's `regex` has no backtracking).

use std::sync::LazyLock;

use regex::Regex;

use crate::inbound::authortext::fold;
use crate::inbound::thread::has_reply_prefix;

/// How much of the client's text is read (the feedback is said early; a
/// 2 MiB body must not cost more than this).
pub const MAX_TEXT: usize = 20_000;

/// Phrases about the service, on folded text. Each counts wherever it stands.
const PHRASES: &[&str] = &[
    // Rudeness, arrogance, incompetence (lv, en).
    r"\bnepieklajig\w*",
    r"\brupj\w*\s+(?:attieksm|izturej|atbild|darbiniec|darbiniek|konsultant|runa|run[aā]j)\w*",
    r"\baugstpratig\w*",
    r"\bnecienig\w*\s+(?:attieksm|izturesan)\w*",
    r"\bnekompetent\w*",
    r"\b(?:rude|impolite|unprofessional|disrespectful|unfriendly|arrogant)\b",
    // A complaint about staff, service, an answer or a delay.
    r"\bsudz\w*\s+par\s+(?:(?:jusu|fonda|sif|so|to|musu)\s+)?(?:darbinie|apkalpo|attieksm|konsultant|konsultacij|atbild|kavej|informacij|izturesan|klientu\s+apkalpo|pakalpojum|sniegt)\w*",
    r"\b(?:sudzos|sudzamies)\b",
    r"\batsauksm\w*\s+par\s+(?:(?:jusu|fonda|sif|so|musu)\s+)?(?:apkalpo|pakalpojum|darb|darbinie|konsultacij|konsultant|sniegt|klientu)\w*",
    r"\bklientu\s+apkalposan\w*\s+(?:kvalitat|ir\s+(?:slikt|zem))\w*",
    r"\bcomplain\w*\s+about\s+(?:the\s+way|how|your\s+(?:staff|service|employee|colleague|office|reply|response|answer|customer|team|support|help\s*line|helpline|attitude)|the\s+(?:staff|service|employee|treatment|reply|response|answer|customer|attitude|behaviou?r))",
    r"\b(?:feedback|comments?|review)\s+(?:on|about|regarding)\s+(?:your|the)\s+(?:service|staff|support|customer|team|help)",
    // Dissatisfaction with the service (not with a decision).
    r"\b(?:dissatisfied|unhappy|disappointed|not\s+satisfied|not\s+happy)\s+with\s+(?:the\s+|your\s+)?(?:service|staff|support|way|response|reply|answer|treatment|customer|communication|help)",
    r"\b(?:unacceptable|terrible|awful|poor|bad)\s+(?:customer\s+)?service\b",
    // Slowness: waiting for an answer.
    r"\bjau\s+\w+\s+(?:nedel|menes|dien)\w*\s+(?:gaid|nevar)\w*",
    r"\b(?:gaidu|gaidam|gaidiju|gaidijam)\s+(?:uz\s+)?(?:jusu\s+)?atbild\w*\s+(?:jau|vairak|ilgak|kops)\w*",
    r"\bneviens\s+(?:man\s+|mums\s+)?(?:nav\s+|ne)atbild\w*",
    r"\bneviens\s+neatbild\w*",
    r"\b(?:been\s+)?waiting\s+(?:for\s+)?(?:a\s+|an\s+|your\s+)?(?:reply|answer|response)\s+(?:for|since)\b",
    r"\bbeen\s+waiting\s+for\s+(?:a\s+|an\s+|your\s+)?(?:reply|answer|response)",
    r"\b(?:no\s*one|nobody)\s+(?:has\s+|have\s+|ever\s+)?(?:answer|repl|respond)\w*",
    // A wrong answer.
    r"\bnepareiz\w*\s+(?:atbild|informacij|termin|konsultacij|ziņ|zin)\w*",
    r"\bwrong\s+(?:information|answer|advice|info)\b",
    // Praise of a person or of the service.
    r"\bpaldies\s+(?:jusu\s+|jums\s+|fonda\s+)?(?:darbiniec|darbiniek|kolegei|kolegim|konsultant|speciālist|specialist)\w*",
    r"\bpaldies\s+(?:jums\s+)?par\s+(?:(?:lo|ļo)ti\s+)?(?:atr|lielisk|izcil|laipn|profesional|pacietig|operativ|saprotam|izsmeloš|izsmelos|kvalitativ)\w*",
    r"\bizsak\w*\s+(?:lielu\s+|sirsnigu\s+)?pateicib\w*",
    r"\bthank\s+you\s+(?:(?:very|so)\s+much\s+)?for\s+(?:your\s+|the\s+)?(?:quick|fast|prompt|excellent|helpful|kind|great|professional|patient|clear)\w*",
    r"\b(?:great|excellent|outstanding|wonderful|fantastic)\s+(?:customer\s+)?service\b",
    r"\bwas\s+(?:very\s+|so\s+|extremely\s+)?(?:helpful|kind|patient|professional)\b",
];

/// Bare words: they count only outside questions and decision talk.
const WORDS: &[&str] = &[
    r"\bsudzib\w*",
    r"\bsudzet\w*",
    r"\batsauksm\w*",
    r"\bneapmierinat\w*",
    r"\bvil(?:ies|usies|usi|usas)\b",
    r"\bcomplain\w*",
    r"\bfeedback\b",
    r"\bdissatisf\w*",
];

/// Decision, competition, results, appeal, court: a bare word next to these
/// is about a decision, not about the service.
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:lemum\w*|konkurs\w*|rezultat\w*|ties(?:a|ai|as|u|ā|am)\b|tiesvedib\w*|parsudz\w*|apstrid\w*|noraid\w*|vertejum\w*|atbalst\w*\s+pieskir\w*|decision\w*|results?\b|court\w*|appeal\w*|evaluation\w*|call\s+for\s+proposals|scor\w*|rejected|rejection|tender\w*|competition\w*|grant\s+award\w*)",
    )
    .expect("static regex")
});

/// The feedback recogniser for one configuration.
#[derive(Debug)]
pub struct Recogniser {
    phrases: Vec<Regex>,
    words: Vec<Regex>,
}

/// Why a mail was judged feedback: the folded phrase or word that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub matched: String,
}

/// An admin-given word or phrase as a regex on folded text: whole words,
/// the last one a prefix ("sūdzīb" also matches "sūdzību").
fn admin_regex(word: &str) -> Option<Regex> {
    let tokens: Vec<String> = fold(word).split_whitespace().map(regex::escape).collect();
    if tokens.is_empty() {
        return None;
    }
    Regex::new(&format!(r"\b{}\w*", tokens.join(r"\s+"))).ok()
}

impl Default for Recogniser {
    fn default() -> Self {
        Recogniser::new(None, &[])
    }
}

impl Recogniser {
    /// `words`: the admin's list replacing the built-in one (`None`: the
    /// built-in phrases and words); `extra`: added to whichever list is used.
    pub fn new(words: Option<&[String]>, extra: &[String]) -> Recogniser {
        let (phrases, mut words): (Vec<Regex>, Vec<Regex>) = match words {
            None => (
                PHRASES
                    .iter()
                    .map(|p| Regex::new(p).expect("static regex"))
                    .collect(),
                WORDS
                    .iter()
                    .map(|p| Regex::new(p).expect("static regex"))
                    .collect(),
            ),
            Some(list) => (Vec::new(), list.iter().filter_map(|w| admin_regex(w)).collect()),
        };
        words.extend(extra.iter().filter_map(|w| admin_regex(w)));
        Recogniser { phrases, words }
    }

    /// Judge a client mail by its subject and own text (quotes removed).
    pub fn judge(&self, subject: &str, own_text: &str) -> Option<Finding> {
        // A reply's subject repeats an earlier mail: only a fresh one counts.
        let fresh_subject = !has_reply_prefix(subject);
        let text = cut(own_text, MAX_TEXT);
        let subject_f = fold(cut(subject, 1_000));
        let text_f = fold(text);
        if fresh_subject {
            if let Some(f) = self.judge_sentence(&subject_f, false) {
                return Some(f);
            }
        }
        let found =
            sentences(&text_f).find_map(|(sentence, question)| self.judge_sentence(sentence, question));
        found
    }

    fn judge_sentence(&self, s: &str, question: bool) -> Option<Finding> {
        for p in &self.phrases {
            if let Some(m) = p.find(s) {
                return Some(Finding {
                    matched: m.as_str().to_string(),
                });
            }
        }
        if question || DECISION.is_match(s) {
            return None;
        }
        self.words.iter().find_map(|w| w.find(s)).map(|m| Finding {
            matched: m.as_str().to_string(),
        })
    }
}

/// The sentences of a text, each with whether it is a question (ends in
/// `?`). A full stop after a digit ("2026. gada 3. novembra") ends nothing.
fn sentences(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = text;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let mut prev = ' ';
        let end = rest.char_indices().find(|&(_, c)| {
            let ends = matches!(c, '!' | '?' | '\n') || (c == '.' && !prev.is_ascii_digit());
            prev = c;
            ends
        });
        let (sentence, question, next) = match end {
            None => (rest, false, ""),
            Some((i, _)) => {
                let tail = &rest[i..];
                let stop = tail
                    .find(|c: char| !matches!(c, '!' | '?' | '.' | '\n'))
                    .unwrap_or(tail.len());
                (&rest[..i], tail[..stop].contains('?'), &tail[stop..])
            }
        };
        rest = next;
        if !sentence.trim().is_empty() {
            return Some((sentence, question));
        }
    })
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Set {
        cases: Vec<Sample>,
    }
    #[derive(serde::Deserialize)]
    struct Sample {
        id: String,
        subject: String,
        body: String,
        feedback: bool,
    }

    /// The written set (tests/fixtures/feedback/cases.json): expected
    /// verdicts were written before this code.
    #[test]
    fn written_set() {
        let raw = include_str!("../../tests/fixtures/feedback/cases.json");
        let set: Set = serde_json::from_str(raw).expect("cases.json");
        let r = Recogniser::default();
        let mut wrong = Vec::new();
        for c in &set.cases {
            let got = r.judge(&c.subject, &c.body);
            if got.is_some() != c.feedback {
                wrong.push(format!("{}: expected {}, got {:?}", c.id, c.feedback, got));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn table() {
        let r = Recogniser::default();
        let cases: &[(&str, &str, bool)] = &[
            ("Sūdzība", "Darbinieks bija ļoti nepieklājīgs.", true),
            ("Sūdzība", "", true),
            ("Sūdzība par lēmumu", "", false),
            ("RE: Sūdzība", "Paldies, viss skaidrs.", false),
            ("Jautājums", "Kur iesniegt sūdzību?", false),
            ("Jautājums", "Kur iesniegt sūdzību par darbinieku?", true),
            ("Question", "Your staff member was rude to me?", true),
            ("Complaint about the court ruling", "", false),
            ("", "I want to complain.", true),
            ("", "Is there a complaint procedure?", false),
            ("", "NEPIEKLĀJĪGI!!!", true),
            ("", "Paldies par ātro atbildi!", true),
            ("", "Paldies par informāciju.", false),
        ];
        for (subject, body, want) in cases {
            assert_eq!(r.judge(subject, body).is_some(), *want, "{subject:?} / {body:?}");
        }
    }

    #[test]
    fn admin_words_replace_and_add() {
        let r = Recogniser::new(Some(&["pretenzija".to_string()]), &[]);
        assert!(r.judge("Pretenzija", "").is_some());
        assert!(
            r.judge("", "Darbinieks bija nepieklājīgs.").is_none(),
            "built-in phrases replaced"
        );
        let r = Recogniser::new(None, &["ierosinājums uzlabot".to_string()]);
        assert!(r.judge("", "Mans ierosinājums uzlabot jūsu mājaslapu.").is_some());
        assert!(
            r.judge("", "Darbinieks bija nepieklājīgs.").is_some(),
            "built-in kept"
        );
    }

    #[test]
    fn bounded_and_safe_on_hostile_text() {
        let r = Recogniser::default();
        let long = "ā".repeat(3_000_000) + " sūdzos";
        assert!(
            r.judge(&"x".repeat(100_000), &long).is_none(),
            "text past MAX_TEXT is not read"
        );
        let _ = r.judge("\u{0}\u{202e}?", "???...!!!\n\n\n");
    }
}
