//! Reading an HTML body as text: a small state machine over the tags
//! ([`HtmlReader`]) that drops `<head>`, `<style>`, `<script>`, comments and
//! the quoted parts of a reply (see the module doc of `authortext`), turns
//! block elements into line breaks and table cells into spaces, collapses
//! white space like a browser and decodes character references.

use super::entities::decode_entities;
use super::fold;

/// Read HTML as text (see the module doc).
pub fn html_to_text(html: &str) -> String {
    HtmlReader::new(html).read()
}

/// Whether reading goes on after a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// Everything from here on is the quoted conversation.
    Stop,
}

/// Where the reader is in the document.
struct HtmlReader<'a> {
    html: &'a str,
    /// The text so far.
    out: String,
    /// Elements whose content is not text (`head`, `style`, …), innermost
    /// last.
    skipped: Vec<String>,
    /// Nesting depth of `<blockquote>`: its content is a quote.
    quote_depth: usize,
    /// Nesting depth of `<pre>`: white space is kept.
    pre: usize,
    /// A quote element skipped to its end: (tag name, nesting depth).
    quote_element: Option<(String, usize)>,
    /// After an attribution element ("… wrote:"): the quote must follow.
    after_attribution: bool,
    /// An open `<a href="mailto:…">` / `tel:`: (address, output length at
    /// open).
    link: Option<(String, usize)>,
}

/// One tag: `<name …>`, `</name>` or `<name … />`.
struct Tag<'t> {
    /// Lower case.
    name: String,
    /// The tag's text after `<` and any `/`.
    body: &'t str,
    closing: bool,
    self_closing: bool,
}

impl<'t> Tag<'t> {
    /// `None` for declarations, processing instructions and nameless tags.
    fn parse(tag: &'t str) -> Option<Tag<'t>> {
        let closing = tag.starts_with('/');
        let body = tag.trim_start_matches('/');
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || name.starts_with('!') || name.starts_with('?') {
            return None;
        }
        let self_closing = body.trim_end().ends_with('/');
        Some(Tag {
            name,
            body,
            closing,
            self_closing,
        })
    }
}

/// The index of the `>` ending the tag that starts at `start` (or the end
/// of the input), honouring quoted attribute values.
fn tag_end(bytes: &[u8], start: usize) -> usize {
    let mut j = start + 1;
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
    j
}

impl<'a> HtmlReader<'a> {
    fn new(html: &'a str) -> Self {
        HtmlReader {
            html,
            out: String::new(),
            skipped: Vec::new(),
            quote_depth: 0,
            pre: 0,
            quote_element: None,
            after_attribution: false,
            link: None,
        }
    }

    fn read(mut self) -> String {
        let html = self.html;
        let bytes = html.as_bytes();
        let mut i = 0;
        let mut text_start = 0;
        while i < bytes.len() {
            if bytes[i] != b'<' {
                i += 1;
                continue;
            }
            if self.text(&html[text_start..i]) == Flow::Stop {
                return finish_text(&self.out);
            }
            if html[i..].starts_with("<!--") {
                i = html[i + 4..].find("-->").map_or(bytes.len(), |p| i + 4 + p + 3);
                text_start = i;
                continue;
            }
            let j = tag_end(bytes, i);
            let tag = &html[i + 1..j.min(bytes.len())];
            i = (j + 1).min(bytes.len());
            text_start = i;
            if let Some(tag) = Tag::parse(tag) {
                if self.tag(&tag) == Flow::Stop {
                    return finish_text(&self.out);
                }
            }
        }
        if self.reading() && text_start < bytes.len() {
            let raw = &html[text_start..];
            if !self.after_attribution || decode_entities(raw).trim().is_empty() {
                push_text(&mut self.out, raw, self.pre > 0);
            }
        }
        finish_text(&self.out)
    }

    /// True when text here is the author's (not skipped, not quoted).
    fn reading(&self) -> bool {
        self.skipped.is_empty() && self.quote_depth == 0 && self.quote_element.is_none()
    }

    /// Text between two tags.
    fn text(&mut self, raw: &str) -> Flow {
        if !self.reading() {
            return Flow::Continue;
        }
        if self.after_attribution && !decode_entities(raw).trim().is_empty() {
            // Text right after "… wrote:" without a quote element: the
            // quoted conversation is not marked up; cut it all.
            return Flow::Stop;
        }
        push_text(&mut self.out, raw, self.pre > 0);
        Flow::Continue
    }

    fn tag(&mut self, tag: &Tag<'_>) -> Flow {
        let name = tag.name.as_str();
        // Skipped elements: their content is not text.
        if matches!(name, "head" | "style" | "script" | "title" | "xml" | "template") {
            if tag.closing {
                if let Some(pos) = self.skipped.iter().rposition(|n| n == name) {
                    self.skipped.truncate(pos);
                }
            } else if !tag.self_closing {
                self.skipped.push(tag.name.clone());
            }
            return Flow::Continue;
        }
        if !self.skipped.is_empty() {
            return Flow::Continue;
        }
        if self.quote_element.is_some() {
            self.inside_quote_element(tag);
            return Flow::Continue;
        }
        if name == "blockquote" {
            self.blockquote(tag);
            return Flow::Continue;
        }
        if self.quote_depth > 0 {
            return Flow::Continue;
        }
        if !tag.closing {
            match starts_quote(name, tag.body) {
                Some(QuoteStart::Rest) => return Flow::Stop,
                Some(kind @ (QuoteStart::Element | QuoteStart::Attribution)) if !tag.self_closing => {
                    self.quote_element = Some((tag.name.clone(), 1));
                    self.after_attribution = kind == QuoteStart::Attribution;
                    return Flow::Continue;
                }
                _ => {}
            }
        }
        if name == "a" {
            self.anchor(tag);
            return Flow::Continue;
        }
        self.layout(tag);
        Flow::Continue
    }

    /// Inside a skipped quote element: count nested elements of its name to
    /// find its end.
    fn inside_quote_element(&mut self, tag: &Tag<'_>) {
        let Some((name, depth)) = &mut self.quote_element else {
            return;
        };
        if *name != tag.name {
            return;
        }
        if tag.closing {
            *depth -= 1;
            if *depth == 0 {
                self.quote_element = None;
                self.out.push('\n');
            }
        } else if !tag.self_closing {
            *depth += 1;
        }
    }

    fn blockquote(&mut self, tag: &Tag<'_>) {
        self.after_attribution = false;
        if tag.closing {
            self.quote_depth = self.quote_depth.saturating_sub(1);
            if self.quote_depth == 0 {
                self.out.push('\n');
            }
        } else if !tag.self_closing {
            self.quote_depth += 1;
        }
    }

    /// `<a href="mailto:…">` / `tel:`: a link whose label hides the address
    /// gets the address after it.
    fn anchor(&mut self, tag: &Tag<'_>) {
        if !tag.closing {
            self.link = link_target(tag.body).map(|a| (a, self.out.len()));
            return;
        }
        let Some((addr, at)) = self.link.take() else {
            return;
        };
        let shown = fold(self.out.get(at..).unwrap_or(""));
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let visible = if addr.contains('@') {
            shown.contains(&addr)
        } else {
            digits(&shown).contains(&digits(&addr))
        };
        if !visible {
            // A mailto:/tel: link labelled "Rakstiet man": the address is
            // the contact the reader gets by clicking.
            self.out.push_str(&format!(" <{addr}>"));
        }
    }

    /// Block elements break lines, table cells are spaces, `<pre>` keeps
    /// white space.
    fn layout(&mut self, tag: &Tag<'_>) {
        match tag.name.as_str() {
            "br" => self.out.push('\n'),
            "p" | "div" | "tr" | "li" | "ul" | "ol" | "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "hr" | "section" | "article" | "header" | "footer" | "address" | "center" | "dl" | "dt"
            | "dd" | "body" => self.out.push('\n'),
            "pre" => {
                self.out.push('\n');
                if tag.closing {
                    self.pre = self.pre.saturating_sub(1);
                } else {
                    self.pre += 1;
                }
            }
            "td" | "th" => self.out.push(' '),
            _ => {}
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::authortext::normalize_spaces;

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
}
