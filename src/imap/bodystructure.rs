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

fn owned(params: &Option<Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>>) -> Vec<(String, String)> {
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
            match name {
                Some(n) => s.attachments.push(n),
                None if is_text && !is_attachment_disp => {
                    if count_text {
                        s.has_text_parts = true;
                    }
                }
                None => {}
            }
            if let BodyStructure::Message { body, .. } = bs {
                walk(body, false, depth + 1, s);
            }
        }
    }
}
