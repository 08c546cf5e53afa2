//! A rollback as data: how a `[[deploys]]` entry rolls back (`RollbackVia`), the plan for one
//! rollback of a deploy to the one before it (`RollbackPlan`, with the call it will make), and how
//! a rollback call failed (`RollbackFailure`, which says whether it may still have taken effect).

use super::deploy::Deploy;

/// How a `[[deploys]]` entry rolls back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackVia {
    /// Its command template (argv with `{previous_version}` / `{previous_revision}`), run by the
    /// runbook runner without retry.
    Command(Vec<String>),
    /// `POST /api/v1/applications/{app}/rollback` with the earlier deploy's history id.
    ArgoCd { app: String },
    /// `POST /repos/{repo}/deployments` of the commit the earlier deployment deployed.
    Github { repo: String },
}

/// What a rollback call does, once planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackMethod {
    /// The command line, expanded and shell-quoted (no secrets: it comes from the config).
    Command {
        command: String,
    },
    ArgoCd {
        app: String,
        history_id: i64,
    },
    /// `deployment_id` is the earlier deployment whose commit is deployed again.
    Github {
        repo: String,
        deployment_id: u64,
    },
}

impl RollbackMethod {
    /// The method as a word, for the timeline and the audit log.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Command { .. } => "command",
            Self::ArgoCd { .. } => "argocd",
            Self::Github { .. } => "github",
        }
    }

    /// The call as the confirmation shows it and the timeline records it.
    pub fn call(&self) -> String {
        match self {
            Self::Command { command } => command.clone(),
            Self::ArgoCd { app, history_id } => {
                format!("POST /api/v1/applications/{app}/rollback {{\"id\": {history_id}}}")
            }
            Self::Github { repo, deployment_id } => format!(
                "POST /repos/{repo}/deployments (the commit of deployment {deployment_id}, task deploy:rollback)"
            ),
        }
    }
}

/// One rollback: the deploy rolled back, the one returned to, and the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPlan {
    /// The `[[deploys]]` entry both deploys came from.
    pub entry: String,
    pub service: String,
    pub environment: String,
    /// The version rolled back, and the one returned to.
    pub from_version: String,
    pub to_version: String,
    pub method: RollbackMethod,
}

/// The `[[deploys]]` entry a deploy came from (its id is `{entry}/{id at the source}`).
pub fn entry_of(deploy: &Deploy) -> &str {
    deploy.id.split_once('/').map_or(deploy.id.as_str(), |(entry, _)| entry)
}

/// The deploy's id at its source (the Argo CD history id, the GitHub deployment id).
pub fn source_id_of(deploy: &Deploy) -> &str {
    deploy.id.split_once('/').map_or("", |(_, id)| id)
}

/// Why a plan cannot be made for this deploy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{version} is not an Argo CD history entry (id {id}): it cannot be rolled back to")]
    NotArgoHistory { version: String, id: String },
    #[error("{version} is not a GitHub deployment (id {id}): it cannot be rolled back to")]
    NotGithubDeployment { version: String, id: String },
}

/// The plan to roll `deploy` back to `previous` with `via`. `quote` shell-quotes one argument of
/// a command template.
pub fn plan(
    via: &RollbackVia,
    deploy: &Deploy,
    previous: &Deploy,
    quote: impl Fn(&str) -> String,
) -> Result<RollbackPlan, PlanError> {
    let revision = source_id_of(previous);
    let method = match via {
        RollbackVia::Command(template) => RollbackMethod::Command {
            command: template
                .iter()
                .map(|a| {
                    quote(&a.replace("{previous_version}", &previous.version).replace(
                        "{previous_revision}",
                        if revision.is_empty() {
                            &previous.version
                        } else {
                            revision
                        },
                    ))
                })
                .collect::<Vec<_>>()
                .join(" "),
        },
        RollbackVia::ArgoCd { app } => RollbackMethod::ArgoCd {
            app: app.clone(),
            history_id: revision.parse().map_err(|_| PlanError::NotArgoHistory {
                version: previous.version.clone(),
                id: revision.to_string(),
            })?,
        },
        RollbackVia::Github { repo } => RollbackMethod::Github {
            repo: repo.clone(),
            deployment_id: revision.parse().map_err(|_| PlanError::NotGithubDeployment {
                version: previous.version.clone(),
                id: revision.to_string(),
            })?,
        },
    };
    Ok(RollbackPlan {
        entry: entry_of(deploy).to_string(),
        service: deploy.service.clone(),
        environment: deploy.environment.clone(),
        from_version: deploy.version.clone(),
        to_version: previous.version.clone(),
        method,
    })
}

/// How a rollback call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackFailure {
    /// In the API's or the command's own words.
    pub message: String,
    /// The call may have reached the server and taken effect (a timeout, a dropped connection):
    /// look at the deploy system before trying again.
    pub uncertain: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deploy::{DeployKind, DeployStatus};
    use chrono::{TimeZone, Utc};

    fn deploy(id: &str, version: &str) -> Deploy {
        Deploy {
            id: id.into(),
            service: "checkout".into(),
            version: version.into(),
            environment: "production".into(),
            author: "ci".into(),
            kind: DeployKind::Deploy,
            status: DeployStatus::Succeeded,
            started_at: Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default(),
            finished_at: None,
            note: String::new(),
        }
    }

    #[test]
    fn each_way_of_rolling_back_plans_its_call() {
        let (from, to) = (deploy("argo/8", "9f2c1aa"), deploy("argo/7", "1ab3c4d"));
        let argo = plan(
            &RollbackVia::ArgoCd { app: "checkout".into() },
            &from,
            &to,
            str::to_string,
        );
        assert_eq!(
            argo.as_ref().map(|p| p.method.call()),
            Ok("POST /api/v1/applications/checkout/rollback {\"id\": 7}".to_string())
        );
        assert_eq!(
            argo.map(|p| (p.entry, p.from_version, p.to_version)),
            Ok(("argo".into(), "9f2c1aa".into(), "1ab3c4d".into()))
        );
        let (from, to) = (deploy("gh/42", "v1.4.2"), deploy("gh/41", "v1.4.1"));
        let github = plan(
            &RollbackVia::Github {
                repo: "acme/checkout".into(),
            },
            &from,
            &to,
            str::to_string,
        );
        assert_eq!(
            github.map(|p| p.method),
            Ok(RollbackMethod::Github {
                repo: "acme/checkout".into(),
                deployment_id: 41
            })
        );
        let template = RollbackVia::Command(vec![
            "helm".into(),
            "rollback".into(),
            "checkout".into(),
            "{previous_revision}".into(),
            "--description=to {previous_version}".into(),
        ]);
        let command = plan(&template, &from, &to, |a| format!("<{a}>"));
        assert_eq!(
            command.map(|p| p.method.call()),
            Ok("<helm> <rollback> <checkout> <41> <--description=to v1.4.1>".to_string())
        );
    }

    #[test]
    fn an_entry_that_is_not_a_history_id_cannot_be_returned_to() {
        let (from, op) = (deploy("argo/8", "9f2c1aa"), deploy("argo/op-1700000000", "1ab3c4d"));
        assert_eq!(
            plan(
                &RollbackVia::ArgoCd { app: "checkout".into() },
                &from,
                &op,
                str::to_string
            ),
            Err(PlanError::NotArgoHistory {
                version: "1ab3c4d".into(),
                id: "op-1700000000".into()
            })
        );
    }
}
