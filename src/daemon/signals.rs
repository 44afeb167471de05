//! The signals the daemon answers: SIGTERM/SIGINT stop it, SIGHUP reloads
//! the configuration.

use tokio::signal::unix::{signal, Signal, SignalKind};

pub struct Signals {
    pub term: Signal,
    pub int: Signal,
    pub hup: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}
