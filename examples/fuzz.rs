//! A seeded mutation fuzzer over the code that reads hostile mail (SPEC §11):
//! the header parser (`inbound/message.rs`), the classifier, bounce reading,
//! thread keys, the submission check, author text (decode, HTML → text,
//! quote removal), the signature check and the interim-date finder.
//!
//! Runs on stable Rust without extra tools: inputs are random bytes and
//! mutations (bit flips, insertions of tricky tokens such as multi-byte
//! UTF-8, encoded words, boundaries and header names, deletions,
//! duplications, splices) of real mail from the shared corpus and the test
//! fixtures. A panic anywhere (also one caught inside the library, seen
//! through the panic hook) or an input that takes longer than
//! `--slow-ms` (default 500 ms) is a finding: the input is written to
//! `target/fuzz-findings/` and the run fails.
//!
//! Usage (see `scripts/fuzz`): `fuzz [--seconds N] [--seed S] [--slow-ms M]
//! [--replay FILE...]`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use replygate::cases::interim::InterimMatcher;
use replygate::cases::signature;
use replygate::config::Config;
use replygate::inbound::classify::{self, ClassifySettings, FolderKind};
use replygate::inbound::message::MessageMeta;
use replygate::inbound::{authortext, bounce, submission, thread};

static PANICS: AtomicUsize = AtomicUsize::new(0);
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Tokens that tend to reach corner cases of MIME and header parsing.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b":",
    b";",
    b"<",
    b">",
    b"@",
    b"\"",
    b"=?utf-8?B?",
    b"=?UTF-8?Q?=C4=81=",
    b"?=",
    b"=\r\n",
    b"--",
    b"boundary=\"",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/html; charset=utf-8\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*=utf-8''%C4%81.pdf\r\n",
    b"\r\n--b\r\n",
    b"\r\n--b--\r\n",
    b"Message-ID: ",
    b"References: <a@b> <c@d>",
    b"In-Reply-To: <",
    b"From: =?utf-8?Q?J=C4=81nis?= <janis@x.lv>\r\n",
    b"From: MAILER-DAEMON@mx.lv\r\n",
    b"Subject: Undeliverable: \xc4\x81\r\n",
    b"X-Failed-Recipients: a@b.lv\r\n",
    b"Final-Recipient: rfc822; a@b.lv\r\nAction: failed\r\n",
    b"Auto-Submitted: auto-replied\r\n",
    b"<html><body><p>",
    b"</div><blockquote>",
    b"&nbsp;&#x10FFFF;&#99999999;&amp",
    b"> ",
    b"-----Original Message-----",
    b"On Mon, 1 Dec 2026, Anna wrote:",
    b"l\xc4\xabdz 31.12.2099",
    b"l\xc4\xabdz 10. decembrim",
    b"\xc4\x81\xc4\x93\xc4\xab\xc5\xab",
    b"\xf0\x9f\x98\x80",
    b"\xe2\x80\xae",
    b"\xff\xfe",
    b"\x00",
    b"\x1b[31m",
    b"\t",
    b" ",
];

struct Targets {
    cfg: Config,
    settings: ClassifySettings,
    interim: InterimMatcher,
}

impl Targets {
    fn new() -> Targets {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let example =
            std::fs::read_to_string(root.join("config/replygate.toml")).expect("config/replygate.toml");
        let cfg = replygate::config::from_str(&example).expect("the example configuration parses");
        let settings = ClassifySettings::from_config(&cfg);
        let interim = InterimMatcher::new(cfg.reply.interim_pattern.as_deref()).expect("interim pattern");
        Targets {
            cfg,
            settings,
            interim,
        }
    }

    /// Every reader of hostile mail, on one input.
    fn run(&self, raw: &[u8]) {
        if let Ok(meta) = MessageMeta::parse(raw) {
            for kind in [FolderKind::Inbox, FolderKind::Sent] {
                let _ = classify::classify(&meta, kind, &self.settings);
            }
            let _ = classify::automatic_triggers(&meta, &self.settings);
            let _ = thread::referenced_ids(&meta);
            let _ = thread::normalize_subject(&meta.subject);
            let _ = thread::case_ref_in_subject(&meta.subject, "SIF-");
            let _ = submission::is_submission(
                &meta.subject,
                &meta.attachments,
                &self.cfg.reply.submission_extensions,
                &self.cfg.reply.submission_subject_words,
            );
        }
        let _ = bounce::parse_bounce(raw);
        let _ = submission::attachment_names(raw);
        let text = authortext::author_text(raw);
        let _ = signature::check_message(raw, &self.cfg);
        let reference = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        let _ = self.interim.find(&text);
        let _ = self.interim.find_after(&text, reference);
        let lossy = String::from_utf8_lossy(raw);
        let _ = authortext::html_to_text(&lossy);
        let _ = authortext::strip_quotes(&lossy);
        let _ = signature::has_contact(&lossy);
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = vec![
        root.join("../shared/corpus/mail"),
        root.join("../../shared/corpus/mail"),
        root.join("tests/fixtures"),
    ];
    if let Some(p) = std::env::var_os("REPLYGATE_CORPUS") {
        dirs.push(PathBuf::from(p).join("mail"));
    }
    let mut out = Vec::new();
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                if let Ok(b) = std::fs::read(&p) {
                    out.push(b);
                }
            }
        }
    }
    out
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if seeds.is_empty() || rng.random_ratio(1, 20) {
        let n = rng.random_range(0..4096);
        return (0..n).map(|_| rng.random()).collect();
    }
    let mut v = seeds[rng.random_range(0..seeds.len())].clone();
    let rounds = 1 + rng.random_range(0..8);
    for _ in 0..rounds {
        let len = v.len();
        let at = if len == 0 { 0 } else { rng.random_range(0..=len) };
        match rng.random_range(0..9) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] = rng.random();
            }
            2 | 3 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            4 if len > 0 => {
                let end = (at + rng.random_range(1..256)).min(len);
                v.drain(at.min(end)..end);
            }
            5 if len > 0 => {
                // Duplicate a chunk many times (long headers, deep nesting).
                let end = (at + rng.random_range(1..128)).min(len);
                let chunk: Vec<u8> = v[at.min(end)..end].to_vec();
                let times = rng.random_range(1..200);
                for _ in 0..times {
                    v.splice(at..at, chunk.iter().copied());
                }
            }
            6 => {
                // Splice in a piece of another seed.
                let other = &seeds[rng.random_range(0..seeds.len())];
                if !other.is_empty() {
                    let a = rng.random_range(0..other.len());
                    let b = (a + rng.random_range(1..2048)).min(other.len());
                    v.splice(at..at, other[a..b].iter().copied());
                }
            }
            7 if len > 0 => {
                v.truncate(at);
            }
            _ => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                let times = rng.random_range(1..50);
                for _ in 0..times {
                    v.splice(at..at, t.iter().copied());
                }
            }
        }
    }
    v
}

fn save(dir: &Path, kind: &str, n: u64, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let p = dir.join(format!("{kind}-{n}.eml"));
    let _ = std::fs::write(&p, input);
    p
}

fn main() {
    let mut seconds = 60u64;
    let mut seed: u64 = 1;
    let mut slow_ms = 500u64;
    let mut replay: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            "--slow-ms" => slow_ms = args.next().and_then(|s| s.parse().ok()).unwrap_or(slow_ms),
            "--replay" => replay.extend(args.by_ref().map(PathBuf::from)),
            other => {
                eprintln!("fuzz: unknown argument {other}; usage: fuzz [--seconds N] [--seed S] [--slow-ms M] [--replay FILE...]");
                std::process::exit(2);
            }
        }
    }
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut l) = LAST_PANIC.lock() {
            *l = info.to_string();
        }
    }));
    let targets = Targets::new();
    let findings_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-findings");
    let check = |input: &[u8], n: u64, crashes: &mut u64, slow: &mut u64, max: &mut Duration| {
        let before = PANICS.load(Ordering::SeqCst);
        let t0 = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| targets.run(input)));
        let took = t0.elapsed();
        *max = (*max).max(took);
        if r.is_err() || PANICS.load(Ordering::SeqCst) != before {
            *crashes += 1;
            let p = save(&findings_dir, "crash", n, input);
            let msg = LAST_PANIC.lock().map(|l| l.clone()).unwrap_or_default();
            eprintln!("CRASH #{n}: {msg}\n  input: {}", p.display());
        } else if took > Duration::from_millis(slow_ms) {
            *slow += 1;
            let p = save(&findings_dir, "slow", n, input);
            eprintln!("SLOW #{n}: {took:?}\n  input: {}", p.display());
        }
    };

    let (mut crashes, mut slow, mut max) = (0u64, 0u64, Duration::ZERO);
    if !replay.is_empty() {
        for (i, p) in replay.iter().enumerate() {
            let input = std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            check(&input, i as u64, &mut crashes, &mut slow, &mut max);
        }
        println!(
            "replayed {} inputs, crashes: {crashes}, slow: {slow}, slowest: {max:?}",
            replay.len()
        );
        std::process::exit(if crashes + slow == 0 { 0 } else { 1 });
    }

    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let deadline = Duration::from_secs(seconds);
    let mut execs = 0u64;
    let mut last_report = Instant::now();
    // Every seed as it is first, then mutants.
    for s in &seeds {
        check(s, execs, &mut crashes, &mut slow, &mut max);
        execs += 1;
    }
    while start.elapsed() < deadline {
        let input = mutate(&mut rng, &seeds);
        check(&input, execs, &mut crashes, &mut slow, &mut max);
        execs += 1;
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "fuzz: {:>5}s {execs} executions, crashes: {crashes}, slow: {slow}, slowest: {max:?}",
                start.elapsed().as_secs()
            );
        }
    }
    println!(
        "fuzz: {} seeds, {execs} executions in {}s (seed {seed}), crashes: {crashes}, slow (> {slow_ms} ms): {slow}, slowest input: {max:?}",
        seeds.len(),
        start.elapsed().as_secs()
    );
    std::process::exit(if crashes + slow == 0 { 0 } else { 1 });
}
