//! The whole corpus delivered into a real Dovecot, replygate run at the
//! instants a daemon would wake, and the outcome read from the SMTP server,
//! the case store and the mailbox.

mod support;

use std::collections::BTreeMap;

use support::world::{t, World};

/// Instants to run at: working-day mornings, afternoons, closing times and
/// evenings from Mon 23 Nov to Thu 3 Dec 2026 (Riga, +02:00).
fn instants() -> Vec<String> {
    let mut v = Vec::new();
    for day in 23..=33 {
        let (m, d) = if day > 30 { (12, day - 30) } else { (11, day) };
        let date = format!("2026-{m:02}-{d:02}");
        for hm in [
            "09:00", "09:30", "12:00", "14:00", "15:59", "16:00", "17:00", "18:00", "20:00",
        ] {
            v.push(format!("{date}T{hm}:00+02:00"));
        }
    }
    v
}

#[test]
fn corpus_end_to_end() {
    let w = World::new("");
    let manifest = w.deliver_corpus(|_| true);
    let before_inbox = w.dovecot.uid_flags("INBOX");
    let before_sent = w.dovecot.uid_flags("Sent");
    let mut sent_at: Vec<(String, Vec<String>, String, String)> = Vec::new();
    let mut seen = 0;
    for now in instants() {
        w.run(&now);
        let all = w.sent();
        for m in &all[seen..] {
            sent_at.push((
                now.clone(),
                m.rcpt_to.clone(),
                m.header("Auto-Submitted").unwrap_or("").to_string(),
                mail_parser::MessageParser::default()
                    .parse(&m.raw)
                    .and_then(|p| p.subject().map(str::to_string))
                    .unwrap_or_default(),
            ));
        }
        seen = all.len();
    }

    // Acknowledgements: who got one, and when.
    let acks: Vec<_> = sent_at
        .iter()
        .filter(|(_, _, a, _)| a == "auto-replied")
        .collect();
    let mut by_rcpt: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (now, rcpt, _, _) in &acks {
        by_rcpt.entry(rcpt.join(",")).or_default().push(now.clone());
    }
    let want: BTreeMap<String, Vec<String>> = [
        // Received Mon 23 Nov before closing: at Monday's closing (18:00).
        (
            "anna.kalnina@inbox.lv",
            vec!["2026-11-23T18:00:00+02:00", "2026-11-26T17:00:00+02:00"],
        ),
        ("edgars.vitols@gmail.com", vec!["2026-11-23T18:00:00+02:00"]),
        ("zane.petersone@apollo.lv", vec!["2026-11-23T18:00:00+02:00"]),
        // Reply-To wins.
        ("dace.liepa@zalaseta.lv", vec!["2026-11-23T18:00:00+02:00"]),
        ("ojars.dombrovskis@tvnet.lv", vec!["2026-11-23T18:00:00+02:00"]),
        // Received after closing: at once (the next run, 20:00).
        ("olga.ivanova@mail.ru", vec!["2026-11-23T20:00:00+02:00"]),
        // Tuesday: closes 17:00.
        ("m.turner@nordicbridges.org", vec!["2026-11-24T17:00:00+02:00"]),
        ("inese.zarina@gmail.com", vec!["2026-11-24T17:00:00+02:00"]),
        (
            "raimonds.ozols@ogres-amatnieki.lv",
            vec!["2026-11-24T17:00:00+02:00"],
        ),
        // Wednesday 16:30, closes 17:00.
        ("aija.grinberga@outlook.com", vec!["2026-11-25T17:00:00+02:00"]),
    ]
    .into_iter()
    .map(|(a, v)| (a.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(by_rcpt, want, "acknowledgements (recipient → when)");

    // No acknowledgement to any automatic sender.
    for m in manifest["messages"].as_array().unwrap() {
        if m["category"] == "automatic" {
            let from = m["from"].as_str().unwrap().to_lowercase();
            assert!(
                !acks
                    .iter()
                    .any(|(_, r, _, _)| r.iter().any(|x| from.contains(x.as_str()))),
                "acknowledged automatic mail {}",
                m["file"]
            );
        }
    }

    // The reopened case (Anna) is overdue: one reminder, one escalation.
    let staff: Vec<_> = sent_at
        .iter()
        .filter(|(_, _, a, _)| a == "auto-generated")
        .collect();
    let reminders: Vec<_> = staff
        .iter()
        .filter(|(_, _, _, s)| s.contains("Atgādinājums"))
        .collect();
    let escalations: Vec<_> = staff
        .iter()
        .filter(|(_, r, _, _)| r.contains(&"vaditajs@sif.gov.lv".to_string()))
        .collect();
    assert!(!reminders.is_empty(), "no reminder sent: {staff:#?}");
    for (now, _, _, _) in reminders.iter().chain(escalations.iter()) {
        let h: u32 = now[11..13].parse().unwrap();
        assert!(
            (9..18).contains(&h),
            "staff notice outside working hours at {now}"
        );
    }
    // Anna's reopened case: due Mon 30 Nov 18:00, reminder 4 h before, escalation at the next opening.
    assert!(
        reminders
            .iter()
            .any(|(n, _, _, s)| n == "2026-11-30T14:00:00+02:00" && s.contains("SIF-2026-00001")),
        "{reminders:#?}"
    );
    assert!(
        escalations
            .iter()
            .any(|(n, _, _, _)| n == "2026-12-01T09:00:00+02:00"),
        "{escalations:#?}"
    );
    // Each once.
    let mut subjects: Vec<_> = reminders
        .iter()
        .chain(escalations.iter())
        .map(|(_, r, _, s)| (s, r))
        .collect();
    let n = subjects.len();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), n, "a staff notice went twice");

    // Signature warnings: 16 (contact), 19 (surname), 24 (organization), once each.
    let warnings: Vec<_> = staff
        .iter()
        .filter(|(_, _, _, s)| s.starts_with("Parakstā") || s.contains("Paraksts"))
        .collect();
    let mut warned: Vec<String> = warnings.iter().map(|(_, r, _, _)| r[0].clone()).collect();
    warned.sort();
    assert_eq!(
        warned,
        vec![
            "kristaps.liepins@sif.gov.lv",
            "liga.ozolina@sif.gov.lv",
            "martins.kalnins@sif.gov.lv"
        ],
        "{warnings:#?}"
    );

    // Final case states.
    let st = w.status("2026-12-03T12:00:00+02:00");
    let case = |client: &str| {
        let v = World::case_of(&st, client);
        assert_eq!(v.len(), 1, "cases of {client}: {v:#?}");
        v[0].clone()
    };
    assert_eq!(st["cases"].as_array().unwrap().len(), 10, "{st:#}");
    let anna = case("anna.kalnina@inbox.lv");
    assert_eq!(anna["state"], "open");
    assert_eq!(anna["overdue"], true);
    assert_eq!(anna["deadline"], "2026-11-30T18:00:00+02:00");
    assert_eq!(anna["answered_at"], "2026-11-24T09:10:33+02:00");
    for c in [
        "edgars.vitols@gmail.com",
        "zane.petersone@apollo.lv",
        "info@zalaseta.lv",
        "ojars.dombrovskis@tvnet.lv",
        "olga.ivanova@mail.ru",
        "aija.grinberga@outlook.com",
        "inese.zarina@gmail.com",
    ] {
        assert_eq!(case(c)["state"], "answered", "{c}");
    }
    let turner = case("m.turner@nordicbridges.org");
    assert_eq!(turner["state"], "open");
    assert_eq!(turner["extended"], true);
    assert_eq!(turner["deadline"], "2026-12-07T18:00:00+02:00");
    let ozols = case("raimonds.ozols@outlook.com");
    assert_eq!(ozols["kind"], "submission");
    assert_eq!(ozols["extended"], true);
    assert_eq!(ozols["deadline"], "2026-12-10T17:00:00+02:00");
    assert_eq!(case("inese.zarina@gmail.com")["kind"], "submission");
    assert_eq!(case("edgars.vitols@gmail.com")["kind"], "email");

    // The mailbox is untouched.
    assert_eq!(w.dovecot.uid_flags("INBOX"), before_inbox);
    assert_eq!(w.dovecot.uid_flags("Sent"), before_sent);

    // Running again at the same instant changes nothing and sends nothing.
    let n = w.sent().len();
    w.run("2026-12-03T20:00:00+02:00");
    w.run("2026-12-03T20:00:00+02:00");
    assert_eq!(w.sent().len(), n);
    assert_eq!(w.status("2026-12-03T12:00:00+02:00"), st);
    let _ = t;
}
