//! HTML character references (`&#257;`, `&#x101;`, `&amacr;`, `&nbsp;`).

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
