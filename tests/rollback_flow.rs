//! Rollbacks from the Deploys pane through `update` at a fixed clock: the destructive confirmation
//! (the service name typed; anything else is a refusal, recorded), the entry's command template
//! or its Argo CD / GitHub API call sent exactly once, `rollback.started` and `rollback.finished`
//! recorded and audited, failures and uncertain outcomes shown and never retried, one rollback at
//! a time, the smoke checks once the rollout has settled, and a canary watch that starts by itself
//! after a deploy of an entry with `canary` set.

mod support;

use chrono::Duration;
use support::*;
use warroom::app::effect::{Effect, RollbackCall, StepRun};
use warroom::app::msg::{Msg, SourceData, SourceKind, SourceUpdate, StepResult};
use warroom::app::pane::PaneId;
use warroom::app::rollback::SmokeWait;
use warroom::app::state::{AppState, Modal};
use warroom::app::update::update;
use warroom::domain::deploy::{Deploy, DeployKind, DeployStatus};
use warroom::domain::probe::{HttpOutcome, HttpState, ProbeOutcome, ProbeResult};
use warroom::domain::rollback::{RollbackFailure, RollbackMethod, RollbackVia};
use warroom::domain::timeline::Event;

/// A command rollback's run ended with `result`.
fn command_ended(s: &mut AppState, run: u64, result: StepResult, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
    update(s, Msg::StepFinished { run, result }, now)
}

/// The deploy API answered rollback call `id`.
fn api_answered(
    s: &mut AppState,
    id: u64,
    result: Result<String, RollbackFailure>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Effect> {
    update(s, Msg::RollbackDone { id, result }, now)
}

/// Presses `keys`: no confirmation opens, and the notice says `says`.
fn refused(s: &mut AppState, keys: &str, now: chrono::DateTime<chrono::Utc>, says: &str) {
    press(s, keys, now);
    assert!(s.modal.is_none(), "{keys}: a confirmation opened");
    assert!(
        s.notice.as_ref().is_some_and(|n| n.text.contains(says)),
        "{keys}: {:?}",
        s.notice
    );
}

/// The one effect `pick` takes among `effects`.
fn the_one<T>(effects: &[Effect], what: &str, pick: impl Fn(&Effect) -> Option<T>) -> T {
    let mut picked: Vec<T> = effects.iter().filter_map(pick).collect();
    match picked.len() {
        1 => picked.remove(0),
        n => panic!("{n} {what}s, not one: {effects:?}"),
    }
}

/// The one API rollback call among `effects`.
fn the_call(effects: &[Effect]) -> RollbackCall {
    the_one(effects, "rollback call", |e| match e {
        Effect::Rollback(call) => Some(call.clone()),
        _ => None,
    })
}

/// The one command run among `effects`.
fn the_run(effects: &[Effect]) -> StepRun {
    the_one(effects, "command run", |e| match e {
        Effect::RunStep(run) => Some(run.clone()),
        _ => None,
    })
}

fn deploy(id: &str, version: &str, minutes: i64, status: DeployStatus) -> Deploy {
    Deploy {
        id: id.into(),
        service: "odin".into(),
        version: version.into(),
        environment: "production".into(),
        author: "ci".into(),
        kind: DeployKind::Deploy,
        status,
        started_at: at(minutes * 60),
        finished_at: Some(at(minutes * 60 + 60)),
        note: String::new(),
    }
}

/// Three deploys of odin from entry "argo": 1.4.2 (newest), 1.4.1, and a failed 1.4.0-bad.
fn deploys_state(via: RollbackVia) -> AppState {
    let mut s = empty_state((120, 40));
    s.deploys.merge(vec![
        deploy("argo/7", "1.4.2", 5, DeployStatus::Succeeded),
        deploy("argo/6", "1.4.1", 3, DeployStatus::Succeeded),
        deploy("argo/5", "1.4.0-bad", 2, DeployStatus::Failed),
    ]);
    s.deploys.rollback.insert("argo".into(), via);
    s
}

fn template() -> RollbackVia {
    RollbackVia::Command(
        [
            "argocd",
            "app",
            "rollback",
            "odin",
            "{previous_revision}",
            "--note=back to {previous_version}",
        ]
        .map(String::from)
        .to_vec(),
    )
}

fn argo() -> RollbackVia {
    RollbackVia::ArgoCd { app: "odin".into() }
}

fn result(exit_code: Option<i32>, timed_out: bool) -> StepResult {
    StepResult {
        exit_code,
        signal: None,
        timed_out,
        duration: std::time::Duration::from_secs(2),
        output_bytes: 80,
        truncated: false,
        digest: "cd".repeat(32),
        saved_to: Some("/var/lib/warroom/incidents/x/runs/1.log".into()),
        error: None,
    }
}

/// Presses `R` on the newest deploy, types `name` and Enter.
fn confirm_rollback(s: &mut AppState, name: &str, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
    press(s, "5 g R", now);
    type_text(s, name, now);
    press(s, "enter", now)
}

fn probes_update(s: &mut AppState, probes: SourceKind, at_s: i64, results: Vec<ProbeResult>) -> Vec<Effect> {
    let source = s
        .sources
        .iter()
        .position(|x| x.kind == probes)
        .map(warroom::app::msg::SourceId)
        .unwrap_or_else(|| panic!("no probes source"));
    update(
        s,
        Msg::Source(SourceUpdate {
            source,
            at: at(at_s),
            result: Ok(SourceData::Probes(results)),
        }),
        at(at_s),
    )
}

fn http(name: &str, state: HttpState, status: u16) -> ProbeResult {
    ProbeResult {
        name: name.into(),
        target: format!("https://{name}.example/health"),
        outcome: ProbeOutcome::Http(HttpOutcome {
            state,
            status: Some(status),
            latency_seconds: Some(0.05),
        }),
    }
}

#[test]
fn a_command_rollback_needs_the_service_name_runs_once_and_records_start_and_finish() {
    let mut s = deploys_state(template());
    press(&mut s, "5 g", at(600));
    assert_eq!(s.focus, PaneId::Deploys);
    press(&mut s, "R", at(600));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation")
    };
    assert_eq!(confirm.display, "argocd app rollback odin 6 '--note=back to 1.4.1'");
    assert_eq!(
        confirm.step, "rollback-1.4.2-to-1.4.1",
        "the failed 1.4.0-bad is skipped"
    );
    assert_eq!(confirm.expected, "odin");
    // Refused: Enter without the name. Recorded (and audited), nothing runs.
    let refused = press(&mut s, "enter", at(600));
    let recorded = events_of(&refused);
    assert!(
        matches!(&recorded[..], [Event::StepRefused { risk, .. }] if risk == "destructive"),
        "{recorded:?}"
    );
    assert!(recorded.iter().all(Event::is_audited));
    assert!(
        !refused
            .iter()
            .any(|e| matches!(e, Effect::RunStep(_) | Effect::Rollback(_)))
    );
    // A wrong name is refused the same way.
    let wrong = confirm_rollback(&mut s, "odim", at(600));
    assert!(matches!(&events_of(&wrong)[..], [Event::StepRefused { .. }]));
    // Accepted.
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let started = events_of(&effects);
    assert!(
        matches!(&started[..], [Event::RollbackStarted { from, to, method, call, .. }]
            if from == "1.4.2" && to == "1.4.1" && method == "command" && call.contains("rollback odin 6")),
        "{started:?}"
    );
    assert!(started.iter().all(Event::is_audited));
    let run = the_run(&effects);
    assert_eq!(run.command, "argocd app rollback odin 6 '--note=back to 1.4.1'");
    // The command fails: recorded as such, never retried by itself.
    let finished = command_ended(&mut s, run.run, result(Some(20), false), at(603));
    let recorded = events_of(&finished);
    assert!(
        matches!(&recorded[..], [Event::RollbackFinished { ok: false, uncertain: false, outcome, saved_to: Some(_), digest: Some(_), .. }] if outcome == "exit 20"),
        "{recorded:?}"
    );
    assert!(recorded.iter().all(Event::is_audited));
    assert!(
        !finished
            .iter()
            .any(|e| matches!(e, Effect::RunStep(_) | Effect::Rollback(_) | Effect::RefreshAll)),
        "no automatic retry, no smoke checks after a failure"
    );
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("FAILED: exit 20")));
    assert!(s.deploys.in_flight.is_none(), "it can be tried again by hand");
}

#[test]
fn a_rollback_cut_off_by_its_timeout_is_marked_uncertain() {
    let mut s = deploys_state(template());
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let run = the_run(&effects);
    let finished = command_ended(&mut s, run.run, result(None, true), at(1200));
    assert!(
        matches!(
            &events_of(&finished)[..],
            [Event::RollbackFinished {
                ok: false,
                uncertain: true,
                ..
            }]
        ),
        "{finished:?}"
    );
    assert!(
        s.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("OUTCOME UNKNOWN") && n.text.contains("check the deploy system"))
    );
}

#[test]
fn a_rollback_needs_a_way_to_roll_back_an_earlier_good_deploy_and_a_writable_session() {
    let mut s = deploys_state(template());
    s.deploys.rollback.clear();
    refused(&mut s, "5 g R", at(600), "no rollback configured for argo");
    let mut s = deploys_state(template());
    press(&mut s, "5 G R", at(600));
    assert!(
        s.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("no earlier successful deploy"))
    );
    let mut ro = deploys_state(template());
    ro.read_only = true;
    refused(&mut ro, "5 g R", at(600), "read-only");
    // An Argo CD entry can only return to a history entry, not to a sync operation.
    let mut s = deploys_state(argo());
    s.deploys.deploys.retain(|d| d.id != "argo/6");
    s.deploys
        .merge(vec![deploy("argo/op-1", "1.4.1", 3, DeployStatus::Succeeded)]);
    refused(&mut s, "5 g R", at(600), "not an Argo CD history entry");
}

#[test]
fn a_finished_command_rollback_runs_the_smoke_checks_and_records_them_once() {
    let mut s = deploys_state(template());
    s.add_source(SourceKind::Probes, "probes");
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let run = the_run(&effects);
    let finished = command_ended(&mut s, run.run, result(Some(0), false), at(610));
    assert!(matches!(
        &events_of(&finished)[..],
        [Event::RollbackFinished { ok: true, .. }]
    ));
    assert!(
        finished.iter().any(|e| matches!(e, Effect::RefreshAll)),
        "the probes are polled at once"
    );
    assert_eq!(s.deploys.smoke, SmokeWait::AwaitingProbes { since: at(610) });
    let checked = probes_update(
        &mut s,
        SourceKind::Probes,
        612,
        vec![
            http("api", HttpState::Up, 200),
            http("admin", HttpState::BadStatus, 503),
        ],
    );
    let recorded = events_of(&checked);
    assert!(
        matches!(&recorded[..], [Event::SmokeChecked { ok: false, results }] if results.len() == 2 && results[1].contains("admin")),
        "{recorded:?}"
    );
    let again = probes_update(&mut s, SourceKind::Probes, 680, vec![http("api", HttpState::Up, 200)]);
    assert!(events_of(&again).is_empty(), "only once per rollback");
}

#[test]
fn an_argocd_rollback_is_one_call_by_history_id_and_the_smoke_checks_wait_for_the_rollout() {
    let mut s = deploys_state(argo());
    // A canary watch after each deploy of this entry: the rollback's own sync must not start one.
    s.deploys.canary.insert("argo".into(), Duration::minutes(30));
    s.add_source(SourceKind::Probes, "probes");
    let argo_source = s.add_source(SourceKind::Deploys, "argo");
    press(&mut s, "5 g R", at(600));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation")
    };
    assert_eq!(confirm.display, r#"POST /api/v1/applications/odin/rollback {"id": 6}"#);
    // The confirmation says what will be sent, once.
    let screen = screen_text(&s, at(600));
    assert!(screen.contains("sent once, never retried"), "{screen}");
    assert!(screen.contains("DESTRUCTIVE"), "{screen}");
    type_text(&mut s, "odin", at(600));
    let effects = press(&mut s, "enter", at(600));
    let call = the_call(&effects);
    assert_eq!(
        call.plan.method,
        RollbackMethod::ArgoCd {
            app: "odin".into(),
            history_id: 6
        }
    );
    assert!(matches!(&events_of(&effects)[..], [Event::RollbackStarted { method, .. }] if method == "argocd"));
    assert!(screen_text(&s, at(601)).contains("rolling back to 1.4.1"));
    // A second rollback while this one has not answered is refused.
    refused(&mut s, "R", at(601), "still running");
    // Argo CD accepted it.
    let done = api_answered(
        &mut s,
        call.id,
        Ok("Argo CD accepted the rollback of odin to history 6; its sync operation is running".into()),
        at(602),
    );
    assert!(
        matches!(&events_of(&done)[..], [Event::RollbackFinished { ok: true, method, duration_ms: 2000, .. }] if method == "argocd"),
        "{done:?}"
    );
    assert!(done.iter().any(|e| matches!(e, Effect::RefreshAll)));
    assert!(matches!(&s.deploys.smoke, SmokeWait::AfterRollout { entry, .. } if entry == "argo"));
    // Probe results while the rollout runs are not the smoke checks.
    assert!(
        events_of(&probes_update(
            &mut s,
            SourceKind::Probes,
            603,
            vec![http("api", HttpState::Up, 200)]
        ))
        .is_empty()
    );
    let poll = |s: &mut AppState, at_s: i64, deploys: Vec<Deploy>| {
        update(
            s,
            Msg::Source(SourceUpdate {
                source: argo_source,
                at: at(at_s),
                result: Ok(SourceData::Deploys(deploys)),
            }),
            at(at_s),
        )
    };
    // A poll that shows nothing new yet: the rollout has not started.
    let unchanged = s.deploys.deploys.clone();
    assert!(
        !poll(&mut s, 610, unchanged)
            .iter()
            .any(|e| matches!(e, Effect::RefreshAll))
    );
    assert!(matches!(s.deploys.smoke, SmokeWait::AfterRollout { .. }));
    // Argo CD shows the rollback as a sync operation at 1.4.1: running, not settled. It is the
    // rollback (not a new deploy): no canary watch, not a suspect.
    let mut syncing = deploy("argo/op-1", "1.4.1", 10, DeployStatus::InProgress);
    syncing.finished_at = None;
    let running = poll(&mut s, 620, vec![syncing]);
    assert!(!running.iter().any(|e| matches!(e, Effect::RefreshAll)));
    assert!(matches!(s.deploys.smoke, SmokeWait::AfterRollout { .. }));
    assert!(
        events_of(&running)
            .iter()
            .all(|e| !matches!(e, Event::CanaryStarted { .. })),
        "{running:?}"
    );
    assert!(
        s.deploys
            .deploys
            .iter()
            .any(|d| d.id == "argo/op-1" && d.kind == DeployKind::Rollback)
    );
    // The sync finished: the operation is gone from the poll, history entry 8 took its place.
    let settled = poll(
        &mut s,
        680,
        vec![
            deploy("argo/8", "1.4.1", 10, DeployStatus::Succeeded),
            deploy("argo/7", "1.4.2", 5, DeployStatus::Succeeded),
        ],
    );
    assert!(
        !s.deploys.deploys.iter().any(|d| d.id == "argo/op-1"),
        "an operation absent from the poll has ended"
    );
    assert!(settled.iter().any(|e| matches!(e, Effect::RefreshAll)), "{settled:?}");
    assert!(
        events_of(&settled)
            .iter()
            .any(|e| matches!(e, Event::DeployObserved { rollback: true, version, .. } if version == "1.4.1")),
        "{settled:?}"
    );
    assert_eq!(s.deploys.smoke, SmokeWait::AwaitingProbes { since: at(680) });
    // Results of a probe poll taken before the rollout settled are not the smoke checks.
    assert!(
        events_of(&probes_update(
            &mut s,
            SourceKind::Probes,
            679,
            vec![http("api", HttpState::Up, 200)]
        ))
        .is_empty()
    );
    let checked = probes_update(&mut s, SourceKind::Probes, 682, vec![http("api", HttpState::Up, 200)]);
    assert!(
        matches!(&events_of(&checked)[..], [Event::SmokeChecked { ok: true, .. }]),
        "{checked:?}"
    );
}

#[test]
fn a_rollout_not_seen_to_settle_gets_its_smoke_checks_after_15_minutes() {
    let mut s = deploys_state(argo());
    s.add_source(SourceKind::Probes, "probes");
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let call = the_call(&effects);
    api_answered(&mut s, call.id, Ok("accepted".into()), at(601));
    assert!(update(&mut s, Msg::Tick, at(600 + 14 * 60)).is_empty());
    let late = update(&mut s, Msg::Tick, at(600 + 15 * 60));
    assert!(late.iter().any(|e| matches!(e, Effect::RefreshAll)));
    assert_eq!(
        s.deploys.smoke,
        SmokeWait::AwaitingProbes {
            since: at(600 + 15 * 60)
        }
    );
}

#[test]
fn a_refused_api_rollback_is_recorded_in_the_apis_words_and_not_retried() {
    let mut s = deploys_state(argo());
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let call = the_call(&effects);
    let refusal = "HTTP 400 from Argo CD rollback of odin: rollback cannot be initiated when auto-sync is enabled";
    let failed = api_answered(
        &mut s,
        call.id,
        Err(RollbackFailure {
            message: refusal.into(),
            uncertain: false,
        }),
        at(601),
    );
    let recorded = events_of(&failed);
    assert!(
        matches!(&recorded[..], [Event::RollbackFinished { ok: false, uncertain: false, outcome, .. }] if outcome == refusal),
        "{recorded:?}"
    );
    assert!(
        !failed
            .iter()
            .any(|e| matches!(e, Effect::Rollback(_) | Effect::RefreshAll))
    );
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("auto-sync")));
    assert_eq!(s.deploys.smoke, SmokeWait::Idle);
    // A stale answer to a call that is no longer in flight changes nothing.
    assert!(api_answered(&mut s, call.id, Ok("late".into()), at(602)).is_empty());
    // The responder may try again, deliberately: a new confirmation, a new call.
    let retry = confirm_rollback(&mut s, "odin", at(700));
    assert_eq!(retry.iter().filter(|e| matches!(e, Effect::Rollback(_))).count(), 1);
    // The timeline line says what happened.
    let uncertain = Event::RollbackFinished {
        entry: "argo".into(),
        service: "odin".into(),
        to: "1.4.1".into(),
        method: "argocd".into(),
        ok: false,
        uncertain: true,
        outcome: "no complete answer within 10s".into(),
        duration_ms: 10_000,
        saved_to: None,
        digest: None,
    };
    assert_eq!(
        uncertain.summary(),
        "rollback of odin to 1.4.1 OUTCOME UNKNOWN: no complete answer within 10s"
    );
}

#[test]
fn a_github_rollback_deploys_the_earlier_deployment_again() {
    let mut s = empty_state((120, 40));
    s.deploys.merge(vec![
        deploy("gh/303", "v1.5.0", 5, DeployStatus::Failed),
        deploy("gh/301", "v1.4.9", 3, DeployStatus::Succeeded),
    ]);
    s.deploys.rollback.insert(
        "gh".into(),
        RollbackVia::Github {
            repo: "acme/odin".into(),
        },
    );
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let call = the_call(&effects);
    assert_eq!(
        call.plan.method,
        RollbackMethod::Github {
            repo: "acme/odin".into(),
            deployment_id: 301
        }
    );
    assert_eq!(
        (call.plan.from_version.as_str(), call.plan.to_version.as_str()),
        ("v1.5.0", "v1.4.9")
    );
}

#[test]
fn a_new_deploy_of_an_entry_with_canary_set_starts_the_watch_from_its_start() {
    let mut s = empty_state((120, 40));
    let source = s.add_source(SourceKind::Deploys, "argo");
    s.deploys.canary.insert("argo".into(), Duration::minutes(30));
    let feed = |s: &mut AppState, at_s: i64, deploys: Vec<Deploy>| {
        events_of(&update(
            s,
            Msg::Source(SourceUpdate {
                source,
                at: at(at_s),
                result: Ok(SourceData::Deploys(deploys)),
            }),
            at(at_s),
        ))
    };
    // History older than a canary window starts nothing.
    let old = feed(
        &mut s,
        7200,
        vec![deploy("argo/1", "1.3.0", 0, DeployStatus::Succeeded)],
    );
    assert!(!old.iter().any(|e| e.kind() == "canary.started"), "{old:?}");
    assert!(s.canary.is_none());
    // A deploy that started 10 minutes ago: the watch covers its remaining 20 minutes.
    let mut new = deploy("argo/2", "1.4.0", 110, DeployStatus::InProgress);
    new.finished_at = None;
    let started = feed(&mut s, 7200, vec![new.clone()]);
    assert!(
        started
            .iter()
            .any(|e| matches!(e, Event::CanaryStarted { minutes: 30, deploy: Some(d) } if d == "odin 1.4.0")),
        "{started:?}"
    );
    let watch = s.canary.clone().unwrap_or_else(|| panic!("no watch"));
    assert_eq!((watch.started_at, watch.ends_at), (at(110 * 60), at(140 * 60)));
    // The same deploy finishing does not restart it.
    new.status = DeployStatus::Succeeded;
    assert!(
        !feed(&mut s, 7300, vec![new])
            .iter()
            .any(|e| e.kind() == "canary.started")
    );
    // A clean watch ends in promote at the deploy's start + 30 minutes.
    let end = events_of(&update(&mut s, Msg::Tick, at(140 * 60)));
    assert!(
        end.iter()
            .any(|e| matches!(e, Event::CanaryVerdict { verdict, .. } if verdict == "promote")),
        "{end:?}"
    );
    // A rollback or a failed deploy starts none.
    let mut back = deploy("argo/3", "1.3.0", 150, DeployStatus::Succeeded);
    back.kind = DeployKind::Rollback;
    let failed = deploy("argo/4", "1.4.1", 151, DeployStatus::Failed);
    assert!(
        !feed(&mut s, 151 * 60 + 30, vec![back, failed])
            .iter()
            .any(|e| e.kind() == "canary.started")
    );
    // A newer deploy during a watch supersedes it: that watch ends on the record, a new one starts.
    let mut first = deploy("argo/5", "1.5.0", 160, DeployStatus::InProgress);
    first.finished_at = None;
    feed(&mut s, 160 * 60 + 10, vec![first]);
    let mut second = deploy("argo/6", "1.5.1", 170, DeployStatus::InProgress);
    second.finished_at = None;
    let superseded = feed(&mut s, 170 * 60 + 10, vec![second]);
    assert!(
        matches!(&superseded[..], [.., Event::CanaryVerdict { verdict, reason, .. }, Event::CanaryStarted { deploy: Some(d), .. }]
            if verdict == "superseded" && reason.contains("odin 1.5.1") && d == "odin 1.5.1"),
        "{superseded:?}"
    );
    // A watch started by hand is left alone.
    s.canary = None;
    type_text(&mut s, ":", at(180 * 60));
    type_text(&mut s, "watch canary 30m", at(180 * 60));
    press(&mut s, "enter", at(180 * 60));
    let mut third = deploy("argo/7", "1.5.2", 181, DeployStatus::InProgress);
    third.finished_at = None;
    assert!(
        !feed(&mut s, 181 * 60 + 10, vec![third])
            .iter()
            .any(|e| e.kind().starts_with("canary."))
    );
}

#[test]
fn the_zoomed_deploys_pane_lines_up_its_columns_and_shows_the_sources_note() {
    let mut s = deploys_state(argo());
    s.deploys.deploys[0].note = "OutOfSync · Degraded".into();
    press(&mut s, "5 z", at(600));
    let screen = screen_text(&s, at(600));
    let header = screen
        .lines()
        .find(|l| l.contains("STATUS"))
        .unwrap_or_else(|| panic!("{screen}"));
    let row = screen
        .lines()
        .find(|l| l.contains("1.4.2"))
        .unwrap_or_else(|| panic!("{screen}"));
    for (column, value) in [
        ("VERSION", "1.4.2"),
        ("ENV", "production"),
        ("BY", "ci"),
        ("NOTE", "OutOfSync · Degraded"),
    ] {
        let (Some(h), Some(v)) = (header.find(column), row.find(value)) else {
            panic!("{column} / {value}:\n{screen}")
        };
        // Byte offsets: the rows before these columns hold the same multi-byte symbols.
        assert_eq!(
            header[..h].chars().count(),
            row[..v].chars().count(),
            "{column} lines up with {value}:\n{header}\n{row}"
        );
    }
}

#[test]
fn after_an_unknown_outcome_the_next_confirmation_warns_until_the_rollback_shows_up() {
    let mut s = deploys_state(argo());
    let argo_source = s.add_source(SourceKind::Deploys, "argo");
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let call = the_call(&effects);
    api_answered(
        &mut s,
        call.id,
        Err(RollbackFailure {
            message: "HTTP 504 from Argo CD rollback of odin: upstream request timeout".into(),
            uncertain: true,
        }),
        at(610),
    );
    press(&mut s, "5 g R", at(620));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation")
    };
    assert!(
        confirm
            .step_text
            .starts_with("⚠ the last rollback of odin to 1.4.1 has an UNKNOWN outcome"),
        "{}",
        confirm.step_text
    );
    assert!(screen_text(&s, at(620)).contains("UNKNOWN outcome"));
    press(&mut s, "esc", at(620));
    // The entry's next poll shows the rollback happened after all: no more warning.
    update(
        &mut s,
        Msg::Source(SourceUpdate {
            source: argo_source,
            at: at(640),
            result: Ok(SourceData::Deploys(vec![deploy(
                "argo/8",
                "1.4.1",
                10,
                DeployStatus::Succeeded,
            )])),
        }),
        at(640),
    );
    assert!(s.deploys.unknown_outcome.is_none());
    // The newest row is now that rollback: it is not itself rolled back.
    refused(&mut s, "5 g R", at(650), "1.4.1 is a rollback");
    press(&mut s, "5 g j R", at(650));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation")
    };
    assert!(!confirm.step_text.contains("UNKNOWN"), "{}", confirm.step_text);
}

#[test]
fn the_rollback_runbooks_step_runs_the_configured_rollback_and_follows_its_outcome() {
    use warroom::domain::runbook::StepState;
    let mut s = deploys_state(argo());
    open_incident(&mut s, at(500));
    press(&mut s, ":", at(600));
    type_text(&mut s, "runbook rollback", at(600));
    press(&mut s, "enter", at(600));
    assert_eq!(s.focus, PaneId::Runbook);
    // mark-incident, find-previous-tag, revert-configured.
    press(&mut s, "g j j", at(600));
    assert!(screen_text(&s, at(600)).contains("↺▲"), "the step shows it rolls back");
    press(&mut s, "x", at(600));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation: {:?}", s.notice)
    };
    assert_eq!(
        (confirm.runbook.as_str(), confirm.step.as_str()),
        ("rollback", "revert-configured")
    );
    assert_eq!(
        confirm.display, r#"POST /api/v1/applications/odin/rollback {"id": 6}"#,
        "1.4.2 back to 1.4.1"
    );
    type_text(&mut s, "odin", at(600));
    let effects = press(&mut s, "enter", at(600));
    let recorded = events_of(&effects);
    assert!(
        recorded.iter().any(
            |e| matches!(e, Event::StepChanged { step, state: StepState::Running, .. } if step == "revert-configured")
        ),
        "{recorded:?}"
    );
    assert!(recorded.iter().any(|e| matches!(e, Event::RollbackStarted { .. })));
    let call = the_call(&effects);
    let done = api_answered(
        &mut s,
        call.id,
        Err(RollbackFailure {
            message: "HTTP 403 from Argo CD rollback of odin: permission denied".into(),
            uncertain: false,
        }),
        at(601),
    );
    let recorded = events_of(&done);
    assert!(
        recorded.iter().any(
            |e| matches!(e, Event::StepChanged { step, state: StepState::Failed, reason: Some(r), .. }
            if step == "revert-configured" && r.contains("permission denied"))
        ),
        "{recorded:?}"
    );
    assert!(
        recorded
            .iter()
            .any(|e| matches!(e, Event::RollbackFinished { ok: false, .. }))
    );
    // Without a deploy source that can roll back, the step says so.
    let mut bare = empty_state((120, 40));
    press(&mut bare, ":", at(600));
    type_text(&mut bare, "runbook rollback", at(600));
    refused(&mut bare, "enter g j j x", at(600), "no deploy of odin");
}

#[test]
fn the_demo_rehearses_a_rollback_of_the_bad_release() {
    // Two minutes in: 1.4.2 is rolling out over 1.4.1.
    let mut s = demo_state(120, (160, 45));
    press(&mut s, "5 g R", at(120));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation: {:?}\n{}", s.notice, screen_text(&s, at(120)))
    };
    assert_eq!(confirm.display, "kubectl argo rollouts undo odin --to-revision=141");
    assert_eq!(confirm.step, "rollback-1.4.2-to-1.4.1");
}

/// A poll of the "argo" deploy source, registered on first use.
fn poll_argo(s: &mut AppState, at_s: i64, deploys: Vec<Deploy>) -> Vec<Effect> {
    let source = s
        .sources
        .iter()
        .position(|x| x.kind == SourceKind::Deploys && x.name == "argo")
        .map(warroom::app::msg::SourceId)
        .unwrap_or_else(|| s.add_source(SourceKind::Deploys, "argo"));
    update(
        s,
        Msg::Source(SourceUpdate {
            source,
            at: at(at_s),
            result: Ok(SourceData::Deploys(deploys)),
        }),
        at(at_s),
    )
}

#[test]
fn rollbacks_read_back_from_the_journal_stay_rollbacks_and_are_never_rolled_forward() {
    // Alice's cockpit rolls 1.4.2 back to 1.4.1; Argo CD's sync lands as history entry 8.
    let mut s = deploys_state(argo());
    let effects = confirm_rollback(&mut s, "odin", at(600));
    let call = the_call(&effects);
    let mut journal: Vec<_> = journaled(&effects, "alice", at(600));
    let done = api_answered(&mut s, call.id, Ok("accepted".into()), at(601));
    journal.extend(journaled(&done, "alice", at(601)));
    // Bob's cockpit (or Alice's after a restart) reads the journal, then polls Argo CD.
    let mut bob = deploys_state(argo());
    update(&mut bob, Msg::Recorded(journal), at(700));
    bob.deploys.canary.insert("argo".into(), Duration::minutes(30));
    let polled = poll_argo(
        &mut bob,
        720,
        vec![deploy("argo/8", "1.4.1", 10, DeployStatus::Succeeded)],
    );
    assert!(
        bob.deploys
            .deploys
            .iter()
            .any(|d| d.id == "argo/8" && d.kind == DeployKind::Rollback),
        "{:?}",
        bob.deploys.deploys
    );
    assert!(!events_of(&polled).iter().any(|e| e.kind() == "canary.started"));
    // The runbook's rollback step will not roll 1.4.1 "back" to the bad 1.4.2.
    press(&mut bob, ":", at(730));
    type_text(&mut bob, "runbook rollback", at(730));
    refused(&mut bob, "enter g j j x", at(730), "already a rollback");
    // A second rollback later does not turn the first back into a deploy.
    bob.deploys.mark_rollback(warroom::app::rollback::RollbackMark {
        entry: "argo".into(),
        to_version: "1.4.0".into(),
        at: at(800),
    });
    poll_argo(
        &mut bob,
        820,
        vec![deploy("argo/8", "1.4.1", 10, DeployStatus::Succeeded)],
    );
    assert!(
        bob.deploys
            .deploys
            .iter()
            .any(|d| d.id == "argo/8" && d.kind == DeployKind::Rollback)
    );
}

#[test]
fn the_rollback_step_keeps_to_this_cockpits_environment_and_skips_what_is_rolled_back_already() {
    let mut s = deploys_state(argo());
    let mut staging = deploy("argo/9", "1.5.0-rc1", 20, DeployStatus::Succeeded);
    staging.environment = "staging".into();
    s.deploys.merge(vec![staging]);
    press(&mut s, ":", at(1500));
    type_text(&mut s, "runbook rollback", at(1500));
    press(&mut s, "enter g j j x", at(1500));
    let Some(Modal::ConfirmStep(confirm)) = &s.modal else {
        panic!("no confirmation: {:?}", s.notice)
    };
    assert!(
        confirm.step_text.contains("production back from 1.4.2 to 1.4.1"),
        "{}",
        confirm.step_text
    );
}

#[test]
fn a_rollback_step_this_cockpit_is_running_through_the_api_shows_running() {
    let mut s = deploys_state(argo());
    open_incident(&mut s, at(500));
    press(&mut s, ":", at(600));
    type_text(&mut s, "runbook rollback", at(600));
    press(&mut s, "enter g j j x", at(600));
    type_text(&mut s, "odin", at(600));
    let effects = press(&mut s, "enter", at(600));
    // The journal gives the step back as running (as after any record).
    let entries = journaled(&effects, "alice", at(600));
    update(&mut s, Msg::Recorded(entries), at(600));
    let screen = screen_text(&s, at(601));
    let row = screen
        .lines()
        .find(|l| l.contains("Revert with the rollback"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("running ") && !row.contains("running?"), "{row}");
}

#[test]
fn an_unknown_outcome_survives_a_later_refusal_and_clears_when_github_shows_the_rollback() {
    let mut s = empty_state((120, 40));
    s.deploys.merge(vec![
        deploy("argo/303", "v1.5.0", 5, DeployStatus::Failed),
        deploy("argo/301", "v1.4.9", 3, DeployStatus::Succeeded),
    ]);
    s.deploys.rollback.insert(
        "argo".into(),
        RollbackVia::Github {
            repo: "acme/odin".into(),
        },
    );
    let first = the_call(&confirm_rollback(&mut s, "odin", at(600)));
    // A poll lands before the answer: the new deployment is already listed, yet it is the rollout.
    let mut created = deploy("argo/304", "0c0ffee", 10, DeployStatus::InProgress);
    created.kind = DeployKind::Rollback;
    created.finished_at = None;
    poll_argo(&mut s, 605, vec![created.clone()]);
    api_answered(
        &mut s,
        first.id,
        Err(RollbackFailure {
            message: "HTTP 502 from GitHub deployment of the rollback".into(),
            uncertain: true,
        }),
        at(610),
    );
    assert!(s.deploys.unknown_outcome.is_some());
    // A second try is refused for certain: that says nothing about the first.
    // (The newest row is that rollback deployment now; the bad release is the next one.)
    press(&mut s, "5 g j R", at(620));
    type_text(&mut s, "odin", at(620));
    let second = the_call(&press(&mut s, "enter", at(620)));
    api_answered(
        &mut s,
        second.id,
        Err(RollbackFailure {
            message: "HTTP 409 from GitHub deployment of the rollback: conflict".into(),
            uncertain: false,
        }),
        at(621),
    );
    assert!(
        s.deploys.unknown_outcome.is_some(),
        "a certain failure does not clear it"
    );
    // GitHub lists the rollback deployment finished: it did happen.
    created.status = DeployStatus::Succeeded;
    poll_argo(&mut s, 700, vec![created]);
    assert!(s.deploys.unknown_outcome.is_none());
}

#[test]
fn the_rollout_is_what_appeared_after_the_call_was_sent() {
    let mut s = deploys_state(argo());
    s.add_source(SourceKind::Probes, "probes");
    let call = the_call(&confirm_rollback(&mut s, "odin", at(600)));
    // The rollout shows up in a poll before the answer is taken in, then finishes.
    let mut rolling = deploy("argo/8", "1.4.1", 10, DeployStatus::InProgress);
    rolling.finished_at = None;
    poll_argo(&mut s, 601, vec![rolling.clone()]);
    api_answered(&mut s, call.id, Ok("accepted".into()), at(602));
    rolling.status = DeployStatus::Succeeded;
    let settled = poll_argo(&mut s, 660, vec![rolling]);
    assert!(settled.iter().any(|e| matches!(e, Effect::RefreshAll)), "{settled:?}");
    assert!(matches!(s.deploys.smoke, SmokeWait::AwaitingProbes { .. }));
}

#[test]
fn the_zoomed_deploys_pane_details_the_selected_deploy_and_what_r_would_do() {
    let mut s = deploys_state(argo());
    s.deploys.deploys[0].note = "Synced · Degraded".into();
    press(&mut s, "5 z g", at(600));
    let screen = screen_text(&s, at(600));
    let details: Vec<&str> = screen.lines().skip_while(|l| !l.contains("── details")).collect();
    let text = details.join("\n");
    assert!(text.contains("odin 1.4.2 · OK in production · argo/7"), "{screen}");
    assert!(text.contains("Synced · Degraded"), "{screen}");
    assert!(
        text.contains(r#"R rolls back to 1.4.1 with: POST /api/v1/applications/odin/rollback {"id": 6}"#),
        "{screen}"
    );
    // The failed deploy has nothing earlier to return to.
    press(&mut s, "G", at(600));
    assert!(screen_text(&s, at(600)).contains("no earlier successful deploy of odin to return to"));
    // What R would refuse, the box says: an Argo CD sync operation is no history entry.
    s.deploys.deploys.retain(|d| d.id != "argo/6");
    s.deploys
        .merge(vec![deploy("argo/op-1", "1.4.1", 3, DeployStatus::Succeeded)]);
    press(&mut s, "g", at(600));
    assert!(screen_text(&s, at(600)).contains("not an Argo CD history entry"));
    // And read-only sessions have none.
    s.read_only = true;
    assert!(screen_text(&s, at(600)).contains("none in a read-only session"));
}

#[test]
fn an_older_deploy_finishing_never_takes_over_a_newer_deploys_canary_watch() {
    let mut s = empty_state((120, 40));
    s.deploys.canary.insert("argo".into(), Duration::minutes(30));
    let mut older = deploy("argo/1", "1.5.0", 10, DeployStatus::InProgress);
    older.finished_at = None;
    let mut newer = deploy("argo/2", "1.5.1", 12, DeployStatus::InProgress);
    newer.finished_at = None;
    // Listed newest first, as sources do: the newer deploy is watched.
    poll_argo(&mut s, 13 * 60, vec![newer.clone(), older.clone()]);
    assert_eq!(
        s.canary.as_ref().and_then(|c| c.deploy.clone()).as_deref(),
        Some("odin 1.5.1")
    );
    // The older one finishing changes nothing.
    older.status = DeployStatus::Succeeded;
    let polled = poll_argo(&mut s, 14 * 60, vec![newer, older]);
    assert!(
        !events_of(&polled).iter().any(|e| e.kind().starts_with("canary.")),
        "{polled:?}"
    );
    assert_eq!(
        s.canary.as_ref().and_then(|c| c.deploy.clone()).as_deref(),
        Some("odin 1.5.1")
    );
}

#[test]
fn the_rollback_step_rolls_back_a_retried_release_but_not_a_return_to_an_earlier_one() {
    // 1.4.2 failed, was retried and went out: the retry is an ordinary deploy to roll back.
    let mut s = deploys_state(argo());
    s.deploys.merge(vec![
        deploy("argo/4", "1.4.2", 1, DeployStatus::Failed),
        deploy("argo/8", "1.4.2", 8, DeployStatus::Succeeded),
    ]);
    s.deploys.deploys.retain(|d| d.id != "argo/7");
    press(&mut s, ":", at(900));
    type_text(&mut s, "runbook rollback", at(900));
    press(&mut s, "enter g j j x", at(900));
    assert!(matches!(s.modal, Some(Modal::ConfirmStep(_))), "{:?}", s.notice);
    // 1.4.1, then 1.4.2, then 1.4.1 again: the newest returns to an earlier version.
    let mut s = deploys_state(argo());
    s.deploys
        .merge(vec![deploy("argo/9", "1.4.1", 9, DeployStatus::Succeeded)]);
    press(&mut s, ":", at(900));
    type_text(&mut s, "runbook rollback", at(900));
    refused(&mut s, "enter g j j x", at(900), "already a rollback");
}

#[test]
fn a_timeline_entry_is_retracted_with_a_reason_and_a_retracted_plan_answers_nothing() {
    let mut s = empty_state((120, 40));
    open_incident(&mut s, at(0));
    // A mitigation plan for odin, and one for another service that must not replace it.
    let plan = press(&mut s, ":", at(10));
    assert!(plan.is_empty());
    type_text(&mut s, "mitigation revert 1.4.2", at(10));
    let recorded = press(&mut s, "enter", at(10));
    update(&mut s, Msg::Recorded(journaled(&recorded, "alice", at(10))), at(10));
    let search = vec![warroom::app::effect::EventDraft {
        occurred_at: at(20),
        actor: Some("bob".into()),
        event: Event::MitigationPlan {
            plan: "shed load".into(),
            service: "search".into(),
            slos: vec![],
        },
        supersedes: None,
    }];
    update(
        &mut s,
        Msg::Recorded(journaled(&[Effect::Record(search)], "bob", at(20))),
        at(20),
    );
    assert_eq!(
        s.slos.mitigation.as_ref().map(|p| p.plan.as_str()),
        Some("revert 1.4.2")
    );
    // Retract odin's plan from the Timeline pane.
    press(&mut s, "7", at(30));
    let plan_row = s
        .timeline
        .visible_rows()
        .iter()
        .position(|&i| s.timeline.entries[i].event.kind() == "slo.mitigation_plan")
        .unwrap_or_else(|| panic!("no plan row"));
    s.timeline.list.cursor.selected = plan_row;
    press(&mut s, ":", at(30));
    type_text(&mut s, "retract wrong service", at(30));
    let retraction = press(&mut s, "enter", at(30));
    let recorded = events_of(&retraction);
    assert!(
        matches!(&recorded[..], [Event::Retracted { reason }] if reason == "wrong service"),
        "{recorded:?}"
    );
    assert!(recorded[0].is_audited());
    update(&mut s, Msg::Recorded(journaled(&retraction, "alice", at(30))), at(30));
    assert!(s.slos.mitigation.is_none(), "{:?}", s.slos.mitigation);
}
