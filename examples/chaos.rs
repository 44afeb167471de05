//! The fault campaigns of SPEC §10, full-sized (run by `scripts/chaos`, not
//! a test): kill -9 of `run --once` and of the daemon, SMTP and IMAP
//! outages, a full disk, concurrent admins and a simulated month, against a
//! real Dovecot and smtp-sink (tests/support). Prints per scenario: kills,
//! lost, duplicated cases, repeated messages, integrity_check, mailbox
//! flags, peak RSS, database size; exits 1 when any expectation is violated.
//!
//! Usage: `REPLYGATE_BIN=target/release/replygate chaos [--quick] [--seed N] [--only NAME]`
//! (NAME: kill, daemon, smtp, imap, imap-daemon, disk, admins, month).

#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::chaos::{self, Outcome};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seed: u64 = value("--seed").and_then(|s| s.parse().ok()).unwrap_or(2026);
    let only = value("--only");
    let want = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let started = Instant::now();
    println!(
        "chaos: {} run, seed {seed}, binary {}",
        if quick { "quick" } else { "full" },
        support::world::bin().display()
    );
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load().trim());
    let mut results: Vec<Outcome> = Vec::new();
    let mut show = |o: Outcome| {
        print!("{}", o.report());
        let _ = std::io::stdout().flush();
        results.push(o);
    };
    // The daemon's IMAP outage mostly waits (longer than the 5-minute
    // reconnect cap in the full run): it runs beside the others.
    let outage = if quick {
        Duration::from_secs(8)
    } else {
        Duration::from_secs(310)
    };
    let background = want("imap-daemon")
        .then(|| std::thread::spawn(move || chaos::imap_outage_daemon(if quick { 50 } else { 200 }, outage)));
    if want("kill") {
        show(if quick {
            chaos::kill_campaign(300, 30, seed)
        } else {
            chaos::kill_campaign(1000, 100, seed)
        });
    }
    if want("daemon") {
        show(if quick {
            chaos::daemon_campaign(100, 5, seed)
        } else {
            chaos::daemon_campaign(400, 20, seed)
        });
    }
    if want("smtp") {
        show(chaos::smtp_outage(if quick { 200 } else { 500 }, seed));
    }
    if want("imap") {
        show(chaos::imap_outage_once(if quick { 300 } else { 1000 }));
    }
    if want("disk") {
        show(chaos::full_disk(if quick { 200 } else { 500 }));
    }
    if want("admins") {
        show(chaos::concurrent_admins(if quick { 300 } else { 500 }));
    }
    if want("month") {
        show(if quick {
            chaos::month("2026-11-16T00:00:00+02:00", 7, 60, 60, seed)
        } else {
            chaos::month("2026-11-01T00:00:00+02:00", 30, 300, 60, seed)
        });
    }
    if let Some(h) = background {
        show(h.join().expect("the IMAP outage scenario panicked"));
    }
    println!("load average at end: {}", load().trim());
    let bad: Vec<&Outcome> = results.iter().filter(|o| !o.ok()).collect();
    println!(
        "chaos: {} scenario(s), {} violated, {:.0} s",
        results.len(),
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    if !bad.is_empty() {
        std::process::exit(1);
    }
}
