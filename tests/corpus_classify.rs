//! The classifier against the shared corpus (../shared/corpus, or
//! $REPLYGATE_CORPUS): every sample mail's manifest category (client,
//! automatic, bounce, staff, …) and the triggers it names must be what
//! `classify` judges, without a server (pure; the end-to-end replay is
//! tests/e2e_corpus.rs).

use std::path::{Path, PathBuf};

use std::collections::BTreeSet;

use replygate::inbound::classify::{automatic_triggers, classify, Class, ClassifySettings, FolderKind};
use replygate::inbound::message::MessageMeta;

/// The shared corpus: `$REPLYGATE_CORPUS` if set, else `../shared/corpus`
/// beside the repository (CI), else `../../shared/corpus` (a git worktree
/// one level deeper on the development machine).
fn corpus_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("REPLYGATE_CORPUS") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(root.join("../shared/corpus"));
    candidates.push(root.join("../../shared/corpus"));
    match candidates.iter().find(|d| d.join("manifest.json").is_file()) {
        Some(d) => d.clone(),
        None => panic!(
            "test corpus not found (looked in {candidates:?}): clone the shared folder beside \
             the repository as ../shared, or set REPLYGATE_CORPUS to the corpus directory"
        ),
    }
}

fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fmt_addr(a: &replygate::inbound::message::Address) -> String {
    match &a.name {
        Some(n) => format!("{n} <{}>", a.email),
        None => a.email.clone(),
    }
}

#[test]
fn parse_matches_manifest_headers() {
    let m = manifest();
    for entry in m["messages"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let raw = std::fs::read(corpus_dir().join(file)).unwrap();
        let meta = MessageMeta::parse(&raw).unwrap();
        println!(
            "{file}: from={:?} subj={:?} att={:?} ct={}",
            meta.from, meta.subject, meta.attachments, meta.content_type
        );
        let mid = entry["message_id"].as_str().unwrap().trim_matches(['<', '>']);
        assert_eq!(meta.message_id.as_deref(), Some(mid), "{file}");
        assert_eq!(meta.subject, entry["subject"].as_str().unwrap(), "{file}");
        let from = meta.from.as_ref().map(fmt_addr).unwrap_or_default();
        let want_from = entry["from"].as_str().unwrap().replace("\\\"", "\"");
        let want_email = want_from
            .rsplit('<')
            .next()
            .unwrap()
            .trim_end_matches('>')
            .to_lowercase();
        assert_eq!(meta.from.as_ref().unwrap().email, want_email, "{file}: {from}");
        let want_name = want_from.rsplit_once(" <").map(|(n, _)| {
            let n = n.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(n);
            n.to_string()
        });
        if let (Some(w), Some(f)) = (want_name, meta.from.as_ref()) {
            if !want_from.starts_with(&want_email) {
                assert_eq!(f.name.as_deref(), Some(w.as_str()), "{file}");
            }
        }
        let to: Vec<String> = meta.to.iter().map(|a| a.email.clone()).collect();
        let want_to: Vec<String> = entry["to"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_lowercase())
            .collect();
        assert_eq!(to, want_to, "{file}");
        let att: Vec<&str> = meta.attachments.iter().map(|s| s.as_str()).collect();
        let want_att: Vec<&str> = entry["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(att, want_att, "{file}");
        let refs: Vec<String> = entry["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().trim_matches(['<', '>']).to_string())
            .collect();
        assert_eq!(meta.references, refs, "{file}");
        let irt: Vec<String> = entry["in_reply_to"]
            .as_str()
            .map(|s| s.trim_matches(['<', '>']).to_string())
            .into_iter()
            .collect();
        assert_eq!(meta.in_reply_to, irt, "{file}");
        assert!(meta.date.is_some(), "{file}");
    }
}

/// The settings the manifest's `assumes` object describes.
fn settings_from_manifest(m: &serde_json::Value) -> ClassifySettings {
    let a = &m["assumes"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    ClassifySettings {
        org_domains: strings(&a["organization"]["domains"]),
        gateway_address: a["gateway_address"].as_str().unwrap().to_string(),
        gateway_aliases: vec![],
        never_ack: strings(&a["reply"]["never_ack"]),
        trusted_authserv_id: a["reply"]["trusted_authserv_id"].as_str().map(str::to_string),
        ..ClassifySettings::default()
    }
}

#[test]
fn classification_matches_manifest() {
    let m = manifest();
    let s = settings_from_manifest(&m);
    let mut failures = Vec::new();
    for entry in m["messages"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let raw = std::fs::read(corpus_dir().join(file)).unwrap();
        let meta = MessageMeta::parse(&raw).unwrap();
        let folder = match entry["folder"].as_str().unwrap() {
            "Sent" => FolderKind::Sent,
            _ => FolderKind::Inbox,
        };
        let class = classify(&meta, folder, &s);
        let (category, triggers): (&str, BTreeSet<String>) = match &class {
            Class::Client => ("client", BTreeSet::new()),
            Class::Staff => ("staff", BTreeSet::new()),
            Class::Internal => ("automatic", ["internal".to_string()].into()),
            Class::Own => ("own", BTreeSet::new()),
            Class::UnverifiedInternal => ("unverified_internal", BTreeSet::new()),
            Class::Automatic(t) => ("automatic", t.iter().map(|t| t.as_str().to_string()).collect()),
        };
        let want_cat = entry["category"].as_str().unwrap();
        let want_triggers: BTreeSet<String> = entry["triggers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        if category != want_cat || (want_cat == "automatic" && triggers != want_triggers) {
            failures.push(format!(
                "{file}: got {category} {triggers:?}, want {want_cat} {want_triggers:?}"
            ));
        }
        // automatic_triggers agrees with the class for automatic mail.
        if let Class::Automatic(t) = &class {
            assert_eq!(t, &automatic_triggers(&meta, &s), "{file}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The header block of a raw message (what IMAP `BODY.PEEK[HEADER]` returns).
fn header_block(raw: &[u8]) -> &[u8] {
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => &raw[..p + 4],
        None => raw,
    }
}

#[test]
fn header_only_fetch_classifies_the_same() {
    let m = manifest();
    let s = settings_from_manifest(&m);
    for entry in m["messages"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let raw = std::fs::read(corpus_dir().join(file)).unwrap();
        let folder = match entry["folder"].as_str().unwrap() {
            "Sent" => FolderKind::Sent,
            _ => FolderKind::Inbox,
        };
        let whole = MessageMeta::parse(&raw).unwrap();
        let head = MessageMeta::parse(header_block(&raw)).unwrap();
        assert_eq!(
            classify(&whole, folder, &s),
            classify(&head, folder, &s),
            "{file}"
        );
        assert_eq!(whole.headers, head.headers, "{file}");
        assert_eq!(whole.subject, head.subject, "{file}");
        assert_eq!(whole.from, head.from, "{file}");
        assert_eq!(whole.content_type, head.content_type, "{file}");
    }
}

/// Truncated and corrupted corpus mail never panics the parser.
#[test]
fn mangled_corpus_never_panics() {
    let m = manifest();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for entry in m["messages"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let raw = std::fs::read(corpus_dir().join(file)).unwrap();
        for cut in (0..raw.len()).step_by(97) {
            let _ = MessageMeta::parse(&raw[..cut]);
            let _ = replygate::inbound::bounce::parse_bounce(&raw[..cut]);
        }
        for _ in 0..40 {
            let mut bytes = raw.clone();
            for _ in 0..8 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = (next() & 0xff) as u8;
            }
            if let Ok(meta) = MessageMeta::parse(&bytes) {
                let s = settings_from_manifest(&m);
                let _ = classify(&meta, FolderKind::Inbox, &s);
                let _ = replygate::inbound::thread::normalize_subject(&meta.subject);
            }
            let _ = replygate::inbound::bounce::parse_bounce(&bytes);
        }
    }
}
