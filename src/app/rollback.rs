//! Rolling a deploy back from the Deploys pane (`R`): the plan (the entry's command template, or
//! its Argo CD or GitHub API), the destructive confirmation (the service name typed), one call and
//! never a retry, `rollback.started` and `rollback.finished` in the timeline and the audit log,
//! then the smoke checks (the probes) once the rollout has settled, recorded as
//! `rollback.smoke_checked`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::effect::{Effect, RollbackCall};
use super::msg::StepResult;
use super::panes::deploys::UnknownOutcome;
use super::runbook_run::{ROLLBACKS, StepConfirm};
use super::state::{AppState, Modal, NoticeLevel};
use super::update::{human, record};
use crate::domain::deploy::{Deploy, DeployKind, DeployStatus};
use crate::domain::rollback::{self, RollbackFailure, RollbackMethod, RollbackPlan};
use crate::domain::runbook::{Risk, Runbook, Step, StepState};
use crate::domain::sanitize::one_line;
use crate::domain::timeline::Event;

/// How long a command rollback may run before its process group is killed.
pub const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// How long an API rollback's rollout is waited for before the smoke checks run anyway.
pub const ROLLOUT_WAIT: Duration = Duration::minutes(15);

/// The rollback that was sent and has not answered yet (one at a time).
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackInFlight {
    pub id: u64,
    pub plan: RollbackPlan,
    pub started_at: DateTime<Utc>,
    /// The runbook step (runbook id, step id) it carries out, if it came from one.
    pub step: Option<(String, String)>,
    /// The entry's deploys when the call was sent: what appears later is the rollout.
    pub known: BTreeSet<String>,
}

/// Where the smoke checks after a rollback stand.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SmokeWait {
    #[default]
    Idle,
    /// An API rollback was accepted; the checks run once the entry's deploys show one that was
    /// not `known` when it was sent and every such one has finished (or after `ROLLOUT_WAIT`).
    AfterRollout {
        entry: String,
        since: DateTime<Utc>,
        known: BTreeSet<String>,
    },
    /// The next probe results taken at or after `since` are the smoke checks.
    AwaitingProbes { since: DateTime<Utc> },
}

/// A rollback that was sent: the deploys its entry reports afterwards at the version it returned
/// to are that rollback (Argo CD reports them as ordinary syncs), not new deploys or suspects.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackMark {
    pub entry: String,
    pub to_version: String,
    pub at: DateTime<Utc>,
}

impl RollbackMark {
    /// Whether `deploy` is this rollback being carried out (a minute of slack for clock skew).
    pub fn covers(&self, deploy: &Deploy) -> bool {
        rollback::entry_of(deploy) == self.entry
            && deploy.version == self.to_version
            && deploy.started_at >= self.at - Duration::minutes(1)
    }
}

/// `R` in the Deploys pane: plan a rollback of the selected deploy to the newest earlier
/// successful one and ask for the service name.
pub fn start(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let rows = state.deploys.visible_rows();
    let Some(deploy) = rows
        .get(state.deploys.list.cursor.selected)
        .and_then(|&i| state.deploys.deploys.get(i))
        .cloned()
    else {
        state.notify(NoticeLevel::Info, "no deploy selected (5 focuses Deploys)", now);
        return Vec::new();
    };
    confirm_rollback_of(state, deploy, None, now)
}

/// `x` on a runbook's ```` ```rollback ```` step: the same rollback for the newest deploy of the
/// cockpit's service from a source with a rollback configured; the step follows its outcome.
pub fn start_for_step(state: &mut AppState, runbook: &Runbook, step: &Step, now: DateTime<Utc>) -> Vec<Effect> {
    // The service's deploys in this cockpit's environment, from sources that can roll back.
    let ours = |d: &&Deploy| {
        d.service == state.service
            && d.environment == state.environment
            && state.deploys.rollback.contains_key(rollback::entry_of(d))
    };
    let newest = state
        .deploys
        .deploys
        .iter()
        .filter(ours)
        .filter(|d| d.kind != DeployKind::Migration)
        .max_by_key(|d| d.started_at)
        .cloned();
    let Some(deploy) = newest else {
        state.notify(
            NoticeLevel::Warn,
            format!(
                "no deploy of {} in {} from a source with a rollback configured (Deploys pane, [[deploys]] rollback)",
                state.service, state.environment
            ),
            now,
        );
        return Vec::new();
    };
    // Newest is a rollback already (or returns to a version deployed before, which is one in
    // effect): rolling it "back" would bring the bad release again. A person picks in Deploys.
    // A-B-A: an earlier good deploy at this version, then a good one at another version.
    let good_before: Vec<&Deploy> = state
        .deploys
        .deploys
        .iter()
        .filter(|d| {
            d.id != deploy.id
                && rollback::entry_of(d) == rollback::entry_of(&deploy)
                && d.environment == deploy.environment
                && d.kind != DeployKind::Migration
                && d.status == DeployStatus::Succeeded
                && d.started_at < deploy.started_at
        })
        .collect();
    let returns_to_earlier = good_before.iter().any(|a| {
        a.version == deploy.version
            && good_before
                .iter()
                .any(|b| b.version != deploy.version && b.started_at > a.started_at)
    });
    if deploy.kind == DeployKind::Rollback || returns_to_earlier {
        state.notify(
            NoticeLevel::Warn,
            format!(
                "the newest deploy of {} ({}) is already a rollback to an earlier version: pick the deploy to roll back in the Deploys pane (5, R)",
                state.service, deploy.version
            ),
            now,
        );
        return Vec::new();
    }
    confirm_rollback_of(state, deploy, Some((runbook.id.clone(), step.id.clone())), now)
}

/// The rollback `R` would send for `deploy`, or why there is none: not a deploy (a rollback or a
/// migration), no rollback configured for its entry, no earlier successful deploy to return to,
/// or one its source cannot return to. Pure: the Deploys detail box shows it too.
pub fn preview(state: &AppState, deploy: &Deploy) -> Result<RollbackPlan, String> {
    match deploy.kind {
        DeployKind::Deploy => {}
        DeployKind::Rollback => {
            return Err(format!(
                "{} is a rollback: select the deploy to roll back",
                deploy.version
            ));
        }
        DeployKind::Migration => {
            return Err(format!(
                "{} is a migration: select the deploy to roll back",
                deploy.version
            ));
        }
    }
    let entry = rollback::entry_of(deploy);
    let via =
        state.deploys.rollback.get(entry).ok_or_else(|| {
            format!("no rollback configured for {entry}: set rollback = [..] in its [[deploys]] entry")
        })?;
    let previous = state
        .deploys
        .previous_of(deploy)
        .ok_or_else(|| format!("no earlier successful deploy of {} to return to", deploy.service))?;
    rollback::plan(via, deploy, previous, shell_quote).map_err(|e| e.to_string())
}

/// Plans the rollback of `deploy` to the deploy before it and opens the confirmation. `step` is
/// the runbook step it carries out, if any.
fn confirm_rollback_of(
    state: &mut AppState,
    deploy: Deploy,
    step: Option<(String, String)>,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    if let Some(running) = &state.deploys.in_flight {
        let text = format!(
            "a rollback of {} to {} is still running (sent {}): wait for its answer",
            running.plan.service,
            running.plan.to_version,
            running.started_at.format("%H:%M:%S")
        );
        state.notify(NoticeLevel::Warn, text, now);
        return Vec::new();
    }
    let plan = match preview(state, &deploy) {
        Ok(plan) => plan,
        Err(why) => {
            state.notify(NoticeLevel::Warn, why, now);
            return Vec::new();
        }
    };
    let call = plan.method.call();
    // A rollback whose outcome is unknown may have taken effect: say so where the name is typed.
    let caution = state.deploys.unknown_outcome.as_ref().map_or_else(String::new, |u| {
        format!(
            "⚠ the last rollback of {} to {} has an UNKNOWN outcome: check the deploy system first. ",
            u.service, u.to_version
        )
    });
    let (lang, command) = match &plan.method {
        RollbackMethod::Command { command } => ("sh", command.clone()),
        RollbackMethod::ArgoCd { .. } => ("Argo CD API", String::new()),
        RollbackMethod::Github { .. } => ("GitHub API", String::new()),
    };
    // A runbook step keeps its own name (its state follows the rollback).
    let (runbook, step) = step.unwrap_or_else(|| {
        (
            ROLLBACKS.to_string(),
            one_line(&format!("rollback-{}-to-{}", plan.from_version, plan.to_version)),
        )
    });
    state.modal = Some(Modal::ConfirmStep(Box::new(StepConfirm {
        runbook,
        step,
        step_text: one_line(&format!(
            "{caution}Roll {} in {} back from {} to {}",
            plan.service, plan.environment, plan.from_version, plan.to_version
        )),
        risk: Risk::Destructive,
        lang: lang.into(),
        command,
        display: crate::domain::sanitize::sanitize(&call).into_owned(),
        timeout: COMMAND_TIMEOUT,
        // The service being rolled back, typed in full.
        expected: plan.service.clone(),
        typed: String::new(),
        rollback: Some(plan),
    })));
    Vec::new()
}

/// The service name was typed: send the rollback, once.
pub fn launch(state: &mut AppState, confirm: StepConfirm, plan: RollbackPlan, now: DateTime<Utc>) -> Vec<Effect> {
    let id = state.runbook.next_run;
    state.runbook.next_run += 1;
    let step = (confirm.runbook != ROLLBACKS).then(|| (confirm.runbook.clone(), confirm.step.clone()));
    let known = state
        .deploys
        .deploys
        .iter()
        .filter(|d| rollback::entry_of(d) == plan.entry)
        .map(|d| d.id.clone())
        .collect();
    state.deploys.in_flight = Some(RollbackInFlight {
        id,
        plan: plan.clone(),
        started_at: now,
        step: step.clone(),
        known,
    });
    state.deploys.mark_rollback(RollbackMark {
        entry: plan.entry.clone(),
        to_version: plan.to_version.clone(),
        at: now,
    });
    state.notify(
        NoticeLevel::Info,
        format!("rolling {} back to {}…", plan.service, plan.to_version),
        now,
    );
    let mut drafts = Vec::new();
    if let Some((runbook, step)) = &step {
        if let Some(rb) = state.runbook.find(runbook).cloned() {
            super::runbook_run::attach_if_needed(state, &rb, now, &mut drafts);
        }
        if state.incident_open() {
            drafts.push(super::runbook_run::step_changed(
                runbook,
                step,
                StepState::Running,
                None,
                now,
            ));
        }
    }
    drafts.push(human(
        now,
        Event::RollbackStarted {
            entry: plan.entry.clone(),
            service: plan.service.clone(),
            environment: plan.environment.clone(),
            from: plan.from_version.clone(),
            to: plan.to_version.clone(),
            method: plan.method.word().into(),
            call: confirm.display.clone(),
        },
    ));
    let mut effects = record(drafts);
    match &plan.method {
        // Its output shows in the Runbook pane like a step's.
        RollbackMethod::Command { .. } => effects.push(super::runbook_run::command_run(state, id, confirm, now)),
        RollbackMethod::ArgoCd { .. } | RollbackMethod::Github { .. } => {
            effects.push(Effect::Rollback(RollbackCall { id, plan }));
        }
    }
    effects
}

/// A command rollback ended.
pub fn on_command_finished(state: &mut AppState, run: u64, result: &StepResult, now: DateTime<Utc>) -> Vec<Effect> {
    let answer = if result.succeeded() {
        Ok(result.outcome())
    } else {
        Err(RollbackFailure {
            message: result.outcome(),
            // A timeout or a signal may have cut it off halfway; an exit status is an answer.
            uncertain: result.cut_off(),
        })
    };
    finish(
        state,
        run,
        answer,
        result.duration,
        result.saved_to.as_ref().map(|p| p.display().to_string()),
        (!result.digest.is_empty()).then(|| result.digest.clone()),
        now,
    )
}

/// An API rollback answered.
pub fn on_done(
    state: &mut AppState,
    id: u64,
    result: Result<String, RollbackFailure>,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let took = state
        .deploys
        .in_flight
        .as_ref()
        .filter(|f| f.id == id)
        .map_or(std::time::Duration::ZERO, |f| {
            (now - f.started_at).to_std().unwrap_or_default()
        });
    finish(state, id, result, took, None, None, now)
}

fn finish(
    state: &mut AppState,
    id: u64,
    result: Result<String, RollbackFailure>,
    took: std::time::Duration,
    saved_to: Option<String>,
    digest: Option<String>,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let Some(flight) = state.deploys.in_flight.take_if(|f| f.id == id) else {
        return Vec::new();
    };
    let plan = flight.plan;
    let (ok, uncertain, outcome) = match result {
        Ok(text) => (true, false, text),
        Err(f) => (false, f.uncertain, f.message),
    };
    // A later certain failure says nothing about whether the unknown one happened: only a success
    // (or the rollback showing up in the entry's history) clears it.
    if uncertain {
        state.deploys.unknown_outcome = Some(UnknownOutcome {
            entry: plan.entry.clone(),
            service: plan.service.clone(),
            to_version: plan.to_version.clone(),
        });
    } else if ok
        && state
            .deploys
            .unknown_outcome
            .as_ref()
            .is_some_and(|u| u.entry == plan.entry)
    {
        state.deploys.unknown_outcome = None;
    }
    let text = match (ok, uncertain) {
        (true, _) => format!("rollback of {} to {}: {outcome}", plan.service, plan.to_version),
        (false, true) => format!(
            "rollback of {} OUTCOME UNKNOWN ({outcome}): check the deploy system before trying again",
            plan.service
        ),
        (false, false) => format!("rollback of {} FAILED: {outcome}", plan.service),
    };
    state.notify(if ok { NoticeLevel::Info } else { NoticeLevel::Warn }, text, now);
    let mut drafts = Vec::new();
    // The runbook step it carried out is done, or failed with the reason.
    if let Some((runbook, step)) = &flight.step
        && state.incident_open()
    {
        let (to, reason) = if ok {
            (StepState::Done, None)
        } else {
            (StepState::Failed, Some(outcome.clone()))
        };
        drafts.push(super::runbook_run::step_changed(runbook, step, to, reason, now));
    }
    drafts.push(human(
        now,
        Event::RollbackFinished {
            entry: plan.entry.clone(),
            service: plan.service.clone(),
            to: plan.to_version.clone(),
            method: plan.method.word().into(),
            ok,
            uncertain,
            outcome,
            duration_ms: took.as_millis().min(u128::from(u64::MAX)) as u64,
            saved_to,
            digest,
        },
    ));
    let mut effects = record(drafts);
    if ok {
        let has_probes = state.sources.iter().any(|s| s.kind == super::msg::SourceKind::Probes);
        if !has_probes {
            state.deploys.smoke = SmokeWait::Idle;
            state.notify(
                NoticeLevel::Warn,
                "rollback done; no [[probes]] are configured, so no smoke checks ran",
                now,
            );
        } else if matches!(plan.method, RollbackMethod::Command { .. }) {
            state.deploys.smoke = SmokeWait::AwaitingProbes { since: now };
        } else {
            // The API only accepted it: the rollout runs now, and the checks wait for it.
            state.deploys.smoke = SmokeWait::AfterRollout {
                entry: plan.entry,
                since: flight.started_at,
                known: flight.known,
            };
        }
        effects.push(Effect::RefreshAll);
    }
    effects
}

/// After a poll of the deploy source `entry`: once the rollout an API rollback started has
/// settled (no deploy of the entry in progress, and one that started since), the smoke checks run.
pub fn on_deploys(state: &mut AppState, entry: &str, now: DateTime<Utc>) -> Vec<Effect> {
    let SmokeWait::AfterRollout {
        entry: waiting, known, ..
    } = &state.deploys.smoke
    else {
        return Vec::new();
    };
    if waiting != entry {
        return Vec::new();
    }
    let mine: Vec<_> = state
        .deploys
        .deploys
        .iter()
        .filter(|d| rollback::entry_of(d) == entry)
        .collect();
    // What appeared since the call (the rollback's sync, its history entry, its deployment) has
    // finished; older deploys still shown as running (a GitHub deployment nobody ever gave a
    // status) do not hold the checks back.
    let fresh: Vec<_> = mine.iter().filter(|d| !known.contains(&d.id)).collect();
    let settled = !fresh.is_empty() && fresh.iter().all(|d| d.status != DeployStatus::InProgress);
    if settled {
        state.deploys.smoke = SmokeWait::AwaitingProbes { since: now };
        return vec![Effect::RefreshAll];
    }
    Vec::new()
}

/// On the clock: a rollout not seen to settle within `ROLLOUT_WAIT` gets its smoke checks anyway.
pub fn on_tick(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    match &state.deploys.smoke {
        SmokeWait::AfterRollout { since, .. } if now - *since >= ROLLOUT_WAIT => {
            state.deploys.smoke = SmokeWait::AwaitingProbes { since: now };
            state.notify(
                NoticeLevel::Warn,
                "the rollback's rollout was not seen to finish in 15 minutes: smoke checks run now",
                now,
            );
            vec![Effect::RefreshAll]
        }
        _ => Vec::new(),
    }
}

/// Whether a new or changed deploy starts the canary watch its entry asks for (`canary = "30m"`):
/// a deploy (not a rollback, not the rollback just sent, not a migration) that has not failed,
/// whose watch would not be over.
pub fn canary_length_for(
    state: &AppState,
    deploy: &crate::domain::deploy::Deploy,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let length = *state.deploys.canary.get(rollback::entry_of(deploy))?;
    let rolling_back = state.deploys.rollback_marks.iter().any(|m| m.covers(deploy));
    let wanted = deploy.kind == DeployKind::Deploy
        && !rolling_back
        && matches!(deploy.status, DeployStatus::InProgress | DeployStatus::Succeeded)
        && deploy.started_at + length > now;
    wanted.then_some(length)
}

/// Quotes one argument for `sh -c`.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
