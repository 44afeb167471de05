//! `replygate check-signature FILE [--json]` end to end: a complete config in
//! a temp dir, a compliant and a non-compliant message, and the error exits.

use std::path::Path;
use std::process::Command;

fn write_config(dir: &Path) -> std::path::PathBuf {
    let secret = dir.join("imap-password");
    std::fs::write(&secret, "secret\n").unwrap();
    let cfg = dir.join("replygate.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[organization]
name = "Sabiedrības integrācijas fonds"
aliases = ["SIF"]
domains = ["sif.gov.lv"]
case_prefix = "SIF"
phone = "+371 67078190"
website = "www.sif.gov.lv"

[imap]
host = "127.0.0.1"
port = 993
security = "tls"
username = "pasts@sif.gov.lv"
password_file = "{secret}"

[smtp]
host = "127.0.0.1"
port = 587
security = "starttls"
username = "pasts@sif.gov.lv"
password_file = "{secret}"
from = "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>"

[reminders]
team = "klienti@sif.gov.lv"

[storage]
database = "{db}"

[signature]
require = ["organization", "name", "surname", "contact"]

[[staff]]
email = "janis.berzins@sif.gov.lv"
name = "Jānis"
surname = "Bērziņš"
phone = "+371 67078190"
"#,
            secret = secret.display(),
            db = dir.join("replygate.db").display(),
        ),
    )
    .unwrap();
    cfg
}

fn mail(body: &str) -> String {
    format!(
        "From: =?utf-8?q?J=C4=81nis_B=C4=93rzi=C5=86=C5=A1?= <Janis.Berzins@sif.gov.lv>\r\nTo: anna@inbox.lv\r\nSubject: Atb: jautajums\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_replygate"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_signature_cli() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let cfg = cfg.to_str().unwrap();

    let good = dir.path().join("good.eml");
    std::fs::write(
        &good,
        mail("Atbilde.\r\n\r\nAr cieņu\r\nJānis Bērziņš\r\nSabiedrības integrācijas fonds\r\nTālr.: +371 67078190\r\n"),
    )
    .unwrap();
    let (code, out, err) = run(&["-c", cfg, "check-signature", good.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.trim(),
        r#"{"compliant": true, "missing": [], "author": "janis.berzins@sif.gov.lv"}"#
    );

    let bad = dir.path().join("bad.eml");
    std::fs::write(
        &bad,
        mail("Atbilde.\r\n\r\nAr cieņu\r\nJānis Bērziņš\r\nSabiedrības integrācijas fonds\r\n\r\nNo: Anna <anna@inbox.lv>\r\nNosūtīts: pirmdiena\r\nKam: pasts@sif.gov.lv\r\nTēma: x\r\n\r\ntālr. 29123456\r\n"),
    )
    .unwrap();
    let (code, out, _) = run(&["-c", cfg, "check-signature", bad.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    assert_eq!(
        out.trim(),
        r#"{"compliant": false, "missing": ["contact"], "author": "janis.berzins@sif.gov.lv"}"#
    );
    // Human output names what is missing and shows a correct signature.
    let (code, out, _) = run(&["-c", cfg, "check-signature", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("lacks contact"), "{out}");
    assert!(out.contains("Tālr.: +371 67078190"), "{out}");

    // Unreadable file, bad config: exit 2.
    let missing = dir.path().join("nope.eml");
    let (code, _, err) = run(&["-c", cfg, "check-signature", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.eml"), "{err}");
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[organization\nname=").unwrap();
    let (code, _, _) = run(&[
        "-c",
        broken.to_str().unwrap(),
        "check-signature",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
}

#[test]
fn corpus_example_from_readme() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let corpus = if corpus.exists() {
        corpus
    } else {
        Path::new("/work/shared/corpus").to_path_buf()
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let file = corpus.join("mail/16-staff-gmail-style-missing-contact.eml");
    let (code, out, err) = run(&[
        "-c",
        cfg.to_str().unwrap(),
        "check-signature",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["compliant"], false);
    assert_eq!(v["missing"], serde_json::json!(["contact"]));
    assert_eq!(v["author"], "liga.ozolina@sif.gov.lv");
}
