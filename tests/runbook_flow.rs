//! Runbooks in the cockpit through `update` at a fixed clock: a command step asks for confirmation
//! scaled to its risk and runs only on the go-ahead (declining is recorded), its output and end
//! become records; a step is skipped with a reason; a verify step records the value that held;
//! an alert opens its runbook and attaches it; `--read-only` refuses to run; progress comes back
//! from the journal after a restart; the confirmation shows a bidi override in a command.

mod support;

use chrono::Duration;
use support::*;
use warroom::app::effect::Effect;
use warroom::app::msg::{Msg, StepResult};
use warroom::app::pane::PaneId;
use warroom::app::state::{AppState, Modal};
use warroom::app::update::update;
use warroom::domain::runbook::{StepState, parse};
use warroom::domain::timeline::{Durability, Event};

const RUNBOOK: &str = r#"---
id: drill
title: Drill
owner: sre
review_by: 2099-01-01
alerts: [DrillAlert]
inputs:
  - name: namespace
    default: odin
    pattern: '[a-z0-9-]+'
  - name: token
    secret: true
    default: s3cr3t-value
---

# Drill

- [ ] Look around {#look}
  ```sh {risk=read timeout=10s}
  kubectl -n '{{namespace}}' get pods --token '{{token}}'
  ```
- [ ] Restart the worker {#restart}
  ```sh {risk=write timeout=10s}
  kubectl -n '{{namespace}}' rollout restart deploy/worker
  ```
- [ ] Drop the cache {#drop}
  ```sh {risk=destructive timeout=10s}
  redis-cli FLUSHALL
  ```
- [ ] Check the upload name {#bidi}
  ```sh {risk=read}
  ls 'invoice-{RLO}fdp.exe'
  ```
- [ ] Errors are back to normal {#calm}
  ```promql verify
  sum(rate(errors_total[5m])) < 1
  ```
- [ ] Tell the customers {#tell}
"#;

fn drill_state(read_only: bool) -> AppState {
    let mut s = empty_state((120, 40));
    s.read_only = read_only;
    // The bidi override is put in here: the compiler refuses it in a literal, rightly.
    let text = RUNBOOK.replace("{RLO}", "\u{202e}");
    s.runbook
        .library
        .push(parse(&text).unwrap_or_else(|e| panic!("the drill runbook: {e}")));
    s
}

fn settle(s: &mut AppState, effects: Vec<Effect>) -> Vec<Effect> {
    let mut rest = Vec::new();
    for effect in effects {
        match effect {
            Effect::Record(drafts) => {
                let entries = warroom::journal::prepare(drafts, "alice", at(600))
                    .iter()
                    .map(|p| p.entry(Durability::Durable))
                    .collect();
                rest.extend(update(s, Msg::Recorded(entries), at(600)));
            }
            other => rest.push(other),
        }
    }
    rest
}

fn command(s: &mut AppState, line: &str) -> Vec<Effect> {
    let mut effects = press(s, ":", at(600));
    type_text(s, line, at(600));
    effects.extend(press(s, "enter", at(600)));
    settle(s, effects)
}

fn step_state(s: &AppState, step: &str) -> StepState {
    s.incident
        .as_ref()
        .and_then(|i| i.progress("drill"))
        .map_or(StepState::Todo, |p| p.state(step))
}

fn screen(s: &AppState) -> String {
    screen_text(s, at(600))
}

fn open_drill(s: &mut AppState) {
    command(s, "declare SEV2 drill");
    command(s, "runbook drill");
    assert_eq!(s.focus, PaneId::Runbook);
}

#[test]
fn a_read_step_runs_on_enter_shows_masked_and_records_its_outcome() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    let effects = press(&mut s, "x", at(600));
    assert!(effects.is_empty());
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation: {:?}", s.modal.is_some())
    };
    assert!(
        confirm.display.contains("kubectl -n 'odin' get pods --token '••••'"),
        "{}",
        confirm.display
    );
    assert!(
        confirm.command.contains("s3cr3t-value"),
        "the runner gets the real value"
    );
    let shown = screen(&s);
    assert!(shown.contains("--token '••••'") && !shown.contains("s3cr3t"), "{shown}");
    let effects = {
        let pressed = press(&mut s, "enter", at(600));
        settle(&mut s, pressed)
    };
    let [Effect::RunStep(run)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(run.step, "look");
    assert_eq!(run.timeout, std::time::Duration::from_secs(10));
    assert!(
        !format!("{run:?}").contains("s3cr3t"),
        "Debug of a run hides the command"
    );
    assert_eq!(step_state(&s, "look"), StepState::Running);
    update(
        &mut s,
        Msg::StepOutput {
            run: run.run,
            lines: vec!["NAME READY".into(), "odin-1 1/1".into()],
        },
        at(601),
    );
    let finished = update(
        &mut s,
        Msg::StepFinished {
            run: run.run,
            result: StepResult {
                exit_code: Some(0),
                signal: None,
                timed_out: false,
                duration: std::time::Duration::from_millis(1500),
                output_bytes: 22,
                truncated: false,
                digest: "ab".repeat(32),
                saved_to: None,
                error: None,
            },
        },
        at(602),
    );
    let recorded = events_of(&finished);
    assert!(
        matches!(&recorded[..], [Event::StepRan { exit_code: Some(0), command, digest, duration_ms: 1500, .. }, Event::StepChanged { state: StepState::Done, .. }]
            if command.contains("••••") && digest.len() == 64),
        "{recorded:?}"
    );
    settle(&mut s, finished);
    assert_eq!(step_state(&s, "look"), StepState::Done);
    // The zoomed pane shows the output under the step.
    press(&mut s, "z", at(603));
    let zoomed = screen(&s);
    assert!(zoomed.contains("odin-1 1/1") && zoomed.contains("exit 0"), "{zoomed}");
}

#[test]
fn a_failed_run_marks_the_step_failed_with_why() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "x", at(600));
    let effects = {
        let pressed = press(&mut s, "y", at(600));
        settle(&mut s, pressed)
    };
    let Some(Effect::RunStep(run)) = effects.first() else {
        panic!("{effects:?}")
    };
    let finished = update(
        &mut s,
        Msg::StepFinished {
            run: run.run,
            result: StepResult {
                exit_code: None,
                signal: Some(9),
                timed_out: true,
                duration: std::time::Duration::from_secs(10),
                output_bytes: 0,
                truncated: false,
                digest: String::new(),
                saved_to: None,
                error: None,
            },
        },
        at(610),
    );
    assert!(events_of(&finished).iter().any(
        |e| matches!(e, Event::StepChanged { state: StepState::Failed, reason: Some(r), .. } if r.contains("timed out"))
    ));
}

#[test]
fn a_write_step_defaults_to_no_and_declining_is_recorded() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "j x", at(600));
    assert!(matches!(&s.modal, Some(Modal::ConfirmStep(c)) if c.step == "restart"));
    let effects = press(&mut s, "enter", at(600));
    assert!(s.modal.is_none());
    assert!(
        matches!(&events_of(&effects)[..], [Event::StepRefused { step, risk, .. }] if step == "restart" && risk == "write"),
        "{effects:?}"
    );
    assert!(!effects.iter().any(|e| matches!(e, Effect::RunStep(_))));
    press(&mut s, "x", at(600));
    let effects = press(&mut s, "y", at(600));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::RunStep(r) if r.step == "restart"))
    );
}

#[test]
fn a_destructive_step_needs_the_service_name_typed() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "j j x", at(600));
    assert!(matches!(&s.modal, Some(Modal::ConfirmStep(c)) if c.step == "drop"));
    assert!(press(&mut s, "y", at(600)).is_empty(), "y is just a typed letter here");
    type_text(&mut s, "odn", at(600));
    let effects = press(&mut s, "enter", at(600));
    assert!(matches!(&events_of(&effects)[..], [Event::StepRefused { risk, .. }] if risk == "destructive"));
    press(&mut s, "x", at(600));
    type_text(&mut s, "odin", at(600));
    let effects = press(&mut s, "enter", at(600));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::RunStep(r) if r.step == "drop")),
        "{effects:?}"
    );
}

#[test]
fn the_confirmation_shows_a_bidi_override_in_a_command() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "j j j x", at(600));
    let shown = screen(&s);
    assert!(shown.contains("invoice-⟪RLO⟫fdp.exe"), "{shown}");
    assert!(!shown.contains('\u{202e}'));
    insta::assert_snapshot!(shown);
}

#[test]
fn verify_steps_record_the_value_that_held_and_check_themselves() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "j j j j", at(600));
    let effects = press(&mut s, "v", at(600));
    let [Effect::CheckVerify(check)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(check.promql.contains("errors_total"));
    let no = update(
        &mut s,
        Msg::VerifyDone {
            run: check.run,
            result: Ok(None),
        },
        at(601),
    );
    assert!(no.is_empty());
    // The clock asks again by itself while the step is pending.
    let ticks = update(&mut s, Msg::Tick, at(700));
    let Some(Effect::CheckVerify(again)) = ticks.iter().find(|e| matches!(e, Effect::CheckVerify(_))) else {
        panic!("{ticks:?}")
    };
    let held = update(
        &mut s,
        Msg::VerifyDone {
            run: again.run,
            result: Ok(Some(0.4)),
        },
        at(701),
    );
    assert!(
        matches!(&events_of(&held)[..], [Event::StepChanged { step, state: StepState::Done, reason: Some(r), .. }] if step == "calm" && r.contains("0.4")),
        "{held:?}"
    );
    settle(&mut s, held);
    assert!(
        update(&mut s, Msg::Tick, at(800))
            .iter()
            .all(|e| !matches!(e, Effect::CheckVerify(_))),
        "a verified step is not checked again"
    );
}

#[test]
fn skipping_needs_a_reason() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "G s", at(600));
    assert!(matches!(s.modal, Some(Modal::SkipStep(_))));
    assert!(press(&mut s, "enter", at(600)).is_empty(), "no reason, no skip");
    type_text(&mut s, "status page owned by comms", at(600));
    let effects = {
        let pressed = press(&mut s, "enter", at(600));
        settle(&mut s, pressed)
    };
    assert!(effects.is_empty());
    assert_eq!(step_state(&s, "tell"), StepState::Skipped);
}

#[test]
fn read_only_sessions_refuse_to_run() {
    let mut s = drill_state(true);
    open_drill(&mut s);
    assert!(press(&mut s, "x", at(600)).is_empty());
    assert!(s.modal.is_none());
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("read-only")));
}

#[test]
fn an_alert_opens_its_runbook_and_attaches_it() {
    let mut s = demo_state(10 * 60, (120, 40));
    command(&mut s, "declare SEV2 checkout");
    press(&mut s, "1 g", at(600));
    let name = s.alerts.selected().map(|a| a.name().to_string());
    assert_eq!(name.as_deref(), Some("OdinHighErrorRate"));
    let effects = {
        let pressed = press(&mut s, "o", at(600));
        settle(&mut s, pressed)
    };
    assert!(effects.is_empty());
    assert_eq!(s.focus, PaneId::Runbook);
    assert_eq!(s.runbook.active.as_deref(), Some("high-error-rate"));
    assert!(
        s.incident
            .as_ref()
            .is_some_and(|i| i.progress("high-error-rate").is_some())
    );
}

#[test]
fn progress_comes_back_from_the_journal_after_a_restart() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    press(&mut s, "G s", at(600));
    type_text(&mut s, "done by comms", at(600));
    let effects = press(&mut s, "enter", at(600));
    let mut journal: Vec<_> = s.timeline.entries.clone();
    for effect in effects {
        if let Effect::Record(drafts) = effect {
            journal.extend(
                warroom::journal::prepare(drafts, "alice", at(600))
                    .iter()
                    .map(|p| p.entry(Durability::Durable)),
            );
        }
    }
    // A new cockpit (or a teammate's) reads the same journal.
    let mut fresh = drill_state(false);
    update(&mut fresh, Msg::Recorded(journal), at(600) + Duration::minutes(5));
    assert_eq!(step_state(&fresh, "tell"), StepState::Skipped);
    assert_eq!(fresh.runbook.active.as_deref(), Some("drill"));
}

#[test]
fn a_step_recorded_running_but_not_running_here_says_so_after_a_restart() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    // Run the read step; the cockpit dies before it ends (no StepFinished ever arrives).
    let effects = press(&mut s, "x y", at(600));
    assert!(effects.iter().any(|e| matches!(e, Effect::RunStep(_))));
    settle(&mut s, effects);
    assert_eq!(step_state(&s, "look"), StepState::Running);
    assert!(
        screen(&s).contains("running "),
        "running in this cockpit: {}",
        screen(&s)
    );
    let journal: Vec<_> = s.timeline.entries.clone();
    let mut fresh = drill_state(false);
    update(&mut fresh, Msg::Recorded(journal), at(900));
    assert_eq!(step_state(&fresh, "look"), StepState::Running);
    press(&mut fresh, "6 g z", at(900));
    let text = screen_text(&fresh, at(900));
    assert!(text.contains("running?"), "{text}");
    assert!(
        text.contains("another session runs it"),
        "the detail box says why: {text}"
    );
    // It can be run again.
    press(&mut fresh, "x", at(900));
    assert!(matches!(fresh.modal, Some(Modal::ConfirmStep(_))));
}

#[test]
fn inputs_are_recorded_and_come_back_after_a_restart_but_secrets_never_do() {
    let mut s = drill_state(false);
    open_drill(&mut s);
    let set = command(&mut s, "input namespace odin-canary");
    assert!(set.is_empty(), "recorded at once: {set:?}");
    command(&mut s, "input token s3cr3t-typed-in");
    let recorded: Vec<Event> = s
        .timeline
        .entries
        .iter()
        .filter(|e| e.event.kind() == "runbook.input")
        .map(|e| e.event.clone())
        .collect();
    assert_eq!(
        recorded,
        [
            Event::InputSet {
                runbook: "drill".into(),
                name: "namespace".into(),
                value: Some("odin-canary".into())
            },
            Event::InputSet {
                runbook: "drill".into(),
                name: "token".into(),
                value: None
            },
        ]
    );
    assert!(
        !s.timeline
            .entries
            .iter()
            .any(|e| format!("{:?}", e.event).contains("s3cr3t-typed-in")),
        "the secret is in no record"
    );
    // A new cockpit reading the journal has the namespace; the token is back to its default.
    let mut fresh = drill_state(false);
    update(&mut fresh, Msg::Recorded(s.timeline.entries.clone()), at(900));
    fresh.runbook.active = Some("drill".into());
    let drill = fresh
        .runbook
        .find("drill")
        .cloned()
        .unwrap_or_else(|| panic!("no drill"));
    let values = warroom::app::runbook_run::input_values(&fresh, &drill);
    assert_eq!(values.get("namespace").map(String::as_str), Some("odin-canary"));
    assert_eq!(values.get("token").map(String::as_str), Some("s3cr3t-value"));
}
