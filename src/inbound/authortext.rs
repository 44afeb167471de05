//! What the author of a mail actually wrote (SPEC §4.3, §7).
//!
//! [`author_text`] decodes a whole message (any charset and transfer encoding
//! mail-parser understands, `format=flowed`), prefers the text/plain body and
//! otherwise reads the HTML body as text ([`html_to_text`]), then removes what
//! the author did not write ([`strip_quotes`]): lines starting with `>`, and
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

use mail_parser::{MessageParser, MimeHeaders, PartType};
use unicode_normalization::UnicodeNormalization;

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
    let html = msg.html_bodies().find_map(|part| match &part.body {
        PartType::Html(h) => Some(html_to_text(h)),
        _ => None,
    });
    // A text/plain stub ("This message is in HTML") is not the author's text.
    let stub = plain.trim().chars().count() < 20;
    let text = match html {
        Some(h) if stub && h.trim().chars().count() > plain.trim().chars().count() => h,
        _ => plain,
    };
    normalize_spaces(&text)
}

/// Unicode spaces (no-break, narrow, figure, zero-width) and CR to plain
/// ASCII so that later matching sees ordinary words.
fn normalize_spaces(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\r' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}' => None,
            '\u{00A0}'
            | '\u{2007}'
            | '\u{202F}'
            | '\u{2009}'
            | '\u{2002}'
            | '\u{2003}'
            | '\u{2000}'..='\u{2006}'
            | '\u{2008}'
            | '\u{200A}'
            | '\t' => Some(' '),
            c => Some(c),
        })
        .collect()
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
pub fn fold(s: &str) -> String {
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

// ---------------------------------------------------------------- HTML

/// Read HTML as text: drops `<head>`, `<style>`, `<script>`, comments and
/// quoted parts (see the module doc), turns block elements into line breaks
/// and table cells into spaces, collapses white space like a browser and
/// decodes character references.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Vec<String> = Vec::new(); // elements whose content is skipped
    let mut quote_depth = 0usize; // nested <blockquote>
    let mut pre = 0usize;
    // A quoted element skipped to its end: (tag name, nesting depth).
    let mut skip_elem: Option<(String, usize)> = None;
    // After an attribution element ("… wrote:"): the quote must follow.
    let mut after_attribution = false;
    // An open `<a href="mailto:…">` / `tel:`: (address, output length at open).
    let mut link: Option<(String, usize)> = None;
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        // Flush text before the tag.
        if skip_depth.is_empty() && quote_depth == 0 && skip_elem.is_none() {
            let raw = &html[text_start..i];
            if after_attribution && !decode_entities(raw).trim().is_empty() {
                // Text right after "… wrote:" without a quote element: the
                // quoted conversation is not marked up; cut it all.
                return finish_text(&out);
            }
            push_text(&mut out, raw, pre > 0);
        }
        // Comment.
        if html[i..].starts_with("<!--") {
            i = html[i + 4..].find("-->").map_or(bytes.len(), |p| i + 4 + p + 3);
            text_start = i;
            continue;
        }
        // Find the end of the tag, honouring quoted attribute values.
        let mut j = i + 1;
        let mut q: Option<u8> = None;
        while j < bytes.len() {
            let b = bytes[j];
            match q {
                Some(c) if b == c => q = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => q = Some(b),
                None if b == b'>' => break,
                None => {}
            }
            j += 1;
        }
        let tag = &html[i + 1..j.min(bytes.len())];
        i = (j + 1).min(bytes.len());
        text_start = i;
        let closing = tag.starts_with('/');
        let body = tag.trim_start_matches('/');
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || name.starts_with('!') || name.starts_with('?') {
            continue;
        }
        let self_closing = body.trim_end().ends_with('/');
        // Skipped elements: their content is not text.
        if matches!(
            name.as_str(),
            "head" | "style" | "script" | "title" | "xml" | "template"
        ) {
            if closing {
                if let Some(pos) = skip_depth.iter().rposition(|n| *n == name) {
                    skip_depth.truncate(pos);
                }
            } else if !self_closing {
                skip_depth.push(name.clone());
            }
            continue;
        }
        if !skip_depth.is_empty() {
            continue;
        }
        if let Some((skip_name, depth)) = &mut skip_elem {
            if *skip_name == name {
                if closing {
                    *depth -= 1;
                    if *depth == 0 {
                        skip_elem = None;
                        out.push('\n');
                    }
                } else if !self_closing {
                    *depth += 1;
                }
            }
            continue;
        }
        if name == "blockquote" {
            after_attribution = false;
            if closing {
                quote_depth = quote_depth.saturating_sub(1);
                if quote_depth == 0 {
                    out.push('\n');
                }
            } else if !self_closing {
                quote_depth += 1;
            }
            continue;
        }
        if quote_depth > 0 {
            continue;
        }
        if !closing {
            match starts_quote(&name, body) {
                Some(QuoteStart::Rest) => {
                    // Everything from here on is the quoted conversation.
                    return finish_text(&out);
                }
                Some(kind @ (QuoteStart::Element | QuoteStart::Attribution)) if !self_closing => {
                    skip_elem = Some((name.clone(), 1));
                    after_attribution = kind == QuoteStart::Attribution;
                    continue;
                }
                _ => {}
            }
        }
        if name == "a" {
            if closing {
                if let Some((addr, at)) = link.take() {
                    let shown = fold(&out[at.min(out.len())..]);
                    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
                    let visible = if addr.contains('@') {
                        shown.contains(&addr)
                    } else {
                        digits(&shown).contains(&digits(&addr))
                    };
                    if !visible {
                        // A mailto:/tel: link labelled "Rakstiet man": the
                        // address is the contact the reader gets by clicking.
                        out.push_str(&format!(" <{addr}>"));
                    }
                }
            } else {
                link = link_target(body).map(|a| (a, out.len()));
            }
            continue;
        }
        match name.as_str() {
            "br" => out.push('\n'),
            "p" | "div" | "tr" | "li" | "ul" | "ol" | "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "hr" | "section" | "article" | "header" | "footer" | "address" | "center" | "dl" | "dt"
            | "dd" | "body" => out.push('\n'),
            "pre" => {
                out.push('\n');
                if closing {
                    pre = pre.saturating_sub(1);
                } else {
                    pre += 1;
                }
            }
            "td" | "th" => out.push(' '),
            _ => {}
        }
    }
    if skip_depth.is_empty() && quote_depth == 0 && skip_elem.is_none() && text_start < bytes.len() {
        let raw = &html[text_start..];
        if !after_attribution || decode_entities(raw).trim().is_empty() {
            push_text(&mut out, raw, pre > 0);
        }
    }
    finish_text(&out)
}

/// How a quote begins in HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteStart {
    /// The element holds the whole quote (Gmail's `gmail_quote`, Yahoo's
    /// `yahoo_quoted`, Thunderbird's `moz-forward-container`): skip it and
    /// read on, the author may answer below it.
    Element,
    /// The element is an attribution ("… wrote:", Thunderbird's
    /// `moz-cite-prefix`): skip it; a `<blockquote>` must follow, else the
    /// rest is quoted.
    Attribution,
    /// A header block whose quoted message follows unmarked (Outlook's
    /// `divRplyFwdMsg` and bordered header, Zimbra's `zwchr` rule): cut the rest.
    Rest,
}

/// The address of a `mailto:` or `tel:` link (query part removed).
fn link_target(tag: &str) -> Option<String> {
    let t = tag.to_ascii_lowercase();
    let href = attr_value(&t, "href")?.trim();
    let addr = href
        .strip_prefix("mailto:")
        .or_else(|| href.strip_prefix("tel:"))
        .or_else(|| href.strip_prefix("callto:"))?;
    let addr = decode_entities(addr.split('?').next().unwrap_or(""));
    let addr = addr.trim().replace("%20", "").replace("%2b", "+");
    (!addr.is_empty() && addr.len() <= 254 && !addr.contains(['<', '>', '"', ' '])).then_some(addr)
}

/// Does this opening tag begin the quoted part of a reply?
fn starts_quote(name: &str, tag: &str) -> Option<QuoteStart> {
    let t = tag.to_ascii_lowercase();
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let class_or_id = |needle: &str| {
        attr_value(&t, "class").is_some_and(|v| v.split_whitespace().any(|c| c == needle))
            || attr_value(&t, "id").is_some_and(|v| v == needle)
    };
    if class_or_id("gmail_quote")
        || class_or_id("gmail_quote_container")
        || class_or_id("yahoo_quoted")
        || class_or_id("zmail_extra")
        || class_or_id("moz-forward-container")
    {
        return Some(QuoteStart::Element);
    }
    if class_or_id("moz-cite-prefix") || class_or_id("gmail_attr") {
        return Some(QuoteStart::Attribution);
    }
    if class_or_id("divrplyfwdmsg")
        || class_or_id("appendonsend")
        || class_or_id("mail-reply-to")
        || class_or_id("zwchr")
    {
        return Some(QuoteStart::Rest);
    }
    // Outlook's header block: a div with a top border (`border-top:solid
    // #E1E1E1 1.0pt` or `#B5C4DF`), or the hr before it.
    if (name == "div" || name == "hr" || name == "p")
        && (compact.contains("border-top:solid#e1e1e1")
            || compact.contains("border-top:solid#b5c4df")
            || compact.contains("border-top:1ptsolid#e1e1e1")
            || compact.contains("border-top:1ptsolid#b5c4df"))
    {
        return Some(QuoteStart::Rest);
    }
    None
}

/// The value of an attribute in a lower-cased tag body.
fn attr_value<'a>(tag: &'a str, attr: &str) -> Option<&'a str> {
    let mut search = 0;
    while let Some(p) = tag[search..].find(attr) {
        let start = search + p;
        search = start + attr.len();
        let before_ok = start == 0 || tag.as_bytes()[start - 1].is_ascii_whitespace();
        let rest = tag[search..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        return Some(if let Some(r) = rest.strip_prefix('"') {
            r.split('"').next().unwrap_or("")
        } else if let Some(r) = rest.strip_prefix('\'') {
            r.split('\'').next().unwrap_or("")
        } else {
            rest.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or("")
        });
    }
    None
}

fn push_text(out: &mut String, raw: &str, pre: bool) {
    let decoded = decode_entities(raw);
    if pre {
        out.push_str(&decoded);
        return;
    }
    for c in decoded.chars() {
        if c.is_whitespace() && c != '\u{00A0}' {
            if !out.ends_with([' ', '\n']) && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

/// Collapse spaces within lines and drop blank lines (paragraph structure
/// does not matter to the checks that read this text).
fn finish_text(s: &str) -> String {
    let mut out = String::new();
    for line in s.split('\n') {
        let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            continue;
        }
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

/// Decode HTML character references: numeric (`&#257;`, `&#x101;`) and the
/// common named ones, including the Latvian letters.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[1..]
            .char_indices()
            .take(12)
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '#'))
            .map(|(k, c)| (k + 1, c));
        let (name_end, has_semi) = match end {
            Some((k, ';')) => (k, true),
            Some((k, _)) => (k, false),
            None if rest.len() <= 13 => (rest.len(), false),
            None => (0, false),
        };
        let name = &rest[1..name_end.max(1)];
        let decoded = if name.is_empty() {
            None
        } else if let Some(num) = name.strip_prefix('#') {
            let v = if let Some(h) = num.strip_prefix(['x', 'X']) {
                u32::from_str_radix(h, 16).ok()
            } else {
                num.parse::<u32>().ok()
            };
            v.and_then(char::from_u32).map(|c| c.to_string())
        } else {
            named_entity(name).map(str::to_string)
        };
        match decoded {
            Some(d) => {
                out.push_str(&d);
                rest = &rest[name_end + usize::from(has_semi)..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "nbsp" => "\u{00A0}",
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "shy" => "",
        "zwnj" | "zwj" => "",
        "ensp" | "emsp" | "thinsp" => " ",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "laquo" => "«",
        "raquo" => "»",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "euro" => "€",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "middot" => "·",
        "bull" => "•",
        "deg" => "°",
        "sect" => "§",
        "times" => "×",
        "amacr" => "ā",
        "Amacr" => "Ā",
        "emacr" => "ē",
        "Emacr" => "Ē",
        "imacr" => "ī",
        "Imacr" => "Ī",
        "umacr" => "ū",
        "Umacr" => "Ū",
        "omacr" => "ō",
        "Omacr" => "Ō",
        "ccaron" => "č",
        "Ccaron" => "Č",
        "scaron" => "š",
        "Scaron" => "Š",
        "zcaron" => "ž",
        "Zcaron" => "Ž",
        "gcedil" => "ģ",
        "Gcedil" => "Ģ",
        "kcedil" => "ķ",
        "Kcedil" => "Ķ",
        "lcedil" => "ļ",
        "Lcedil" => "Ļ",
        "ncedil" => "ņ",
        "Ncedil" => "Ņ",
        "auml" => "ä",
        "Auml" => "Ä",
        "ouml" => "ö",
        "Ouml" => "Ö",
        "uuml" => "ü",
        "Uuml" => "Ü",
        "szlig" => "ß",
        "otilde" => "õ",
        "Otilde" => "Õ",
        "eacute" => "é",
        "Eacute" => "É",
        "aacute" => "á",
        "egrave" => "è",
        "agrave" => "à",
        "ccedil" => "ç",
        "iacute" => "í",
        "Iacute" => "Í",
        "oacute" => "ó",
        "Oacute" => "Ó",
        "uacute" => "ú",
        "Uacute" => "Ú",
        "Aacute" => "Á",
        "ntilde" => "ñ",
        "aring" => "å",
        "Aring" => "Å",
        "oslash" => "ø",
        "Oslash" => "Ø",
        "aelig" => "æ",
        "lstrok" => "ł",
        "Lstrok" => "Ł",
        "eogon" => "ę",
        "aogon" => "ą",
        "edot" => "ė",
        "Edot" => "Ė",
        "iogon" => "į",
        "uogon" => "ų",
        _ => return None,
    })
}

// ---------------------------------------------------------------- quotes

/// Remove what the author did not write from plain text: every line
/// starting with `>`, and everything from the first reply/forward header on.
///
/// An attribution line ("On … wrote:") directly followed by `>` lines only
/// introduces that quote: the author may answer below it (bottom-posting or
/// inline replies), so only the attribution and the `>` lines go. Any other
/// header (Outlook block, "-----Original Message-----") and an attribution
/// followed by unprefixed text cut the rest of the message.
pub fn strip_quotes(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = vec![true; lines.len()];
    let mut cut = lines.len();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with('>') {
            keep[i] = false;
            i += 1;
            continue;
        }
        if line.is_empty() {
            i += 1;
            continue;
        }
        let f = fold(line);
        if is_separator(&f) {
            cut = i;
            break;
        }
        if let Some(first) = attribution_start(&lines, i, &f) {
            let next = lines[i + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty());
            if next.is_some_and(|l| l.starts_with('>')) {
                for k in keep.iter_mut().take(i + 1).skip(first) {
                    *k = false;
                }
                i += 1;
                continue;
            }
            cut = first;
            break;
        }
        if header_key(&f) == Some(HeaderKey::From) && header_block_follows(&lines, i) {
            cut = i;
            break;
        }
        i += 1;
    }
    let mut out = String::new();
    for (k, line) in lines[..cut].iter().enumerate() {
        if !keep[k] {
            continue;
        }
        if *line == "-- " {
            out.push_str(line);
        } else {
            out.push_str(line.trim_end());
        }
        out.push('\n');
    }
    // Drop surrounding blank lines.
    while out.ends_with("\n\n") {
        out.pop();
    }
    let trimmed = out.trim_start_matches('\n');
    if trimmed.is_empty() {
        String::new()
    } else {
        trimmed.to_string()
    }
}

/// When line `i` ends an attribution ("… wrote:"), the index of its first
/// line: the attribution may be wrapped, starting on the previous line.
fn attribution_start(lines: &[&str], i: usize, f: &str) -> Option<usize> {
    if !ends_with_wrote_verb(f) {
        return None;
    }
    if i > 0 && !starts_attribution(f) {
        let prev = fold(lines[i - 1].trim());
        if !prev.is_empty() && starts_attribution(&prev) {
            return Some(i - 1);
        }
    }
    is_attribution_end(f).then_some(i)
}

/// Dashed separators: `-----Original Message-----`, `---------- Forwarded
/// message ---------`, `-----Oriģinālais ziņojums-----` and the like, and
/// Apple Mail's "Begin forwarded message:".
fn is_separator(f: &str) -> bool {
    const WORDS: &[&str] = &[
        "original message",
        "originalais zinojums",
        "originala zina",
        "forwarded message",
        "parsutita zina",
        "parsutitais zinojums",
        "parsutita vestule",
        "исходное сообщение",
        "пересылаемое сообщение",
        "пересланное сообщение",
        "ursprungliche nachricht",
        "weitergeleitete nachricht",
        "message d'origine",
    ];
    let t = f.trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c == ' ' || c == '*');
    let dashed = f.starts_with("--") || f.starts_with("__") || f.starts_with("==");
    if dashed && WORDS.iter().any(|w| t == *w || t.starts_with(w)) {
        return true;
    }
    let colon = t.trim_end_matches(':').trim();
    matches!(
        colon,
        "begin forwarded message" | "forwarded message" | "sakums parsutitajai zinai"
    ) && t.ends_with(':')
}

/// Beginnings of a wrapped attribution line.
fn starts_attribution(f: &str) -> bool {
    let first = f.split_whitespace().next().unwrap_or("");
    matches!(first, "on" | "am" | "le" | "el" | "op" | "il" | "w")
        || f.starts_with(|c: char| c.is_ascii_digit())
        || ["pirmd", "otrd", "tresd", "ceturtd", "piektd", "sestd", "svetd"]
            .iter()
            .any(|d| f.starts_with(d))
}

/// Does the (folded) line end in a "wrote" verb and a colon?
fn ends_with_wrote_verb(f: &str) -> bool {
    is_attribution_line(f, false)
}

/// An attribution line: ends in a "wrote" verb and a colon, and looks like a
/// header (has a digit, an address, or starts like one).
fn is_attribution_end(f: &str) -> bool {
    is_attribution_line(f, true)
}

fn is_attribution_line(f: &str, need_header_shape: bool) -> bool {
    const VERBS: &[&str] = &[
        "wrote",
        "writes",
        "rakstija",
        "raksta",
        "написал",
        "написала",
        "написал(а)",
        "пишет",
        "schrieb",
        "a ecrit",
        "escribio",
        "kirjoitti",
        "rase",
        "kirjutas",
    ];
    let Some(body) = f.trim_end().strip_suffix(':') else {
        return false;
    };
    let body = body.trim_end();
    let verb_end = VERBS.iter().any(|v| body.ends_with(v));
    // German: "Am 23.11.2026 um 10:00 schrieb Anna Muster <a@b.de>:"
    let german = f.starts_with("am ") && f.contains(" schrieb ");
    // Yandex / Mail.ru: "23.11.2026, 10:00, \"Анна\" <a@b.ru>:" or
    // "Понедельник, 23 ноября 2026, 10:00 +02:00 от Анна <a@b.ru>:"
    let address_colon =
        body.ends_with('>') && body.contains('@') && body.chars().filter(char::is_ascii_digit).count() >= 4;
    if !(verb_end || german || address_colon) {
        return false;
    }
    if !need_header_shape {
        return true;
    }
    body.chars().any(|c| c.is_ascii_digit())
        || body.contains('@')
        || starts_attribution(body)
        || body.split_whitespace().count() >= 3
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderKey {
    From,
    Other,
}

/// Is this line a header line of an Outlook-style quoted header block?
fn header_key(f: &str) -> Option<HeaderKey> {
    let t = f.trim_start_matches(['*', ' ']);
    let (key, _) = t.split_once(':')?;
    let key = key.trim_end_matches(['*', ' ']).trim();
    match key {
        "from" | "no" | "от" | "von" | "de" | "fran" | "lahettaja" | "kimden" => Some(HeaderKey::From),
        "sent"
        | "date"
        | "to"
        | "cc"
        | "bcc"
        | "subject"
        | "nosutits"
        | "sutits"
        | "datums"
        | "kam"
        | "kopija"
        | "tema"
        | "отправлено"
        | "дата"
        | "кому"
        | "копия"
        | "тема"
        | "gesendet"
        | "datum"
        | "an"
        | "betreff"
        | "envoye"
        | "a"
        | "objet"
        | "reply-to"
        | "sent on" => Some(HeaderKey::Other),
        _ => None,
    }
}

/// A From-like line starts a block when another header line follows within
/// the next few non-blank lines.
fn header_block_follows(lines: &[&str], i: usize) -> bool {
    lines[i + 1..]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .take(4)
        .any(|l| header_key(&fold(l)) == Some(HeaderKey::Other))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eml(headers: &str, body: &str) -> Vec<u8> {
        format!("From: a@b.lv\r\nTo: c@d.lv\r\nSubject: x\r\n{headers}\r\n{body}").into_bytes()
    }

    #[test]
    fn strips_gt_lines_and_wrote_header() {
        let t = "Hello\n\nOn Mon, 23 Nov 2026 at 10:00, Anna <a@b.lv> wrote:\n> q\n> more quoted\n";
        assert_eq!(strip_quotes(t), "Hello\n");
    }

    #[test]
    fn wrapped_wrote_header() {
        let t = "Answer\nJānis\n\nOn Mon, 23 Nov 2026 at 10:00, Anna Kalniņa <\nanna@inbox.lv> wrote:\n> q\n";
        assert_eq!(strip_quotes(t), "Answer\nJānis\n");
    }

    #[test]
    fn latvian_russian_german_attributions() {
        for h in [
            "23.11.2026 12:05, Zane Pētersone rakstīja:",
            "otrd., 2026. g. 24. nov., plkst. 09:40 — lietotājs Edgars (<e@g.com>) rakstīja:",
            "23 нояб. 2026 г., в 10:00, Анна <a@b.ru> написал(а):",
            "Am 23.11.2026 um 10:00 schrieb Anna Muster <a@b.de>:",
            "23.11.2026, 10:00, \"Анна\" <a@b.ru>:",
            "Понедельник, 23 ноября 2026, 10:00 +02:00 от Анна <a@b.ru>:",
            "-----Original Message-----",
            "-----Oriģinālais ziņojums-----",
            "-----Исходное сообщение-----",
            "---------- Forwarded message ---------",
            "Begin forwarded message:",
        ] {
            let t = format!("Mine\n\n{h}\nTheirs Sabiedrības integrācijas fonds\n");
            assert_eq!(strip_quotes(&t), "Mine\n", "{h}");
        }
    }

    #[test]
    fn outlook_header_blocks() {
        for b in [
            "From: Anna <a@b.lv>\nSent: Monday\nTo: x\nSubject: y",
            "No: Anna <a@b.lv>\nNosūtīts: pirmdiena\nKam: x\nTēma: y",
            "От: Анна <a@b.ru>\nОтправлено: 23 ноября\nКому: x\nТема: y",
            "Von: Anna <a@b.de>\nGesendet: Montag\nAn: x\nBetreff: y",
            "*From:* Anna <a@b.lv>\n*Sent:* Monday\n*To:* x",
        ] {
            let t = format!("Mine\n\n{b}\n\nTheirs\n");
            assert_eq!(strip_quotes(&t), "Mine\n", "{b}");
        }
    }

    #[test]
    fn wrote_alone_on_second_line() {
        let t = "Answer\n\nOn Mon, 23 Nov 2026 at 10:00, Anna Kalniņa <anna@inbox.lv>\nwrote:\n\n> q\n";
        assert_eq!(strip_quotes(t), "Answer\n");
    }

    #[test]
    fn bottom_posting_keeps_text_below_the_quote() {
        let t = "On Mon, 23 Nov 2026, Anna <a@b.lv> wrote:\n> question one\n\nAnswer one.\n> question two\nAnswer two.\n\n-- \nJānis Bērziņš\n";
        assert_eq!(
            strip_quotes(t),
            "Answer one.\nAnswer two.\n\n-- \nJānis Bērziņš\n"
        );
    }

    #[test]
    fn flowed_quote_depth_is_respected() {
        assert_eq!(unflow("> a \n> b\nc \nd\n", false), "> a b\nc d\n\n");
        assert_eq!(unflow("> a \nb\n", false), "> a \nb\n\n");
    }

    #[test]
    fn lone_no_colon_is_not_a_header() {
        let t = "No: 1. decembra strādājam attālināti.\nAr cieņu\n";
        assert_eq!(strip_quotes(t), t);
    }

    #[test]
    fn signature_after_dashes_is_kept() {
        let t = "Text\n-- \nJānis Bērziņš\nSIF\n";
        assert_eq!(strip_quotes(t), t);
    }

    #[test]
    fn html_basic_entities_and_breaks() {
        let h = "<html><head><style>p{}</style><title>T</title></head><body><p>Ar cie&#326;u<br>\n<b>Ilze &#256;boli&#326;a</b><br>Sabiedr&#299;bas&nbsp;fonds &amp; co</p><table><tr><td>A</td><td>B</td></tr></table></body></html>";
        let t = normalize_spaces(&html_to_text(h));
        assert_eq!(t, "Ar cieņu\nIlze Āboliņa\nSabiedrības fonds & co\nA B\n");
    }

    #[test]
    fn html_blockquote_and_gmail_quote_removed() {
        let h = "<div>Mine</div><blockquote type=\"cite\">theirs<blockquote>deeper</blockquote>x</blockquote><div>After</div><div class=\"gmail_quote\">On x wrote:<br>quoted</div>";
        assert_eq!(html_to_text(h), "Mine\nAfter\n");
    }

    #[test]
    fn html_outlook_divrplyfwdmsg_and_border() {
        let h = "<p>Mine</p><hr style=\"display:inline-block\"><div id=\"divRplyFwdMsg\"><b>From:</b> x</div><p>q</p>";
        assert_eq!(html_to_text(h), "Mine\n");
        let h2 = "<p>Mine</p><div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt\"><p>No: x</p></div><p>Sabiedrības integrācijas fonds</p>";
        assert_eq!(html_to_text(h2), "Mine\n");
    }

    #[test]
    fn html_bottom_posting_below_a_quote_element() {
        // Thunderbird: attribution element, blockquote, then the answer.
        let h = "<div class=\"moz-cite-prefix\">30.11.2026 10:12, Anna rakstīja:<br></div>\n<blockquote type=\"cite\">q</blockquote>\n<p>Answer</p><div class=\"moz-signature\">-- <br>Jānis</div>";
        assert_eq!(html_to_text(h), "Answer\n--\nJānis\n");
        // Gmail: the whole quote is one container; the answer follows it.
        let h = "<div class=\"gmail_quote\"><div class=\"gmail_attr\">On x wrote:</div><blockquote class=\"gmail_quote\"><div>q<div>nested</div></div></blockquote></div><div>Answer</div>";
        assert_eq!(html_to_text(h), "Answer\n");
        // An attribution not followed by a quote element: the rest is quoted.
        let h = "<p>Mine</p><div class=\"moz-cite-prefix\">Anna wrote:</div><p>theirs</p><p>SIF</p>";
        assert_eq!(html_to_text(h), "Mine\n");
        // Zimbra's divider starts the quoted header block.
        let h = "<div>Mine</div><hr id=\"zwchr\"><div><b>From: </b>x</div><div>theirs</div>";
        assert_eq!(html_to_text(h), "Mine\n");
    }

    #[test]
    fn mailto_and_tel_links_show_their_address() {
        let h = "<p><a href=\"mailto:anna@sif.gov.lv?subject=x\">Rakstiet man</a><br><a href=\"tel:+37167078190\">Zvanīt</a></p>";
        assert_eq!(
            html_to_text(h),
            "Rakstiet man <anna@sif.gov.lv>\nZvanīt <+37167078190>\n"
        );
        // Already visible: unchanged.
        let h = "<a href=\"mailto:Anna@sif.gov.lv\">anna@sif.gov.lv</a> <a href=\"tel:+371 67078190\">+371 67 078 190</a>";
        assert_eq!(html_to_text(h), "anna@sif.gov.lv +371 67 078 190\n");
    }

    #[test]
    fn attribute_with_gt_inside_quotes() {
        let h = "<a title=\"a > b\" href=\"mailto:x@y.lv\">x@y.lv</a>";
        assert_eq!(html_to_text(h), "x@y.lv\n");
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
