//! Seeds a fresh replygate database with N open, unacknowledged cases for
//! `scripts/bench-send`, through the library's Store API (the same writes
//! the tracker makes), so that one `run --once` has N acknowledgements due
//! at once and the benchmark measures the send path, not IMAP parsing.
//!
//! Usage: `bench_seed DB N RECEIVED` (RECEIVED: RFC 3339 instant).

use chrono::{DateTime, Duration, Utc};
use replygate::rules::deadline::CaseKind;
use replygate::store::{Case, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: bench_seed DB N RECEIVED(RFC 3339)".into());
    }
    let n: usize = args[2].parse()?;
    let received: DateTime<Utc> = DateTime::parse_from_rfc3339(&args[3])?.with_timezone(&Utc);
    let mut store = Store::open(std::path::Path::new(&args[1]))?;
    store.transaction(|tx| -> Result<(), replygate::store::StoreError> {
        for i in 0..n {
            let seq = tx.next_case_seq(2026)?;
            let subject = format!("Jautājums par projektu Nr. {i}");
            let c = Case {
                client_name: Some(format!("Klients {i}")),
                last_client_msgid: Some(format!("q{i}@example.lv")),
                ..Case::open(
                    format!("SIF-2026-{seq:05}"),
                    &format!("klients{i}@example.lv"),
                    &subject,
                    CaseKind::Email,
                    received,
                    received + Duration::days(10),
                )
            };
            tx.save_case(&c, received)?;
        }
        Ok(())
    })?;
    println!("{n} open cases in {}", args[1]);
    Ok(())
}
