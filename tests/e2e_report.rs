//! The compliance report (SPEC §12) on a designed month of cases, replayed
//! into a real Dovecot and run through `run --once --now T` at the moments
//! a daemon would act; every expected number is worked out by hand in the
//! comments below from the calendar (November 2026: Mon 9–18, Tue–Thu 9–17,
//! Fri 9–16; Tue 17 Nov shortened to 16:00, Wed 18 Nov a public holiday).
//! Then the evidence log: intact, `case show`, and a tampered entry found.

mod support;

use serde_json::{json, Value};
use support::mail::{mail, Mail};
use support::world::{t, World};

const POST: &str = "pasts@sif.gov.lv";
const JANIS: &str = "Jānis Bērziņš <janis.berzins@sif.gov.lv>";
const LIGA: &str = "Līga Ozoliņa <liga.ozolina@sif.gov.lv>";
const MARTINS: &str = "Mārtiņš Kalniņš <martins.kalnins@sif.gov.lv>";

/// Complete signature.
const SIGNED_JANIS: &str = "Labdien!\n\nPieteikties var tiešsaistē.\n\nAr cieņu,\nJānis Bērziņš\n\
Sabiedrības integrācijas fonds\nTālr. +371 67078190\n";
/// No contact (phone or e-mail).
const SIGNED_LIGA: &str = "Labdien!\n\nDokumenti ir saņemti un izskatīti.\n\nAr cieņu,\nLīga Ozoliņa\n\
Sabiedrības integrācijas fonds\n";
/// No organisation.
const SIGNED_MARTINS: &str = "Labdien!\n\nJūsu jautājums ir atbildēts.\n\nAr cieņu,\nMārtiņš Kalniņš\n\
Tālr. +371 67078201\n";
const INTERIM_JANIS: &str =
    "Labdien!\n\nJūsu jautājums prasa papildu pārbaudi; atbildi sniegsim līdz 12.11.2026.\n\n\
Ar cieņu,\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. +371 67078190\n";

fn put(w: &World, folder: &str, m: Mail, at: &str) {
    let d = t(at);
    w.dovecot.append(folder, &m.raw(d), d);
}

fn client(w: &World, from: &str, subject: &str, id: &str, at: &str) {
    put(w, "INBOX", mail(from, POST, subject, Some(id)), at);
}

/// A staff reply in Sent: `[to, subject, parent id, own id]`.
fn staff(w: &World, from: &str, [to, subject, parent, id]: [&str; 4], body: &str, at: &str) {
    put(
        w,
        "Sent",
        mail(from, to, &format!("Re: {subject}"), Some(id))
            .reply_to(parent)
            .body(body),
        at,
    );
}

fn id_of(w: &World, client: &str, subject: &str) -> String {
    let st = w.status("2026-11-30T12:00:00+02:00");
    let v: Vec<&Value> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["client"] == client && c["subject"] == subject)
        .collect();
    assert_eq!(v.len(), 1, "{client} {subject}: {st:#}");
    v[0]["id"].as_str().unwrap().to_string()
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_designed_month() {
    let w = World::new("");
    // C1 weekend: Fri 6 Nov 14:00; due Tue 10 Nov 17:00; ack due Fri 16:00.
    // Jānis answers Mon 9 Nov 10:00: on time; 2 h Fri + 1 h Mon = 3 h.
    client(
        &w,
        "c1@example.lv",
        "Pieteikšanās",
        "c1@example.lv",
        "2026-11-06T14:00:00+02:00",
    );
    staff(
        &w,
        JANIS,
        ["c1@example.lv", "Pieteikšanās", "c1@example.lv", "r1@sif.gov.lv"],
        SIGNED_JANIS,
        "2026-11-09T10:00:00+02:00",
    );
    // C2 holiday: Tue 17 Nov 15:00 (closes 16:00); due Fri 20 Nov 16:00
    // (18 Nov off). Līga Thu 19 Nov 11:00: on time; 1 h + 2 h = 3 h.
    client(
        &w,
        "c2@example.lv",
        "Grants",
        "c2@example.lv",
        "2026-11-17T15:00:00+02:00",
    );
    staff(
        &w,
        LIGA,
        ["c2@example.lv", "Grants", "c2@example.lv", "r2@sif.gov.lv"],
        SIGNED_LIGA,
        "2026-11-19T11:00:00+02:00",
    );
    // C3 late: Mon 2 Nov 10:00; due Wed 4 Nov 17:00. Mārtiņš Thu 5 Nov
    // 10:00: late; 8 + 8 + 8 + 1 = 25 h.
    client(
        &w,
        "c3@example.lv",
        "Atskaite",
        "c3@example.lv",
        "2026-11-02T10:00:00+02:00",
    );
    staff(
        &w,
        MARTINS,
        ["c3@example.lv", "Atskaite", "c3@example.lv", "r3@sif.gov.lv"],
        SIGNED_MARTINS,
        "2026-11-05T10:00:00+02:00",
    );
    // C4 interim then final: Tue 3 Nov 11:00; due Thu 5 Nov 17:00. Interim
    // Wed 4 Nov 10:00 (first response, on time, 6 + 1 = 7 h), final Tue 10 Nov.
    client(
        &w,
        "c4@example.lv",
        "Līgums",
        "c4@example.lv",
        "2026-11-03T11:00:00+02:00",
    );
    staff(
        &w,
        JANIS,
        ["c4@example.lv", "Līgums", "c4@example.lv", "r4a@sif.gov.lv"],
        INTERIM_JANIS,
        "2026-11-04T10:00:00+02:00",
    );
    staff(
        &w,
        JANIS,
        ["c4@example.lv", "Līgums", "r4a@sif.gov.lv", "r4b@sif.gov.lv"],
        SIGNED_JANIS,
        "2026-11-10T12:00:00+02:00",
    );
    // C5 extended by command: Mon 9 Nov 09:30; due Wed 11 Nov 17:00;
    // `extend` Tue 10 Nov 12:00: on time, 8.5 + 3 = 11.5 h.
    client(
        &w,
        "c5@example.lv",
        "Maksājums",
        "c5@example.lv",
        "2026-11-09T09:30:00+02:00",
    );
    // C6 closed by hand: Wed 11 Nov 10:00, closed 14:00.
    client(
        &w,
        "c6@example.lv",
        "Reklāma",
        "c6@example.lv",
        "2026-11-11T10:00:00+02:00",
    );
    // C7 open overdue: Mon 23 Nov 10:00; due Wed 25 Nov 17:00; ack at 18:10.
    client(
        &w,
        "c7@example.lv",
        "Termiņš",
        "c7@example.lv",
        "2026-11-23T10:00:00+02:00",
    );
    // C8 submission, open in time: Fri 27 Nov 10:00; due Mon 28 Dec.
    client(
        &w,
        "c8@example.lv",
        "Iesniegums par atbalstu",
        "c8@example.lv",
        "2026-11-27T10:00:00+02:00",
    );
    // C9 submission answered: Thu 12 Nov 15:00; due Mon 14 Dec; ack sent
    // 17:40 (late). Līga Mon 16 Nov 10:00: 2 + 7 + 1 = 10 h.
    client(
        &w,
        "c9@example.lv",
        "Iesniegums par stipendiju",
        "c9@example.lv",
        "2026-11-12T15:00:00+02:00",
    );
    staff(
        &w,
        LIGA,
        [
            "c9@example.lv",
            "Iesniegums par stipendiju",
            "c9@example.lv",
            "r9@sif.gov.lv",
        ],
        SIGNED_LIGA,
        "2026-11-16T10:00:00+02:00",
    );
    // C10 ack suppressed (C1's client again within reply.ack_min_interval):
    // Sat 7 Nov 10:00, ack due at once; due Tue 10 Nov 17:00. Mārtiņš Mon
    // 9 Nov 15:00: on time, 6 h.
    client(
        &w,
        "c1@example.lv",
        "Vēl viens jautājums",
        "c10@example.lv",
        "2026-11-07T10:00:00+02:00",
    );
    staff(
        &w,
        MARTINS,
        [
            "c1@example.lv",
            "Vēl viens jautājums",
            "c10@example.lv",
            "r10@sif.gov.lv",
        ],
        SIGNED_MARTINS,
        "2026-11-09T15:00:00+02:00",
    );
    // C11 answered before its acknowledgement time: Thu 19 Nov 10:00,
    // Jānis 12:00 (2 h): no acknowledgement due.
    client(
        &w,
        "c11@example.lv",
        "Adrese",
        "c11@example.lv",
        "2026-11-19T10:00:00+02:00",
    );
    staff(
        &w,
        JANIS,
        ["c11@example.lv", "Adrese", "c11@example.lv", "r11@sif.gov.lv"],
        SIGNED_JANIS,
        "2026-11-19T12:00:00+02:00",
    );

    // The moments a daemon would act.
    for now in [
        "2026-11-02T18:00:00+02:00", // C3 ack
        "2026-11-03T17:00:00+02:00", // C4 ack
        "2026-11-06T16:00:00+02:00", // C1 ack
        "2026-11-07T10:05:00+02:00", // C10 ack suppressed (interval)
        "2026-11-09T18:00:00+02:00", // C5 ack
    ] {
        w.run(now);
    }
    let c5 = id_of(&w, "c5@example.lv", "Maksājums");
    ok(
        &w.cmd(&[
            "extend",
            &c5,
            "--until",
            "2026-11-20",
            "--reason",
            "pa tālruni",
            "--now",
            "2026-11-10T12:00:00+02:00",
        ]),
        "extend",
    );
    w.run("2026-11-11T13:00:00+02:00");
    let c6 = id_of(&w, "c6@example.lv", "Reklāma");
    ok(
        &w.cmd(&[
            "close",
            &c6,
            "--reason",
            "reklāma",
            "--now",
            "2026-11-11T14:00:00+02:00",
        ]),
        "close",
    );
    for now in [
        "2026-11-12T17:40:00+02:00", // C9 ack, 40 min late
        "2026-11-17T16:00:00+02:00", // C2 ack
        "2026-11-19T12:30:00+02:00", // C11 opened and answered
        "2026-11-23T18:10:00+02:00", // C7 ack, 10 min after
        "2026-11-27T16:00:00+02:00", // C8 ack
        "2026-11-30T12:00:00+02:00",
    ] {
        w.run(now);
    }

    let args = [
        "report",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--now",
        "2026-11-30T12:00:00+02:00",
    ];
    let js: Value =
        serde_json::from_str(&ok(&w.cmd(&[&args[..], &["--json"]].concat()), "report --json")).unwrap();
    let want = json!({
        "from": "2026-11-01", "to": "2026-11-30", "as_of": "2026-11-30T12:00:00+02:00",
        "cases": {"total": 11, "email": 9, "submission": 2, "closed_by_hand": 1},
        // Due: every case but C6 (closed by hand) and C11 (answered first).
        // Sent: all but C10; on time: all sent but C9 (40 min).
        "ack": {"due": 9, "sent": 8, "on_time": 7, "suppressed": 1},
        // Answered: C1 C2 C3 C4 C5 C9 C10 C11; late C3; C7 overdue, C8 in
        // time; interim C4 and C5. Rate 7 / (8 + 1). Hours sorted:
        // 2 3 3 6 7 10 11.5 25 → rank 4 = 6, rank ⌈7.2⌉ = 8 → 25.
        "reply": {"answered": 8, "on_time": 7, "late": 1, "open_in_time": 1, "open_overdue": 1,
                  "interim": 2, "on_time_rate": 0.7778,
                  "median_working_hours": 6.0, "p90_working_hours": 25.0},
        // Jānis 4 (C1, C4 twice, C11) complete; Līga 2 no contact; Mārtiņš 2 no organisation.
        "signature": {"checked": 8, "compliant": 4, "rate": 0.5,
                      "missing": {"organization": 2, "name": 0, "surname": 0, "contact": 2}},
        "by_staff": [
            {"email": "janis.berzins@sif.gov.lv", "replies": 4, "on_time": 3, "signature_checked": 4, "signature_compliant": 4},
            {"email": "liga.ozolina@sif.gov.lv", "replies": 2, "on_time": 2, "signature_checked": 2, "signature_compliant": 0},
            {"email": "martins.kalnins@sif.gov.lv", "replies": 2, "on_time": 1, "signature_checked": 2, "signature_compliant": 0}
        ],
        "weeks": [
            {"week": "2026-W45", "received": 4, "answered": 4, "on_time": 3},
            {"week": "2026-W46", "received": 3, "answered": 2, "on_time": 2},
            {"week": "2026-W47", "received": 2, "answered": 2, "on_time": 2},
            {"week": "2026-W48", "received": 2, "answered": 0, "on_time": 0}
        ],
        // SPEC §14: none of the month's questions is feedback about the service.
        "feedback": {"cases": 0, "answered": 0, "on_time": 0}
    });
    assert_eq!(js, want, "got:\n{js:#}");

    // The CSV agrees with the JSON, row by row.
    let csv = ok(&w.cmd(&[&args[..], &["--csv"]].concat()), "report --csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,kind,client,received,deadline,first_response,on_time,working_hours,acknowledged,signature_compliant")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 11);
    let received: Vec<&str> = rows.iter().map(|r| r[3]).collect();
    let mut sorted = received.clone();
    sorted.sort();
    assert_eq!(received, sorted, "receipt order");
    let count = |f: &dyn Fn(&Vec<&str>) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    assert_eq!(
        count(&|r| r[1] == "submission"),
        js["cases"]["submission"].as_u64().unwrap()
    );
    assert_eq!(
        count(&|r| !r[5].is_empty()),
        js["reply"]["answered"].as_u64().unwrap()
    );
    assert_eq!(
        count(&|r| r[6] == "true"),
        js["reply"]["on_time"].as_u64().unwrap()
    );
    assert_eq!(count(&|r| r[6] == "false"), js["reply"]["late"].as_u64().unwrap());
    assert_eq!(count(&|r| r[8] == "true"), js["ack"]["sent"].as_u64().unwrap());
    assert_eq!(
        count(&|r| r[9] == "true"),
        3,
        "C1, C4 (interim) and C11 answered first by Jānis, compliant"
    );
    assert_eq!(count(&|r| r[9] == "false"), 4, "C2, C9 (Līga), C3, C10 (Mārtiņš)");
    let c2: &Vec<&str> = rows.iter().find(|r| r[2] == "c2@example.lv").unwrap();
    assert_eq!(
        c2[3..10].to_vec(),
        vec![
            "2026-11-17T15:00:00+02:00",
            "2026-11-20T16:00:00+02:00",
            "2026-11-19T11:00:00+02:00",
            "true",
            "3",
            "true",
            "false"
        ]
    );
    let c5row: &Vec<&str> = rows.iter().find(|r| r[0] == c5).unwrap();
    assert_eq!(
        c5row[4..8].to_vec(),
        vec![
            "2026-11-11T17:00:00+02:00",
            "2026-11-10T12:00:00+02:00",
            "true",
            "11.5"
        ]
    );
    assert_eq!(c5row[9], "", "an extend is no checked staff reply");
    let c6row: &Vec<&str> = rows.iter().find(|r| r[0] == c6).unwrap();
    assert_eq!(c6row[5..8].to_vec(), vec!["", "", ""]);
    let hours: Vec<f64> = rows
        .iter()
        .filter(|r| !r[7].is_empty())
        .map(|r| r[7].parse().unwrap())
        .collect();
    assert_eq!(hours.len(), 8);

    // The table names the numbers too.
    let table = ok(&w.cmd(&args), "report");
    assert!(table.contains("77.8 %") && table.contains("2026-W48"), "{table}");

    // The evidence log: intact, with the timeline of a case.
    let v = ok(&w.cmd(&["audit", "verify"]), "audit verify");
    assert!(v.contains("evidence log intact"), "{v}");
    let tl: Value = serde_json::from_str(&ok(&w.cmd(&["case", "show", &c5, "--json"]), "case show")).unwrap();
    let actions: Vec<&str> = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["opened", "acknowledged", "extended"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert_eq!(tl["first_response_kind"], "extend");
    let text = ok(&w.cmd(&["case", "show", &c5]), "case show");
    assert!(text.contains(&c5) && text.contains("extended"), "{text}");

    // Tamper with one entry: verify names it and fails.
    let db = w.dir.path().join("replygate.db");
    let store = replygate::store::Store::open(&db).unwrap();
    let target: i64 = store
        .conn()
        .query_row(
            "SELECT id FROM audit WHERE case_id = ?1 AND action = 'extended'",
            [&c5],
            |r| r.get(0),
        )
        .unwrap();
    store
        .conn()
        .execute(
            "UPDATE audit SET detail = 'deadline unchanged' WHERE id = ?1",
            [target],
        )
        .unwrap();
    drop(store);
    let out = w.cmd(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("entry {target}:")), "{err}");
}
