//! The daemon (`replygate run`): cycles on new mail and on due times.
//! Placeholder loop: one cycle every `imap.poll_interval`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use crate::config::Config;
use crate::pipeline::{self, Context};
use crate::store::Store;

pub async fn run(_path: PathBuf, cfg: Config) -> ExitCode {
    let ctx = match Context::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e:#}");
            return ExitCode::from(2);
        }
    };
    let mut store = match Store::open(&ctx.cfg.storage.database) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    loop {
        match pipeline::run_once(&ctx, &mut store, Utc::now(), false).await {
            Ok(r) => tracing::info!("cycle done: {r}"),
            Err(e) => tracing::warn!("cycle failed, will retry: {e:#}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.cfg.imap.poll_interval.std()) => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        }
    }
}
