//! The deployer: carries out confirmed API rollbacks (`Effect::Rollback`) against the `[[deploys]]`
//! entry they name, one call each, never retried, and answers with `Msg::RollbackDone`. A failure
//! that may have reached the server (a timeout, a dropped connection) is marked uncertain, so the
//! responder checks the deploy system before trying again.

use std::collections::BTreeMap;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{DeployError, DeploySource};
use crate::app::effect::RollbackCall;
use crate::app::msg::Msg;
use crate::domain::health::FetchErrorKind;
use crate::domain::rollback::{RollbackFailure, RollbackMethod};

/// Rollback calls waiting at most (one runs at a time; the cockpit sends one at a time).
const QUEUE: usize = 1;

/// The deploy sources a rollback can go through, by `[[deploys]]` entry name.
#[derive(Debug, Clone, Default)]
pub struct Deployer {
    pub sources: BTreeMap<String, DeploySource>,
}

impl Deployer {
    /// Carries out one call.
    pub async fn carry_out(&self, call: &RollbackCall) -> Result<String, RollbackFailure> {
        let plan = &call.plan;
        let refused = |message: String| RollbackFailure {
            message,
            uncertain: false,
        };
        let source = self
            .sources
            .get(&plan.entry)
            .ok_or_else(|| refused(format!("no deploy source {}: nothing was sent", plan.entry)))?;
        match (&plan.method, source) {
            (RollbackMethod::ArgoCd { history_id, .. }, DeploySource::ArgoCd(argo)) => argo.rollback(*history_id).await,
            (RollbackMethod::Github { deployment_id, .. }, DeploySource::Github(github)) => {
                github.rollback(*deployment_id, &plan.from_version).await
            }
            (method, _) => Err(refused(format!(
                "{} cannot roll back through {}: nothing was sent",
                plan.entry,
                method.word()
            ))),
        }
    }
}

/// A failed call as the responder sees it. Nothing `sent` (a lookup before the call failed) or a
/// server that could not be reached is certain; once the request may have arrived, a timeout, a
/// dropped connection or a 5xx (often a proxy in front of the API) leaves the outcome unknown.
pub fn failure(error: DeployError, sent: bool) -> RollbackFailure {
    let uncertain = sent
        && match &error {
            DeployError::Fetch(e) => !matches!(e.kind, FetchErrorKind::Connect),
            DeployError::Status { code, .. } => *code >= 500,
            _ => false,
        };
    let message = if sent {
        error.to_string()
    } else {
        format!("{error}: nothing was sent")
    };
    RollbackFailure { message, uncertain }
}

/// Starts the deployer; confirmed calls go to the returned sender.
pub fn spawn(deployer: Deployer, tasks: &mut JoinSet<()>, tx: &mpsc::Sender<Msg>) -> mpsc::Sender<RollbackCall> {
    let (calls, mut rx) = mpsc::channel::<RollbackCall>(QUEUE);
    let tx = tx.clone();
    tasks.spawn(async move {
        while let Some(call) = rx.recv().await {
            let result = deployer.carry_out(&call).await;
            if tx.send(Msg::RollbackDone { id: call.id, result }).await.is_err() {
                return;
            }
        }
    });
    calls
}
