//! The fault campaigns of `scripts/chaos`, CI-sized, so that a change that
//! breaks SPEC §10 fails the build: `run --once` SIGKILLed at seeded random
//! moments while 120 acknowledgements are due, then run to completion; and
//! a simulated week of November 2026 (the shortened 17th and the 18th
//! holiday included) stepped with `--now`. Each asserts the whole outcome
//! (tests/support/chaos.rs `verify`): nothing lost, no duplicated case, no
//! repeated message except one in flight at a kill (same Message-ID),
//! `integrity_check` ok, mailbox flags unchanged.

mod support;

use support::chaos;

#[test]
fn kill_9_at_random_moments_loses_and_repeats_nothing() {
    let o = chaos::kill_campaign(120, 12, 20261123);
    println!("{}", o.report());
    assert!(o.ok(), "{}", o.report());
    assert_eq!(o.kills, 12, "{}", o.report());
    assert_eq!((o.lost, o.duplicated_cases), (0, 0));
}

#[test]
fn a_simulated_week_keeps_every_deadline_and_acknowledgement() {
    let o = chaos::month("2026-11-16T00:00:00+02:00", 7, 40, 240, 1118);
    println!("{}", o.report());
    assert!(o.ok(), "{}", o.report());
    assert_eq!((o.lost, o.duplicated_cases, o.repeated), (0, 0, 0));
    assert!(o.cases == 40, "{}", o.report());
}
