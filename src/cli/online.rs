//! `check-config --online`: log in to the IMAP and SMTP servers as the
//! daemon would (fetching an OAuth 2.0 token where configured) and say,
//! per server, what worked or exactly what failed. Never prints a secret.

use std::process::ExitCode;

use crate::auth::Logins;
use crate::config::Config;
use crate::inbound::imap;
use crate::outbound::smtp::Mailer;

/// One line per step; exit 0 when everything worked, 1 otherwise.
pub fn check_online(cfg: &Config) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let ok = rt.block_on(run(cfg));
    if ok {
        println!("online check: OK");
        ExitCode::SUCCESS
    } else {
        println!("online check: FAILED");
        ExitCode::from(1)
    }
}

async fn run(cfg: &Config) -> bool {
    let logins = match Logins::from_config(cfg) {
        Ok(l) => l,
        Err(e) => {
            println!("credentials: FAILED: {e}");
            return false;
        }
    };
    let mut ok = true;
    if let Some(t) = &logins.tokens {
        match t.token().await {
            Ok(_) => println!("OAuth 2.0 token from {}: ok", t.url()),
            Err(e) => {
                println!("OAuth 2.0 token: FAILED: {e}");
                ok = false;
            }
        }
    }

    let server = format!("{}:{}", cfg.imap.host.trim(), cfg.imap.port);
    let how = if cfg.imap.auth.is_oauth() {
        crate::auth::sasl::mechanism_name(cfg.imap.auth)
    } else {
        "password"
    };
    match imap::connect_with(&cfg.imap, &logins.imap).await {
        Ok(mut s) => {
            println!("IMAP {server}: logged in as {} ({how})", cfg.imap.username);
            match s.supports_idle().await {
                Ok(true) => println!("IMAP {server}: IDLE supported"),
                Ok(false) => {
                    println!("IMAP {server}: no IDLE: the folders will be polled every imap.poll_interval")
                }
                Err(e) => {
                    println!("IMAP {server}: CAPABILITY FAILED: {e}");
                    ok = false;
                }
            }
            for folder in cfg.imap.inbox.iter().chain(cfg.imap.sent.iter()) {
                match s.examine(folder).await {
                    Ok(st) => println!("IMAP {server}: folder \"{folder}\": ok ({} messages)", st.exists),
                    Err(e) => {
                        println!("IMAP {server}: folder \"{folder}\": FAILED: {e}");
                        ok = false;
                    }
                }
            }
            if let Some(f) = &cfg.smtp.save_copy_to {
                match s.examine(f).await {
                    Ok(_) => println!("IMAP {server}: smtp.save_copy_to folder \"{f}\": ok"),
                    Err(e) => {
                        println!("IMAP {server}: smtp.save_copy_to folder \"{f}\": FAILED: {e}");
                        ok = false;
                    }
                }
            }
            s.logout().await;
        }
        Err(e) => {
            println!("IMAP {server}: FAILED: {e}");
            ok = false;
        }
    }

    let server = format!("{}:{}", cfg.smtp.host.trim(), cfg.smtp.port);
    match Mailer::with_login(&cfg.smtp, logins.smtp.clone()) {
        Ok(m) => match m.check_login().await {
            Ok(what) => println!("SMTP {server}: {what}"),
            Err(e) => {
                println!("SMTP {server}: FAILED: {e}");
                ok = false;
            }
        },
        Err(e) => {
            println!("SMTP {server}: FAILED: {e}");
            ok = false;
        }
    }
    ok
}
