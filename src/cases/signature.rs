//! The signature check (SPEC §7): does a staff reply's own text carry the
//! organisation, the author's name and surname, and a contact?
//!
//! Decisions (a careful reading of "visibly complete"):
//! - All matching is case- and diacritic-insensitive ("SABIEDRIBAS
//!   INTEGRACIJAS FONDS", "Berzins") and by whole words, tolerant of any
//!   white space or line breaks between the words of a name.
//! - Organisation: `organization.name` or an alias. A short one-word alias
//!   (≤ 4 letters, e.g. "SIF") must be a word of its own ("SIFON" is not).
//!   Longer names may be inflected: Latvian case endings are ignored
//!   ("Sabiedrības integrācijas fonda/fondā/fondam" count), because a
//!   signature such as "Sabiedrības integrācijas fonda Programmu departaments"
//!   visibly names the institution.
//! - An e-mail address or a web address never stands in for the organisation
//!   or a person's name: `janis.berzins@sif.gov.lv` and `www.sif.gov.lv` are
//!   contacts, not the institution's name nor the author's name.
//! - Name and surname come from `[[staff]]` by From address; else from the
//!   From display name ("Jānis Bērziņš", "Bērziņš, Jānis", "BĒRZIŅŠ Jānis";
//!   bracketed parts and anything after `|` are ignored); else from an
//!   address local part of two words (`janis.berzins@`). The full first name
//!   is required: an initial ("J. Bērziņš") does not count. When only the
//!   first name is known, a capitalised word right after it counts as the
//!   surname. When nothing is known about the author (no usable display
//!   name, or the display name is the organisation's, as for a shared
//!   mailbox), a line of two or three capitalised words counts as name and
//!   surname.
//! - Contact: an e-mail address or a phone number in the author's text:
//!   international (`+371 67078190`, `00371…`), Latvian national (8 digits
//!   starting with 2, 6 or 8, with optional spaces or dashes), or any 6–15
//!   digit number right after "tel.", "tālr.", "phone", "mob." and the like.
//!   Dates, amounts, postcodes and labelled numbers ("Nr. 26123456",
//!   "ID: 20261234") are not phones.

use std::sync::LazyLock;

use mail_parser::MessageParser;
use regex::Regex;

use crate::config::{Config, OrganizationConfig, SignatureElement, StaffMember};
use crate::inbound::authortext::{author_text, fold, fold_into};
use crate::inbound::message::Address;

/// The result of a signature check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    pub compliant: bool,
    /// Missing required elements, in the order organization, name, surname, contact.
    pub missing: Vec<SignatureElement>,
    /// The From address (lower case).
    pub author: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the message could not be parsed as RFC 5322 mail; check that it is a complete .eml file")]
    Unparseable,
    #[error("the message has no From address, so its author and signature cannot be checked")]
    NoFrom,
}

/// Check a whole raw message against the configuration.
pub fn check_message(raw: &[u8], cfg: &Config) -> Result<Verdict, SignatureError> {
    let from = from_address(raw)?;
    let text = author_text(raw);
    Ok(check(
        &text,
        &from,
        &cfg.staff,
        &cfg.organization,
        &cfg.signature.require,
    ))
}

/// The From address of a raw message (display name decoded, address lower case).
pub fn from_address(raw: &[u8]) -> Result<Address, SignatureError> {
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(SignatureError::Unparseable)?;
    let addr = msg.from().and_then(|a| a.first()).ok_or(SignatureError::NoFrom)?;
    let email = addr
        .address()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .ok_or(SignatureError::NoFrom)?;
    Ok(Address {
        name: addr
            .name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        email,
    })
}

/// Check an author's own text (quotes already removed).
pub fn check(
    author_text: &str,
    from: &Address,
    staff: &[StaffMember],
    org: &OrganizationConfig,
    require: &[SignatureElement],
) -> Verdict {
    // No-break and other Unicode spaces (from `&nbsp;` in HTML) separate
    // words and phone digit groups like ordinary spaces.
    let author_text: &str = &blank_spaces(author_text);
    let words_text = remove_addresses(author_text);
    let mut folds = String::new();
    let words = words(&words_text, &mut folds);
    let person = person(from, staff, org);

    let mut missing = Vec::new();
    let order = [
        SignatureElement::Organization,
        SignatureElement::Name,
        SignatureElement::Surname,
        SignatureElement::Contact,
    ];
    let (name_ok, surname_ok) = person_present(&person, &words, &words_text);
    for el in order {
        if !require.contains(&el) {
            continue;
        }
        let ok = match el {
            SignatureElement::Organization => has_organization(&words, org),
            SignatureElement::Name => name_ok,
            SignatureElement::Surname => surname_ok,
            SignatureElement::Contact => has_contact(author_text),
        };
        if !ok {
            missing.push(el);
        }
    }
    Verdict {
        compliant: missing.is_empty(),
        missing,
        author: from.email.clone(),
    }
}

/// The correct signature block for this author, for the warning.
pub fn expected_signature(from: &Address, staff: &[StaffMember], org: &OrganizationConfig) -> String {
    let member = staff
        .iter()
        .find(|s| s.email.trim().eq_ignore_ascii_case(&from.email));
    let mut lines = vec!["Ar cieņu".to_string()];
    match (member, person(from, staff, org)) {
        (Some(m), _) => lines.push(format!("{} {}", m.name.trim(), m.surname.trim())),
        (None, Person::Known { name, surname, .. }) => lines.push(
            format!("{} {}", name, surname.unwrap_or_default())
                .trim()
                .to_string(),
        ),
        (None, Person::Unknown) => lines.push("Vārds Uzvārds".to_string()),
    }
    if let Some(t) = member
        .and_then(|m| m.title.as_deref())
        .filter(|t| !t.trim().is_empty())
    {
        lines.push(t.trim().to_string());
    }
    lines.push(org.name.clone());
    let phone = member
        .and_then(|m| m.phone.as_deref())
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(org.phone.as_str());
    if !phone.trim().is_empty() {
        lines.push(format!("Tālr.: {}", phone.trim()));
    }
    lines.push(format!("E-pasts: {}", from.email));
    if !org.website.trim().is_empty() {
        lines.push(org.website.trim().to_string());
    }
    lines.join("\n")
}

// ---------------------------------------------------------------- words

/// A word of the text: folded form and original spelling.
struct Word<'a> {
    folded: &'a str,
    orig: &'a str,
}

/// Every white-space character but the line feed as a plain space.
fn blank_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Only ASCII controls and the characters whose UTF-8 starts with the
    // lead bytes of the Unicode spaces (U+0085 and U+00A0: 0xC2; U+1680:
    // 0xE1; U+2000 to U+205F: 0xE2; U+3000: 0xE3) are looked at one by one.
    while let Some(i) = rest.bytes().position(|b| {
        matches!(
            b,
            b'\t' | 0x0B | 0x0C | b'\r' | 0x1C..=0x1F | 0xC2 | 0xE1 | 0xE2 | 0xE3
        )
    }) {
        out.push_str(&rest[..i]);
        let mut chars = rest[i..].chars();
        let Some(c) = chars.next() else { break };
        out.push(if c.is_whitespace() && c != '\n' { ' ' } else { c });
        rest = chars.as_str();
    }
    out.push_str(rest);
    out
}

/// `c.is_alphanumeric()`, answered without the Unicode tables for ASCII
/// and the Latin-1 and Latin Extended-A letters (every Latvian one), which
/// are most of the characters of a reply.
fn is_word_char(c: char) -> bool {
    match c {
        '0'..='9' | 'a'..='z' | 'A'..='Z' => true,
        '\u{C0}'..='\u{17F}' => c != '\u{D7}' && c != '\u{F7}',
        c => c > '\u{7F}' && c.is_alphanumeric(),
    }
}

/// The words of a text, their folds written one after another into
/// `folds` (one buffer, not one string per word).
fn words<'a>(text: &'a str, folds: &'a mut String) -> Vec<Word<'a>> {
    folds.clear();
    let spans: Vec<(&str, Option<std::ops::Range<usize>>)> = text
        .split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(|w| {
            // Most words are folded already (lower-case ASCII): borrowed.
            if w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
                (w, None)
            } else {
                let start = folds.len();
                fold_into(w, folds);
                (w, Some(start..folds.len()))
            }
        })
        .collect();
    let folds: &'a str = folds;
    spans
        .into_iter()
        .map(|(orig, r)| Word {
            folded: r.map_or(orig, |r| &folds[r]),
            orig,
        })
        .collect()
}

fn fold_tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold)
        .collect()
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.+%'-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}").expect("static regex"));
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+(?:lv|com|org|net|eu|gov|edu|info|ru|de|ee|lt|uk|se|fi|no|dk|pl|int)\b(?:/\S*)?")
        .expect("static regex")
});

/// Replace e-mail and web addresses by spaces: they are contacts, not names.
fn remove_addresses(text: &str) -> String {
    // Every e-mail address holds an `@`; every web address a `:`
    // (`https://`) or a full stop with more after it (`www.x`, `x.lv`):
    // the full stop that ends a sentence marks nothing.
    let t = replace_in_words(&EMAIL, text, |b, i| b[i] == b'@');
    replace_in_words(&URL, &t, |b, i| {
        b[i] == b':' || (b[i] == b'.' && b.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()))
    })
}

/// `re.replace_all(text, " ")` for a regex whose matches never hold white
/// space (so each lies within one white-space-free run, and `\b` reads the
/// white space around a run as it reads the ends of a text): only the runs
/// holding a byte `mark` accepts (given the bytes and its index; an ASCII
/// byte, and every match must hold one) are searched, found by a byte
/// scan. The same result, without running the regex over all the text
/// (with Unicode `\b` on non-ASCII text the regex crate falls back to its
/// slow engines), and each byte looked at a bounded number of times.
fn replace_in_words(re: &Regex, text: &str, mark: impl Fn(&[u8], usize) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    // `text[..copied]` is in `out`; the next run is looked for from `from`.
    let (mut copied, mut from) = (0, 0);
    let bytes = text.as_bytes();
    while let Some(at) = (from..bytes.len()).find(|&i| mark(bytes, i)) {
        // The white-space-free run around the mark (an ASCII byte, so at a
        // character boundary).
        let start = text[copied..at]
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(copied, |(i, c)| copied + i + c.len_utf8());
        let end = text[at..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| at + i);
        out.push_str(&text[copied..start]);
        out.push_str(&re.replace_all(&text[start..end], " "));
        (copied, from) = (end, end);
    }
    out.push_str(&text[copied..]);
    out
}

/// Strip a Latvian case ending (on folded text), keeping a stem of ≥ 3 letters.
fn stem(w: &str) -> &str {
    const ENDINGS: [&str; 19] = [
        "iem", "ies", "am", "as", "ai", "ei", "em", "es", "im", "is", "os", "us", "ij", "u", "a", "e", "i",
        "s", "o",
    ];
    for e in ENDINGS {
        if let Some(s) = w.strip_suffix(e) {
            if s.chars().count() >= 3 {
                return s;
            }
        }
    }
    w
}

/// Does the phrase (folded tokens) occur as consecutive words?
fn phrase_at(words: &[Word], phrase: &[String], inflect: bool) -> Vec<usize> {
    phrase_positions(words, phrase, inflect).collect()
}

/// Where `phrase` starts in `words`, lazily (a caller asking only whether
/// it occurs stops at the first).
fn phrase_positions<'w>(
    words: &'w [Word<'w>],
    phrase: &'w [String],
    inflect: bool,
) -> impl Iterator<Item = usize> + 'w {
    // Per phrase word: the stem to compare, when inflection counts for it.
    let stems: Vec<Option<&str>> = phrase
        .iter()
        .map(|p| (inflect && p.chars().count() > 4).then(|| stem(p)))
        .collect();
    let last = if phrase.is_empty() || words.len() < phrase.len() {
        0
    } else {
        words.len() - phrase.len() + 1
    };
    (0..last).filter(move |&i| {
        phrase.iter().zip(&stems).enumerate().all(|(k, (p, ps))| {
            let w: &str = words[i + k].folded;
            // A stem is a prefix of its word: most words fail that cheaply.
            w == p || ps.is_some_and(|ps| w.starts_with(ps) && stem(w) == ps)
        })
    })
}

fn has_organization(words: &[Word], org: &OrganizationConfig) -> bool {
    std::iter::once(&org.name)
        .chain(org.aliases.iter())
        .map(|n| fold_tokens(n))
        .filter(|t| !t.is_empty())
        .any(|toks| {
            let inflect = !(toks.len() == 1 && toks[0].chars().count() <= 4);
            phrase_positions(words, &toks, inflect).next().is_some()
        })
}

/// Is this display name just the organisation (every word of it a word of
/// the name or an alias)?
fn is_organization_name(dn: &str, org: &OrganizationConfig) -> bool {
    let org_words: Vec<String> = std::iter::once(&org.name)
        .chain(org.aliases.iter())
        .flat_map(|n| fold_tokens(n))
        .map(|w| stem(&w).to_string())
        .collect();
    let toks = fold_tokens(dn);
    !toks.is_empty() && toks.iter().all(|t| org_words.iter().any(|o| o == stem(t)))
}

// ---------------------------------------------------------------- person

#[derive(Debug, Clone)]
enum Person {
    Known { name: String, surname: Option<String> },
    Unknown,
}

/// Who wrote the mail: `[[staff]]`, else the display name, else the local part.
fn person(from: &Address, staff: &[StaffMember], org: &OrganizationConfig) -> Person {
    if let Some(m) = staff
        .iter()
        .find(|s| s.email.trim().eq_ignore_ascii_case(from.email.trim()))
    {
        return Person::Known {
            name: m.name.trim().to_string(),
            surname: Some(m.surname.trim().to_string()).filter(|s| !s.is_empty()),
        };
    }
    // A shared or team mailbox ("Sabiedrības integrācijas fonds
    // <pasts@sif.gov.lv>") names no person: judge the signature alone.
    if from
        .name
        .as_deref()
        .and_then(clean_display_name)
        .is_some_and(|dn| is_organization_name(&dn, org))
    {
        return Person::Unknown;
    }
    let from_local = local_part_person(&from.email);
    if let Some(dn) = from.name.as_deref().and_then(clean_display_name) {
        if let Some((surname, name)) = dn.split_once(',') {
            let name = name.split_whitespace().next().unwrap_or("").to_string();
            let surname = surname.trim().to_string();
            if !name.is_empty() && !surname.is_empty() {
                return Person::Known {
                    name,
                    surname: Some(surname),
                };
            }
        }
        let toks: Vec<&str> = dn.split_whitespace().collect();
        match toks.as_slice() {
            [] => {}
            [one] => {
                if let Some(p @ Person::Known { .. }) = from_local.clone() {
                    if let Person::Known { name, .. } = &p {
                        if fold(name) == fold(one) {
                            return p;
                        }
                    }
                }
                return Person::Known {
                    name: one.to_string(),
                    surname: None,
                };
            }
            [first, .., last] => {
                let upper = |s: &str| s.chars().any(char::is_alphabetic) && s.to_uppercase() == *s;
                // "Krūmiņa Inese" from inese.krumina@: the address local
                // part tells which word is the first name.
                let local_says_reversed = matches!(
                    &from_local,
                    Some(Person::Known { name: n, surname: Some(s) })
                        if fold(n) == fold(last) && fold(s) == fold(first)
                );
                // "BĒRZIŅŠ Jānis": the surname in capitals comes first.
                let (name, surname) = if local_says_reversed || (upper(first) && !upper(last)) {
                    (last, first)
                } else {
                    (first, last)
                };
                return Person::Known {
                    name: name.to_string(),
                    surname: Some(surname.to_string()),
                };
            }
        }
    }
    from_local.unwrap_or(Person::Unknown)
}

/// Remove bracketed parts, quotes and anything after `|`; `None` when
/// nothing name-like is left or the display name is an address.
fn clean_display_name(dn: &str) -> Option<String> {
    if dn.contains('@') {
        return None;
    }
    let mut out = String::new();
    let mut depth = 0usize;
    for c in dn.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            '"' | '\'' => {}
            '|' => break,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out
        .split(" - ")
        .next()
        .unwrap_or("")
        .split(" – ")
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    out.chars().any(char::is_alphabetic).then_some(out)
}

/// `janis.berzins@…` → Jānis Bērziņš (folded, without diacritics).
fn local_part_person(email: &str) -> Option<Person> {
    let local = email.split('@').next()?;
    let parts: Vec<&str> = local.split(['.', '_', '-']).collect();
    match parts.as_slice() {
        [n, s]
            if n.len() >= 2
                && s.len() >= 2
                && n.chars().all(char::is_alphabetic)
                && s.chars().all(char::is_alphabetic) =>
        {
            Some(Person::Known {
                name: n.to_string(),
                surname: Some(s.to_string()),
            })
        }
        _ => None,
    }
}

fn capitalised(w: &str) -> bool {
    let mut cs = w.chars();
    cs.next().is_some_and(char::is_uppercase) && cs.clone().any(char::is_lowercase)
}

/// (name present, surname present)
fn person_present(person: &Person, words: &[Word], text: &str) -> (bool, bool) {
    match person {
        Person::Known { name, surname } => {
            let ntoks = fold_tokens(name);
            let name_pos = phrase_at(words, &ntoks, false);
            let name_ok = !ntoks.is_empty() && !name_pos.is_empty();
            let surname_ok = match surname {
                Some(s) => {
                    let stoks = fold_tokens(s);
                    !stoks.is_empty() && phrase_positions(words, &stoks, false).next().is_some()
                }
                // Unknown surname: a capitalised word right after the name.
                None => name_pos.iter().any(|&p| {
                    words
                        .get(p + ntoks.len())
                        .is_some_and(|w| capitalised(w.orig) && w.orig.chars().count() > 1)
                        && same_line(text, words, p, p + ntoks.len())
                }),
            };
            (name_ok, surname_ok)
        }
        Person::Unknown => {
            const CLOSINGS: [&str; 9] = [
                "regards",
                "sincerely",
                "wishes",
                "dear",
                "thank",
                "cienu",
                "уважением",
                "gru",
                "hello",
            ];
            let found = text.lines().any(|l| {
                let f = fold(l);
                if CLOSINGS.iter().any(|c| f.contains(c)) {
                    return false;
                }
                let ws: Vec<&str> = l.split_whitespace().collect();
                (2..=3).contains(&ws.len())
                    && ws
                        .iter()
                        .all(|w| capitalised(w) && w.chars().all(|c| c.is_alphabetic() || c == '-'))
            });
            (found, found)
        }
    }
}

/// Are words `a` and `b` on the same line of `text`? Each word is a slice
/// of `text`, so its offset is known; only the span between them is read.
fn same_line(text: &str, words: &[Word], a: usize, b: usize) -> bool {
    let offset = |w: &Word| (w.orig.as_ptr() as usize).checked_sub(text.as_ptr() as usize);
    match (words.get(a).and_then(offset), words.get(b).and_then(offset)) {
        (Some(x), Some(y)) if x <= y && y <= text.len() => {
            text.get(x..y).is_none_or(|span| !span.contains('\n'))
        }
        _ => true,
    }
}

// ---------------------------------------------------------------- contact

static PHONE_INTL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00)[ ]?\d{1,3}[ \-]?(?:\(\d{1,4}\)[ \-]?)?\d(?:[ \-]?\d){4,12}\b")
        .expect("static regex")
});
static PHONE_LV: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[268]\d(?:[ \-]?\d){6}\b").expect("static regex"));
static PHONE_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b(?:tel|tālr|talr|tālrunis|talrunis|telefons|telefon|phone|ph|mob|mobile|mobilais|fakss|fax|tel\.\s*nr|т|тел|телефон|моб)\b\.?|\bt\.)\s*(?:nr\.?\s*)?[:.]?\s*(\+?\(?\d[\d \-()]{4,18}\d)")
        .expect("static regex")
});
static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d{1,2}-\d{1,2}$").expect("static regex"));
static CURRENCY_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:eur|euro|eiro|€|usd|\$|lats|latu|rub|руб)").expect("static regex")
});

fn digit_count(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

fn plausible(text: &str, (start, end): (usize, usize)) -> bool {
    let s = text[start..end].trim();
    !ISO_DATE.is_match(s)
        && !CURRENCY_AFTER.is_match(&text[end..])
        && !s.contains(" 000")
        && !after_number_label(&text[..start])
}

/// The matches (start, end) of a phone pattern in `text`, searched only in
/// the lines that hold a digit. The same matches as a search of the whole
/// text: a phone match holds no line break and at least one digit, and `\b`
/// reads a line's ends as it reads the line breaks around them. With
/// Unicode `\b` on non-ASCII text the regex crate leaves its DFA for its
/// slow engines, which made these searches over a long reply most of the
/// signature check.
fn phone_matches<'t>(re: &'t Regex, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
    let mut at = 0;
    text.split('\n')
        .map(move |line| {
            let start = at;
            at += line.len() + 1;
            (start, line)
        })
        .filter(|(_, line)| {
            line.bytes().any(|b| b.is_ascii_digit())
                || (!line.is_ascii() && line.chars().any(char::is_numeric))
        })
        .flat_map(move |(start, line)| {
            re.find_iter(line)
                .map(move |m| (start + m.start(), start + m.end()))
        })
}

/// Does the text before a bare number end in a label that makes it a
/// registration, document or account number ("Nr.", "No.", "ID:", "#",
/// "kods")? Such a number is not a phone; "Tālr. Nr. 67078190" is still
/// found by the phone-keyword rule.
fn after_number_label(before: &str) -> bool {
    let tail: String = before
        .chars()
        .rev()
        .take(24)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let tail = fold(&tail);
    let tail = tail.trim_end_matches(|c: char| c.is_whitespace() || c == ':' || c == '.');
    if tail.ends_with(['#', '№']) {
        return true;
    }
    let last = tail.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    matches!(
        last,
        "nr" | "no"
            | "num"
            | "numurs"
            | "numuru"
            | "numura"
            | "id"
            | "kods"
            | "kodu"
            | "reg"
            | "regnr"
            | "number"
            | "ref"
            | "номер"
    )
}

/// A phone number or an e-mail address.
pub fn has_contact(text: &str) -> bool {
    if EMAIL.is_match(text) {
        return true;
    }
    if phone_matches(&PHONE_INTL, text)
        .any(|m| (8..=15).contains(&digit_count(&text[m.0..m.1])) && plausible(text, m))
    {
        return true;
    }
    if phone_matches(&PHONE_LV, text).any(|m| digit_count(&text[m.0..m.1]) == 8 && plausible(text, m)) {
        return true;
    }
    PHONE_KEYWORD.captures_iter(text).any(|c| {
        c.get(1).is_some_and(|m| {
            (6..=15).contains(&digit_count(m.as_str())) && !ISO_DATE.is_match(m.as_str().trim())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_matches_as_by_the_whole_text_regexes() {
        for text in [
            "Ar cieņu,\nJānis Bērziņš\nTālr. +371 67078190\nMob. 29 123 456",
            "ā67078190 x 67078190ā\n(8) 6707 8190\r\n00371-6707-8190 end",
            "٦٧٠٧٨١٩٠ ٢٩١٢٣٤٥٦\n+371 ٦٧٠٧٨١٩٠ un 2912 3456",
            "",
            "\n\n+371 67078190\n",
            "Tālrunis:\n+371 67078190, fakss 67078191; konts 20000000",
        ] {
            for re in [&*PHONE_INTL, &*PHONE_LV] {
                let whole: Vec<(usize, usize)> = re.find_iter(text).map(|m| (m.start(), m.end())).collect();
                let lines: Vec<(usize, usize)> = phone_matches(re, text).collect();
                assert_eq!(lines, whole, "{text:?}");
            }
        }
    }

    #[test]
    fn spaces_blanked_as_one_character_at_a_time() {
        let by_char = |t: &str| -> String {
            t.chars()
                .map(|c| if c.is_whitespace() && c != '\n' { ' ' } else { c })
                .collect()
        };
        let spaces: String = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        for t in [
            spaces.as_str(),
            "",
            "Jānis\u{a0}Bērziņš\r\n\tTālr.\u{2009}67 ©€",
            "\u{1f}x\u{85}",
        ] {
            assert_eq!(blank_spaces(t), by_char(t), "{t:?}");
        }
    }

    #[test]
    fn word_characters_are_the_alphanumeric_ones() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn addresses_removed_as_by_the_whole_text_regexes() {
        for text in [
            "Jānis Bērziņš\njanis.berzins@sif.gov.lv, www.sif.gov.lv; https://sif.gov.lv/lv/x?y=1",
            "Tālr.: +371 67078190 E-pasts:pasts@sif.gov.lv (sif.gov.lv) ātri.LV",
            "āwww.x.lv xwww.y.com/ā āsif.lv/x sif.lvā http://x ftp://a.b mailto:a@b.lv",
            "a@b.c @x.lv ..lv -.lv a.b.c.d.eu/. Ķ.lv ſ.lv K.com end.",
            "x@y.lv\u{3000}www.a.lv\u{2028}b.com\u{85}a@b.lv@c.lv\u{a0}ā.lv:x ::@@ .",
            "Beigas. www. www.\nx.lv. Tālr.: sif.lv.\u{a0}lv x.\u{a0}lv a.b. c.:d",
            "@",
            "sif.lv",
            "",
            "   \n\n  x  ",
        ] {
            let whole = URL.replace_all(&EMAIL.replace_all(text, " "), " ").into_owned();
            assert_eq!(remove_addresses(text), whole, "{text:?}");
        }
    }
    use SignatureElement::*;

    fn org() -> OrganizationConfig {
        OrganizationConfig {
            name: "Sabiedrības integrācijas fonds".into(),
            aliases: vec!["SIF".into()],
            domains: vec!["sif.gov.lv".into()],
            case_prefix: "SIF".into(),
            phone: "+371 67078190".into(),
            website: "www.sif.gov.lv".into(),
        }
    }

    fn staff() -> Vec<StaffMember> {
        vec![StaffMember {
            email: "janis.berzins@sif.gov.lv".into(),
            name: "Jānis".into(),
            surname: "Bērziņš".into(),
            phone: Some("+371 67078190".into()),
            title: Some("Projektu vadītājs".into()),
        }]
    }

    fn janis() -> Address {
        Address {
            name: Some("Jānis Bērziņš".into()),
            email: "janis.berzins@sif.gov.lv".into(),
        }
    }

    fn all() -> Vec<SignatureElement> {
        vec![Organization, Name, Surname, Contact]
    }

    fn missing(text: &str, from: &Address) -> Vec<SignatureElement> {
        check(text, from, &staff(), &org(), &all()).missing
    }

    #[test]
    fn table() {
        let j = janis();
        let other = |dn: Option<&str>, e: &str| Address {
            name: dn.map(str::to_string),
            email: e.into(),
        };
        let cases: Vec<(&str, Address, Vec<SignatureElement>)> = vec![
            (
                "Ar cieņu\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr.: +371 67078190",
                j.clone(),
                vec![],
            ),
            (
                "Ar cieņu\nJanis Berzins\nSABIEDRIBAS INTEGRACIJAS FONDS\n67078190",
                j.clone(),
                vec![],
            ),
            (
                "Ar cieņu\nJānis Bērziņš\nSIF\njanis.berzins@sif.gov.lv",
                j.clone(),
                vec![],
            ),
            // e-mail and website are contacts, not the institution or the name
            (
                "Ar cieņu\nJ. Bērziņš\nwww.sif.gov.lv\njanis.berzins@sif.gov.lv",
                j.clone(),
                vec![Organization, Name],
            ),
            (
                "Ar cieņu\nJānis\nSabiedrības integrācijas fonds\nTel. 29123456",
                j.clone(),
                vec![Surname],
            ),
            (
                "Ar cieņu\nJānis Bērziņš\nSabiedrības integrācijas fonds",
                j.clone(),
                vec![Contact],
            ),
            (
                "Ar cieņu\nJānis Bērziņš\nSIFON kompānija\n+371 2912 3456",
                j.clone(),
                vec![Organization],
            ),
            // genitive: a department of the fund
            (
                "Jānis Bērziņš\nSabiedrības integrācijas fonda Programmu departaments\nmob. 2912-3456",
                j.clone(),
                vec![],
            ),
            // name broken over lines
            (
                "Jānis\nBērziņš\nSabiedrības\nintegrācijas\nfonds\n+37167078190",
                j.clone(),
                vec![],
            ),
            // display name "Surname, Name", not in staff
            (
                "Ar cieņu\nAnna Liepa\nSIF\ntālr. 67 078 111",
                other(Some("Liepa, Anna"), "a.l@sif.gov.lv"),
                vec![],
            ),
            (
                "Ar cieņu\nAnna\nSIF\ntālr. 67 078 111",
                other(Some("Liepa, Anna"), "a.l@sif.gov.lv"),
                vec![Surname],
            ),
            // display name "Surname Name", oriented by the local part
            (
                "Ar cieņu,\nInese\nSIF\n+371 67078250",
                other(Some("Krūmiņa Inese"), "inese.krumina@sif.gov.lv"),
                vec![Surname],
            ),
            (
                "Inese Krūmiņa\nSIF\n+371 67078250",
                other(Some("Krūmiņa Inese"), "inese.krumina@sif.gov.lv"),
                vec![],
            ),
            // no-break spaces inside the phone number
            (
                "Jānis Bērziņš\nSIF\nTālr.\u{a0}67\u{a0}078\u{a0}190",
                j.clone(),
                vec![],
            ),
            // a labelled number is not a phone
            (
                "Pieteikums reģistrēts ar Nr. 26123456.\nJānis Bērziņš\nSIF",
                j.clone(),
                vec![Contact],
            ),
            ("Jānis Bērziņš\nSIF\nTālr. Nr. 67078190", j.clone(), vec![]),
            // display name in capitals first
            (
                "Anna Liepa, SIF, +371 67078111",
                other(Some("LIEPA Anna (SIF)"), "x@sif.gov.lv"),
                vec![],
            ),
            // no display name: local part
            (
                "Pēteris Kļava\nSIF\n+371 67078111",
                other(None, "peteris.klava@sif.gov.lv"),
                vec![],
            ),
            (
                "Pēteris\nSIF\n+371 67078111",
                other(None, "peteris.klava@sif.gov.lv"),
                vec![Surname],
            ),
            // display name of one word: surname is the capitalised word after it
            (
                "Pēteris Kļava\nSIF\n+371 67078111",
                other(Some("Pēteris"), "pk@sif.gov.lv"),
                vec![],
            ),
            // nothing known: a line of capitalised words
            (
                "Ar cieņu\nPēteris Kļava\nSIF\n+371 67078111",
                other(None, "pk@sif.gov.lv"),
                vec![],
            ),
            (
                "Ar cieņu\nSIF\n+371 67078111",
                other(None, "pk@sif.gov.lv"),
                vec![Name, Surname],
            ),
            // dates, amounts and postcodes are not phones
            (
                "Jānis Bērziņš\nSIF\natbilde līdz 2026-12-03, summa 20 000 000 EUR, LV-1050, 03.12.2026",
                j.clone(),
                vec![Contact],
            ),
            // international format with brackets
            ("Jānis Bērziņš, SIF, phone +44 (20) 7946 0958", j.clone(), vec![]),
            ("Jānis Bērziņš, SIF, tel. 0037167078190", j.clone(), vec![]),
        ];
        for (text, from, want) in cases {
            assert_eq!(missing(text, &from), want, "{text:?}");
        }
    }

    #[test]
    fn only_required_elements_are_checked() {
        let v = check("hello", &janis(), &staff(), &org(), &[Contact]);
        assert_eq!(v.missing, vec![Contact]);
        assert!(!v.compliant);
        assert_eq!(v.author, "janis.berzins@sif.gov.lv");
        let v = check("hello", &janis(), &staff(), &org(), &[]);
        assert!(v.compliant);
    }

    #[test]
    fn staff_lookup_is_case_insensitive() {
        let from = Address {
            name: Some("Someone Else".into()),
            email: "Janis.Berzins@SIF.gov.lv".to_lowercase(),
        };
        assert_eq!(missing("Jānis Bērziņš\nSIF\n67078190", &from), vec![]);
    }

    #[test]
    fn expected_signature_block() {
        let s = expected_signature(&janis(), &staff(), &org());
        assert_eq!(
            s,
            "Ar cieņu\nJānis Bērziņš\nProjektu vadītājs\nSabiedrības integrācijas fonds\nTālr.: +371 67078190\nE-pasts: janis.berzins@sif.gov.lv\nwww.sif.gov.lv"
        );
        // and it passes its own check
        assert!(check(&s, &janis(), &staff(), &org(), &all()).compliant);
    }

    #[test]
    fn whole_message_org_only_in_quote() {
        let raw = "From: =?utf-8?q?J=C4=81nis_B=C4=93rzi=C5=86=C5=A1?= <janis.berzins@sif.gov.lv>\r\nTo: a@b.lv\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAtbilde.\r\n\r\nJānis Bērziņš\r\nTālr. 67078190\r\n\r\nNo: Anna <a@b.lv>\r\nNosūtīts: pirmdiena\r\nKam: Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\r\nTēma: x\r\n\r\nSabiedrības integrācijas fonds\r\n";
        let from = from_address(raw.as_bytes()).unwrap();
        assert_eq!(from, janis());
        let v = check(&author_text(raw.as_bytes()), &from, &staff(), &org(), &all());
        assert_eq!(v.missing, vec![Organization]);
    }

    fn msg_missing(headers: &str, body: &str) -> Vec<SignatureElement> {
        let raw = format!(
            "From: =?utf-8?q?J=C4=81nis_B=C4=93rzi=C5=86=C5=A1?= <janis.berzins@sif.gov.lv>\r\nTo: a@b.lv\r\nSubject: Re: x\r\nMIME-Version: 1.0\r\n{headers}\r\n{body}"
        );
        let from = from_address(raw.as_bytes()).unwrap();
        check(&author_text(raw.as_bytes()), &from, &staff(), &org(), &all()).missing
    }

    const PLAIN: &str = "Content-Type: text/plain; charset=utf-8\r\n";
    const HTML: &str = "Content-Type: text/html; charset=utf-8\r\n";

    #[test]
    fn whole_messages() {
        let cases: Vec<(&str, String, Vec<SignatureElement>)> = vec![
            // HTML signature in a table, quote in a blockquote naming the org
            (HTML, "<p>Atbilde.</p><table><tr><td><b>J&#257;nis</b></td><td>B&#275;rzi&#326;&#353;</td></tr><tr><td colspan=2>Sabiedr&iacute;bas integr&amacr;cijas fonds</td></tr><tr><td>T&#257;lr.</td><td>+371&nbsp;670&nbsp;78&nbsp;190</td></tr></table><blockquote>Sabiedr&#299;bas integr&#257;cijas fonds, 67078190</blockquote>".into(), vec![]),
            // same, contact only in the quote
            (HTML, "<p>Atbilde.</p><div>J&#257;nis B&#275;rzi&#326;&#353;<br>SIF</div><div class=\"gmail_quote\">On x wrote:<br><blockquote>tel. 67078190</blockquote></div>".into(), vec![Contact]),
            // QP soft line break inside the surname
            ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n", "Ar cie=C5=86u\r\nJ=C4=81nis B=C4=93r=\r\nzi=C5=86=C5=A1\r\nSabiedr=C4=ABbas integr=C4=81=\r\ncijas fonds\r\nt=C4=81lr. 67078190\r\n".into(), vec![]),
            // top-posting: org only in the quoted original below an Outlook EN block
            (PLAIN, "Atbilde.\r\nJānis Bērziņš\r\n67078190\r\n\r\nFrom: Anna <a@b.lv>\r\nSent: Monday, November 23, 2026 9:14 AM\r\nTo: Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\r\nSubject: x\r\n\r\nSabiedrības integrācijas fonds\r\n".into(), vec![Organization]),
            // "-- " signature is the author's
            (PLAIN, "Atbilde.\r\n-- \r\nJānis Bērziņš | SIF | +371 67078190\r\n".into(), vec![]),
            // Russian Outlook header block
            (PLAIN, "Ответ.\r\nJānis Bērziņš\r\nSIF\r\n\r\nОт: Анна <a@b.ru>\r\nОтправлено: 23 ноября 2026 г. 9:14\r\nКому: pasts@sif.gov.lv\r\nТема: вопрос\r\n\r\nтел. 29123456\r\n".into(), vec![Contact]),
            // German attribution and block
            (PLAIN, "Antwort.\r\nJānis Bērziņš, SIF\r\n\r\nAm 23.11.2026 um 10:00 schrieb Anna Muster <a@b.de>:\r\n\r\nTel. 030 1234567\r\n".into(), vec![Contact]),
            (PLAIN, "Antwort.\r\nJānis Bērziņš, SIF\r\n\r\nVon: Anna <a@b.de>\r\nGesendet: Montag\r\nAn: pasts@sif.gov.lv\r\nBetreff: x\r\n\r\nTel. 030 1234567\r\n".into(), vec![Contact]),
            // organisation in genitive (department of the fund)
            (PLAIN, "Atbilde.\r\nJānis Bērziņš\r\nSabiedrības integrācijas fonda Projektu nodaļa\r\nTālr. 67078190\r\n".into(), vec![]),
            // name only as an initial
            (PLAIN, "Atbilde.\r\nJ. Bērziņš\r\nSIF, 67078190\r\n".into(), vec![Name]),
            // e-mail address as the contact, diacritic-less name
            (PLAIN, "Atbilde.\r\nJanis Berzins\r\nSIF\r\njanis.berzins@sif.gov.lv\r\n".into(), vec![]),
            // the org only inside an address or a web address does not count
            (PLAIN, "Atbilde.\r\nJānis Bērziņš\r\njanis.berzins@sif.gov.lv\r\nhttps://www.sif.gov.lv/kontakti\r\n".into(), vec![Organization]),
            // an attribution line carries the client's address: not a contact
            (PLAIN, "Atbilde.\r\nJānis Bērziņš\r\nSIF\r\n\r\n2026-11-23 10:00, Anna <anna@inbox.lv> rakstīja:\r\n> jautājums\r\n".into(), vec![Contact]),
            // Gmail wraps the attribution; "wrote:" alone on the next line
            (PLAIN, "Atbilde.\r\nJānis Bērziņš\r\nSIF\r\n\r\nOn Mon, 23 Nov 2026 at 10:00, Anna Kalniņa <anna@inbox.lv>\r\nwrote:\r\n\r\n> jautājums\r\n".into(), vec![Contact]),
            // nothing at all
            (PLAIN, "Paldies.\r\n".into(), vec![Organization, Name, Surname, Contact]),
        ];
        for (h, body, want) in cases {
            assert_eq!(msg_missing(h, &body), want, "{body}");
        }
    }

    #[test]
    fn display_name_surname_first_with_comma() {
        let from = Address {
            name: Some("Berzins, Janis".into()),
            email: "jb@sif.gov.lv".into(),
        };
        let v = check("Jānis Bērziņš\nSIF\n+371 67078190", &from, &[], &org(), &all());
        assert!(v.compliant, "{v:?}");
        let v = check("Jānis\nSIF\n+371 67078190", &from, &[], &org(), &all());
        assert_eq!(v.missing, vec![Surname]);
    }

    #[test]
    fn shared_mailbox_sender() {
        let from = Address {
            name: Some("Sabiedrības integrācijas fonds".into()),
            email: "pasts@sif.gov.lv".into(),
        };
        let v = check(
            "Atbilde.\nAr cieņu\nAnna Liepa\nSIF\n67078111",
            &from,
            &staff(),
            &org(),
            &all(),
        );
        assert!(v.compliant, "{v:?}");
        let v = check(
            "Atbilde.\nAr cieņu\nSIF\n67078111",
            &from,
            &staff(),
            &org(),
            &all(),
        );
        assert_eq!(v.missing, vec![Name, Surname]);
    }

    #[test]
    fn display_name_that_is_an_address() {
        let from = Address {
            name: Some("jb@sif.gov.lv".into()),
            email: "jb@sif.gov.lv".into(),
        };
        // nothing known about the person: a signature line of capitalised words counts
        let v = check(
            "Atbilde.\nAr cieņu\nAnna Liepa\nSIF\n67078111",
            &from,
            &[],
            &org(),
            &all(),
        );
        assert!(v.compliant, "{v:?}");
        let v = check("Atbilde.\nAr cieņu\nSIF\n67078111", &from, &[], &org(), &all());
        assert_eq!(v.missing, vec![Name, Surname]);
        let v = check("Answer.\nKind Regards\nSIF\n67078111", &from, &[], &org(), &all());
        assert_eq!(v.missing, vec![Name, Surname]);
    }
}
