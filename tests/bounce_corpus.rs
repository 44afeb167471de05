//! Real delivery reports and robot notices from many MTAs, gateways and
//! webmail providers (tests/fixtures/bounces/, sources in its README) never
//! open a case or get an acknowledgement; people who write about returned
//! mail (tests/fixtures/bounces/clients/) stay clients. The same two steps
//! as the sync: headers (classify), then, for a client mail that
//! `needs_body_check`, the notice text (`bounce::is_robot_notice`).

use std::path::{Path, PathBuf};

use replygate::inbound::bounce;
use replygate::inbound::classify::{self, Class, ClassifySettings, FolderKind};
use replygate::inbound::message::MessageMeta;

fn settings() -> ClassifySettings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/replygate.toml")).unwrap();
    let cfg = replygate::config::from_str(&text).unwrap();
    ClassifySettings::from_config(&cfg)
}

fn files(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    v.sort();
    v
}

/// What the sync decides for an inbox message.
fn class_of(raw: &[u8], s: &ClassifySettings) -> Class {
    let meta = MessageMeta::parse(raw).expect("parses");
    let class = classify::classify(&meta, FolderKind::Inbox, s);
    if class == Class::Client && classify::needs_body_check(&meta) && bounce::is_robot_notice(raw) {
        return Class::Automatic(vec![classify::Trigger::DeliveryReport]);
    }
    class
}

#[test]
fn real_bounces_open_no_case() {
    let s = settings();
    let all = files("tests/fixtures/bounces");
    assert!(
        all.len() >= 60,
        "expected at least 60 real bounces, found {}",
        all.len()
    );
    let mut wrong = Vec::new();
    for p in &all {
        let raw = std::fs::read(p).unwrap();
        let c = class_of(&raw, &s);
        if c.needs_no_answer() {
            continue;
        }
        wrong.push(format!("{}: {c:?}", p.file_name().unwrap().to_string_lossy()));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} bounces would open a case:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
}

#[test]
fn people_writing_about_returned_mail_stay_clients() {
    let s = settings();
    let all = files("tests/fixtures/bounces/clients");
    assert!(all.len() >= 8, "negative examples missing");
    for p in &all {
        let raw = std::fs::read(p).unwrap();
        assert_eq!(class_of(&raw, &s), Class::Client, "{}", p.display());
    }
}

/// No bounce, however mangled, panics the bounce reader (one of the corpus
/// once panicked on a byte slice inside a multi-byte character).
#[test]
fn bounce_reader_never_panics() {
    for p in files("tests/fixtures/bounces") {
        let raw = std::fs::read(&p).unwrap();
        for cut in [raw.len(), raw.len() / 2, raw.len() / 3] {
            let r = std::panic::catch_unwind(|| {
                let _ = bounce::parse_bounce(&raw[..cut]);
                let _ = bounce::is_robot_notice(&raw[..cut]);
            });
            assert!(r.is_ok(), "{} cut at {cut}", p.display());
        }
    }
}
