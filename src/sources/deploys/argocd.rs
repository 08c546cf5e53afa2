//! An Argo CD application as a deploy source: `GET /api/v1/applications/{name}` read for its sync
//! state, health, running or failed operation and `status.history` (Argo CD keeps no history
//! endpoint of its own). History entries become deploys, newest first; the current one carries the
//! application's health as its status. Error bodies (grpc-gateway `{"error","code","message"}`)
//! become the source's error.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::rollback::failure;
use super::{DeployError, short_revision};
use crate::config::{ArgoCdConfig, HttpSource};
use crate::domain::deploy::{Deploy, DeployKind, DeployStatus};
use crate::domain::rollback::RollbackFailure;
use crate::domain::sanitize::one_line;
use crate::sources::http::{ClientError, Endpoint};

#[derive(Debug, Clone)]
pub struct ArgoCdSource {
    /// Prefixes the deploy ids (`{name}/{history id}`).
    pub name: String,
    pub endpoint: Endpoint,
    /// The application's name; also the service of its deploys.
    pub app: String,
    /// The environment shown for its deploys (`[service].environment`).
    pub environment: String,
    /// `appNamespace` and `project`, sent with every request when set.
    pub app_namespace: Option<String>,
    pub project: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Application {
    pub status: AppStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppStatus {
    pub sync: SyncStatus,
    pub health: HealthStatus,
    pub operation_state: Option<OperationState>,
    pub history: Vec<History>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncStatus {
    /// Synced, OutOfSync, Unknown.
    pub status: String,
    pub revision: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthStatus {
    /// Healthy, Progressing, Degraded, Suspended, Missing, Unknown.
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// Running, Terminating, Failed, Error, Succeeded.
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub message: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub operation: Option<Operation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Operation {
    pub sync: Option<SyncOperation>,
    pub initiated_by: Option<InitiatedBy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncOperation {
    pub revision: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub id: i64,
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub revisions: Vec<String>,
    pub deployed_at: DateTime<Utc>,
    pub deploy_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub initiated_by: Option<InitiatedBy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InitiatedBy {
    pub username: String,
    pub automated: bool,
}

impl InitiatedBy {
    fn who(&self) -> String {
        if !self.username.is_empty() {
            one_line(&self.username)
        } else if self.automated {
            "automated".into()
        } else {
            String::new()
        }
    }
}

impl ArgoCdSource {
    pub fn new(name: &str, endpoint: Endpoint, app: &str, environment: &str) -> Self {
        Self {
            name: name.to_string(),
            endpoint,
            app: app.to_string(),
            environment: environment.to_string(),
            app_namespace: None,
            project: None,
        }
    }

    /// The query naming the application's namespace and project, when configured.
    fn scope(&self) -> Vec<(&str, &str)> {
        let mut query = Vec::new();
        if let Some(ns) = &self.app_namespace {
            query.push(("appNamespace", ns.as_str()));
        }
        if let Some(p) = &self.project {
            query.push(("project", p.as_str()));
        }
        query
    }

    pub fn from_config(
        name: &str,
        config: &ArgoCdConfig,
        environment: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let http = HttpSource::api(
            name,
            config.url.clone(),
            config.token.clone(),
            config.token_file.clone(),
            config.ca_file.clone(),
        );
        let endpoint = Endpoint::from_config(name, &http, base_dir, env)?;
        let mut source = Self::new(name, endpoint, config.app.as_deref().unwrap_or_default(), environment);
        source.app_namespace = config.app_namespace.clone();
        source.project = config.project.clone();
        Ok(source)
    }

    pub async fn fetch(&self) -> Result<Vec<Deploy>, DeployError> {
        let what = || format!("Argo CD application {}", self.app);
        let path = format!("/api/v1/applications/{}", self.app);
        let response = self
            .endpoint
            .get(&path, &self.scope())
            .await
            .map_err(DeployError::Fetch)?;
        if !response.is_success() {
            return Err(DeployError::status(what(), response.status, &response.body));
        }
        let app: Application =
            serde_json::from_slice(&response.body).map_err(|source| DeployError::Json { what: what(), source })?;
        Ok(self.deploys(&app))
    }

    /// The application's history as deploys: the newest entry with the app's health as its
    /// status, earlier ones succeeded; a running sync, or one that failed after the newest entry,
    /// comes first (a failed sync leaves no history entry).
    pub fn deploys(&self, app: &Application) -> Vec<Deploy> {
        let status = &app.status;
        let mut history: Vec<&History> = status.history.iter().collect();
        history.sort_by_key(|h| std::cmp::Reverse(h.id));
        let newest_at = history.first().map(|h| h.deployed_at);
        let mut deploys = Vec::new();
        if let Some(op) = &status.operation_state
            && let Some(started) = op.started_at
        {
            let state = match op.phase.as_str() {
                "Running" | "Terminating" => Some(DeployStatus::InProgress),
                "Failed" | "Error" if newest_at.is_none_or(|at| started > at) => Some(DeployStatus::Failed),
                _ => None,
            };
            if let Some(state) = state {
                let operation = op.operation.as_ref();
                let revision = operation
                    .and_then(|o| o.sync.as_ref())
                    .map(|s| s.revision.as_str())
                    .filter(|r| !r.is_empty())
                    .unwrap_or(&status.sync.revision);
                deploys.push(Deploy {
                    id: format!("{}/op-{}", self.name, started.timestamp()),
                    service: self.app.clone(),
                    version: short_revision(revision),
                    environment: self.environment.clone(),
                    author: operation
                        .and_then(|o| o.initiated_by.as_ref())
                        .map(InitiatedBy::who)
                        .unwrap_or_default(),
                    kind: DeployKind::Deploy,
                    status: state,
                    started_at: started,
                    finished_at: op.finished_at.filter(|_| state != DeployStatus::InProgress),
                    note: one_line(&format!("sync {}: {}", op.phase, op.message)),
                });
            }
        }
        for (i, h) in history.iter().enumerate() {
            let revision = if h.revision.is_empty() {
                h.revisions.first().map_or("", String::as_str)
            } else {
                h.revision.as_str()
            };
            let state = if i == 0 {
                health_status(&status.health.status)
            } else {
                DeployStatus::Succeeded
            };
            deploys.push(Deploy {
                id: format!("{}/{}", self.name, h.id),
                service: self.app.clone(),
                version: short_revision(revision),
                environment: self.environment.clone(),
                author: h.initiated_by.as_ref().map(InitiatedBy::who).unwrap_or_default(),
                kind: DeployKind::Deploy,
                status: state,
                started_at: h.deploy_started_at.unwrap_or(h.deployed_at),
                // Synced but not yet healthy: still rolling out.
                finished_at: (state != DeployStatus::InProgress).then_some(h.deployed_at),
                // The application's state belongs to what is deployed now.
                note: if i == 0 { app_state(status) } else { String::new() },
            });
        }
        deploys
    }
}

/// The body of `POST /api/v1/applications/{name}/rollback`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RollbackRequest<'a> {
    name: &'a str,
    id: i64,
    dry_run: bool,
    prune: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<&'a str>,
}

impl ArgoCdSource {
    /// Rolls the application back to history entry `history_id`, once. Argo CD answers with the
    /// application and runs the rollback as a sync operation (the next poll shows it). Its refusals
    /// come back in its own words; auto-sync, which forbids a rollback, also gets what to do.
    pub async fn rollback(&self, history_id: i64) -> Result<String, RollbackFailure> {
        let path = format!("/api/v1/applications/{}/rollback", self.app);
        let body = RollbackRequest {
            name: &self.app,
            id: history_id,
            dry_run: false,
            prune: false,
            app_namespace: self.app_namespace.as_deref(),
            project: self.project.as_deref(),
        };
        let sent = |e| failure(e, true);
        let response = self
            .endpoint
            .post_json(&path, &body)
            .await
            .map_err(|e| sent(DeployError::Fetch(e)))?;
        if !response.is_success() {
            let mut error = DeployError::status(
                format!("Argo CD rollback of {}", self.app),
                response.status,
                &response.body,
            );
            if let DeployError::Status { detail, .. } = &mut error
                && detail.contains("auto-sync")
            {
                detail.push_str(&format!(
                    " (auto-sync would undo it: turn it off first, e.g. `argocd app set {} --sync-policy none`, or revert the change in Git)",
                    self.app
                ));
            }
            return Err(sent(error));
        }
        // The answer is the application; its operation state may still be the previous sync's.
        Ok(format!(
            "Argo CD accepted the rollback of {} to history {history_id} (HTTP {}); it runs as a sync operation",
            self.app, response.status
        ))
    }
}

/// Sync state and health as Argo CD words them ("OutOfSync · Degraded"), for the current deploy.
fn app_state(status: &AppStatus) -> String {
    let words: Vec<&str> = [status.sync.status.as_str(), status.health.status.as_str()]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect();
    one_line(&words.join(" · "))
}

/// The status the current deploy shows for the application's health: Healthy succeeded, Degraded
/// and Missing failed, Progressing (and Suspended, Unknown) still in progress.
pub fn health_status(health: &str) -> DeployStatus {
    match health {
        "Healthy" => DeployStatus::Succeeded,
        "Degraded" | "Missing" => DeployStatus::Failed,
        _ => DeployStatus::InProgress,
    }
}
