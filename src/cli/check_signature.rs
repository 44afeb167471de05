//! `replygate check-signature FILE [--json]`: the signature check of
//! `cases::signature` on one .eml file, for an admin — loads the config,
//! prints the verdict (and a correct signature when it is not compliant),
//! and exits 0 compliant, 1 not, 2 when the config or the file cannot be
//! read.

use std::path::Path;
use std::process::ExitCode;

use crate::cases::signature::{check_message, expected_signature, from_address, Verdict};

/// The JSON line of `check-signature --json`:
/// `{"compliant": false, "missing": ["contact"], "author": "a@b.lv"}`.
pub fn verdict_json(v: &Verdict) -> String {
    let missing: Vec<String> = v
        .missing
        .iter()
        .map(|m| serde_json::to_string(m).unwrap_or_default())
        .collect();
    format!(
        "{{\"compliant\": {}, \"missing\": [{}], \"author\": {}}}",
        v.compliant,
        missing.join(", "),
        serde_json::Value::String(v.author.clone())
    )
}

/// `replygate check-signature FILE [--json]`: exit 0 compliant, 1 not,
/// 2 when the config or the file cannot be read or parsed.
pub fn run_check_signature(config: &Path, file: &Path, json: bool) -> ExitCode {
    let cfg = match crate::config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("replygate: cannot use config {}: {e:#}", config.display());
            return ExitCode::from(2);
        }
    };
    let raw = match std::fs::read(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "replygate: cannot read message {}: {e}; give the path of an .eml file",
                file.display()
            );
            return ExitCode::from(2);
        }
    };
    let verdict = match check_message(&raw, &cfg) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("replygate: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if json {
        println!("{}", verdict_json(&verdict));
    } else if verdict.compliant {
        println!("compliant: the signature of {} is complete", verdict.author);
    } else {
        let missing: Vec<&str> = verdict.missing.iter().map(|m| m.name()).collect();
        println!(
            "not compliant: the signature of {} lacks {}",
            verdict.author,
            missing.join(", ")
        );
        if let Ok(from) = from_address(&raw) {
            println!(
                "\nA correct signature:\n{}",
                expected_signature(&from, &cfg.staff, &cfg.organization)
            );
        }
    }
    if verdict.compliant {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SignatureElement::{Contact, Organization};

    #[test]
    fn json_shape() {
        let v = Verdict {
            compliant: false,
            missing: vec![Organization, Contact],
            author: "janis.berzins@sif.gov.lv".into(),
        };
        assert_eq!(
            verdict_json(&v),
            r#"{"compliant": false, "missing": ["organization", "contact"], "author": "janis.berzins@sif.gov.lv"}"#
        );
    }
}
