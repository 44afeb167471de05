//! systemd notifications (`Type=notify`): READY, STATUS, WATCHDOG,
//! RELOADING, STOPPING. Without `NOTIFY_SOCKET` every call is a no-op; a
//! failure to notify is logged at debug level and otherwise ignored (the
//! daemon's work never depends on it).

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "systemd notification failed");
    }
}

/// READY=1 (after the first successful sync) with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// STATUS=... (one line; newlines are replaced).
pub fn status(text: &str) {
    let line = text.replace('\n', " ");
    send(&[NotifyState::Status(&line)]);
}

/// WATCHDOG=1.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// RELOADING=1 with the monotonic timestamp systemd asks for.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(t) => send(&[NotifyState::Reloading, t]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// READY=1 after a reload, with the outcome as status.
pub fn reloaded(status: &str) {
    ready(status);
}

/// STOPPING=1.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// How often to send WATCHDOG=1: half of `WATCHDOG_USEC`, when set for us.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| (d / 2).max(Duration::from_millis(100)))
}
