//! GitHub deployments as a deploy source: `GET /repos/{owner}/{repo}/deployments?environment=…`,
//! then each deployment's newest status (`/deployments/{id}/statuses?per_page=1`), since a
//! deployment has no state of its own. The token goes through the one HTTP policy, never shown.

use std::path::Path;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;

use super::rollback::failure;
use super::{DeployError, MAX_DEPLOYS, short_revision};
use crate::config::{GithubConfig, HttpSource};
use crate::domain::deploy::{Deploy, DeployKind, DeployStatus};
use crate::domain::rollback::RollbackFailure;
use crate::domain::sanitize::one_line;
use crate::sources::http::{ClientError, Endpoint};

pub const DEFAULT_API: &str = "https://api.github.com";
/// The REST API version asked for (`X-GitHub-Api-Version`).
pub const API_VERSION: &str = "2022-11-28";
/// Deployments asked for per poll (GitHub's default page is 30, its maximum 100).
pub const PER_PAGE: usize = 20;
/// Status requests in flight at once.
const CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct GithubSource {
    /// Prefixes the deploy ids (`{name}/{deployment id}`), so several sources never collide.
    pub name: String,
    pub endpoint: Endpoint,
    /// "owner/name".
    pub repo: String,
    pub environment: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    #[serde(default)]
    pub sha: String,
    #[serde(default, rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub task: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub creator: Option<User>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    #[serde(default)]
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub struct Status {
    pub state: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub description: Option<String>,
}

impl GithubSource {
    pub fn new(name: &str, endpoint: Endpoint, repo: &str, environment: Option<String>) -> Self {
        Self {
            name: name.to_string(),
            endpoint: endpoint
                .with_header("Accept", "application/vnd.github+json")
                .with_header("X-GitHub-Api-Version", API_VERSION),
            repo: repo.trim_matches('/').to_string(),
            environment,
        }
    }

    /// The source of a `github = {…}` entry (`api_url` defaults to api.github.com).
    pub fn from_config(
        name: &str,
        config: &GithubConfig,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let http = HttpSource::api(
            name,
            Some(config.api_url.clone().unwrap_or_else(|| DEFAULT_API.to_string())),
            config.token.clone(),
            config.token_file.clone(),
            None,
        );
        let endpoint = Endpoint::from_config(name, &http, base_dir, env)?;
        let repo = config.repo.clone().unwrap_or_default();
        Ok(Self::new(name, endpoint, &repo, config.environment.clone()))
    }

    /// The service its deploys belong to: the repository's name.
    pub fn service(&self) -> &str {
        self.repo.rsplit('/').next().unwrap_or(&self.repo)
    }

    pub async fn fetch(&self) -> Result<Vec<Deploy>, DeployError> {
        let path = format!("/repos/{}/deployments", self.repo);
        let per_page = PER_PAGE.min(MAX_DEPLOYS).to_string();
        let mut query = vec![("per_page", per_page.as_str())];
        if let Some(env) = &self.environment {
            query.push(("environment", env.as_str()));
        }
        let response = self.endpoint.get(&path, &query).await.map_err(DeployError::Fetch)?;
        if !response.is_success() {
            return Err(DeployError::status(
                "GitHub deployments",
                response.status,
                &response.body,
            ));
        }
        let deployments: Vec<Deployment> =
            serde_json::from_slice(&response.body).map_err(|source| DeployError::Json {
                what: "GitHub deployments".into(),
                source,
            })?;
        let ids: Vec<u64> = deployments.iter().map(|d| d.id).collect();
        let statuses: Vec<Result<Option<Status>, DeployError>> =
            futures::stream::iter(ids.into_iter().map(|id| self.latest_status(id)))
                .buffered(CONCURRENCY)
                .collect()
                .await;
        deployments
            .into_iter()
            .zip(statuses)
            .map(|(d, status)| Ok(self.deploy(d, status?)))
            .collect()
    }

    async fn latest_status(&self, id: u64) -> Result<Option<Status>, DeployError> {
        let path = format!("/repos/{}/deployments/{id}/statuses", self.repo);
        let response = self
            .endpoint
            .get(&path, &[("per_page", "1")])
            .await
            .map_err(DeployError::Fetch)?;
        let what = || format!("GitHub statuses of deployment {id}");
        if !response.is_success() {
            return Err(DeployError::status(what(), response.status, &response.body));
        }
        let mut statuses: Vec<Status> =
            serde_json::from_slice(&response.body).map_err(|source| DeployError::Json { what: what(), source })?;
        // Newest first, as GitHub lists them; asked for one.
        Ok(if statuses.is_empty() {
            None
        } else {
            Some(statuses.swap_remove(0))
        })
    }

    /// A deployment and its newest status (none yet: it is waiting to start).
    pub fn deploy(&self, d: Deployment, status: Option<Status>) -> Deploy {
        let (state, finished_at) = match &status {
            Some(s) => {
                let state = state_of(&s.state);
                (state, (state != DeployStatus::InProgress).then_some(s.created_at))
            }
            None => (DeployStatus::InProgress, None),
        };
        let version = if d.git_ref.is_empty() || d.git_ref == d.sha {
            short_revision(&d.sha)
        } else {
            short_revision(&d.git_ref)
        };
        let task = d.task.to_ascii_lowercase();
        let kind = if task.contains("migrat") {
            DeployKind::Migration
        } else if task.contains("rollback") {
            DeployKind::Rollback
        } else {
            DeployKind::Deploy
        };
        Deploy {
            id: format!("{}/{}", self.name, d.id),
            service: self.service().to_string(),
            version,
            environment: one_line(&d.environment),
            author: d.creator.map(|c| one_line(&c.login)).unwrap_or_default(),
            kind,
            status: state,
            started_at: d.created_at,
            finished_at,
            note: status
                .as_ref()
                .and_then(|s| s.description.as_deref())
                .map(one_line)
                .unwrap_or_default(),
        }
    }
}

/// The body of `POST /repos/{owner}/{repo}/deployments` for a rollback.
#[derive(Debug, serde::Serialize)]
struct CreateDeployment<'a> {
    #[serde(rename = "ref")]
    git_ref: &'a str,
    task: &'a str,
    environment: &'a str,
    description: String,
    /// Never merge the default branch into an old commit.
    auto_merge: bool,
    /// The old commit's checks passed when it was deployed; do not wait on them again.
    required_contexts: [&'a str; 0],
    payload: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: u64,
}

/// The task of deployments a rollback creates (read back as rollbacks by `deploy`).
pub const ROLLBACK_TASK: &str = "deploy:rollback";

impl GithubSource {
    /// Rolls back by creating a deployment of the exact commit deployment `deployment_id`
    /// deployed (its sha, never its branch, which has moved on since), in the same environment,
    /// with task `deploy:rollback`. Whatever carries out the repository's deployments (an Actions
    /// workflow on `deployment`) does the rest. Sent once: a 202 (GitHub merged instead of
    /// deploying), 409 or 422 comes back in GitHub's words.
    pub async fn rollback(&self, deployment_id: u64, from_version: &str) -> Result<String, RollbackFailure> {
        // The earlier deployment's commit; nothing is sent if this fails.
        let unsent = |e| failure(e, false);
        let path = format!("/repos/{}/deployments/{deployment_id}", self.repo);
        let what = || format!("GitHub deployment {deployment_id}");
        let response = self
            .endpoint
            .get(&path, &[])
            .await
            .map_err(|e| unsent(DeployError::Fetch(e)))?;
        if !response.is_success() {
            return Err(unsent(DeployError::status(what(), response.status, &response.body)));
        }
        let earlier: Deployment = serde_json::from_slice(&response.body)
            .map_err(|source| unsent(DeployError::Json { what: what(), source }))?;
        if earlier.sha.is_empty() {
            return Err(unsent(DeployError::Invalid {
                what: what(),
                detail: "it names no commit (sha)".into(),
            }));
        }
        // Sent as GitHub has it; cleaned only where it is shown.
        let environment = if earlier.environment.is_empty() {
            self.environment.clone().unwrap_or_else(|| "production".into())
        } else {
            earlier.environment.clone()
        };
        let short = short_revision(&earlier.sha);
        let body = CreateDeployment {
            git_ref: &earlier.sha,
            task: ROLLBACK_TASK,
            environment: &environment,
            description: format!("Rollback from {from_version} to {short} (warroom)"),
            auto_merge: false,
            required_contexts: [],
            payload: serde_json::json!({ "rollback_of": from_version, "deployment": deployment_id }),
        };
        let create = format!("/repos/{}/deployments", self.repo);
        let response = self
            .endpoint
            .post_json(&create, &body)
            .await
            .map_err(|e| failure(DeployError::Fetch(e), true))?;
        match response.status {
            201 => {
                // Created; an unreadable answer does not undo that.
                let id = serde_json::from_slice::<Created>(&response.body)
                    .map_or_else(|_| "(id unreadable)".to_string(), |c| c.id.to_string());
                Ok(format!(
                    "GitHub deployment {id} of {short} to {} created (task {ROLLBACK_TASK}); the repository's deployment workflow carries it out",
                    one_line(&environment)
                ))
            }
            // 202: GitHub merged the default branch instead and created nothing; 409, 422: refused.
            code => Err(failure(
                DeployError::status("GitHub deployment of the rollback", code, &response.body),
                true,
            )),
        }
    }
}

/// A deployment status's `state`: `success` and `inactive` (superseded by a later success) are
/// done, `failure` and `error` failed, the rest (`in_progress`, `queued`, `pending`, anything new)
/// still running.
pub fn state_of(state: &str) -> DeployStatus {
    match state {
        "success" | "inactive" => DeployStatus::Succeeded,
        "failure" | "error" => DeployStatus::Failed,
        _ => DeployStatus::InProgress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_deploy_statuses() {
        for (state, expected) in [
            ("success", DeployStatus::Succeeded),
            ("inactive", DeployStatus::Succeeded),
            ("failure", DeployStatus::Failed),
            ("error", DeployStatus::Failed),
            ("in_progress", DeployStatus::InProgress),
            ("queued", DeployStatus::InProgress),
            ("pending", DeployStatus::InProgress),
        ] {
            assert_eq!(state_of(state), expected, "{state}");
        }
    }
}
