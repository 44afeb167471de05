//! Submission detection (SPEC §4.2): a mail is a submission when it carries
//! an attachment with an e-signature container extension (`.edoc`, `.asice`,
//! …) or its subject contains a submission word ("iesniegums") as a whole
//! word.
//!
//! Decisions: words are compared case- and diacritic-insensitively and only
//! as whole words ("IESNIEGUMS", "Iesniegums:" count; "iesniegšana",
//! "iesniegumsx" do not). A configured word of several words matches them
//! consecutively. Attachment names are compared by their last extension,
//! ignoring surrounding quotes, white space and any directory part.

use mail_parser::{MessageParser, MimeHeaders};

use crate::inbound::authortext::fold;

/// Is this mail a submission?
pub fn is_submission(
    subject: &str,
    attachment_names: &[String],
    extensions: &[String],
    words: &[String],
) -> bool {
    has_container(attachment_names, extensions) || subject_has_word(subject, words)
}

fn has_container(names: &[String], extensions: &[String]) -> bool {
    names.iter().any(|n| {
        let n = n.trim().trim_matches(['"', '\'']).trim();
        let base = n.rsplit(['/', '\\']).next().unwrap_or(n);
        base.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty()
                && extensions
                    .iter()
                    .any(|e| ext.trim().eq_ignore_ascii_case(e.trim().trim_start_matches('.')))
        })
    })
}

fn tokens(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn subject_has_word(subject: &str, words: &[String]) -> bool {
    let subj = tokens(subject);
    words.iter().map(|w| tokens(w)).any(|w| {
        !w.is_empty() && subj.len() >= w.len() && subj.windows(w.len()).any(|win| win == w.as_slice())
    })
}

/// File names of the attachments of a whole message (RFC 2231 and RFC 2047
/// encoded names decoded by mail-parser), including attachments of nested
/// messages.
pub fn attachment_names(raw: &[u8]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return vec![];
    };
    let mut out = Vec::new();
    collect(&msg, &mut out, 0);
    out
}

fn collect(msg: &mail_parser::Message, out: &mut Vec<String>, depth: usize) {
    for part in msg.attachments() {
        if let Some(n) = part.attachment_name() {
            out.push(n.to_string());
        }
        if depth < 3 {
            if let Some(inner) = part.message() {
                collect(inner, out, depth + 1);
            }
        }
    }
    // A named part inline in the body (some clients put a named
    // application/* part outside the attachment list).
    for part in msg.parts.iter() {
        if part.is_binary() {
            if let Some(n) = part.attachment_name() {
                if !out.iter().any(|o| o == n) {
                    out.push(n.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn table() {
        let ext = v(&["edoc", "asice", "asics", "sce"]);
        let words = v(&["iesniegums"]);
        let cases: &[(&str, &[&str], bool)] = &[
            ("Jautājums", &["pieteikums.edoc"], true),
            ("Jautājums", &["PIETEIKUMS.EDOC"], true),
            ("Jautājums", &["\"C:\\docs\\a.asice\""], true),
            ("Jautājums", &["dir/a.b.sce"], true),
            ("Jautājums", &["a.pdf", "b.docx"], false),
            ("Jautājums", &["edoc"], false),
            ("Jautājums", &["a.edoc.pdf"], false),
            ("IESNIEGUMS", &[], true),
            ("Iesniegums: par termiņu", &[], true),
            ("Re: Atb: iesniegums par līgumu", &[], true),
            ("Par pieteikuma iesniegšanu", &[], false),
            ("Iesniegumsx", &[], false),
            ("Iesniegumu likums", &[], false),
            ("", &[], false),
        ];
        for (subj, att, want) in cases {
            assert_eq!(
                is_submission(subj, &v(att), &ext, &words),
                *want,
                "{subj} {att:?}"
            );
        }
        // diacritics in the configured word are folded too
        assert!(is_submission("Sūdzība par X", &[], &ext, &v(&["sudziba"])));
        assert!(is_submission("sudziba", &[], &ext, &v(&["Sūdzība"])));
        assert!(is_submission("x", &v(&["a.EDOC"]), &v(&[".edoc"]), &[]));
    }

    #[test]
    fn names_from_message_rfc2231_and_2047() {
        let raw = "From: a@b.lv\r\nTo: p@s.lv\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/vnd.etsi.asic-e+zip\r\nContent-Disposition: attachment; filename*=UTF-8''pieteikums%20J%C4%81nis.edoc\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--b\r\nContent-Type: application/pdf; name=\"=?UTF-8?B?xaFvLnBkZg==?=\"\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n";
        let names = attachment_names(raw.as_bytes());
        assert_eq!(names, v(&["pieteikums Jānis.edoc", "šo.pdf"]));
    }
}
