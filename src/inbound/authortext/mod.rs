//! What the author of a mail actually wrote (SPEC §4.3, §7).
//!
//! [`author_text`] decodes a whole message (any charset and transfer encoding
//! mail-parser understands, `format=flowed`), prefers the text/plain body and
//! otherwise reads the HTML body as text ([`html_to_text`], `html.rs`), then removes what
//! the author did not write ([`strip_quotes`], `quotes.rs`): lines starting with `>`, and
//! everything from the first reply or forward header on.
//!
//! Decisions:
//! - A signature after the `-- ` separator belongs to the author and is kept.
//! - In HTML, `<blockquote>` content is dropped where it stands (inline
//!   replies keep the author's text between quotes); Gmail's `gmail_quote`,
//!   Yahoo's `yahoo_quoted`, Thunderbird's `moz-cite-prefix`, Outlook's
//!   `divRplyFwdMsg` and its bordered header `<div>`/`<hr>` start a quote that
//!   runs to the end of the message.
//! - A reply header is recognised by its shape, not by the corpus' strings:
//!   an attribution line ending in a "wrote" verb (several languages, possibly
//!   wrapped over two lines), a dashed "original message" separator, a
//!   "forwarded message" line, or an Outlook header block (a From-like line
//!   followed within a few lines by another header line).

mod entities;
mod html;
mod quotes;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use unicode_normalization::UnicodeNormalization;

pub use entities::decode_entities;
pub use html::html_to_text;
pub use quotes::strip_quotes;

/// The author's own text of a raw RFC 5322 message; empty when the message
/// cannot be parsed or has no text body.
pub fn author_text(raw: &[u8]) -> String {
    strip_quotes(&body_text(raw))
}

/// The readable body of a message before quote removal: all text/plain body
/// parts (format=flowed undone), else (or when the plain part is only a
/// short stub) the first HTML body read as text.
pub fn body_text(raw: &[u8]) -> String {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return String::new();
    };
    let mut plain = Vec::new();
    for part in msg.text_bodies() {
        if let PartType::Text(t) = &part.body {
            let ct = part.content_type();
            let flowed = ct
                .and_then(|c| c.attribute("format"))
                .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
            let delsp = ct
                .and_then(|c| c.attribute("delsp"))
                .is_some_and(|f| f.eq_ignore_ascii_case("yes"));
            let text = if flowed { unflow(t, delsp) } else { t.to_string() };
            plain.push(text);
        }
    }
    let plain = plain.join("\n");
    // A text/plain stub ("This message is in HTML") is not the author's
    // text: then the HTML part's, if longer. Otherwise the HTML is not
    // read at all (nor the plain text counted to its end).
    let plain_chars = plain.trim().chars().take(20).count();
    let html = (plain_chars < 20)
        .then(|| {
            msg.html_bodies().find_map(|part| match &part.body {
                PartType::Html(h) => Some(html_to_text(h)),
                _ => None,
            })
        })
        .flatten();
    let text = match html {
        Some(h) if h.trim().chars().count() > plain_chars => h,
        _ => plain,
    };
    normalize_spaces(&text)
}

/// Unicode spaces (no-break, narrow, figure, zero-width) and CR to plain
/// ASCII so that later matching sees ordinary words.
fn normalize_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    // Runs of other bytes are copied whole; only CR, tab and the characters
    // whose UTF-8 starts as those below do (U+00A0 and U+00AD with 0xC2,
    // U+2000 to U+202F with 0xE2, U+FEFF with 0xEF; lead bytes, so at
    // character boundaries) are looked at one by one. Latvian letters
    // (0xC4, 0xC5) are copied with the runs. The marks are found by two
    // vectorised searches (memchr takes at most three bytes), each moved on
    // only once passed.
    let find_a = |from: usize| memchr::memchr3(b'\r', b'\t', 0xC2, &bytes[from..]).map(|i| from + i);
    let find_b = |from: usize| memchr::memchr2(0xE2, 0xEF, &bytes[from..]).map(|i| from + i);
    let (mut next_a, mut next_b) = (find_a(0), find_b(0));
    let mut done = 0;
    loop {
        let i = match (next_a, next_b) {
            (Some(a), Some(b)) => a.min(b),
            (Some(i), None) | (None, Some(i)) => i,
            (None, None) => break,
        };
        out.push_str(&s[done..i]);
        let Some(c) = s[i..].chars().next() else { break };
        match c {
            '\r' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}' => {}
            '\u{00A0}'
            | '\u{2007}'
            | '\u{202F}'
            | '\u{2009}'
            | '\u{2002}'
            | '\u{2003}'
            | '\u{2000}'..='\u{2006}'
            | '\u{2008}'
            | '\u{200A}'
            | '\t' => out.push(' '),
            c => out.push(c),
        }
        done = i + c.len_utf8();
        if next_a.is_some_and(|a| a < done) {
            next_a = find_a(done);
        }
        if next_b.is_some_and(|b| b < done) {
            next_b = find_b(done);
        }
    }
    out.push_str(&s[done..]);
    out
}

/// RFC 3676: join lines that end in a space (soft breaks) with the next
/// line of the same quote depth, except the signature separator `-- `.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::new();
    let mut cur = String::new();
    let mut cur_depth: Option<usize> = None;
    let flush = |out: &mut String, cur: &mut String, depth: &mut Option<usize>| {
        if let Some(d) = depth.take() {
            out.push_str(&">".repeat(d));
            if d > 0 {
                out.push(' ');
            }
            out.push_str(cur);
            out.push('\n');
        }
        cur.clear();
    };
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let depth = line.chars().take_while(|c| *c == '>').count();
        let content = &line[depth..];
        // Space-stuffing: one leading space is removed.
        let content = content.strip_prefix(' ').unwrap_or(content);
        if cur_depth.is_some_and(|d| d != depth) {
            flush(&mut out, &mut cur, &mut cur_depth);
        }
        cur_depth = Some(depth);
        if content.ends_with(' ') && content != "-- " {
            if delsp {
                cur.push_str(&content[..content.len() - 1]);
            } else {
                cur.push_str(content);
            }
        } else {
            cur.push_str(content);
            flush(&mut out, &mut cur, &mut cur_depth);
        }
    }
    if !cur.is_empty() {
        flush(&mut out, &mut cur, &mut cur_depth);
    }
    out
}

/// Fold for matching: NFD, drop combining marks, lower case, and a few
/// letters NFD does not decompose (ł, ø, đ, ß). "Bērziņš" → "berzins".
///
/// One pass, a character at a time: ASCII is lower-cased directly, Latin
/// letters come from a table (`latin_folds`), anything else goes through
/// NFD on its own (every character decomposes on its own, and reordering
/// only moves the combining marks that are dropped, so this is the same
/// text as normalising the whole; tested against that). It runs for every
/// line and word read.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// [`fold`], appended to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    let table = latin_folds();
    let mut rest = s;
    while !rest.is_empty() {
        // A run of ASCII copied and lower-cased at once: most of a text,
        // even a Latvian one, is ASCII between its accented letters (one
        // push per byte was 7 % of a backlog's CPU).
        let run = rest.bytes().position(|b| !b.is_ascii()).unwrap_or(rest.len());
        if run > 0 {
            let start = out.len();
            out.push_str(&rest[..run]);
            out[start..].make_ascii_lowercase();
            rest = &rest[run..];
            continue;
        }
        // `rest` starts at a character boundary: ASCII bytes are whole
        // characters.
        let Some(c) = rest.chars().next() else { break };
        let code = c as u32;
        if code < LATIN_END {
            out.push_str(&table[(code - 0x80) as usize]);
        } else {
            fold_slow(&rest[..c.len_utf8()], out);
        }
        rest = &rest[c.len_utf8()..];
    }
}

/// The first code point past the Latin letters [`latin_folds`] keeps.
const LATIN_END: u32 = 0x250;

/// Folds of U+0080..U+024F (Latin-1 and Latin Extended A and B: every
/// Latvian letter), made once by [`fold_slow`]. Canonical decomposition,
/// dropping combining marks and lower-casing all work one character at a
/// time (reordering only moves marks, which are dropped), so folding a
/// character at a time gives the same text as folding the run: Latvian
/// words have a non-ASCII letter every few characters, and the NFD
/// iterator per run was a tenth of a backlog's CPU.
fn latin_folds() -> &'static [Box<str>] {
    static TABLE: std::sync::OnceLock<Vec<Box<str>>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0x80..LATIN_END)
            .map(|i| {
                let mut out = String::new();
                if let Some(c) = char::from_u32(i) {
                    fold_slow(c.encode_utf8(&mut [0; 4]), &mut out);
                }
                out.into_boxed_str()
            })
            .collect()
    })
}

fn fold_slow(s: &str, out: &mut String) {
    for c in s
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(|c| c.to_lowercase())
    {
        match c {
            'ł' => out.push('l'),
            'ø' => out.push('o'),
            'đ' => out.push('d'),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole-text fold [`fold`] must equal.
    fn fold_reference(s: &str) -> String {
        s.nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .flat_map(|c| c.to_lowercase())
            .map(|c| match c {
                'ł' => 'l',
                'ø' => 'o',
                'đ' => 'd',
                c => c,
            })
            .collect::<String>()
            .replace('ß', "ss")
    }

    #[test]
    fn normalize_spaces_table() {
        for (input, want) in [
            ("", ""),
            ("plain ascii", "plain ascii"),
            ("a\r\nb\tc", "a\nb c"),
            ("Bērziņš\u{00A0}Jānis\u{200B}!", "Bērziņš Jānis!"),
            ("\u{FEFF}x\u{202F}y\u{2003}z\u{00AD}", "x y z"),
            ("\r\r", ""),
            ("日本\u{2009}語 😀\r", "日本 語 😀"),
            ("© 5 € — ’ﬁ’ ā\u{00A0}ē", "© 5 € — ’ﬁ’ ā ē"),
        ] {
            assert_eq!(normalize_spaces(input), want, "{input:?}");
        }
    }

    /// The byte-search form equals the plain character mapping on random
    /// texts of the marked characters, their neighbours and others that
    /// share their lead bytes (€ and ’ with 0xE2, © with 0xC2, ﬁ with 0xEF).
    #[test]
    fn normalize_spaces_equals_the_character_mapping() {
        let reference = |s: &str| -> String {
            s.chars()
                .filter_map(|c| match c {
                    '\r' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}' => None,
                    '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\t' => Some(' '),
                    c => Some(c),
                })
                .collect()
        };
        let alphabet: Vec<char> = "a Z\n\r\t.āžŠ€’©ﬁ😀日\u{00A0}\u{00AD}\u{2000}\u{2005}\u{200A}\u{200B}\u{200D}\u{2028}\u{202F}\u{FEFF}\u{FFFD}"
            .chars()
            .collect();
        let mut seed = 5u32;
        for _ in 0..3000 {
            let mut t = String::new();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            for _ in 0..(seed >> 16) % 40 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                t.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            assert_eq!(normalize_spaces(&t), reference(&t), "{t:?}");
        }
    }

    #[test]
    fn fold_equals_whole_text_normalisation() {
        for s in [
            "",
            "Bērziņš",
            "SABIEDRĪBAS INTEGRĀCIJAS FONDS",
            "e\u{301}a\u{308}\u{301}Z",
            "\u{301}\u{300}x",
            "Łódź Øresund Đakovo Straße GROẞE",
            "İstanbul ǅ Ǆ ΣΑΣ Привет МИР 日本語 😀",
            "a\u{1e0b}\u{323}b",
            "ﬁ ﬀ ½ ℌ ①",
        ] {
            assert_eq!(fold(s), fold_reference(s), "{s:?}");
        }
        let mut seed = 7u32;
        let alphabet: Vec<char> = "aZ .ĀāĒēŠšŅņ\u{301}\u{323}\u{308}ßẞłŁøØđĐİΣЖж😀ﬁ\n"
            .chars()
            .collect();
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..12 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                s.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            assert_eq!(fold(&s), fold_reference(&s), "{s:?}");
        }
        // Every character up to U+3000 alone and after a letter.
        for i in 0x80..0x3000 {
            if let Some(c) = char::from_u32(i) {
                for s in [c.to_string(), format!("a{c}"), format!("{c}\u{301}b")] {
                    assert_eq!(fold(&s), fold_reference(&s), "U+{i:04X} in {s:?}");
                }
            }
        }
    }

    fn eml(headers: &str, body: &str) -> Vec<u8> {
        format!("From: a@b.lv\r\nTo: c@d.lv\r\nSubject: x\r\n{headers}\r\n{body}").into_bytes()
    }

    #[test]
    fn flowed_quote_depth_is_respected() {
        assert_eq!(unflow("> a \n> b\nc \nd\n", false), "> a b\nc d\n\n");
        assert_eq!(unflow("> a \nb\n", false), "> a \nb\n\n");
    }

    #[test]
    fn qp_soft_break_inside_name() {
        let raw = eml(
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
            "J=C4=81nis B=C4=93r=\r\nzi=C5=86=C5=A1\r\n",
        );
        assert_eq!(author_text(&raw), "Jānis Bērziņš\n");
    }

    #[test]
    fn windows1257_and_koi8r() {
        // "Bērziņš" in windows-1257: e-macron 0xE7, n-cedilla 0xF2, s-caron 0xF0
        let mut raw = b"From: a@b.lv\r\nContent-Type: text/plain; charset=windows-1257\r\n\r\nB".to_vec();
        raw.extend_from_slice(&[0xE7, b'r', b'z', b'i', 0xF2, 0xF0, b'\r', b'\n']);
        assert_eq!(author_text(&raw), "Bērziņš\n");
        let mut raw = b"From: a@b.lv\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n".to_vec();
        raw.extend_from_slice(&[0xE6, 0xCF, 0xCE, 0xC4, b'\r', b'\n']); // "Фонд"
        assert_eq!(author_text(&raw), "Фонд\n");
    }

    #[test]
    fn format_flowed_is_unflowed() {
        let raw = eml(
            "Content-Type: text/plain; charset=utf-8; format=flowed\r\n",
            "Sabiedr\u{12B}bas \r\nintegr\u{101}cijas fonds\r\n-- \r\nJ\u{101}nis\r\n",
        );
        assert_eq!(author_text(&raw), "Sabiedrības integrācijas fonds\n-- \nJānis\n");
    }

    #[test]
    fn html_only_message_is_read() {
        let raw = eml(
            "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n",
            "<p>Hi<br>J&#257;nis</p><blockquote>old</blockquote>",
        );
        assert_eq!(author_text(&raw), "Hi\nJānis\n");
    }

    #[test]
    fn plain_stub_gives_way_to_html() {
        let raw = eml(
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Real answer here<br>J&#257;nis</p>\r\n--b--\r\n",
        );
        assert_eq!(author_text(&raw), "Real answer here\nJānis\n");
    }

    #[test]
    fn plain_preferred_over_html() {
        let raw = eml(
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe plain text version\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The HTML version, longer</p>\r\n--b--\r\n",
        );
        assert_eq!(author_text(&raw), "The plain text version\n");
    }
}
