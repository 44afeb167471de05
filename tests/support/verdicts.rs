//! Shared by the accuracy reports (tests/corpus_signature.rs,
//! tests/unseen_signature.rs): a config built from a manifest's `assumes`
//! and `staff`, and a right/total score.

use replygate::config::{from_str, Config, SignatureElement};
use serde_json::Value;

/// `["a", "b"]` as TOML from a JSON array of strings.
pub fn toml_list(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| format!("{:?}", x.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    format!("[{}]", items.join(", "))
}

/// The config a manifest assumes: its organisation, the `[reply]` keys it
/// names (others keep their defaults), the signature requirements and the
/// staff directory.
pub fn config_from_manifest(m: &Value) -> Config {
    let a = &m["assumes"];
    let o = &a["organization"];
    let mut reply = String::new();
    for key in ["submission_extensions", "submission_subject_words", "never_ack"] {
        if a["reply"][key].is_array() {
            reply.push_str(&format!("{key} = {}\n", toml_list(&a["reply"][key])));
        }
    }
    if let Some(id) = a["reply"]["trusted_authserv_id"].as_str() {
        reply.push_str(&format!("trusted_authserv_id = {id:?}\n"));
    }
    let mut t = format!(
        r#"
[organization]
name = {name:?}
aliases = {aliases}
domains = {domains}
phone = {phone:?}
website = {website:?}

[imap]
host = "127.0.0.1"
username = "pasts@sif.gov.lv"
password_env = "X"

[smtp]
host = "127.0.0.1"
from = "pasts@sif.gov.lv"

[reminders]
team = "klienti@sif.gov.lv"

[reply]
{reply}
[signature]
require = {require}
"#,
        name = o["name"].as_str().unwrap(),
        aliases = toml_list(&o["aliases"]),
        domains = toml_list(&o["domains"]),
        phone = o["phone"].as_str().unwrap_or(""),
        website = o["website"].as_str().unwrap_or(""),
        require = toml_list(&a["signature"]["require"]),
    );
    for s in m["staff"].as_array().unwrap() {
        t.push_str(&format!(
            "\n[[staff]]\nemail = {:?}\nname = {:?}\nsurname = {:?}\nphone = {:?}\n",
            s["email"].as_str().unwrap(),
            s["name"].as_str().unwrap(),
            s["surname"].as_str().unwrap(),
            s["phone"].as_str().unwrap_or(""),
        ));
    }
    from_str(&t).expect("the manifest's config parses")
}

/// A signature element from its JSON name.
pub fn element(s: &str) -> SignatureElement {
    serde_json::from_value(Value::String(s.to_string())).unwrap()
}

/// The HTML body of a message, if it has one.
pub fn html_body(raw: &[u8]) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let part = msg.html_bodies().next()?;
    match &part.body {
        mail_parser::PartType::Html(h) => Some(h.to_string()),
        _ => None,
    }
}

/// Right answers out of all, for the printed accuracy tables.
#[derive(Default)]
pub struct Score {
    pub right: usize,
    pub n: usize,
}

impl Score {
    pub fn add(&mut self, ok: bool) {
        self.n += 1;
        self.right += usize::from(ok);
    }

    pub fn pct(&self) -> f64 {
        if self.n == 0 {
            100.0
        } else {
            100.0 * self.right as f64 / self.n as f64
        }
    }
}
