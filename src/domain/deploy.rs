//! Deployments and rollbacks as the deploy sources report them.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeployStatus {
    InProgress,
    Succeeded,
    Failed,
    RolledBack,
}

impl DeployStatus {
    pub fn word(self) -> &'static str {
        match self {
            Self::InProgress => "RUNNING",
            Self::Succeeded => "OK",
            Self::Failed => "FAILED",
            Self::RolledBack => "ROLLED BACK",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::InProgress => "◔",
            Self::Succeeded => "✓",
            Self::Failed => "✗",
            Self::RolledBack => "↺",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeployKind {
    Deploy,
    Rollback,
    Migration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deploy {
    pub id: String,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub author: String,
    pub kind: DeployKind,
    pub status: DeployStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What the source adds, shown in the pane: Argo CD's sync state and health on the current
    /// deploy, a GitHub status's description, a command's `note`.
    pub note: String,
}

impl Deploy {
    /// How long it took, or has taken so far.
    pub fn duration(&self, now: DateTime<Utc>) -> Duration {
        self.finished_at.unwrap_or(now) - self.started_at
    }
}

/// Newest first, ties broken by id so the order is stable.
pub fn sort_newest_first(deploys: &mut [Deploy]) {
    deploys.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| a.id.cmp(&b.id)));
}
