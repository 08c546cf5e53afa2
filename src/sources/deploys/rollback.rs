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
        let answer = match (&plan.method, source) {
            (RollbackMethod::ArgoCd { history_id, .. }, DeploySource::ArgoCd(argo)) => argo.rollback(*history_id).await,
            (RollbackMethod::Github { deployment_id, .. }, DeploySource::Github(github)) => {
                github.rollback(*deployment_id, &plan.from_version).await
            }
            (method, _) => {
                return Err(refused(format!(
                    "{} cannot roll back through {}: nothing was sent",
                    plan.entry,
                    method.word()
                )));
            }
        };
        answer.map_err(failure)
    }
}

/// A failed call as the responder sees it: certain when the server answered (or could not be
/// reached at all), uncertain when the request may have arrived.
pub fn failure(error: DeployError) -> RollbackFailure {
    let uncertain = match &error {
        DeployError::Fetch(e) => !matches!(e.kind, FetchErrorKind::Connect | FetchErrorKind::Status(_)),
        _ => false,
    };
    RollbackFailure {
        message: error.to_string(),
        uncertain,
    }
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
