//! Corpus report for the signature check, interim replies and submission
//! detection: every message of `shared/corpus` against its manifest entry.
//! Prints an accuracy table (`cargo test --test corpus_signature -- --nocapture`)
//! and fails on any disagreement.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use replygate::cases::interim::{InterimFinding, InterimMatcher};
use replygate::cases::signature::{check, check_message, from_address};
use replygate::config::SignatureElement;
use replygate::inbound::authortext::{author_text, html_to_text, strip_quotes};
use replygate::inbound::submission::{attachment_names, is_submission};
use serde_json::Value;
use support::verdicts::{config_from_manifest, element, html_body, Score};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let p = if p.join("manifest.json").exists() {
        p
    } else {
        PathBuf::from("/work/shared/corpus")
    };
    p.join("manifest.json").exists().then_some(p)
}

#[test]
fn print_author_texts() {
    // Debug aid: `cargo test --test corpus_signature print_author_texts -- --nocapture --ignored`
    if std::env::var_os("SHOW_AUTHOR_TEXT").is_none() {
        return;
    }
    let dir = corpus().expect("corpus");
    for e in std::fs::read_dir(dir.join("mail")).unwrap() {
        let p = e.unwrap().path();
        println!(
            "===== {}\n{}",
            p.display(),
            author_text(&std::fs::read(&p).unwrap())
        );
    }
}

#[test]
fn corpus_report() {
    let dir = corpus().expect("shared/corpus/manifest.json beside the repository");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let cfg = config_from_manifest(&m);
    let matcher = InterimMatcher::new(cfg.reply.interim_pattern.as_deref()).unwrap();

    let (mut verdicts, mut missing, mut interim, mut submission, mut html) = (
        Score::default(),
        Score::default(),
        Score::default(),
        Score::default(),
        Score::default(),
    );
    let mut failures = Vec::new();
    for msg in m["messages"].as_array().unwrap() {
        let file = msg["file"].as_str().unwrap();
        let raw = std::fs::read(dir.join(file)).unwrap();
        let category = msg["category"].as_str().unwrap();
        if category == "staff" {
            let v = check_message(&raw, &cfg).unwrap();
            let want = &msg["signature"];
            let ok = v.compliant == want["compliant"].as_bool().unwrap();
            verdicts.add(ok);
            let want_missing: BTreeSet<SignatureElement> = want["missing"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| element(x.as_str().unwrap()))
                .collect();
            let got_missing: BTreeSet<SignatureElement> = v.missing.iter().copied().collect();
            let ok_m = got_missing == want_missing;
            missing.add(ok_m);
            if !ok || !ok_m {
                failures.push(format!(
                    "{file}: signature {v:?}, want {want}\n--- author text ---\n{}",
                    author_text(&raw)
                ));
            }
            // The HTML alternative, read on its own, must give the same verdict.
            if let Some(h) = html_body(&raw) {
                let from = from_address(&raw).unwrap();
                let hv = check(
                    &strip_quotes(&html_to_text(&h)),
                    &from,
                    &cfg.staff,
                    &cfg.organization,
                    &cfg.signature.require,
                );
                let ok_h = hv.missing.iter().copied().collect::<BTreeSet<_>>() == want_missing;
                html.add(ok_h);
                if !ok_h {
                    failures.push(format!(
                        "{file}: HTML part verdict {hv:?}, want {want}\n--- HTML text ---\n{}",
                        strip_quotes(&html_to_text(&h))
                    ));
                }
            }
            let want_date = msg["interim_until"].as_str();
            let got = matcher.find(&author_text(&raw));
            let got_date = match &got {
                Some(InterimFinding::Date(d)) => Some(d.to_string()),
                Some(InterimFinding::Unparseable(s)) => Some(format!("unparseable {s}")),
                None => None,
            };
            let ok_i = got_date.as_deref() == want_date;
            interim.add(ok_i);
            if !ok_i {
                failures.push(format!("{file}: interim {got_date:?}, want {want_date:?}"));
            }
            assert_eq!(
                v.author,
                from_address(&raw).unwrap().email,
                "{file}: author is the From address"
            );
        }
        if category == "client" {
            let subject = msg["subject"].as_str().unwrap_or("");
            let names = attachment_names(&raw);
            let got = is_submission(
                subject,
                &names,
                &cfg.reply.submission_extensions,
                &cfg.reply.submission_subject_words,
            );
            let want = msg["submission"].as_bool().unwrap();
            submission.add(got == want);
            if got != want {
                failures.push(format!(
                    "{file}: submission {got}, want {want} (attachments {names:?})"
                ));
            }
        }
    }
    println!("corpus report ({})", dir.display());
    println!("  check                     right / n");
    for (name, s) in [
        ("signature verdict", &verdicts),
        ("signature missing (set)", &missing),
        ("interim date", &interim),
        ("submission (client mail)", &submission),
        ("signature (HTML part)", &html),
    ] {
        println!("  {name:<25} {:>5} / {}", s.right, s.n);
    }
    assert!(verdicts.n >= 11 && submission.n >= 12, "corpus incomplete");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
