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
//! - an **appraisal**: a word that judges ("nelaipni", "kļūdaina",
//!   "izsmeļošo", "unhappy", "amazing", "misleading") within six words of
//!   one that names the service ("darbinieks", "konsultāciju", "atbilde",
//!   "your office", "team", "communication"), in a sentence that is not a
//!   question, a request or a condition ("lūdzu", "ja", "please", "if",
//!   "would be") and does not speak of a decision; closing formulas ("ar
//!   laipniem sveicieniem", "kind regards") are not judgements;
//! - a bare **word** ("sūdzība", "complaint", "neapmierināts", "feedback")
//!   counts only in a sentence that is not a question and does not speak of
//!   a decision, a competition, its results, an appeal or a court: "vai varu
//!   iesniegt sūdzību par konkursa rezultātiem?" asks about a grant decision,
//!   which is not feedback about the service. In the subject, a bare word
//!   counts only when the text does not turn it into a question or a
//!   decision ("Atsauksmes" over "vai atskaitei jāpievieno dalībnieku
//!   atsauksmes?" is a question about a report).
//!
//! `feedback.words` replaces the built-in phrases and words with the admin's
//! own (each matched as a phrase at word starts, with the same question and
//! decision guard); `feedback.extra_words` adds to them. Mistakes are cheap:
//! `replygate mark CASE --feedback | --not-feedback` corrects a case.
//!
//! Pure and bounded: at most [`MAX_TEXT`] characters of text are read, every
//! regex is linear (Rust's `regex` has no backtracking).

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// Every regex here runs on folded text (ASCII letters for Latvian and
/// English): ASCII classes (`\w`, `\b`, `\s`) keep each automaton small
/// (Unicode `\w` made the recogniser's regexes take 10 MB of memory).
/// The pattern is folded too, as the text is ("ziņ" matches "zin").
fn re(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&fold(pattern)).unicode(false).build()
}

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
    r"\b(?:no\s*one|nobody)\s+(?:ever\s+)?(?:picks?\s+up|answers?\s+the\s+phone)",
    r"\bneviens\s+(?:ne)?(?:cel|atbild)\w*\s+(?:klausul|telefon|zvan)\w*",
    r"\b(?:izteikt|izsak\w*|izteiksim|izsakam)\s+(?:\w+\s+)?(?:atzinib|pateicib)\w*",
    r"\bstill\s+(?:no|not|haven'?t|have\s+not|did\s+not|didn'?t)\s+(?:\w+\s+){0,3}?(?:reply|answer|response|heard|received)\w*",
    r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time\s+(?:that\s+)?(?:i|we)(?:\s+am|\s+are|'m|'re)?\s+(?:write|writing|contact|contacting|ask|asking|call|calling|email|emailing)\b",
    r"\b(?:joprojam|aizvien|vel\s+joprojam)\s+(?:nav|neesmu|neesam|nesanem)\w*\s+(?:\w+\s+){0,2}?atbild\w*",
    r"\b(?:otro|treso|ceturto|piekto|vairakas|vairakkart\w*)\s+(?:reizi\s+)?(?:rakst|jauta|zvan|griez|sutu|sutam)\w*",
    r"\b(?:neesmu|neesam)\s+(?:\w+\s+)?(?:sanem\w*)\s+(?:\w+\s+){0,2}?atbild\w*\s+(?:jau|kops|vairak|ilgak)\w*",
    r"\b(?:great|amazing|excellent|fantastic|wonderful|outstanding|brilliant)\s+job\b",
    r"\bpoor\s+(?:customer\s+)?(?:service|communication|support|response|reply|answer|treatment|attitude|advice)\b",
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
    r"\bneapmierinat\w*",
    r"\bvil(?:ies|usies|usi|usas)\b",
    r"\bnepienemam\w*",
    r"\bcomplain\w*",
    r"\bdissatisf\w*",
    r"\bunacceptable\b",
];

/// Bare words that name feedback without saying about what ("atsauksmes"
/// of a project's participants, a "feedback form"): in the subject only.
const SUBJECT_WORDS: &[&str] = &[r"\batsauksm\w*", r"\bfeedback\b"];

/// Decision, competition, results, appeal, court: a bare word next to these
/// is about a decision, not about the service.
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:lemum\w*|konkurs\w*|rezultat\w*|ties(?:a|ai|as|u|ā|am)\b|tiesvedib\w*|parsudz\w*|apstrid\w*|noraid\w*|vertejum\w*|atbalst\w*\s+pieskir\w*|decision\w*|results?\b|court\w*|appeal\w*|evaluation\w*|call\s+for\s+proposals|scor\w*|rejected|rejection|tender\w*|competition\w*|grant\s+award\w*)",
    )
    .expect("static regex")
});

/// Words that name the service by their nature (folded): how a client
/// was served, answered or treated. The "what" of an appraisal.
/// The alternatives of [`SERVED`].
const SERVED_WORDS: &str = r"apkalpo\w*|attieksm\w*|izturesan\w*|komunikacij\w*|konsultacij\w*|atbilde|atbildi|atbildes|atbildei|atbilzu|atbildem|reception\w*|helpline|hotline|customer|services?|repl(?:y|ies)|answers?|responses?|communications?|handled|treated|treatment|behaviou?r|attitude";
static SERVED: LazyLock<Regex> =
    LazyLock::new(|| re(&format!("^(?:{SERVED_WORDS})$")).expect("static regex"));

/// Words that name people or places who may be the institution's or the
/// client's own ("darbinieks", "staff"): they count only as "yours".
/// The alternatives of [`PEOPLE`].
const PEOPLE_WORDS: &str = r"darbinie\w*|konsultant\w*|specialist\w*|koleg\w*|biroj\w*|telefon\w*|talrun\w*|pakalpojum\w*|sazin\w*|majaslap\w*|timeklvietn\w*|sadarbib\w*|website|site|cooperation|collaboration|staff|team|office|employees?|colleagues?|consultants?|advis[oe]rs?|officers?|clerks?|support|phone";
static PEOPLE: LazyLock<Regex> =
    LazyLock::new(|| re(&format!("^(?:{PEOPLE_WORDS})$")).expect("static regex"));

/// "Yours" and "ours" among the few words before a service word.
static YOURS: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:jusu|jums|fonda|fondam|fonds|fondu|sif|your|yours)$").expect("static regex"));
static OURS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:musu|mans|mana|manu|manas|manam|manai|savu|savs|sava|our|ours|my|mine|their)$")
        .expect("static regex")
});

/// Words that judge (folded): the "how" of an appraisal. Ambiguous ones
/// ("poor", "kind", "professional", "great") are phrases only.
/// The alternatives of [`JUDGING`].
const JUDGING_WORDS: &str = r"nepieklajig\w*|nelaipn\w*|rupj\w*|augstprat\w*|necienig\w*|nekompetent\w*|neprofesional\w*|kludain\w*|maldin\w*|nepareiz\w*|neapmierin\w*|vilies|vilusies|vilusi|vilusas|vilos|vilamies|slikt\w*|nepienemam\w*|skandal\w*|sasut\w*|nevizig\w*|bezatbildig\w*|vienaldzig\w*|nolaidig\w*|ignor\w*|aizvain\w*|apvain\w*|pazemo\w*|briesmig\w*|sausmig\w*|neiejutig\w*|laipn\w*|izsmelos\w*|lielisk\w*|izcil\w*|atsaucig\w*|izpalidzig\w*|pacietig\w*|profesionali|profesionale|profesionalis|noderig\w*|apmierinat\w*|brinisk\w*|apbrinojam\w*|rude|impolite|unprofessional|disrespectful|unfriendly|arrogant|incompetent|unhappy|dissatisfied|disappoint\w*|frustrat\w*|unacceptable|terrible|awful|horrible|appalling|outrageous|shameful|misleading|misinformed|ignored|ignoring|careless|useless|unhelpful|wrong|slow|worst|dismissive|condescending|hostile|amazing|excellent|wonderful|fantastic|outstanding|superb|brilliant|helpful|courteous|polite|impressed|impressive|grateful|exceptional|useful|satisfied";
static JUDGING: LazyLock<Regex> =
    LazyLock::new(|| re(&format!("^(?:{JUDGING_WORDS})$")).expect("static regex"));

/// A request, a condition or a wish: "lūdzu", "ja", "please", "if",
/// "would be", "could you". An appraisal there is not one.
static HEDGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:ludzu|ludzam|ja|vai|butu|varetu|varat|varbut|please|if|whether|would\s+be|could|can\s+you|should)\b")
        .expect("static regex")
});

/// Someone else's complaint, passed on: "received a complaint", "saņēmām sūdzību".
static RECEIVED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:received|receive|got|sanem\w*)\s+(?:\w+\s+){0,2}?(?:sudz|complain|neapmierin)\w*")
        .expect("static regex")
});

/// Closing formulas that carry judging words but judge nothing.
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:ar\s+)?(?:laipn|sirsnig|labi)\w*\s+(?:sveicien|novelejum)\w*|\blaipni\s+ludz\w*|\b(?:kind|best|warm|warmest)\s+(?:regards|wishes)\b")
        .expect("static regex")
});

/// A sentence's first word that points back at the sentence before.
static PRONOUN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:ta|tas|vina|vins|vini|vinas|it|she|he|they|this|that)$").expect("static regex")
});

/// A text without a substring of both of these holds no appraisal: every
/// word [`appraisal`] weighs is a substring of the text, and an appraisal
/// needs a judging word and a service word. Searched once per text (with
/// the built-in phrases, see [`Recogniser::first_pass`]), so the per-word
/// checks run only on the few texts that may hold one. The word lists
/// without their `\w*` endings are literal enough for a small, fast search
/// (a word `^X\w*$` holds the substring X).
fn may_judge_pattern() -> String {
    JUDGING_WORDS.replace(r"\w*", "")
}
fn may_serve_pattern() -> String {
    format!("{SERVED_WORDS}|{PEOPLE_WORDS}").replace(r"\w*", "")
}

/// The last `n` words of a text.
fn tail_words(s: &str, n: usize) -> String {
    let w: Vec<&str> = s.split_whitespace().collect();
    w[w.len().saturating_sub(n)..].join(" ")
}

/// How far apart (in words) the judging word and the service may stand.
const APPRAISAL_WINDOW: usize = 6;

/// An appraisal of the service in one sentence: a judging word within
/// [`APPRAISAL_WINDOW`] words of one naming the service.
fn appraisal(sentence: &str) -> Option<String> {
    if HEDGE.is_match(sentence) {
        return None;
    }
    let clean = CLOSING.replace_all(sentence, " ");
    let words: Vec<&str> = clean
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .take(400)
        .collect();
    // A word naming the service, as the institution's: not "ours" (one of
    // the two words before it), and either served by nature or "yours"
    // (within three words either side).
    let service = |i: usize| {
        let w = words[i];
        if words[i.saturating_sub(2)..i].iter().any(|b| OURS.is_match(b)) {
            return false;
        }
        SERVED.is_match(w)
            || (PEOPLE.is_match(w)
                && words[i.saturating_sub(3)..(i + 4).min(words.len())]
                    .iter()
                    .any(|b| YOURS.is_match(b)))
    };
    let mut last_service: Option<usize> = None;
    let mut last_judging: Option<usize> = None;
    for i in 0..words.len() {
        let w = words[i];
        if service(i) {
            if let Some(j) = last_judging.filter(|&j| i - j <= APPRAISAL_WINDOW) {
                return Some(format!("{} … {}", words[j], w));
            }
            last_service = Some(i);
        }
        if JUDGING.is_match(w) {
            if let Some(k) = last_service.filter(|&k| i - k <= APPRAISAL_WINDOW) {
                return Some(format!("{} … {}", words[k], w));
            }
            last_judging = Some(i);
        }
    }
    None
}

/// The feedback recogniser for one configuration.
#[derive(Debug)]
pub struct Recogniser {
    phrases: Vec<Regex>,
    words: Vec<Regex>,
    /// With the built-in list, one pass over a text answers three
    /// questions: may it hold a built-in phrase or word (pattern 0: all of
    /// them in one alternation), and may it hold an appraisal (patterns 1
    /// and 2, [`may_judge_pattern`] and [`may_serve_pattern`]). Three
    /// searches of the whole text were a fifth of a backlog's CPU.
    first_pass: Option<RegexSet>,
    /// `words[builtin_words..]` are the admin's (Unicode, not in
    /// `first_pass`).
    builtin_words: usize,
    subject_words: Vec<Regex>,
    /// The built-in appraisal (off when the admin's `words` replace the list).
    appraisals: bool,
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
    // Unicode classes here: an admin's word may be in any script
    // ("жалоба"), and there are only a few of them.
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
        let appraisals = words.is_none();
        let (phrases, mut words): (Vec<Regex>, Vec<Regex>) = match words {
            None => (
                PHRASES.iter().map(|p| re(p).expect("static regex")).collect(),
                WORDS.iter().map(|p| re(p).expect("static regex")).collect(),
            ),
            Some(list) => (Vec::new(), list.iter().filter_map(|w| admin_regex(w)).collect()),
        };
        let (first_pass, builtin_words) = if appraisals {
            let all: Vec<String> = PHRASES.iter().chain(WORDS).map(|p| format!("(?:{p})")).collect();
            let patterns = [all.join("|"), may_judge_pattern(), may_serve_pattern()].map(|p| fold(&p));
            let set = RegexSetBuilder::new(patterns).unicode(false).build();
            (Some(set.expect("static regex")), words.len())
        } else {
            (None, 0)
        };
        words.extend(extra.iter().filter_map(|w| admin_regex(w)));
        let subject_words = if appraisals {
            SUBJECT_WORDS
                .iter()
                .map(|p| re(p).expect("static regex"))
                .collect()
        } else {
            Vec::new()
        };
        Recogniser {
            phrases,
            words,
            first_pass,
            builtin_words,
            subject_words,
            appraisals,
        }
    }

    /// Judge a client mail by its subject and own text (quotes removed).
    pub fn judge(&self, subject: &str, own_text: &str) -> Option<Finding> {
        // A reply's subject repeats an earlier mail: only a fresh one counts.
        let fresh_subject = !has_reply_prefix(subject);
        let text = cut(own_text, MAX_TEXT);
        let subject_f = fold(cut(subject, 1_000));
        let text_f = fold(text);
        // Split into sentences only when a sentence is read: most mail is
        // ruled out by the searches of the whole text below.
        let sentences_of = std::cell::OnceCell::new();
        let body = || -> &Vec<(&str, bool)> { sentences_of.get_or_init(|| sentences(&text_f).collect()) };
        if fresh_subject {
            if let Some(f) = self.strong(&subject_f, false) {
                return Some(f);
            }
        }
        // A phrase or word found in a sentence is also found in the whole
        // text (sentences end at non-word characters, so `\b` reads the
        // same there): one search of the text rules most mail out at once.
        // Without the built-in list (the admin's words replace it) nothing
        // built-in is searched and nothing is an appraisal.
        let (builtin, may_appraise) = match &self.first_pass {
            Some(set) => {
                let m = set.matches(&text_f);
                (m.matched(0), m.matched(1) && m.matched(2))
            }
            None => (true, false),
        };
        let maybe = Maybe {
            phrase: builtin && self.phrases.iter().any(|p| p.is_match(&text_f)),
            word: (builtin
                && self.words[..self.builtin_words]
                    .iter()
                    .any(|w| w.is_match(&text_f)))
                || self.words[self.builtin_words..]
                    .iter()
                    .any(|w| w.is_match(&text_f)),
            appraisal: self.appraisals && may_appraise,
        };
        if maybe.phrase || maybe.word || maybe.appraisal {
            if let Some(f) = body().iter().find_map(|&(s, q)| {
                self.strong_if(s, q, maybe)
                    .or_else(|| maybe.word.then(|| self.word(s, q)).flatten())
            }) {
                return Some(f);
            }
        }
        // "Saņēmu jūsu atbildi. Tā bija ļoti izsmeļoša": a sentence that
        // opens with a pronoun judges what the one before named.
        if maybe.appraisal {
            let found = body().windows(2).find_map(|pair| {
                let ((prev, _), (next, q)) = (pair[0], pair[1]);
                let first = next.split_whitespace().next().unwrap_or("");
                (!q && PRONOUN.is_match(first))
                    .then(|| appraisal(&format!("{} {next}", tail_words(prev, APPRAISAL_WINDOW))))
                    .flatten()
            });
            if let Some(matched) = found {
                return Some(Finding { matched });
            }
        }
        // A bare word in the subject: unless the text asks about it or
        // speaks of a decision.
        if fresh_subject && !DECISION.is_match(&subject_f) {
            let m = self.word(&subject_f, false).map(|f| f.matched).or_else(|| {
                self.subject_words
                    .iter()
                    .find_map(|w| w.find(&subject_f))
                    .map(|m| m.as_str().to_string())
            });
            // Read the text only for a subject that has such a word.
            let text_agrees = || body().iter().all(|&(s, q)| !q && !DECISION.is_match(s));
            if m.is_some() && text_agrees() {
                return m.map(|matched| Finding { matched });
            }
        }
        None
    }

    /// A phrase (anywhere) or an appraisal (outside questions).
    fn strong(&self, s: &str, question: bool) -> Option<Finding> {
        let all = Maybe {
            phrase: true,
            word: true,
            appraisal: true,
        };
        self.strong_if(s, question, all)
    }

    /// [`Recogniser::strong`], skipping what the whole text ruled out.
    fn strong_if(&self, s: &str, question: bool, maybe: Maybe) -> Option<Finding> {
        for p in self.phrases.iter().filter(|_| maybe.phrase) {
            if let Some(m) = p.find(s) {
                return Some(Finding {
                    matched: m.as_str().to_string(),
                });
            }
        }
        if self.appraisals && maybe.appraisal && !question {
            return appraisal(s).map(|matched| Finding { matched });
        }
        None
    }

    /// A bare word, outside questions, decision talk and someone else's
    /// complaint ("we received a complaint from a participant").
    fn word(&self, s: &str, question: bool) -> Option<Finding> {
        if question || DECISION.is_match(s) || RECEIVED.is_match(s) {
            return None;
        }
        self.words.iter().find_map(|w| w.find(s)).map(|m| Finding {
            matched: m.as_str().to_string(),
        })
    }
}

/// What a whole text may hold (`false`: ruled out for all its sentences).
#[derive(Debug, Clone, Copy)]
struct Maybe {
    phrase: bool,
    word: bool,
    appraisal: bool,
}

/// The sentences of a text, each with whether it is a question (ends in
/// `?`). A full stop after a digit ("2026. gada 3. novembra") ends nothing.
fn sentences(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = text;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        // The marks are ASCII, so the bytes are scanned: a byte before a
        // full stop is an ASCII digit only when the character is one.
        let b = rest.as_bytes();
        let end = (0..b.len()).find(|&i| match b[i] {
            b'!' | b'?' | b'\n' => true,
            b'.' => i == 0 || !b[i - 1].is_ascii_digit(),
            _ => false,
        });
        let (sentence, question, next) = match end {
            None => (rest, false, ""),
            Some(i) => {
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

    /// The sentences as first written, one character at a time.
    fn sentences_reference(text: &str) -> Vec<(&str, bool)> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
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
                out.push((sentence, question));
            }
        }
        out
    }

    #[test]
    fn sentences_as_the_reference_splits_them() {
        for text in [
            "",
            "Labdien! Vai varu iesniegt 2026. gada 3. novembrī? Paldies.",
            ".start. ..?! 5.5 ā.b ٣.x ?\n\nend",
            "Kāpēc?!? Nē...",
        ] {
            assert_eq!(
                sentences(text).collect::<Vec<_>>(),
                sentences_reference(text),
                "{text:?}"
            );
        }
        let alphabet: Vec<char> = "aā 1٣.!?\nŠ😀".chars().collect();
        let mut seed = 11u32;
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..14 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                s.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            assert_eq!(
                sentences(&s).collect::<Vec<_>>(),
                sentences_reference(&s),
                "{s:?}"
            );
        }
    }

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
        let r = Recogniser::new(Some(&["жалоба".to_string()]), &[]);
        assert!(r.judge("Жалоба", "").is_some(), "words beyond Latin letters");
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

    /// Mails written after the first set and before the appraisal rule
    /// (service word + judging word, owner, pronoun), verdicts first:
    /// praise and complaints without the usual words; the client's own
    /// staff, a grant's "support", someone else's complaint, requests.
    #[test]
    fn second_written_set() {
        let r = Recogniser::default();
        let cases: &[(&str, &str, bool)] = &[
            ("Neapmierinātība", "Labdien, gribu pateikt, ka jūsu klientu centrā mani sagaidīja ļoti nelaipni un neviens negribēja palīdzēt.", true),
            ("Re: pieteikums", "Labdien, es jau divas nedēļas gaidu atbildi no jums, tas nav pieņemami.", true),
            ("Pateicība", "Labdien! Gribu pateikties Jums par ļoti laipno un izsmeļošo konsultāciju pa telefonu. Anita", true),
            ("Kvalitāte", "Jūsu darbinieka atbilde bija kļūdaina un mani maldināja.", true),
            ("Service", "I am very unhappy with how my enquiry was handled by your office.", true),
            ("Praise", "Just wanted to say your team did an amazing job helping us with the application. Many thanks!", true),
            ("Slow", "This is the third time I write and still no reply. Very poor communication from your side.", true),
            ("Rude staff", "The woman on your phone line was very rude to me yesterday.", true),
            ("Apkalpošana", "Labdien! Vakar jūsu birojā mani apkalpoja ļoti ātri un laipni. Paldies!", true),
            ("Neapmierinātība ar atbildi", "Jūsu atbilde uz manu jautājumu nav atbilde, tā ir tikai atsūtīta saite. Šāda attieksme ir nepieņemama.", true),
            ("Unacceptable", "I have called your hotline five times and nobody picks up. This is unacceptable.", true),
            ("Very disappointed", "I am very disappointed by the attitude of your consultant during our meeting.", true),
            ("Komplimenti", "Vēlos izteikt atzinību jūsu kolēģei Sandrai – viņa ir īsta profesionāle!", true),
            ("Sūdzība", "Labdien! Iesniedzu sūdzību par to, ka jūsu darbinieks man nepareizi izskaidroja nosacījumus.", true),
            ("Thank you", "I just wanted to thank your colleague Anna, she was fantastic and explained everything clearly.", true),
            ("Jūsu mājaslapa", "Jūsu mājaslapā ir ļoti slikti atrodama informācija par konkursiem, nevarēju atrast nolikumu.", true),
            ("Atbilde", "Labdien, saņēmu jūsu atbildi, paldies. Tā bija ļoti izsmeļoša un noderīga.", true),
            ("Sadarbība", "Labdien, mēs esam ļoti apmierināti ar sadarbību ar jūsu fondu un vēlamies turpināt.", true),
            ("Update", "Dear team, thank you for the excellent support during the project period. Attached is our final report.", true),
            ("Jautājums", "Labdien, kā iesniegt sūdzību par iepirkuma procedūru?", false),
            ("Apstrīdēšana", "Vēlamies apstrīdēt komisijas vērtējumu mūsu projektam.", false),
            ("Question", "Can I complain to the ministry if the grant is not paid on time?", false),
            ("Termiņš", "Labdien, vai atskaites termiņu var pagarināt? Paldies!", false),
            ("Sūdzība tiesā", "Mūsu jurists gatavo sūdzību tiesai, lūdzu atsūtiet lēmuma kopiju.", false),
            ("Feedback form", "Where can I find the feedback form for project participants? We need it for our report.", false),
            ("Atsauksmes", "Vai projekta atskaitei jāpievieno dalībnieku atsauksmes?", false),
            ("Par projektu", "Labdien! Mūsu biedrības darbinieki ir ļoti atsaucīgi un palīdz jauniešiem. Vēlamies pieteikties konkursā.", false),
            ("Pieteikums", "Labdien, nosūtu pieteikumu. Diemžēl iepriekšējā reizē mūsu konsultants kļūdaini aizpildīja veidlapu, tāpēc sūtu vēlreiz.", false),
            ("Atskaite", "Labdien, pielikumā atskaite. Projekta dalībnieki bija ļoti apmierināti, atsauksmes bija lieliskas.", false),
            ("Question", "Our staff found the training excellent and we want to apply again next year.", false),
            ("Invoice", "Hello, the invoice we sent was wrong, here is the corrected one. Our office will send the originals by post.", false),
            ("Pasākums", "Labdien, aicinām jūsu darbiniekus uz mūsu pasākumu 5. decembrī. Būs lieliska programma.", false),
            ("Re: Jautājums", "Paldies par atbildi! Viss skaidrs.", false),
            ("Thanks", "Thank you for your reply. We will send the documents tomorrow.", false),
            ("Lūgums", "Labdien, lūdzu, vai jūsu darbinieks varētu man atzvanīt? Paldies.", false),
            ("Support", "We are grateful for the financial support to our project, the children enjoyed the summer camp.", false),
            ("Sūdzība par kaimiņiem", "Labdien, kur var iesniegt sūdzību par kaimiņu trokšņošanu? Vai fonds var palīdzēt?", false),
            ("Grant for poor families", "We plan to support poor families in Latgale; is this eligible? Our team has experience.", false),
            ("Complaint form", "Hello, our association received a complaint from a participant about the camp. How should we report it to you?", false),
            ("Vēstule", "Labdien, pārsūtu ministrijas vēstuli, kas mums pienāca. Lūdzu, iepazīstieties.", false),
            ("Termiņa kavējums", "Atvainojiet par kavēto atskaiti, mūsu grāmatvede bija slima.", false),
            ("Apsveikums", "Ar laipniem sveicieniem un labākajiem novēlējumiem jūsu komandai svētkos!", false),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(s, b, want)| r.judge(s, b).is_some() != *want)
            .map(|(s, b, want)| format!("{s} / {b}: expected {want}, got {:?}", r.judge(s, b)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
