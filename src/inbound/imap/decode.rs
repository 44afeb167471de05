//! Decoding of MIME parameter values as they appear in BODYSTRUCTURE:
//! RFC 2231 (`filename*=utf-8''%C4%81`, continuations `filename*0*=`,
//! `filename*1=`) and RFC 2047 encoded words (`=?utf-8?B?...?=`), which many
//! mailers put in `name=`/`filename=` although the RFC forbids it.
//!
//! Pure functions; charsets other than UTF-8/ASCII go through mail-parser's
//! decoders (windows-1257, iso-8859-13, ... are common in Latvia).

/// Decode a byte string in `charset`; unknown charsets fall back to lossy UTF-8.
pub fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    let cs = charset.trim().to_ascii_lowercase();
    match cs.as_str() {
        "" | "utf-8" | "utf8" | "us-ascii" | "ascii" => String::from_utf8_lossy(bytes).into_owned(),
        _ => match mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()) {
            Some(f) => f(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        },
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Decode RFC 2047 encoded words in an unstructured value; values without
/// any `=?` are returned unchanged.
pub fn decode_rfc2047(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let fake = format!("Subject: {value}\r\n\r\n");
    mail_parser::MessageParser::default()
        .parse(fake.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| value.to_string())
}

/// The value of parameter `name` (case-insensitive) from a parameter list,
/// decoded: RFC 2231 forms (`name*`, `name*0`, `name*0*`, ...) are preferred
/// over the plain `name`, which is RFC 2047-decoded if it holds encoded words.
pub fn param_value(params: &[(String, String)], name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    // RFC 2231 single extended value: name*=charset'lang'pct-encoded
    let star = format!("{name}*");
    if let Some((_, v)) = params.iter().find(|(k, _)| k.eq_ignore_ascii_case(&star)) {
        return Some(decode_ext_value(v));
    }
    // Continuations: name*0 / name*0*, name*1 / name*1*, ...
    let mut parts: Vec<(u32, bool, &str)> = Vec::new();
    for (k, v) in params {
        let k = k.to_ascii_lowercase();
        let Some(rest) = k.strip_prefix(&star) else {
            continue;
        };
        let (num, encoded) = match rest.strip_suffix('*') {
            Some(n) => (n, true),
            None => (rest, false),
        };
        if let Ok(n) = num.parse::<u32>() {
            parts.push((n, encoded, v.as_str()));
        }
    }
    if !parts.is_empty() {
        parts.sort_by_key(|p| p.0);
        let mut charset = String::new();
        let mut bytes = Vec::new();
        for (i, (_, encoded, v)) in parts.iter().enumerate() {
            if *encoded {
                let mut val: &str = v;
                if i == 0 {
                    if let Some((cs, rest)) = split_charset(v) {
                        charset = cs.to_string();
                        val = rest;
                    }
                }
                bytes.extend(percent_decode(val));
            } else {
                bytes.extend_from_slice(v.as_bytes());
            }
        }
        return Some(decode_charset(&charset, &bytes));
    }
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&name))
        .map(|(_, v)| decode_rfc2047(v))
}

/// `charset'language'rest` -> (charset, rest)
fn split_charset(v: &str) -> Option<(&str, &str)> {
    let (cs, rest) = v.split_once('\'')?;
    let (_lang, rest) = rest.split_once('\'')?;
    Some((cs, rest))
}

fn decode_ext_value(v: &str) -> String {
    match split_charset(v) {
        Some((cs, rest)) => decode_charset(cs, &percent_decode(rest)),
        None => decode_charset("", &percent_decode(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn param_values() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            (&[("NAME", "plain.pdf")], "name", Some("plain.pdf")),
            (&[("filename", "a.pdf")], "name", None),
            (
                &[("filename*", "utf-8''iesniegums%20%C4%81.edoc")],
                "filename",
                Some("iesniegums ā.edoc"),
            ),
            (
                &[("FILENAME*", "UTF-8'lv'%C5%A1%C4%B7%C4%93rslis.pdf")],
                "filename",
                Some("šķērslis.pdf"),
            ),
            // RFC 2231 preferred over the plain fallback
            (
                &[("filename", "fallback.pdf"), ("filename*", "utf-8''%C4%8D.pdf")],
                "filename",
                Some("č.pdf"),
            ),
            // continuations, mixed encoded and literal, out of order
            (
                &[("filename*1", "ums.edoc"), ("filename*0*", "utf-8''%C4%AAsniedz")],
                "filename",
                Some("Īsniedzums.edoc"),
            ),
            (
                &[("name*0", "long name "), ("name*1", "part two.txt")],
                "name",
                Some("long name part two.txt"),
            ),
            // windows-1257: 0xE0 is ą, 0xE2 is ā
            (
                &[("filename*", "windows-1257''%E2bols.doc")],
                "filename",
                Some("ābols.doc"),
            ),
            // RFC 2047 in a plain parameter
            (
                &[("name", "=?utf-8?B?bGlndW1zIMSBLnBkZg==?=")],
                "name",
                Some("ligums ā.pdf"),
            ),
            (
                &[("filename", "=?ISO-8859-13?Q?l=E2gums.pdf?=")],
                "filename",
                Some("lāgums.pdf"),
            ),
            // bad percent escapes are kept literally
            (&[("filename*", "utf-8''50%.pdf")], "filename", Some("50%.pdf")),
            (&[("filename*", "utf-8''a%zz")], "filename", Some("a%zz")),
        ];
        for (params, name, want) in cases {
            let got = param_value(&p(params), name);
            assert_eq!(got.as_deref(), *want, "{params:?} {name}");
        }
    }

    #[test]
    fn rfc2047_passthrough_and_multiple_words() {
        assert_eq!(decode_rfc2047("plain name.pdf"), "plain name.pdf");
        assert_eq!(
            decode_rfc2047("=?utf-8?Q?J=C4=81nis?= =?utf-8?Q?_B=C4=93rzi=C5=86=C5=A1?="),
            "Jānis Bērziņš"
        );
    }
}
