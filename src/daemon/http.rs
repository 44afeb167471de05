//! The HTTP listener (`[http] listen`): hyper's HTTP/1.1 server running
//! the axum router of [`crate::web`], with the bounds SPEC §11.4 asks for.
//!
//! - Every connection is its own task, so idle or slow clients never hold
//!   up others; at most [`MAX_CONNECTIONS`] are served at once (more wait
//!   in the listen backlog).
//! - The request head must arrive within [`READ_TIMEOUT`] and fit in
//!   [`MAX_REQUEST`] bytes: hyper answers 431 to a larger one and 400 to
//!   garbage; the router answers 405 to a method other than GET/HEAD.
//! - One request per connection (no keep-alive), and a whole connection
//!   gets at most [`CONNECTION_TIMEOUT`].

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Largest request head accepted (hyper's minimum buffer is 8 KiB).
pub const MAX_REQUEST: usize = 16 * 1024;
/// Time allowed for the request head to arrive.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole connection (a report of ten years included).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;

/// Serve `listener` forever (until the task is aborted).
pub async fn serve(listener: TcpListener, app: axum::Router) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait a little.
                tracing::warn!(error = %e, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let svc = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .max_buf_size(MAX_REQUEST)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
            drop(permit);
        });
    }
}
