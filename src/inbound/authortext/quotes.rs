//! Quote removal in plain text: `>` lines, attributions ("… wrote:") and
//! reply/forward headers (see the module doc of `authortext`).

use super::fold;

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
        // Separators, attributions and header lines all hold a colon or
        // open with a dash, underscore or equals run: other lines (most
        // of a text) are not folded.
        if line.is_empty() || !(line.contains(':') || line.starts_with(['-', '_', '='])) {
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
    fn lone_no_colon_is_not_a_header() {
        let t = "No: 1. decembra strādājam attālināti.\nAr cieņu\n";
        assert_eq!(strip_quotes(t), t);
    }

    #[test]
    fn signature_after_dashes_is_kept() {
        let t = "Text\n-- \nJānis Bērziņš\nSIF\n";
        assert_eq!(strip_quotes(t), t);
    }
}
