//! Case tracking against a real Dovecot, with mail written for these tests
//! (not the corpus): threading, states and deadlines after each sync (SPEC
//! §2), the first start (history), and the admin commands `status`,
//! `close`, `extend` as a user runs them (SPEC §9).

mod support;

use chrono::DateTime;
use serde_json::Value;
use support::mail::{mail, Mail};
use support::world::{t, World};

const SIGNED: &str = "Labdien!\n\nAtbildam uz Jūsu jautājumu: pieteikties var tiešsaistē.\n\n\
Ar cieņu,\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. +371 67078190\n";

fn put(w: &World, folder: &str, m: Mail, at: &str) {
    let d = t(at);
    w.dovecot.append(folder, &m.raw(d), d);
}

/// The one case whose client is `client`.
fn case(st: &Value, client: &str) -> Value {
    let v = World::case_of(st, client);
    assert_eq!(v.len(), 1, "cases of {client}: {st:#}");
    v[0].clone()
}

fn acks_to(w: &World, addr: &str) -> usize {
    w.sent()
        .iter()
        .filter(|m| m.header("Auto-Submitted") == Some("auto-replied") && m.rcpt_to.iter().any(|r| r == addr))
        .count()
}

const ANNA: &str = "anna.test@inbox.lv";
const BRUNO: &str = "bruno@gmail.com";
const DACE: &str = "dace@apollo.lv";
const EMILS: &str = "emils@tvnet.lv";
const FRIDA: &str = "frida@inbox.lv";
const JANIS: &str = "Jānis Bērziņš <janis.berzins@sif.gov.lv>";
const POST: &str = "pasts@sif.gov.lv";

#[test]
fn threads_and_states_after_each_sync() {
    let w = World::new("");
    // Mon 7 Dec 2026 (Riga +02:00). Anna asks; follows up in the thread.
    put(
        &w,
        "INBOX",
        mail(ANNA, POST, "Jautājums par projektu", Some("a1@inbox.lv")),
        "2026-12-07T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(ANNA, POST, "Re: Jautājums par projektu", Some("a2@inbox.lv")).reply_to("a1@inbox.lv"),
        "2026-12-07T12:00:00+02:00",
    );
    // Bruno asks; staff answer later without In-Reply-To/References.
    put(
        &w,
        "INBOX",
        mail(BRUNO, POST, "Par atbalstu", Some("b1@gmail.com")),
        "2026-12-07T11:00:00+02:00",
    );
    // Dace asks; a staff mail to her in an unknown thread answers nothing.
    put(
        &w,
        "INBOX",
        mail(DACE, POST, "Dotācijas termiņš", Some("d1@apollo.lv")),
        "2026-12-07T11:30:00+02:00",
    );
    // Emils writes after closing time: acknowledged at once.
    put(
        &w,
        "INBOX",
        mail(EMILS, POST, "Vai varu iesniegt vēlāk", Some("e1@tvnet.lv")),
        "2026-12-07T19:00:00+02:00",
    );

    w.run("2026-12-07T12:30:00+02:00");
    let st = w.status("2026-12-07T12:30:00+02:00");
    let anna = case(&st, ANNA);
    assert_eq!(anna["state"], "open");
    assert_eq!(anna["received"], "2026-12-07T10:00:00+02:00");
    // Received Monday: due Wednesday's closing time; the follow-up joined
    // and left the deadline alone.
    assert_eq!(anna["deadline"], "2026-12-09T17:00:00+02:00");
    assert_eq!(case(&st, BRUNO)["state"], "open");
    assert_eq!(
        st["cases"].as_array().unwrap().len(),
        3,
        "Emils's mail is not received yet: {st:#}"
    );

    // Tue 8 Dec: staff answer Anna (in the thread), Bruno (subject only),
    // and write to Dace in a thread nobody knows, with another subject.
    put(
        &w,
        "Sent",
        mail(
            JANIS,
            ANNA,
            "RE: Re: Jautājums par projektu",
            Some("s1@sif.gov.lv"),
        )
        .reply_to("a2@inbox.lv")
        .body(SIGNED),
        "2026-12-08T10:00:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(
            JANIS,
            &format!("Bruno <{BRUNO}>"),
            "Atb: RE: Fw: Par atbalstu",
            Some("s2@sif.gov.lv"),
        )
        .body(SIGNED),
        "2026-12-08T10:10:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(JANIS, DACE, "Ielūgums uz semināru", Some("s3@sif.gov.lv"))
            .reply_to("nobody-knows@elsewhere.lv")
            .body(SIGNED),
        "2026-12-08T10:20:00+02:00",
    );
    // Anna's out-of-office answers the staff reply: automatic, in the
    // thread of an answered case.
    put(
        &w,
        "INBOX",
        mail(
            ANNA,
            POST,
            "Automātiskā atbilde: RE: Re: Jautājums par projektu",
            Some("oof1@inbox.lv"),
        )
        .reply_to("s1@sif.gov.lv")
        .h("Auto-Submitted", "auto-replied")
        .h("X-Auto-Response-Suppress", "All")
        .body("Esmu atvaļinājumā līdz 14. decembrim.\n"),
        "2026-12-08T10:01:00+02:00",
    );

    w.run("2026-12-07T20:00:00+02:00");
    assert_eq!(acks_to(&w, EMILS), 1, "after-hours mail is acknowledged at once");
    let ack = w
        .sent()
        .into_iter()
        .find(|m| m.rcpt_to.iter().any(|r| r == EMILS))
        .unwrap();
    let ack_id = ack.header("Message-ID").unwrap().trim().to_string();
    assert!(ack_id.ends_with("@sif.gov.lv>"), "{ack_id}");
    let ack_bare = ack_id.trim_start_matches('<').trim_end_matches('>').to_string();

    w.run("2026-12-08T11:00:00+02:00");
    let st = w.status("2026-12-08T11:00:00+02:00");
    let anna = case(&st, ANNA);
    assert_eq!(anna["state"], "answered", "{anna:#}");
    assert_eq!(anna["answered_at"], "2026-12-08T10:00:00+02:00");
    let bruno = case(&st, BRUNO);
    assert_eq!(bruno["state"], "answered", "subject fallback: {bruno:#}");
    assert_eq!(bruno["answered_at"], "2026-12-08T10:10:00+02:00");
    let dace = case(&st, DACE);
    assert_eq!(
        dace["state"], "open",
        "a reply in an unknown thread answers nothing"
    );
    assert_eq!(dace["answered_at"], Value::Null);
    assert_eq!(case(&st, ANNA)["state"], "answered", "the OOF did not reopen it");
    assert_eq!(st["cases"].as_array().unwrap().len(), 4, "{st:#}");

    // Emils answers our acknowledgement (In-Reply-To = its Message-ID,
    // another subject): joins his case, no new case.
    put(
        &w,
        "INBOX",
        mail(EMILS, POST, "Papildu informācija", Some("e2@tvnet.lv")).reply_to(&ack_bare),
        "2026-12-08T11:30:00+02:00",
    );
    // Thu 10 Dec: Anna writes again in the thread: reopened, new deadline
    // counted from Thursday (Fri, Mon → Mon 14 Dec 18:00).
    put(
        &w,
        "INBOX",
        mail(
            ANNA,
            POST,
            "Re: RE: Re: Jautājums par projektu",
            Some("a3@inbox.lv"),
        )
        .reply_to("s1@sif.gov.lv"),
        "2026-12-10T11:00:00+02:00",
    );
    w.run("2026-12-08T12:00:00+02:00");
    let st = w.status("2026-12-08T12:00:00+02:00");
    assert_eq!(
        st["cases"].as_array().unwrap().len(),
        4,
        "the reply to the ack opened a case: {st:#}"
    );
    let emils = case(&st, EMILS);
    assert_eq!(emils["state"], "open");
    assert_eq!(
        emils["deadline"], "2026-12-09T17:00:00+02:00",
        "deadline unchanged by the follow-up"
    );
    assert_eq!(case(&st, ANNA)["state"], "answered", "mail after `now` waits");

    w.run("2026-12-10T11:30:00+02:00");
    let st = w.status("2026-12-10T11:30:00+02:00");
    let anna = case(&st, ANNA);
    assert_eq!(anna["state"], "open", "{anna:#}");
    assert_eq!(anna["deadline"], "2026-12-14T18:00:00+02:00");
    assert_eq!(
        anna["received"], "2026-12-07T10:00:00+02:00",
        "received stays the opening mail's"
    );
    assert_eq!(anna["answered_at"], "2026-12-08T10:00:00+02:00");
    assert_eq!(anna["overdue"], false);
    assert_eq!(st["cases"].as_array().unwrap().len(), 4);
    // Dace's case is overdue now (due Wed 9 Dec 17:00).
    assert_eq!(case(&st, DACE)["overdue"], true);
}

/// First start without `reply.start_from`: what came before is history.
#[test]
fn first_start_records_history() {
    let w = World::new("[reply]\ntrusted_authserv_id = \"mx.sif.gov.lv\"\n");
    put(
        &w,
        "INBOX",
        mail(ANNA, POST, "Vecs jautājums", Some("h1@inbox.lv")),
        "2026-11-02T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(BRUNO, POST, "Cits vecs jautājums", Some("h2@gmail.com")),
        "2026-11-03T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(DACE, POST, "Pēc pulksten 17", Some("h3@apollo.lv")),
        "2026-11-16T19:00:00+02:00",
    );

    // The first run is at 20:00 on Mon 16 Nov: everything above is history.
    w.run("2026-11-16T20:00:00+02:00");
    let st = w.status("2026-11-16T20:00:00+02:00");
    assert_eq!(st["cases"].as_array().unwrap().len(), 0, "{st:#}");
    assert!(w.sent().is_empty(), "history got mail: {:?}", w.sent().len());

    // Anna writes anew with the same subject (a new case); a staff reply
    // in the old history thread answers nothing, not even her new case; a
    // client follow-up to history opens a new case; new mail opens a case.
    put(
        &w,
        "INBOX",
        mail(ANNA, POST, "Vecs jautājums", Some("h1b@inbox.lv")),
        "2026-11-17T09:30:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(JANIS, ANNA, "RE: Vecs jautājums", Some("hs1@sif.gov.lv"))
            .reply_to("h1@inbox.lv")
            .body(SIGNED),
        "2026-11-17T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(BRUNO, POST, "Re: Cits vecs jautājums", Some("h2b@gmail.com")).reply_to("h2@gmail.com"),
        "2026-11-17T10:30:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(EMILS, POST, "Jauns jautājums", Some("n1@tvnet.lv")),
        "2026-11-17T11:00:00+02:00",
    );
    w.run("2026-11-17T12:00:00+02:00");
    w.run("2026-11-17T16:00:00+02:00");
    let st = w.status("2026-11-17T16:00:00+02:00");
    assert_eq!(st["cases"].as_array().unwrap().len(), 3, "{st:#}");
    let anna = case(&st, ANNA);
    assert_eq!(
        anna["state"], "open",
        "a reply in a history thread answered a case: {anna:#}"
    );
    assert_eq!(anna["received"], "2026-11-17T09:30:00+02:00");
    let bruno = case(&st, BRUNO);
    assert_eq!(bruno["state"], "open");
    assert_eq!(bruno["received"], "2026-11-17T10:30:00+02:00");
    assert_eq!(case(&st, EMILS)["state"], "open");
    assert!(World::case_of(&st, DACE).is_empty());
    // Tue 17 Nov closes early (the day before 18 Nov): acks at 16:00, none to history.
    assert_eq!(acks_to(&w, BRUNO), 1);
    assert_eq!(acks_to(&w, EMILS), 1);
    assert_eq!(acks_to(&w, ANNA), 1, "her new case only");
    assert_eq!(acks_to(&w, DACE), 0);
}

/// `reply.start_from` as a date (local midnight) and as an instant.
#[test]
fn start_from_sets_the_cutoff() {
    for (start, before, after) in [
        (
            "2026-11-10",
            "2026-11-09T23:30:00+02:00",
            "2026-11-10T00:30:00+02:00",
        ),
        (
            "2026-11-10T12:00:00+02:00",
            "2026-11-10T11:59:00+02:00",
            "2026-11-10T12:01:00+02:00",
        ),
    ] {
        let w = World::new(&format!("[reply]\nstart_from = \"{start}\"\n"));
        put(
            &w,
            "INBOX",
            mail(ANNA, POST, "Pirms", Some("p1@inbox.lv")),
            before,
        );
        put(&w, "INBOX", mail(BRUNO, POST, "Pēc", Some("p2@gmail.com")), after);
        // The first run is much later: the cutoff is start_from, not it.
        w.run("2026-11-12T10:00:00+02:00");
        let st = w.status("2026-11-12T10:00:00+02:00");
        assert_eq!(
            st["cases"].as_array().unwrap().len(),
            1,
            "start_from {start}: {st:#}"
        );
        assert_eq!(case(&st, BRUNO)["received"], after);
        assert_eq!(acks_to(&w, ANNA), 0);
    }
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `status --json` shape, `status` without --all, `close`, `extend`.
#[test]
fn admin_commands() {
    let w = World::new("");
    put(
        &w,
        "INBOX",
        mail(ANNA, POST, "Jautājums", Some("c1@inbox.lv")),
        "2026-12-07T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(BRUNO, POST, "Otrs jautājums", Some("c2@gmail.com")),
        "2026-12-07T10:05:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(DACE, POST, "Iesniegums par atbalstu", Some("c3@apollo.lv")),
        "2026-12-07T10:10:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(EMILS, POST, "Atbildēts", Some("c4@tvnet.lv")),
        "2026-12-07T10:15:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(FRIDA, POST, "Kontrolei", Some("c5@inbox.lv")),
        "2026-12-07T10:20:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(JANIS, EMILS, "RE: Atbildēts", Some("c4r@sif.gov.lv"))
            .reply_to("c4@tvnet.lv")
            .body(SIGNED),
        "2026-12-07T11:00:00+02:00",
    );
    w.run("2026-12-07T11:30:00+02:00");

    // The JSON shape of SPEC §9.
    let st = w.status("2026-12-07T11:30:00+02:00");
    let cases = st["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    let id_re = regex::Regex::new(r"^SIF-2026-\d{5}$").unwrap();
    for c in cases {
        for k in ["id", "client", "subject", "received", "deadline", "state", "kind"] {
            assert!(c[k].is_string(), "{k} not a string: {c:#}");
        }
        for k in ["acknowledged_at", "answered_at"] {
            assert!(c[k].is_null() || c[k].is_string(), "{k}: {c:#}");
        }
        for k in ["extended", "overdue"] {
            assert!(c[k].is_boolean(), "{k}: {c:#}");
        }
        assert!(["open", "answered", "closed"].contains(&c["state"].as_str().unwrap()));
        assert!(["email", "submission"].contains(&c["kind"].as_str().unwrap()));
        let id = c["id"].as_str().unwrap();
        assert!(id_re.is_match(id), "{id}");
        for k in ["received", "deadline"] {
            DateTime::parse_from_rfc3339(c[k].as_str().unwrap()).unwrap();
        }
    }
    let anna = case(&st, ANNA);
    assert_eq!(anna["acknowledged_at"], Value::Null);
    assert_eq!(anna["answered_at"], Value::Null);
    assert_eq!(anna["kind"], "email");
    assert_eq!(case(&st, DACE)["kind"], "submission");
    let emils = case(&st, EMILS);
    assert_eq!(emils["state"], "answered");
    assert_eq!(emils["answered_at"], "2026-12-07T11:00:00+02:00");

    // `status` without --all: open cases only (JSON and text).
    let out = w.cmd(&["status", "--json", "--now", "2026-12-07T11:30:00+02:00"]);
    assert_eq!(code(&out), 0);
    let open: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(open["cases"].as_array().unwrap().len(), 4, "{open:#}");
    assert!(World::case_of(&open, EMILS).is_empty());
    let text = String::from_utf8(w.cmd(&["status", "--now", "2026-12-07T11:30:00+02:00"]).stdout).unwrap();
    assert!(text.contains(anna["id"].as_str().unwrap()), "{text}");
    assert!(!text.contains(emils["id"].as_str().unwrap()), "{text}");

    // Close Anna's case before its acknowledgement would go.
    let anna_id = anna["id"].as_str().unwrap().to_string();
    let bruno_id = case(&st, BRUNO)["id"].as_str().unwrap().to_string();
    let out = w.cmd(&[
        "close",
        &anna_id,
        "--reason",
        "atbildēts pa tālruni",
        "--now",
        "2026-12-07T12:00:00+02:00",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let st = w.status("2026-12-07T12:00:00+02:00");
    let a = case(&st, ANNA);
    assert_eq!(a["state"], "closed");
    assert_eq!(a["overdue"], false);
    let open: Value = serde_json::from_slice(&w.cmd(&["status", "--json"]).stdout).unwrap();
    assert!(World::case_of(&open, ANNA).is_empty());
    // Audited, with who and why.
    let store = replygate::store::Store::open(&w.dir.path().join("replygate.db")).unwrap();
    let audit = store.read().audit_for(&anna_id).unwrap();
    let closed = audit.iter().find(|r| r.action == "closed").expect("audit row");
    assert_eq!(closed.detail, "atbildēts pa tālruni");
    assert!(closed.actor.starts_with("admin:"), "{}", closed.actor);
    drop(store);
    // Closing twice is refused.
    let out = w.cmd(&["close", &anna_id, "--reason", "x"]);
    assert_eq!(code(&out), 2);

    // Extend Bruno's case to Fri 18 Dec: that day's closing time.
    let out = w.cmd(&[
        "extend",
        &bruno_id,
        "--until",
        "2026-12-18",
        "--reason",
        "starpatbilde pa tālruni",
        "--now",
        "2026-12-07T12:05:00+02:00",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let st = w.status("2026-12-10T12:00:00+02:00");
    let b = case(&st, BRUNO);
    assert_eq!(b["deadline"], "2026-12-18T16:00:00+02:00");
    assert_eq!(b["extended"], true);
    assert_eq!(b["overdue"], false);

    // Refusals: exit 2 with a message.
    let dace_id = case(&st, DACE)["id"].as_str().unwrap().to_string();
    let now = "2026-12-07T12:10:00+02:00";
    for (args, needle) in [
        (
            vec![
                "extend",
                &bruno_id,
                "--until",
                "2026-12-01",
                "--reason",
                "r",
                "--now",
                now,
            ],
            "past",
        ),
        (
            vec![
                "extend",
                "SIF-2026-99999",
                "--until",
                "2026-12-20",
                "--reason",
                "r",
                "--now",
                now,
            ],
            "SIF-2026-99999",
        ),
        (
            vec![
                "extend",
                &dace_id,
                "--until",
                "2027-05-07",
                "--reason",
                "r",
                "--now",
                now,
            ],
            "four months",
        ),
    ] {
        let out = w.cmd(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // Within four months is fine for the submission.
    let out = w.cmd(&[
        "extend",
        &dace_id,
        "--until",
        "2027-03-05",
        "--reason",
        "r",
        "--now",
        now,
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));

    // Nothing is sent about the closed case, while Frida's (open, not
    // extended) gets an acknowledgement at Monday's closing time, a reminder
    // and an escalation; none of these for Anna's.
    for now in [
        "2026-12-07T18:00:00+02:00",
        "2026-12-09T13:00:00+02:00",
        "2026-12-09T17:00:00+02:00",
        "2026-12-10T09:00:00+02:00",
    ] {
        w.run(now);
    }
    let sent = w.sent();
    assert_eq!(acks_to(&w, FRIDA), 1);
    let frida_id = case(&st, FRIDA)["id"].as_str().unwrap().to_string();
    let about_frida = sent
        .iter()
        .filter(|m| m.header("Auto-Submitted") == Some("auto-generated"))
        .filter(|m| String::from_utf8_lossy(&m.raw).contains(&frida_id))
        .count();
    assert!(
        about_frida >= 2,
        "reminder and escalation for the control case: {about_frida}"
    );
    for m in &sent {
        assert!(
            !m.rcpt_to.iter().any(|r| r == ANNA),
            "mail to the client of a closed case: {}",
            String::from_utf8_lossy(&m.raw)
        );
        let raw = String::from_utf8_lossy(&m.raw);
        assert!(!raw.contains(&anna_id), "mail about the closed case: {raw}");
    }
}
