//! `[signature]`: what a staff reply's signature must hold, and who is told
//! when it does not.

use serde::Deserialize;

use super::address::check_mailbox;
use super::problem::Checker;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConfig {
    #[serde(default = "default_require")]
    pub require: Vec<SignatureElement>,
    #[serde(default)]
    pub cc: Vec<String>,
}

impl Default for SignatureConfig {
    fn default() -> Self {
        SignatureConfig {
            require: default_require(),
            cc: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SignatureElement {
    Organization,
    Name,
    Surname,
    Contact,
}

fn default_require() -> Vec<SignatureElement> {
    use SignatureElement::*;
    vec![Organization, Name, Surname, Contact]
}

impl SignatureConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        for (i, a) in self.cc.iter().enumerate() {
            check_mailbox(c, &format!("signature.cc[{i}]"), a);
        }
    }
}
