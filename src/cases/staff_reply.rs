//! What a staff reply's own text says, read once: its signature verdict
//! (SPEC R3, for mail to an outside address) and the interim promise it
//! makes, if any (§4.3).
//!
//! Neither needs the case: the sync reads them on its blocking tasks while
//! it has the text (the text can be half a megabyte), and the tracker gets
//! the small [`StaffRead`] in the message's pending record instead of the
//! text. What the promise means for a case (a new deadline, or a refusal)
//! is decided later by the tracker, against the case's receipt
//! ([`crate::cases::tracker::decide_staff`]).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::cases::interim::InterimMatcher;
use crate::cases::signature::{self, Verdict};
use crate::config::{Config, OrganizationConfig, SignatureElement, StaffMember};
use crate::inbound::message::Address;

/// What was read in a staff reply's own text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRead {
    /// The signature check's verdict; only for mail to an outside address.
    #[serde(default)]
    pub signature: Option<Verdict>,
    /// The promised date as written ("līdz 10. decembrim"), when the text
    /// is an interim reply.
    #[serde(default)]
    pub promise: Option<String>,
}

/// Reads staff replies with the settings of one cycle. Owns its settings,
/// so a blocking task can hold it (behind an `Arc`).
#[derive(Debug)]
pub struct StaffReader {
    staff: Vec<StaffMember>,
    org: OrganizationConfig,
    require: Vec<SignatureElement>,
    /// `reply.interim_pattern`, `None` for the default.
    pattern: Option<String>,
    /// Made from `pattern` when the first reply is read: its automata take
    /// about 7 MB, which a daemon waiting for mail does not keep (the
    /// reader lives for one folder's sync or one tracker pass). `None`
    /// when the pattern cannot be used, which `Context::new` rules out at
    /// start-up.
    interim: OnceLock<Option<InterimMatcher>>,
}

impl StaffReader {
    pub fn new(cfg: &Config) -> Self {
        StaffReader {
            staff: cfg.staff.clone(),
            org: cfg.organization.clone(),
            require: cfg.signature.require.clone(),
            pattern: cfg.reply.interim_pattern.clone(),
            interim: OnceLock::new(),
        }
    }

    fn interim(&self) -> Option<&InterimMatcher> {
        self.interim
            .get_or_init(|| match InterimMatcher::new(self.pattern.as_deref()) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::error!(error = %e, "interim replies are not recognised");
                    None
                }
            })
            .as_ref()
    }

    /// Read `text`, the author's own text (quotes removed), of a reply by
    /// `author`; `external` when it went to an address outside the
    /// organisation (only those are signature-checked).
    pub fn read(&self, text: &str, author: &Address, external: bool) -> StaffRead {
        StaffRead {
            signature: external.then(|| self.signature(text, author)),
            promise: self.interim().and_then(|m| m.promise(text)),
        }
    }

    /// The signature check alone.
    pub fn signature(&self, text: &str, author: &Address) -> Verdict {
        signature::check(text, author, &self.staff, &self.org, &self.require)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> StaffReader {
        StaffReader {
            staff: vec![StaffMember {
                email: "janis.berzins@sif.gov.lv".into(),
                name: "Jānis".into(),
                surname: "Bērziņš".into(),
                phone: None,
                title: None,
            }],
            org: OrganizationConfig {
                name: "Sabiedrības integrācijas fonds".into(),
                aliases: vec![],
                domains: vec!["sif.gov.lv".into()],
                case_prefix: "SIF".into(),
                phone: "+371 67078190".into(),
                website: "www.sif.gov.lv".into(),
            },
            require: vec![
                SignatureElement::Organization,
                SignatureElement::Name,
                SignatureElement::Surname,
                SignatureElement::Contact,
            ],
            pattern: None,
            interim: OnceLock::new(),
        }
    }

    fn janis() -> Address {
        Address {
            name: Some("Jānis Bērziņš".into()),
            email: "janis.berzins@sif.gov.lv".into(),
        }
    }

    #[test]
    fn reads_signature_and_promise_as_the_tracker_did() {
        let r = reader();
        let signed = "Labdien!\nAtbildi sniegsim līdz 10.12.2026.\n\nAr cieņu,\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. 67078190\n";
        let unsigned = "Labdien!\nLūk, atbilde.\n";
        let table: &[(&str, bool, Option<bool>, Option<&str>)] = &[
            // (text, external, compliant, promise)
            (signed, true, Some(true), Some("10.12.2026")),
            (signed, false, None, Some("10.12.2026")),
            (unsigned, true, Some(false), None),
            (unsigned, false, None, None),
            ("", true, Some(false), None),
        ];
        for &(text, external, compliant, promise) in table {
            let got = r.read(text, &janis(), external);
            assert_eq!(got.signature.as_ref().map(|v| v.compliant), compliant, "{text:?}");
            assert_eq!(got.promise.as_deref(), promise, "{text:?}");
            if let Some(v) = &got.signature {
                assert_eq!(v, &r.signature(text, &janis()), "{text:?}");
            }
        }
    }

    #[test]
    fn survives_the_pending_record() {
        let r = reader().read("Atbildēsim līdz 5. janvārim.\nJānis", &janis(), true);
        let json = serde_json::to_string(&r).expect("serialise");
        let back: StaffRead = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, r);
        assert!(!back.signature.as_ref().expect("checked").compliant);
        // A record without the fields (an older pending record) reads as
        // nothing found.
        assert_eq!(
            serde_json::from_str::<StaffRead>("{}").expect("parse"),
            StaffRead::default()
        );
    }
}
