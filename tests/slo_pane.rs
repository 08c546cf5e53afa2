//! The SLOs pane and the release gate through `update` and `view` at a fixed clock: a snapshot of
//! the pane in each state (OK, TICKET, PAGE, NO DATA, STALE, budget exhausted with the banner),
//! and the timeline events for entering TICKET or PAGE, leaving them, and exhausting a budget.

mod support;

use chrono::Utc;
use chrono::{DateTime, Duration};
use support::*;
use warroom::app::effect::Effect;
use warroom::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use warroom::app::pane::PaneId;
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::domain::deploy::{Deploy, DeployKind, DeployStatus};
use warroom::domain::health::{FetchError, FetchErrorKind};
use warroom::domain::slo::{BurnWindow, SloObservation, SloSpec, WindowCounts};
use warroom::domain::timeline::Event;

const SIZE: (u16, u16) = (120, 40);

fn spec(name: &str, objective: f64) -> SloSpec {
    SloSpec {
        name: name.into(),
        objective,
        window: Duration::days(30),
    }
}

/// An observation whose error ratio is `ratio(window)` for each window with data.
fn observe(spec: SloSpec, now: DateTime<Utc>, ratio: impl Fn(BurnWindow) -> Option<f64>) -> SloObservation {
    let counts: Vec<WindowCounts> = BurnWindow::ALL
        .iter()
        .filter_map(|&w| {
            ratio(w).map(|r| WindowCounts {
                window: w,
                bad: r * 1_000_000.0,
                total: 1_000_000.0,
            })
        })
        .collect();
    let budget = 1.0 - spec.objective;
    let short = ratio(BurnWindow::M5).unwrap_or(f64::NAN);
    let burn_history = if ratio(BurnWindow::M5).is_none() {
        Vec::new()
    } else {
        (0..61)
            .map(|k| {
                if k < 40 {
                    0.4 + f64::from(k % 5) * 0.05
                } else {
                    short / budget * f64::from(k - 39) / 21.0
                }
            })
            .collect()
    };
    SloObservation {
        spec,
        at: now,
        counts,
        burn_history,
        problem: None,
    }
}

/// Per state: the observation that puts an SLO there.
fn availability(state: &str, now: DateTime<Utc>) -> SloObservation {
    let s = spec("availability", 0.999);
    match state {
        "OK" => observe(s, now, |_| Some(0.0002)),
        "TICKET" => observe(s, now, |w| {
            Some(match w {
                BurnWindow::D1 | BurnWindow::H2 => 0.0035,
                BurnWindow::Full => 0.0004,
                _ => 0.0011,
            })
        }),
        "PAGE" => observe(s, now, |w| {
            Some(match w {
                BurnWindow::M5 | BurnWindow::M30 => 0.05,
                BurnWindow::H1 => 0.041,
                BurnWindow::H2 => 0.021,
                BurnWindow::H6 => 0.0074,
                BurnWindow::D1 => 0.0022,
                BurnWindow::D3 => 0.0011,
                BurnWindow::Full => 0.00058,
            })
        }),
        "EXHAUSTED" => observe(s, now, |w| Some(if w == BurnWindow::Full { 0.0012 } else { 0.0009 })),
        "NO DATA" => SloObservation {
            problem: Some("no series match odin_http_request_duration_seconds_count{route!~\"/api/health\"}".into()),
            ..observe(s, now, |_| None)
        },
        "STALE" => observe(s, now, |w| (w != BurnWindow::M5).then_some(0.0002)),
        other => panic!("no state {other}"),
    }
}

struct Rig {
    state: AppState,
    prometheus: SourceId,
}

fn rig() -> Rig {
    let mut state = empty_state(SIZE);
    let prometheus = state.add_source(SourceKind::Prometheus, "prometheus");
    state.deploys.merge(vec![Deploy {
        id: "d1".into(),
        service: "odin".into(),
        version: "1.4.2".into(),
        environment: "production".into(),
        author: "ci".into(),
        kind: DeployKind::Deploy,
        status: DeployStatus::Succeeded,
        started_at: at(-20 * 60),
        finished_at: Some(at(-18 * 60)),
        note: String::new(),
    }]);
    update(&mut state, Msg::Key(key("2")), at(0));
    update(&mut state, Msg::Key(key("z")), at(0));
    Rig { state, prometheus }
}

impl Rig {
    fn feed(&mut self, observations: Vec<SloObservation>, now: DateTime<Utc>) -> Vec<Event> {
        let effects = update(
            &mut self.state,
            Msg::Source(SourceUpdate {
                source: self.prometheus,
                at: now,
                result: Ok(SourceData::Slos(observations)),
            }),
            now,
        );
        recorded(effects)
    }

    fn fail(&mut self, now: DateTime<Utc>) {
        update(
            &mut self.state,
            Msg::Source(SourceUpdate {
                source: self.prometheus,
                at: now,
                result: Err(FetchError::new(
                    FetchErrorKind::Connect,
                    "Connection refused (os error 111)",
                )),
            }),
            now,
        );
    }

    fn screen(&self, now: DateTime<Utc>) -> String {
        screen_text(&self.state, now)
    }
}

/// The timeline events among `effects`.
fn recorded(effects: Vec<Effect>) -> Vec<Event> {
    effects
        .into_iter()
        .flat_map(|e| match e {
            Effect::Record(drafts) => drafts.into_iter().map(|d| d.event).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn pane_in(state: &str) -> String {
    let mut rig = rig();
    rig.feed(vec![availability(state, at(0)), latency_ok(at(0))], at(0));
    let screen = rig.screen(at(5));
    assert_eq!(rig.state.focus, PaneId::Slos);
    screen
}

fn latency_ok(now: DateTime<Utc>) -> SloObservation {
    observe(spec("latency", 0.95), now, |_| Some(0.012))
}

#[test]
fn slo_pane_ok() {
    let screen = pane_in("OK");
    assert!(screen.contains("✓ OK") && screen.contains("80.0% left"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn slo_pane_ticket() {
    let screen = pane_in("TICKET");
    assert!(screen.contains("△ TICKET"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn slo_pane_page() {
    let screen = pane_in("PAGE");
    assert!(screen.contains("▲ PAGE") && screen.contains("empty in"), "{screen}");
    assert!(!screen.contains("RELEASES FROZEN"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn slo_pane_no_data_is_never_healthy() {
    let screen = pane_in("NO DATA");
    assert!(
        screen.contains("? NO DATA") && screen.contains("no series match"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn slo_pane_stale_when_the_counters_stop() {
    let screen = pane_in("STALE");
    assert!(
        screen.contains("✗ STALE") && screen.contains("no samples in the last 5m"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn slo_pane_stale_when_prometheus_stops_answering_keeps_the_figures() {
    let mut rig = rig();
    rig.feed(vec![availability("PAGE", at(0)), latency_ok(at(0))], at(0));
    rig.fail(at(30));
    let screen = rig.screen(at(40));
    assert!(
        screen.contains("✗ STALE") && screen.contains("Connection refused"),
        "{screen}"
    );
    assert!(screen.contains("42.0% left"), "the last figures stay: {screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn an_exhausted_budget_freezes_releases_with_a_banner_everywhere() {
    let screen = pane_in("EXHAUSTED");
    assert!(
        screen.contains("▲ SPENT") && screen.contains("budget EXHAUSTED (-20.0%)"),
        "{screen}"
    );
    assert!(!screen.contains("✓ OK      availability"), "{screen}");
    let banner = screen.lines().nth(1).unwrap_or_default();
    assert!(
        banner.contains("RELEASES FROZEN")
            && banner.contains("availability -20.0%")
            && banner.contains("mitigation plan"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    // The banner is there whatever pane is focused or zoomed, and at 80x24.
    let mut rig = rig();
    rig.feed(vec![availability("EXHAUSTED", at(0))], at(0));
    update(&mut rig.state, Msg::Key(key("esc")), at(1));
    update(&mut rig.state, Msg::Key(key("4")), at(1));
    update(&mut rig.state, Msg::Resize { width: 80, height: 24 }, at(1));
    let small = rig.screen(at(2));
    assert!(
        small.lines().nth(1).unwrap_or_default().contains("RELEASES FROZEN"),
        "{small}"
    );
    // Budget back above zero: the banner goes.
    rig.feed(vec![availability("OK", at(60))], at(60));
    assert!(!rig.screen(at(61)).contains("RELEASES FROZEN"));
}

#[test]
fn entering_and_leaving_alarming_states_and_exhausting_the_budget_are_recorded_with_figures() {
    let mut rig = rig();
    assert!(
        rig.feed(vec![availability("OK", at(0))], at(0)).is_empty(),
        "OK at start is not news"
    );
    assert!(rig.feed(vec![availability("OK", at(15))], at(15)).is_empty());
    let events = rig.feed(vec![availability("TICKET", at(30))], at(30));
    assert!(
        matches!(events.as_slice(), [Event::SloStateChanged { slo, state, .. }] if slo == "availability" && state == "TICKET"),
        "{events:?}"
    );
    assert!(
        rig.feed(vec![availability("TICKET", at(45))], at(45)).is_empty(),
        "no repeat while it holds"
    );
    let events = rig.feed(vec![availability("PAGE", at(60))], at(60));
    let [
        Event::SloStateChanged {
            state,
            burn_1h,
            burn_5m,
            budget_remaining,
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(state, "PAGE");
    assert_eq!(burn_1h.map(|b| (b * 10.0).round() / 10.0), Some(41.0));
    assert_eq!(burn_5m.map(f64::round), Some(50.0));
    assert_eq!(budget_remaining.map(|b| (b * 1000.0).round() / 1000.0), Some(0.42));
    let events = rig.feed(vec![availability("EXHAUSTED", at(90))], at(90));
    let states: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::SloStateChanged { state, .. } => Some(state.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec!["OK", "BUDGET EXHAUSTED"],
        "leaving PAGE and exhausting are both recorded"
    );
    assert!(rig.feed(vec![availability("EXHAUSTED", at(120))], at(120)).is_empty());
}

#[test]
fn a_recorded_mitigation_plan_turns_the_freeze_into_a_warning() {
    let mut rig = rig();
    rig.feed(vec![availability("EXHAUSTED", at(0))], at(0));
    assert!(rig.screen(at(1)).contains("RELEASES FROZEN"));
    let mut effects = update(&mut rig.state, Msg::Key(key(":")), at(2));
    for c in "mitigation revert 1.4.2; canary gate on 5xx".chars() {
        let k = if c == ' ' { "space".to_string() } else { c.to_string() };
        effects.extend(update(&mut rig.state, Msg::Key(key(&k)), at(2)));
    }
    effects.extend(update(&mut rig.state, Msg::Key(key("enter")), at(2)));
    let events = recorded(effects.clone());
    assert!(
        matches!(&events[..], [Event::MitigationPlan { plan, service, slos }]
            if plan == "revert 1.4.2; canary gate on 5xx" && service == "odin" && slos == &["availability".to_string()]),
        "{events:?}"
    );
    assert!(events[0].is_audited(), "the policy's plan goes to the audit log");
    for effect in effects {
        if let Effect::Record(drafts) = effect {
            let entries = warroom::journal::prepare(drafts, "alice", at(2))
                .iter()
                .map(|p| p.entry(warroom::domain::timeline::Durability::Durable))
                .collect();
            update(&mut rig.state, Msg::Recorded(entries), at(2));
        }
    }
    let screen = rig.screen(at(3));
    let banner = screen.lines().nth(1).unwrap_or_default();
    assert!(!banner.contains("RELEASES FROZEN"), "{screen}");
    assert!(
        banner.contains("mitigation plan by alice") && banner.contains("revert 1.4.2"),
        "{screen}"
    );
    // The plan answered availability's breach; latency's breach as well still needs one.
    rig.feed(
        vec![availability("EXHAUSTED", at(4)), {
            let mut l = availability("EXHAUSTED", at(4));
            l.spec.name = "latency".into();
            l
        }],
        at(4),
    );
    let screen = rig.screen(at(5));
    assert!(
        screen.lines().nth(1).unwrap_or_default().contains("RELEASES FROZEN"),
        "{screen}"
    );
    // And a plan from more than the budget window ago answers nothing.
    rig.feed(vec![availability("EXHAUSTED", at(6))], at(6));
    let later = at(2) + Duration::days(31);
    assert!(rig.state.slos.plan_in_force("odin", later).is_none());
    assert!(rig.state.slos.plan_in_force("odin", at(7)).is_some());
    assert!(
        rig.state.slos.plan_in_force("search", at(7)).is_none(),
        "another service's plan"
    );
    // A retracted plan answers nothing.
    let plan_id = rig.state.slos.mitigation.as_ref().map(|p| p.id.clone());
    let retraction = warroom::journal::prepare(
        vec![warroom::app::effect::EventDraft {
            occurred_at: at(8),
            actor: Some("bob".into()),
            event: Event::Retracted {
                reason: "wrong plan".into(),
            },
            supersedes: plan_id,
        }],
        "bob",
        at(8),
    )
    .iter()
    .map(|p| p.entry(warroom::domain::timeline::Durability::Durable))
    .collect();
    update(&mut rig.state, Msg::Recorded(retraction), at(8));
    assert!(rig.state.slos.plan_in_force("odin", at(9)).is_none());
    assert!(
        rig.screen(at(9))
            .lines()
            .nth(1)
            .unwrap_or_default()
            .contains("RELEASES FROZEN")
    );
}

fn type_command(rig: &mut Rig, line: &str, now: DateTime<Utc>) -> Vec<Event> {
    let mut effects = update(&mut rig.state, Msg::Key(key(":")), now);
    for c in line.chars() {
        let k = if c == ' ' { "space".to_string() } else { c.to_string() };
        effects.extend(update(&mut rig.state, Msg::Key(key(&k)), now));
    }
    effects.extend(update(&mut rig.state, Msg::Key(key("enter")), now));
    recorded(effects)
}

fn verdicts(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::CanaryVerdict { verdict, reason, .. } => Some((verdict.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_clean_canary_watch_ends_in_promote() {
    let mut rig = rig();
    let started = type_command(&mut rig, "watch canary 30m", at(0));
    assert!(
        matches!(
            started.as_slice(),
            [Event::CanaryStarted {
                minutes: 30,
                deploy: None
            }]
        ),
        "{started:?}"
    );
    for minute in 1..30 {
        let events = rig.feed(
            vec![availability("OK", at(minute * 60)), latency_ok(at(minute * 60))],
            at(minute * 60),
        );
        assert!(verdicts(&events).is_empty());
    }
    let screen = rig.screen(at(20 * 60));
    // The countdown panel: time left, and each SLO's errors and burn against the paging threshold.
    let panel: Vec<&str> = screen.lines().skip_while(|l| !l.contains("CANARY ▕")).take(3).collect();
    assert!(
        panel
            .first()
            .is_some_and(|l| l.contains("10m00s left") && l.contains("worst OK")),
        "{screen}"
    );
    assert!(
        panel
            .get(1)
            .is_some_and(|l| l.contains("availability") && l.contains("errors 5m") && l.contains("page ≥14.4x")),
        "{screen}"
    );
    assert!(panel.get(2).is_some_and(|l| l.contains("latency")), "{screen}");
    let early = recorded(update(&mut rig.state, Msg::Tick, at(29 * 60)));
    assert!(verdicts(&early).is_empty(), "not before the end");
    let end = recorded(update(&mut rig.state, Msg::Tick, at(30 * 60)));
    assert_eq!(verdicts(&end).first().map(|v| v.0.as_str()), Some("promote"), "{end:?}");
    assert!(end.iter().all(|e| e.kind() != "canary.verdict" || e.is_audited()));
}

#[test]
fn slo_degradation_during_the_canary_means_roll_back_at_once() {
    let mut rig = rig();
    type_command(&mut rig, "watch canary 30m", at(0));
    rig.feed(vec![availability("OK", at(60))], at(60));
    let events = rig.feed(vec![availability("PAGE", at(120))], at(120));
    let v = verdicts(&events);
    assert_eq!(v.first().map(|v| v.0.as_str()), Some("roll back"), "{events:?}");
    assert!(v[0].1.contains("availability PAGE"), "{v:?}");
    assert!(
        verdicts(&recorded(update(&mut rig.state, Msg::Tick, at(31 * 60)))).is_empty(),
        "one verdict"
    );
}

#[test]
fn an_exhausted_budget_holds_a_clean_canary_until_overridden_with_a_reason() {
    let mut rig = rig();
    type_command(&mut rig, "watch canary 10m", at(0));
    rig.feed(vec![availability("EXHAUSTED", at(60))], at(60));
    let end = recorded(update(&mut rig.state, Msg::Tick, at(10 * 60)));
    assert_eq!(verdicts(&end).first().map(|v| v.0.as_str()), Some("held"), "{end:?}");
    assert!(
        type_command(&mut rig, "promote override", at(11 * 60)).is_empty(),
        "a reason is required"
    );
    update(&mut rig.state, Msg::Key(key("esc")), at(11 * 60));
    let promoted = type_command(&mut rig, "promote override fix for the outage itself", at(11 * 60));
    let v = verdicts(&promoted);
    assert_eq!(v.first().map(|v| v.0.as_str()), Some("promote"));
    assert!(
        v[0].1.contains("release gate overridden: fix for the outage itself"),
        "{v:?}"
    );
}

#[test]
fn an_slo_starting_to_burn_during_an_incident_ranks_the_changes_before_it() {
    let mut rig = rig();
    // No incident: the state change alone.
    let quiet = rig.feed(vec![availability("TICKET", at(30))], at(30));
    assert!(!quiet.iter().any(|e| e.kind() == "change.suspects"), "{quiet:?}");
    rig.feed(vec![availability("OK", at(45))], at(45));
    open_incident(&mut rig.state, at(50));
    assert!(rig.state.incident_open());
    let events = rig.feed(vec![availability("PAGE", at(60))], at(60));
    let suspects = events.iter().find_map(|e| match e {
        Event::SuspectsRanked { alert, suspects } => Some((alert.clone(), suspects.clone())),
        _ => None,
    });
    let (what, suspects) = suspects.unwrap_or_else(|| panic!("no suspects: {events:?}"));
    assert_eq!(what, "SLO availability PAGE");
    assert!(
        suspects
            .first()
            .is_some_and(|s| s.contains("1.4.2") && s.contains("same service")),
        "{suspects:?}"
    );
    // Not again while it keeps burning.
    let again = rig.feed(vec![availability("PAGE", at(75))], at(75));
    assert!(!again.iter().any(|e| e.kind() == "change.suspects"));
}

#[test]
fn a_mitigation_plan_in_force_lets_a_clean_canary_promote() {
    let mut rig = rig();
    type_command(&mut rig, "watch canary 10m", at(0));
    rig.feed(vec![availability("EXHAUSTED", at(60))], at(60));
    let plan = type_command(&mut rig, "mitigation revert 1.4.2", at(120));
    let entries = warroom::journal::prepare(
        plan.into_iter()
            .map(|event| warroom::app::effect::EventDraft {
                occurred_at: at(120),
                actor: Some("alice".into()),
                event,
                supersedes: None,
            })
            .collect(),
        "alice",
        at(120),
    )
    .iter()
    .map(|p| p.entry(warroom::domain::timeline::Durability::Durable))
    .collect();
    update(&mut rig.state, Msg::Recorded(entries), at(120));
    let end = recorded(update(&mut rig.state, Msg::Tick, at(10 * 60)));
    assert_eq!(verdicts(&end).first().map(|v| v.0.as_str()), Some("promote"), "{end:?}");
}
