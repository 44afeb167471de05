//! What the gateway needs from a BODYSTRUCTURE without fetching bodies:
//! the top-level content type, the attachment file names (decoded) and
//! whether there is any readable text part.
//!
//! A part counts as an attachment when its Content-Disposition is
//! `attachment` or it carries a file name (`filename` / `name`); unnamed
//! non-text parts (e.g. an unnamed inline image) are not listed. Multiparts
//! are walked fully; inside an attached `message/rfc822` the attachments
//! count too (a forwarded submission), its text parts do not.

use async_imap::imap_proto::{BodyStructure, ContentType};

use super::decode::param_value;

/// The summary of one message's structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Top-level type, lower case, e.g. `multipart/mixed`.
    pub content_type: String,
    pub attachments: Vec<String>,
    pub has_text_parts: bool,
    /// The `method` parameter of the first `text/calendar` part outside
    /// attached messages, upper case (an iTIP `REPLY` is a calendar reply).
    pub calendar_method: Option<String>,
}

/// Summarise a BODYSTRUCTURE.
pub fn summarize(bs: &BodyStructure<'_>) -> Summary {
    let mut s = Summary {
        content_type: type_of(common_ty(bs)),
        ..Summary::default()
    };
    walk(bs, true, 0, &mut s);
    s
}

fn common_ty<'a>(bs: &'a BodyStructure<'_>) -> &'a ContentType<'a> {
    match bs {
        BodyStructure::Basic { common, .. }
        | BodyStructure::Text { common, .. }
        | BodyStructure::Message { common, .. }
        | BodyStructure::Multipart { common, .. } => &common.ty,
    }
}

fn type_of(ty: &ContentType<'_>) -> String {
    format!("{}/{}", ty.ty, ty.subtype).to_ascii_lowercase()
}

fn owned(
    params: &Option<Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>>,
) -> Vec<(String, String)> {
    params
        .iter()
        .flatten()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Depth limit against pathological nesting.
const MAX_DEPTH: usize = 32;

fn walk(bs: &BodyStructure<'_>, count_text: bool, depth: usize, s: &mut Summary) {
    if depth > MAX_DEPTH {
        return;
    }
    match bs {
        BodyStructure::Multipart { bodies, .. } => {
            for b in bodies {
                walk(b, count_text, depth + 1, s);
            }
        }
        BodyStructure::Basic { common, .. }
        | BodyStructure::Text { common, .. }
        | BodyStructure::Message { common, .. } => {
            let disp = common.disposition.as_ref();
            let is_attachment_disp = disp.is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment"));
            let name = disp
                .and_then(|d| param_value(&owned(&d.params), "filename"))
                .or_else(|| param_value(&owned(&common.ty.params), "name"))
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty());
            let is_text = matches!(bs, BodyStructure::Text { .. });
            if count_text && s.calendar_method.is_none() && type_of(&common.ty) == "text/calendar" {
                s.calendar_method =
                    param_value(&owned(&common.ty.params), "method").map(|m| m.trim().to_ascii_uppercase());
            }
            match name {
                Some(n) => s.attachments.push(n),
                None if is_text && !is_attachment_disp && count_text => {
                    s.has_text_parts = true;
                }
                None => {}
            }
            if let BodyStructure::Message { body, .. } = bs {
                walk(body, false, depth + 1, s);
            }
        }
    }
}

/// Section numbers (e.g. `[2, 1]` for `2.1`) and sizes of the readable
/// text parts of a multipart message, in order, not descending into
/// attached messages. Empty for a single-part message.
pub fn text_sections(bs: &BodyStructure<'_>) -> Vec<(Vec<u32>, u32)> {
    let mut out = Vec::new();
    if matches!(bs, BodyStructure::Multipart { .. }) {
        sections(bs, &mut Vec::new(), 0, &mut out);
    }
    out
}

fn sections(bs: &BodyStructure<'_>, path: &mut Vec<u32>, depth: usize, out: &mut Vec<(Vec<u32>, u32)>) {
    if depth > MAX_DEPTH {
        return;
    }
    match bs {
        BodyStructure::Multipart { bodies, .. } => {
            for (i, b) in bodies.iter().enumerate() {
                path.push(i as u32 + 1);
                sections(b, path, depth + 1, out);
                path.pop();
            }
        }
        BodyStructure::Text { common, other, .. } => {
            let disp = common.disposition.as_ref();
            let attachment = disp.is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment"))
                || disp.is_some_and(|d| param_value(&owned(&d.params), "filename").is_some())
                || param_value(&owned(&common.ty.params), "name").is_some();
            if !attachment {
                out.push((path.clone(), other.octets));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::imap_proto::{AttributeValue, Response};

    /// Parse `* 1 FETCH (BODYSTRUCTURE ...)` and summarise it.
    fn summary_of(bs: &str) -> Summary {
        let line = format!("* 1 FETCH (UID 1 BODYSTRUCTURE {bs})\r\n");
        let (_, resp) = Response::parse(line.as_bytes()).expect("parse");
        let Response::Fetch(_, attrs) = resp else {
            panic!("not a FETCH")
        };
        let bs = attrs
            .iter()
            .find_map(|a| match a {
                AttributeValue::BodyStructure(b) => Some(b),
                _ => None,
            })
            .expect("BODYSTRUCTURE");
        summarize(bs)
    }

    #[test]
    fn summaries() {
        let cases: &[(&str, &str, &[&str], bool)] = &[
            // Dovecot 2.3, verbatim: it merges RFC 2231 continuations itself.
            (
                r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "7bit" 4 NIL ("attachment" ("filename*" "utf-8''%C4%BBoti%20gar%C5%A1 nosaukums.docx")) NIL NIL)("application" "pdf" ("name" "=?utf-8?B?bMSrZ3VtcyDEjS5wZGY=?=") NIL NIL "7bit" 4 NIL ("attachment" ("filename*" "utf-8''iesniegums%20%C4%81.edoc")) NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 27 (NIL "s" ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "mixed" ("boundary" "c") NIL NIL NIL)"#,
                "multipart/mixed",
                &["Ļoti garš nosaukums.docx", "iesniegums ā.edoc"],
                true,
            ),
            // Continuations passed through unmerged (other servers).
            (
                r#"(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 10 1 NIL NIL NIL NIL)("APPLICATION" "PDF" NIL NIL NIL "BASE64" 4 NIL ("ATTACHMENT" ("FILENAME*0*" "utf-8''%C4%AAsniedz" "FILENAME*1" "ums.pdf")) NIL NIL) "MIXED" ("BOUNDARY" "x") NIL NIL NIL)"#,
                "multipart/mixed",
                &["Īsniedzums.pdf"],
                true,
            ),
            // Single text part, no attachments.
            (
                r#"("text" "html" ("charset" "utf-8") NIL NIL "8bit" 20 2 NIL NIL NIL NIL)"#,
                "text/html",
                &[],
                true,
            ),
            // Only an attachment: a text file named via Content-Type name,
            // and an unnamed inline image (not listed).
            (
                r#"(("text" "plain" ("name" "piezimes.txt") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("image" "png" NIL NIL NIL "base64" 8 NIL ("inline" NIL) NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)"#,
                "multipart/mixed",
                &["piezimes.txt"],
                false,
            ),
            // An unnamed text part marked as attachment is not readable text.
            (
                r#"(("text" "plain" NIL NIL NIL "7bit" 5 1 NIL ("attachment" NIL) NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)"#,
                "multipart/mixed",
                &[],
                false,
            ),
            // Nested alternative/related plus a forwarded message whose
            // attachment counts and whose text does not.
            (
                r#"((("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL)(("text" "html" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL)("image" "png" ("name" "logo.png") "<l>" NIL "base64" 4 NIL ("inline" NIL) NIL NIL) "related" ("boundary" "r") NIL NIL NIL) "alternative" ("boundary" "a") NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 50 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL) (("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL)("application" "zip" ("name" "inner.edoc") NIL NIL "base64" 4 NIL ("attachment" ("filename" "inner.edoc")) NIL NIL) "mixed" ("boundary" "i") NIL NIL NIL) 5 NIL NIL NIL NIL) "mixed" ("boundary" "o") NIL NIL NIL)"#,
                "multipart/mixed",
                &["logo.png", "inner.edoc"],
                true,
            ),
            // A bounce: multipart/report with a named forwarded message.
            (
                r#"(("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL)("message" "delivery-status" NIL NIL NIL "7bit" 10 NIL NIL NIL NIL)("message" "rfc822" ("name" "orig.eml") NIL NIL "7bit" 50 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) "report" ("report-type" "delivery-status" "boundary" "b") NIL NIL NIL)"#,
                "multipart/report",
                &["orig.eml"],
                true,
            ),
        ];
        for (bs, ct, att, text) in cases {
            let s = summary_of(bs);
            assert_eq!(s.content_type, *ct, "{bs}");
            assert_eq!(s.attachments, *att, "{bs}");
            assert_eq!(s.has_text_parts, *text, "{bs}");
        }
    }

    #[test]
    fn text_sections_of_nested_parts() {
        let bs = r#"(("image" "jpeg" ("name" "a.jpg") NIL NIL "base64" 3000000 NIL ("attachment" NIL) NIL NIL)(("text" "plain" NIL NIL NIL "7bit" 10 1 NIL NIL NIL NIL)("text" "html" NIL NIL NIL "7bit" 20 1 NIL NIL NIL NIL) "alternative" ("boundary" "a") NIL NIL NIL)("text" "plain" ("name" "x.txt") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 50 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL)("text" "plain" NIL NIL NIL "7bit" 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "o") NIL NIL NIL)"#;
        let line = format!("* 1 FETCH (BODYSTRUCTURE {bs})\r\n");
        let (_, resp) = Response::parse(line.as_bytes()).unwrap();
        let Response::Fetch(_, attrs) = resp else { panic!() };
        let Some(AttributeValue::BodyStructure(b)) = attrs.first() else {
            panic!()
        };
        assert_eq!(
            text_sections(b),
            vec![(vec![2, 1], 10), (vec![2, 2], 20), (vec![5], 7)]
        );
        let single = r#"("text" "plain" NIL NIL NIL "7bit" 7 1 NIL NIL NIL NIL)"#;
        let line = format!("* 1 FETCH (BODYSTRUCTURE {single})\r\n");
        let (_, resp) = Response::parse(line.as_bytes()).unwrap();
        let Response::Fetch(_, attrs) = resp else { panic!() };
        let Some(AttributeValue::BodyStructure(b)) = attrs.first() else {
            panic!()
        };
        assert!(text_sections(b).is_empty());
    }
}
