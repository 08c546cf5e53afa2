//! Diagnostics go to a daily rolling file under the data directory, never to the terminal.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;

/// Starts file logging at the level in `WARROOM_LOG` (default `info`). Keep the guard alive until
/// exit so buffered lines are written.
pub fn init(log_dir: &Path, filter: Option<String>) -> std::io::Result<WorkerGuard> {
    std::fs::create_dir_all(log_dir)?;
    let appender = tracing_appender::rolling::daily(log_dir, "warroom.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or_else(|| "info".into()))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    Ok(guard)
}
