//! Deploy sources: GitHub deployments with their latest status (`github`), an Argo CD
//! application's sync state, health and history (`argocd`), and a command printing the history as
//! JSON (`command`). Each `[[deploys]]` entry is its own source and task, polled every 30 s (sooner
//! on Ctrl-R) with jittered backoff after failures; the history travels as `SourceData::Deploys`.
//! Nothing here touches `AppState` except registering the sources once, at startup.

pub mod argocd;
pub mod command;
pub mod github;
pub mod rollback;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use super::clock::TimeSource;
use super::http::{Backoff, ClientError, body_snippet};
use crate::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use crate::app::state::AppState;
use crate::config::DeployConfig;
use crate::domain::deploy::{Deploy, sort_newest_first};
use crate::domain::health::{FetchError, FetchErrorKind, SourceHealth};
use crate::domain::sanitize::one_line;

pub use argocd::ArgoCdSource;
pub use command::CommandSource;
pub use github::GithubSource;

/// Pause between polls while all is well.
pub const INTERVAL: Duration = Duration::from_secs(30);
/// Backoff after failures: from this, doubling, at most `BACKOFF_CAP` (jittered).
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// Most deploys one poll reports (the pane keeps its own cap).
pub const MAX_DEPLOYS: usize = 50;

/// Why a poll of a deploy source failed. Shown as the source's error (`into_fetch_error`).
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The request did not complete (connect, timeout, size cap).
    #[error("{0}")]
    Fetch(FetchError),
    /// The API answered with an error status; `detail` is the body's message.
    #[error("HTTP {code} from {what}: {detail}")]
    Status { what: String, code: u16, detail: String },
    /// The answer is not the JSON expected; the serde error names the line and column.
    #[error("bad JSON from {what}: {source}")]
    Json { what: String, source: serde_json::Error },
    /// A value in otherwise valid JSON that cannot be used.
    #[error("bad {what}: {detail}")]
    Invalid { what: String, detail: String },
    /// The command could not be run, failed, or took too long.
    #[error("{0}")]
    Command(#[from] command::CommandError),
}

impl DeployError {
    /// An error status with the body's message as the detail.
    pub fn status(what: impl Into<String>, code: u16, body: &[u8]) -> Self {
        Self::Status {
            what: what.into(),
            code,
            detail: body_snippet(body),
        }
    }

    pub fn into_fetch_error(self) -> FetchError {
        match self {
            Self::Fetch(e) => e,
            Self::Status { what, code, detail } => {
                FetchError::new(FetchErrorKind::Status(code), one_line(&format!("{what}: {detail}")))
            }
            Self::Json { .. } | Self::Invalid { .. } => {
                FetchError::new(FetchErrorKind::Decode, one_line(&self.to_string()))
            }
            Self::Command(e) => e.into_fetch_error(),
        }
    }
}

/// Where one `[[deploys]]` entry reads its history.
#[derive(Debug, Clone)]
pub enum DeploySource {
    Github(GithubSource),
    ArgoCd(ArgoCdSource),
    Command(CommandSource),
}

impl DeploySource {
    /// The current history, newest first, at most `MAX_DEPLOYS`.
    pub async fn fetch(&self) -> Result<Vec<Deploy>, DeployError> {
        let mut deploys = match self {
            Self::Github(s) => s.fetch().await?,
            Self::ArgoCd(s) => s.fetch().await?,
            Self::Command(s) => s.fetch().await?,
        };
        sort_newest_first(&mut deploys);
        deploys.truncate(MAX_DEPLOYS);
        Ok(deploys)
    }
}

/// One configured deploy source, ready to run.
#[derive(Debug, Clone)]
pub struct DeployFeed {
    pub source: SourceId,
    pub name: String,
    pub kind: DeploySource,
    pub interval: Duration,
    pub backoff: Backoff,
}

impl DeployFeed {
    pub fn new(source: SourceId, name: &str, kind: DeploySource) -> Self {
        Self {
            source,
            name: name.to_string(),
            kind,
            interval: INTERVAL,
            backoff: Backoff::new(BACKOFF_BASE, BACKOFF_CAP, seed(name)),
        }
    }

    /// One poll as the message the cockpit gets.
    pub async fn poll_once(&self, at: DateTime<Utc>) -> SourceUpdate {
        let result = self
            .kind
            .fetch()
            .await
            .map(SourceData::Deploys)
            .map_err(DeployError::into_fetch_error);
        SourceUpdate {
            source: self.source,
            at,
            result,
        }
    }

    /// Polls until the cockpit is gone (the channel closes) or the task is aborted.
    pub async fn run(mut self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        loop {
            let update = self.poll_once(time.now()).await;
            let wait = if update.result.is_ok() {
                self.backoff.reset();
                self.interval
            } else {
                self.backoff.next_delay()
            };
            if tx.send(Msg::Source(update)).await.is_err() {
                return;
            }
            let go_on = tokio::select! {
                _ = tokio::time::sleep(wait) => !tx.is_closed(),
                changed = refresh.changed() => changed.is_ok() && !tx.is_closed(),
                () = tx.closed() => false,
            };
            if !go_on {
                return;
            }
        }
    }
}

/// What the sources need besides their own config entry.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `[service].name`: the service of deploys whose source does not say.
    pub service: &'a str,
    /// `[service].environment`: the environment of Argo CD deploys.
    pub environment: &'a str,
    /// Relative paths (token_file, ca_file, the command's working directory) are read from here.
    pub base_dir: &'a Path,
}

/// Registers every enabled `[[deploys]]` entry as its own source and builds its feed. An entry
/// whose client cannot be built (an unreadable CA file, an unset token variable) is shown disabled
/// with the reason; the others still run.
pub fn build(
    configs: &[DeployConfig],
    context: Context<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    state: &mut AppState,
) -> Vec<DeployFeed> {
    let mut feeds = Vec::new();
    for config in configs.iter().filter(|c| c.enabled) {
        let id = state.add_source(SourceKind::Deploys, config.name.clone());
        if let Some(via) = config.rollback_via() {
            state.deploys.rollback.insert(config.name.clone(), via);
        }
        if let Some(length) = config.canary.and_then(|d| chrono::Duration::from_std(d.0).ok()) {
            state.deploys.canary.insert(config.name.clone(), length);
        }
        match source_of(config, context, env) {
            Ok(kind) => feeds.push(DeployFeed::new(id, &config.name, kind)),
            Err(reason) => {
                if let Some(s) = state.sources.get_mut(id.0) {
                    s.health = SourceHealth::Disabled { reason };
                }
            }
        }
    }
    feeds
}

fn source_of(
    config: &DeployConfig,
    context: Context<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DeploySource, String> {
    let shown = |e: ClientError| e.to_string();
    if let Some(github) = &config.github {
        GithubSource::from_config(&config.name, github, context.base_dir, env)
            .map(DeploySource::Github)
            .map_err(shown)
    } else if let Some(argocd) = &config.argocd {
        ArgoCdSource::from_config(&config.name, argocd, context.environment, context.base_dir, env)
            .map(DeploySource::ArgoCd)
            .map_err(shown)
    } else if let Some(argv) = config.command.as_ref().filter(|a| !a.is_empty()) {
        Ok(DeploySource::Command(CommandSource::new(
            &config.name,
            argv.clone(),
            context.service,
            Some(context.base_dir),
        )))
    } else {
        Err("needs one of github, argocd or command".into())
    }
}

/// A seed for a source's backoff jitter, so several sources do not retry in step.
fn seed(name: &str) -> u64 {
    name.bytes()
        .fold(u64::from(std::process::id()) ^ 0x2545_F491_4F6C_DD1D, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        })
}

/// A full 40-hex commit id shortened to 7 characters; anything else as it is.
pub fn short_revision(revision: &str) -> String {
    let r = revision.trim();
    if r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        r[..7].to_string()
    } else {
        one_line(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_commit_ids_are_shortened_and_refs_kept() {
        assert_eq!(short_revision("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"), "a84d88e");
        assert_eq!(short_revision("v1.4.2"), "v1.4.2");
        assert_eq!(short_revision("a84d88e"), "a84d88e");
    }

    #[test]
    fn errors_become_what_the_pane_shows() {
        let e = DeployError::status("GitHub deployments", 401, br#"{"message":"Bad credentials"}"#);
        let f = e.into_fetch_error();
        assert_eq!(f.kind, FetchErrorKind::Status(401));
        assert_eq!(f.to_string(), "HTTP 401: GitHub deployments: Bad credentials");
    }
}
