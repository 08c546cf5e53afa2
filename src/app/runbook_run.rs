//! Runbook steps that act: running a command step (inputs checked and expanded, the command shown
//! with secrets masked and hidden characters visible, a confirmation scaled to its risk), skipping
//! a step with a reason, checking verify steps against Prometheus, opening an alert's runbook, and
//! what `update` does with a running step's output, its end and a verify step's answer (the step's
//! state, the pane's output view, the timeline and audit records).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent};

use super::effect::{Effect, EventDraft, StepRun, VerifyCheck};
use super::msg::StepResult;
use super::pane::PaneId;
use super::state::{AppState, Modal, NoticeLevel, Prompt};
use super::update::{human, record};
use crate::domain::runbook::{Risk, Runbook, Step, StepKind, StepState};
use crate::domain::timeline::Event;

/// What rollbacks from the Deploys pane are recorded under (they are not runbook steps).
pub const ROLLBACKS: &str = "deploys";

/// How often pending verify steps of attached runbooks check themselves.
pub const VERIFY_EVERY: Duration = Duration::seconds(30);
/// Output lines of a run kept for the pane.
pub const OUTPUT_LINES: usize = 2000;

/// A step's command waiting for the responder's go-ahead.
#[derive(Debug, Clone, PartialEq)]
pub struct StepConfirm {
    pub runbook: String,
    pub step: String,
    pub step_text: String,
    pub risk: Risk,
    pub lang: String,
    /// Expanded, secrets included: only ever handed to the runner.
    pub command: String,
    /// Expanded with secrets masked and hidden characters made visible: what is shown and recorded.
    pub display: String,
    pub timeout: std::time::Duration,
    /// What a destructive step needs typed (the service name), and what has been typed.
    pub expected: String,
    pub typed: String,
    /// Set when this confirms a rollback from the Deploys pane (`app::rollback`).
    pub rollback: Option<crate::domain::rollback::RollbackPlan>,
}

/// A skip waiting for its reason.
#[derive(Debug, Clone)]
pub struct SkipPrompt {
    pub runbook: String,
    pub step: String,
    pub prompt: Prompt,
}

/// A run this cockpit started.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveRun {
    pub run: u64,
    pub runbook: String,
    pub step: String,
    pub display: String,
    pub started_at: DateTime<Utc>,
    pub output: std::collections::VecDeque<String>,
    pub result: Option<StepResult>,
}

/// The selected step of the shown runbook.
fn selected(state: &AppState) -> Option<(Runbook, Step)> {
    let runbook = state.runbook.active_runbook()?;
    let rows = state.runbook.visible_rows();
    let step = rows
        .get(state.runbook.list.cursor.selected)
        .and_then(|&i| runbook.steps.get(i))?;
    Some((runbook.clone(), step.clone()))
}

/// The values of a runbook's inputs: what the responder set (`:input`), else the defaults.
pub fn input_values(state: &AppState, runbook: &Runbook) -> BTreeMap<String, String> {
    let set = state.runbook.inputs.get(&runbook.id);
    runbook
        .inputs
        .iter()
        .filter_map(|i| {
            set.and_then(|s| s.get(&i.name).cloned())
                .or_else(|| i.default.clone())
                .map(|v| (i.name.clone(), v))
        })
        .collect()
}

/// Attaches `runbook` to the open incident if it is not yet.
pub(crate) fn attach_if_needed(state: &AppState, runbook: &Runbook, now: DateTime<Utc>, drafts: &mut Vec<EventDraft>) {
    let attached = state
        .incident
        .as_ref()
        .is_some_and(|i| i.progress(&runbook.id).is_some());
    if state.incident_open() && !attached {
        drafts.push(human(
            now,
            Event::RunbookAttached {
                runbook: runbook.id.clone(),
                title: runbook.title.clone(),
            },
        ));
    }
}

pub(crate) fn step_changed(
    runbook: &str,
    step: &str,
    to: StepState,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> EventDraft {
    human(
        now,
        Event::StepChanged {
            runbook: runbook.to_string(),
            step: step.to_string(),
            state: to,
            reason,
        },
    )
}

/// `:input NAME VALUE` for the shown runbook.
pub fn set_input(state: &mut AppState, name: String, value: String, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(runbook) = state.runbook.active_runbook().cloned() else {
        state.notify(NoticeLevel::Info, "no runbook shown: :runbook <id> opens one", now);
        return Vec::new();
    };
    let Some(input) = runbook.inputs.iter().find(|i| i.name == name) else {
        let known: Vec<&str> = runbook.inputs.iter().map(|i| i.name.as_str()).collect();
        state.notify(
            NoticeLevel::Warn,
            format!("{} has no input {name} (inputs: {})", runbook.id, known.join(", ")),
            now,
        );
        return Vec::new();
    };
    if let Err(why) = input.check(&value) {
        state.notify(NoticeLevel::Warn, format!("input {name}: {why}"), now);
        return Vec::new();
    }
    let shown = if input.secret {
        "••••".to_string()
    } else {
        value.clone()
    };
    state
        .runbook
        .inputs
        .entry(runbook.id.clone())
        .or_default()
        .insert(name.clone(), value.clone());
    state.notify(NoticeLevel::Info, format!("{name} = {shown}"), now);
    // Recorded, so a restart or a teammate's cockpit has it too; a secret only as "set".
    record(vec![human(
        now,
        Event::InputSet {
            runbook: runbook.id.clone(),
            name,
            value: (!input.secret).then_some(value),
        },
    )])
}

/// `x` on a command step: check the inputs, expand, and ask for confirmation.
pub fn start_run(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let Some((runbook, step)) = selected(state) else {
        state.notify(NoticeLevel::Info, "no runbook step selected (:runbook <id>)", now);
        return Vec::new();
    };
    if let StepKind::Rollback { .. } = step.kind {
        return super::rollback::start_for_step(state, &runbook, &step, now);
    }
    let StepKind::Command(command) = &step.kind else {
        let hint = match step.kind {
            StepKind::Verify(_) => "a verify step: v checks it now",
            _ => "this step has no command: space marks it done",
        };
        state.notify(NoticeLevel::Info, hint, now);
        return Vec::new();
    };
    let values = input_values(state, &runbook);
    for input in &runbook.inputs {
        let Some(value) = values.get(&input.name) else {
            if command.code.contains(&format!("{{{{{}}}}}", input.name)) || command.code.contains(&input.name) {
                state.notify(
                    NoticeLevel::Warn,
                    format!("input {} has no value: :input {} <value>", input.name, input.name),
                    now,
                );
                return Vec::new();
            }
            continue;
        };
        if let Err(why) = input.check(value) {
            state.notify(NoticeLevel::Warn, format!("input {}: {why}", input.name), now);
            return Vec::new();
        }
    }
    let expanded = match crate::domain::runbook::expand(&command.code, &values) {
        Ok(text) => text,
        Err(e) => {
            state.notify(NoticeLevel::Warn, format!("cannot expand the command: {e}"), now);
            return Vec::new();
        }
    };
    let secrets: std::collections::BTreeSet<String> = runbook
        .inputs
        .iter()
        .filter(|i| i.secret)
        .map(|i| i.name.clone())
        .collect();
    let masked = crate::domain::runbook::mask(&command.code, &values, &secrets);
    let display = masked
        .lines()
        .map(|l| crate::domain::sanitize::sanitize(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    state.modal = Some(Modal::ConfirmStep(Box::new(StepConfirm {
        runbook: runbook.id.clone(),
        step: step.id.clone(),
        step_text: step.text.clone(),
        risk: command.risk,
        lang: command.lang.clone(),
        command: expanded,
        display,
        timeout: command.timeout,
        expected: state.service.clone(),
        typed: String::new(),
        rollback: None,
    })));
    Vec::new()
}

/// A key in the confirmation: read steps run on Enter or `y`; write steps only on `y` (Enter
/// declines: the default is No); destructive steps only once the service name is typed exactly.
pub fn on_confirm_key(
    state: &mut AppState,
    mut confirm: Box<StepConfirm>,
    key: KeyEvent,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let go = match (confirm.risk, key.code) {
        (_, KeyCode::Esc) => Some(false),
        (Risk::Read, KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y')) => Some(true),
        (Risk::Read | Risk::Write, KeyCode::Char('n') | KeyCode::Char('N')) => Some(false),
        (Risk::Write, KeyCode::Char('y') | KeyCode::Char('Y')) => Some(true),
        (Risk::Write, KeyCode::Enter) => Some(false),
        (Risk::Destructive, KeyCode::Enter) => Some(confirm.typed == confirm.expected),
        (Risk::Destructive, KeyCode::Backspace) => {
            confirm.typed.pop();
            None
        }
        (Risk::Destructive, KeyCode::Char(c)) => {
            if confirm.typed.chars().count() < 128 {
                confirm.typed.push(c);
            }
            None
        }
        _ => None,
    };
    match go {
        None => {
            state.modal = Some(Modal::ConfirmStep(confirm));
            Vec::new()
        }
        Some(false) => {
            state.notify(NoticeLevel::Info, format!("{} not run", confirm.step), now);
            record(vec![human(
                now,
                Event::StepRefused {
                    runbook: confirm.runbook.clone(),
                    step: confirm.step.clone(),
                    command: confirm.display.clone(),
                    risk: confirm.risk.word().to_string(),
                },
            )])
        }
        Some(true) => match confirm.rollback.take() {
            Some(plan) => super::rollback::launch(state, *confirm, plan, now),
            None => launch(state, *confirm, now),
        },
    }
}

/// Hands a confirmed command to the runner as run `run`: its output view in the pane (the newest
/// 32 runs are kept) and the `Effect::RunStep`.
pub fn command_run(state: &mut AppState, run: u64, confirm: StepConfirm, now: DateTime<Utc>) -> Effect {
    state.runbook.runs.push(ActiveRun {
        run,
        runbook: confirm.runbook.clone(),
        step: confirm.step.clone(),
        display: confirm.display.clone(),
        started_at: now,
        output: Default::default(),
        result: None,
    });
    if state.runbook.runs.len() > 32 {
        state.runbook.runs.remove(0);
    }
    Effect::RunStep(StepRun {
        run,
        incident: state.journal.incident_id.clone().filter(|_| state.incident_open()),
        runbook: confirm.runbook,
        step: confirm.step,
        lang: confirm.lang,
        command: confirm.command,
        display: confirm.display,
        timeout: confirm.timeout,
    })
}

fn launch(state: &mut AppState, confirm: StepConfirm, now: DateTime<Utc>) -> Vec<Effect> {
    let run = state.runbook.next_run;
    state.runbook.next_run += 1;
    let mut drafts = Vec::new();
    if let Some(runbook) = state.runbook.find(&confirm.runbook).cloned() {
        attach_if_needed(state, &runbook, now, &mut drafts);
    }
    if state.incident_open() {
        drafts.push(step_changed(
            &confirm.runbook,
            &confirm.step,
            StepState::Running,
            None,
            now,
        ));
    }
    state.notify(NoticeLevel::Info, format!("running {}…", confirm.step), now);
    let mut effects = record(drafts);
    effects.push(command_run(state, run, confirm, now));
    effects
}

pub fn on_output(state: &mut AppState, run: u64, lines: Vec<String>, _now: DateTime<Utc>) -> Vec<Effect> {
    if let Some(active) = state.runbook.runs.iter_mut().find(|r| r.run == run) {
        for line in lines {
            if active.output.len() >= OUTPUT_LINES {
                active.output.pop_front();
            }
            active.output.push_back(line);
        }
    }
    Vec::new()
}

pub fn on_finished(state: &mut AppState, run: u64, result: StepResult, now: DateTime<Utc>) -> Vec<Effect> {
    if let Some(active) = state.runbook.runs.iter_mut().find(|r| r.run == run) {
        active.result = Some(result.clone());
    }
    // A command rollback ends its rollback, even if its output view has been dropped.
    if state.deploys.in_flight.as_ref().is_some_and(|f| f.id == run) {
        return super::rollback::on_command_finished(state, run, &result, now);
    }
    let Some(active) = state.runbook.runs.iter().find(|r| r.run == run) else {
        return Vec::new();
    };
    let (runbook, step, display) = (active.runbook.clone(), active.step.clone(), active.display.clone());
    let ok = result.succeeded();
    let outcome = result.outcome();
    state.notify(
        if ok { NoticeLevel::Info } else { NoticeLevel::Warn },
        format!("{step}: {outcome}"),
        now,
    );
    let mut drafts = vec![human(
        now,
        Event::StepRan {
            runbook: runbook.clone(),
            step: step.clone(),
            command: display,
            exit_code: result.exit_code,
            signal: result.signal,
            timed_out: result.timed_out,
            duration_ms: result.duration.as_millis().min(u128::from(u64::MAX)) as u64,
            output_bytes: result.output_bytes,
            truncated: result.truncated,
            digest: result.digest.clone(),
            saved_to: result.saved_to.as_ref().map(|p| p.display().to_string()),
            error: result.error.clone(),
        },
    )];
    if state.incident_open() {
        let to = if ok { StepState::Done } else { StepState::Failed };
        drafts.push(step_changed(&runbook, &step, to, (!ok).then_some(outcome), now));
    }
    record(drafts)
}

/// `v`: check the selected verify step now.
pub fn check_selected(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let Some((runbook, step)) = selected(state) else {
        return Vec::new();
    };
    let StepKind::Verify(verify) = &step.kind else {
        state.notify(NoticeLevel::Info, "not a verify step", now);
        return Vec::new();
    };
    verify_effect(state, &runbook, &step, &verify.promql, now)
}

fn verify_effect(
    state: &mut AppState,
    runbook: &Runbook,
    step: &Step,
    promql: &str,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let run = state.runbook.next_run;
    state.runbook.next_run += 1;
    state
        .runbook
        .verifying
        .insert(run, (runbook.id.clone(), step.id.clone(), now));
    vec![Effect::CheckVerify(VerifyCheck {
        run,
        runbook: runbook.id.clone(),
        step: step.id.clone(),
        promql: promql.to_string(),
    })]
}

/// On the clock: pending verify steps of the runbooks attached to the open incident check
/// themselves every `VERIFY_EVERY`.
pub fn on_tick(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    if state.runbook.last_verify.is_some_and(|t| now - t < VERIFY_EVERY) || !state.incident_open() {
        return Vec::new();
    }
    state.runbook.last_verify = Some(now);
    let Some(incident) = state.incident.clone() else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    for (id, _) in &incident.runbooks {
        let Some(runbook) = state.runbook.find(id).cloned() else {
            continue;
        };
        let progress = incident.progress(id);
        for step in &runbook.steps {
            let StepKind::Verify(verify) = &step.kind else { continue };
            let pending = progress.is_none_or(|p| !matches!(p.state(&step.id), StepState::Done | StepState::Skipped));
            let asked = state
                .runbook
                .verifying
                .values()
                .any(|(r, s, _)| r == id && s == &step.id);
            if pending && !asked {
                effects.extend(verify_effect(state, &runbook, step, &verify.promql, now));
            }
        }
    }
    effects
}

pub fn on_verify(
    state: &mut AppState,
    run: u64,
    result: Result<Option<f64>, String>,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let Some((runbook, step, _)) = state.runbook.verifying.remove(&run) else {
        return Vec::new();
    };
    match result {
        Ok(Some(value)) => {
            state.notify(NoticeLevel::Info, format!("{step} holds ({value})"), now);
            if !state.incident_open() {
                return Vec::new();
            }
            let done = state
                .incident
                .as_ref()
                .and_then(|i| i.progress(&runbook))
                .is_some_and(|p| p.state(&step) == StepState::Done);
            if done {
                return Vec::new();
            }
            let mut drafts = Vec::new();
            if let Some(rb) = state.runbook.find(&runbook).cloned() {
                attach_if_needed(state, &rb, now, &mut drafts);
            }
            drafts.push(step_changed(
                &runbook,
                &step,
                StepState::Done,
                Some(format!("verified: the condition held with value {value}")),
                now,
            ));
            record(drafts)
        }
        Ok(None) => {
            if state.focus == PaneId::Runbook {
                state.notify(NoticeLevel::Info, format!("{step} does not hold yet"), now);
            }
            Vec::new()
        }
        Err(why) => {
            state.notify(NoticeLevel::Warn, format!("{step}: cannot check: {why}"), now);
            Vec::new()
        }
    }
}

/// `s` in the Runbook pane: ask for the reason, then record the skip.
pub fn start_skip(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let Some((runbook, step)) = selected(state) else {
        return Vec::new();
    };
    if !state.incident_open() {
        state.notify(
            NoticeLevel::Warn,
            "no open incident: :declare SEV2 <title> first (progress lives in its timeline)",
            now,
        );
        return Vec::new();
    }
    state.modal = Some(Modal::SkipStep(Box::new(SkipPrompt {
        runbook: runbook.id,
        step: step.id,
        prompt: Prompt::new(""),
    })));
    Vec::new()
}

/// A key in the skip-reason prompt: Enter records (a reason is required), Esc cancels.
pub fn on_skip_key(state: &mut AppState, mut skip: Box<SkipPrompt>, key: KeyEvent, now: DateTime<Utc>) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => Vec::new(),
        KeyCode::Enter => {
            let reason = skip.prompt.text().trim().to_string();
            if reason.is_empty() {
                state.notify(NoticeLevel::Warn, "a skip needs a reason", now);
                state.modal = Some(Modal::SkipStep(skip));
                return Vec::new();
            }
            let mut drafts = Vec::new();
            if let Some(rb) = state.runbook.find(&skip.runbook).cloned() {
                attach_if_needed(state, &rb, now, &mut drafts);
            }
            drafts.push(step_changed(
                &skip.runbook,
                &skip.step,
                StepState::Skipped,
                Some(reason),
                now,
            ));
            record(drafts)
        }
        _ => {
            skip.prompt.input.input(key);
            state.modal = Some(Modal::SkipStep(skip));
            Vec::new()
        }
    }
}

/// How an alert leads to its runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookLink {
    /// `runbook://ID` naming a loaded runbook.
    Local(String),
    /// `runbook://ID` naming no loaded runbook.
    Missing(String),
    /// An http(s) URL.
    Url(String),
    /// No `runbook_url`, but this runbook applies by name or labels.
    Matched(String),
    None,
}

pub fn link_for(state: &AppState, alert: &crate::domain::alert::Alert) -> RunbookLink {
    if let Some(url) = alert.runbook_url() {
        if let Some(id) = url.strip_prefix("runbook://") {
            let id = id.trim_end_matches(".md");
            return if state.runbook.find(id).is_some() {
                RunbookLink::Local(id.to_string())
            } else {
                RunbookLink::Missing(id.to_string())
            };
        }
        if url.starts_with("http://") || url.starts_with("https://") {
            return RunbookLink::Url(url.to_string());
        }
    }
    state
        .runbook
        .library
        .iter()
        .find(|r| r.applies_to(alert.name(), &alert.labels))
        .map_or(RunbookLink::None, |r| RunbookLink::Matched(r.id.clone()))
}

/// `o` in the Alerts pane: the selected alert's runbook, attached to the open incident; an
/// http(s) runbook is copied to the clipboard.
pub fn open_for_alert(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(alert) = state.alerts.selected().cloned() else {
        state.notify(NoticeLevel::Info, "no alert selected", now);
        return Vec::new();
    };
    match link_for(state, &alert) {
        RunbookLink::Local(id) | RunbookLink::Matched(id) => {
            super::update::run_palette_command(state, super::palette::Command::Runbook(id), now)
        }
        RunbookLink::Url(url) => {
            state.notify(
                NoticeLevel::Info,
                format!("runbook copied to the clipboard: {url}"),
                now,
            );
            vec![Effect::Clipboard(url)]
        }
        RunbookLink::Missing(id) => {
            state.notify(
                NoticeLevel::Warn,
                format!("runbook://{id}: no such runbook loaded"),
                now,
            );
            Vec::new()
        }
        RunbookLink::None => {
            state.notify(NoticeLevel::Warn, format!("{} has no runbook", alert.name()), now);
            Vec::new()
        }
    }
}
