//! The Alerts pane and the silence workflow through the pure `update`, with a fixed clock: the
//! matcher filter and `@` terms, group folding, the editor prefilled from the selection, the
//! confirmation that defaults to Cancel, read-only sessions, answers from Alertmanager (or the
//! simulator) becoming timeline and audit events, the fallback notice, and alert events on the
//! timeline reconciled without duplicates.

mod support;

use chrono::Duration;
use pretty_assertions::assert_eq;
use support::*;
use warroom::app::effect::{Effect, Request};
use warroom::app::msg::{AlertSet, AlertVia, JournalEvent, Msg, RequestDone, SourceData, SourceId, SourceUpdate};
use warroom::app::panes::ListPane;
use warroom::app::panes::alerts::AlertRow;
use warroom::app::silencing::Choice;
use warroom::app::state::{AppState, Modal, NoticeLevel};
use warroom::app::update::update;
use warroom::demo;
use warroom::domain::alert::AlertState;
use warroom::domain::incident::Milestone;
use warroom::domain::timeline::{Durability, Event, TimelineEntry};

const T: i64 = 10 * 60;

fn names(s: &AppState) -> Vec<String> {
    s.alerts
        .rows()
        .iter()
        .filter_map(|r| match r {
            AlertRow::Alert { index, .. } => s.alerts.book.alerts().get(*index).map(|a| a.name().to_string()),
            AlertRow::Group(_) => None,
        })
        .collect()
}

fn filter(s: &mut AppState, text: &str) {
    press(s, "1 /", at(T));
    type_text(s, text, at(T));
    press(s, "enter", at(T));
}

fn recorded(effects: &[Effect]) -> Vec<Event> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record(d) => Some(d.iter().map(|d| d.event.clone()).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn alertmanager(s: &AppState) -> SourceId {
    SourceId(
        s.sources
            .iter()
            .position(|x| x.name == "alertmanager")
            .unwrap_or_else(|| panic!("no alertmanager source")),
    )
}

#[test]
fn the_filter_speaks_alertmanager_matchers_and_at_terms() {
    let mut s = demo_state(T, (200, 50));
    filter(&mut s, r#"severity="page""#);
    assert_eq!(names(&s), ["OdinHighErrorRate"]);
    press(&mut s, "esc", at(T));
    filter(&mut s, r#"service=~"odin.*" @state=firing"#);
    assert!(names(&s).iter().all(|n| n.starts_with("Odin")), "{:?}", names(&s));
    assert!(!names(&s).is_empty());
    press(&mut s, "esc", at(T));
    filter(&mut s, "@silenced");
    assert_eq!(names(&s), ["NodeDiskPressure"]);
    press(&mut s, "esc", at(T));
    filter(&mut s, "@age>1h");
    assert_eq!(
        names(&s),
        ["NodeDiskPressure"],
        "only the disk alert is older than an hour"
    );
    press(&mut s, "esc", at(T));
    filter(&mut s, "@state=loud");
    assert!(s.alerts.rows().is_empty());
    let error = s.alerts.query_error().map(ToString::to_string).unwrap_or_default();
    assert!(error.contains("@state= takes"), "{error}");
}

#[test]
fn groups_have_a_header_and_fold() {
    let mut s = demo_state(T, (200, 50));
    s.alerts.set_group_by(vec!["service".into()]);
    let headers = s
        .alerts
        .rows()
        .iter()
        .filter(|r| matches!(r, AlertRow::Group(_)))
        .count();
    assert_eq!(headers, 1, "the odin alerts share a service; the postgres one is alone");
    let before = s.alerts.visible_len();
    press(&mut s, "1 g space", at(T));
    assert_eq!(s.alerts.visible_len(), 1 + 1, "folded: the header and the lone alert");
    press(&mut s, "space", at(T));
    assert_eq!(s.alerts.visible_len(), before);
}

#[test]
fn the_silence_editor_is_prefilled_and_its_confirmation_defaults_to_cancel() {
    let mut s = demo_state(T, (200, 50));
    press(&mut s, "1 g s", at(T));
    let Some(Modal::Silence(form)) = &s.modal else {
        panic!("no silence editor: {:?}", s.modal)
    };
    let matchers = form.matchers.lines()[0].clone();
    assert_eq!(
        matchers,
        r#"alertname="OdinHighErrorRate", service="odin", instance="odin.internal:443", env="production""#
    );
    // No comment yet: Enter explains instead of going on.
    assert!(press(&mut s, "enter", at(T)).is_empty());
    let Some(Modal::Silence(form)) = &s.modal else { panic!() };
    assert!(form.error.as_deref().unwrap_or("").contains("comment is required"));
    type_text(&mut s, "rollback in progress", at(T));
    assert!(press(&mut s, "enter", at(T)).is_empty());
    let Some(Modal::Silence(form)) = &s.modal else { panic!() };
    assert_eq!(form.confirm.as_ref().map(|(_, c)| *c), Some(Choice::Cancel));
    // Enter on the default choice sends nothing.
    assert!(press(&mut s, "enter", at(T)).is_empty());
    assert!(matches!(&s.modal, Some(Modal::Silence(f)) if f.confirm.is_none()));
    let effects = press(&mut s, "enter right enter", at(T));
    let [
        Effect::Request(Request::CreateSilence {
            matchers,
            starts_at,
            ends_at,
            created_by,
            comment,
            matched,
        }),
    ] = effects.as_slice()
    else {
        panic!("expected one create request: {effects:?}")
    };
    assert_eq!(warroom::domain::matcher::format_list(matchers), matchers_text());
    assert_eq!((*starts_at, *ends_at - *starts_at), (at(T), Duration::hours(1)));
    assert_eq!(
        (created_by.as_str(), comment.as_str(), *matched),
        ("oncall", "rollback in progress", 1)
    );
}

fn matchers_text() -> String {
    r#"alertname="OdinHighErrorRate", service="odin", instance="odin.internal:443", env="production""#.to_string()
}

#[test]
fn a_group_header_silences_the_whole_group() {
    let mut s = demo_state(T, (200, 50));
    s.alerts.set_group_by(vec!["service".into()]);
    press(&mut s, "1 g s", at(T));
    let Some(Modal::Silence(form)) = &s.modal else { panic!() };
    assert_eq!(form.matchers.lines()[0], r#"service="odin""#);
}

#[test]
fn the_demo_takes_silences_like_alertmanager_and_they_are_recorded() {
    let (mut s, mut sim) = warroom::demo::build(demo::test_setup("dark"), runbooks(), 1, t0());
    for m in sim.initial() {
        warroom::demo::apply(&mut s, m, t0());
    }
    for m in sim.advance_to(T) {
        warroom::demo::apply(&mut s, m, at(T));
    }
    press(&mut s, "1 g s", at(T));
    type_text(&mut s, "rollback in progress", at(T));
    let effects = press(&mut s, "enter right enter", at(T));
    let Some(Effect::Request(request)) = effects.into_iter().next() else {
        panic!()
    };
    let result = sim.handle(&request);
    let effects = update(&mut s, Msg::RequestDone { request, result }, at(T));
    assert!(effects.contains(&Effect::RefreshAll), "{effects:?}");
    let events = recorded(&effects);
    assert!(
        matches!(&events[..], [Event::SilenceCreated { matched: 1, comment, .. }] if comment == "rollback in progress"),
        "{events:?}"
    );
    assert!(events[0].is_audited(), "silences go to the audit log");
    for m in sim.poll_now() {
        warroom::demo::apply(&mut s, m, at(T));
    }
    let silenced: Vec<&str> = s
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state == AlertState::Silenced)
        .map(|a| a.name())
        .collect();
    assert_eq!(silenced, ["OdinHighErrorRate", "NodeDiskPressure"]);
    assert_eq!(s.alerts.silences.len(), 2);

    // Expire it again from the list (it ends first, so it is listed first).
    press(&mut s, "S x", at(T));
    assert!(press(&mut s, "enter", at(T)).is_empty(), "Cancel is the default");
    press(&mut s, "x", at(T));
    let effects = press(&mut s, "right enter", at(T));
    let Some(Effect::Request(request @ Request::ExpireSilence { .. })) = effects.into_iter().next() else {
        panic!()
    };
    assert!(matches!(&request, Request::ExpireSilence { silence } if silence.comment == "rollback in progress"));
    let result = sim.handle(&request);
    let events = recorded(&update(&mut s, Msg::RequestDone { request, result }, at(T)));
    assert!(matches!(&events[..], [Event::SilenceExpired { .. }]), "{events:?}");
}

#[test]
fn a_failed_silence_is_said_and_recorded_never_retried() {
    let mut s = demo_state(T, (200, 50));
    press(&mut s, "1 g s", at(T));
    type_text(&mut s, "x", at(T));
    let Some(Effect::Request(request)) = press(&mut s, "enter right enter", at(T)).into_iter().next() else {
        panic!()
    };
    let effects = update(
        &mut s,
        Msg::RequestDone {
            request,
            result: Err("am-1: timed out, and no such silence exists: nothing was created (try again)".into()),
        },
        at(T),
    );
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Request(_))),
        "never retried"
    );
    assert!(matches!(&recorded(&effects)[..], [Event::SilenceFailed { action, .. }] if action == "create"));
    let notice = s.notice.as_ref().map(|n| (n.level, n.text.clone()));
    assert!(
        matches!(&notice, Some((NoticeLevel::Error, t)) if t.contains("nothing was created")),
        "{notice:?}"
    );
}

#[test]
fn a_read_only_session_has_no_silencing() {
    let mut setup = demo::test_setup("dark");
    setup.read_only = true;
    let mut s = demo::state_at(setup, runbooks(), 1, T, (200, 50));
    assert!(
        s.keymap
            .keys_for(
                warroom::app::keymap::Scope::Pane(warroom::app::pane::PaneId::Alerts),
                warroom::app::action::Action::Silence
            )
            .is_empty()
    );
    assert!(press(&mut s, "1 s", at(T)).is_empty());
    assert!(s.modal.is_none());
    // Not from the palette either.
    press(&mut s, ":", at(T));
    type_text(&mut s, "silence", at(T));
    assert!(press(&mut s, "enter", at(T)).is_empty());
    assert!(s.modal.is_none());
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("read-only")));
    // The list still opens (reading is fine), but expiring is refused.
    press(&mut s, "S", at(T));
    assert!(matches!(s.modal, Some(Modal::Silences(_))));
    assert!(press(&mut s, "x", at(T)).is_empty());
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("read-only")));
}

#[test]
fn losing_every_alertmanager_switches_to_prometheus_and_says_so() {
    let mut s = demo_state(T, (200, 50));
    let alerts: Vec<_> = s
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state.is_active())
        .cloned()
        .collect();
    let source = alertmanager(&s);
    update(
        &mut s,
        Msg::Source(SourceUpdate {
            source,
            at: at(T + 15),
            result: Ok(SourceData::Alerts(AlertSet {
                alerts,
                silences: None,
                via: AlertVia::PrometheusFallback,
            })),
        }),
        at(T + 15),
    );
    assert_eq!(s.alerts.via, Some(AlertVia::PrometheusFallback));
    let notice = s.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert!(notice.contains("alerts now come from Prometheus"), "{notice}");
    press(&mut s, "1 g s", at(T + 15));
    assert!(s.modal.is_none(), "no silences without Alertmanager");
}

fn entry(id: &str, seconds: i64, event: Event) -> TimelineEntry {
    TimelineEntry {
        id: id.into(),
        occurred_at: at(seconds),
        recorded_at: at(seconds),
        actor: "alice".into(),
        event,
        supersedes: None,
        durability: Durability::Durable,
    }
}

#[test]
fn opening_an_incident_records_only_the_alert_events_its_journal_lacks() {
    let mut s = demo_state(T, (200, 50));
    let firing: Vec<_> = s
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .cloned()
        .collect();
    assert!(firing.len() >= 2);
    let declared = entry(
        "01A",
        T - 60,
        Event::IncidentDeclared {
            title: "odin errors".into(),
            severity: warroom::domain::incident::IncidentSeverity::Sev2,
            commander: Some("alice".into()),
        },
    );
    // Another cockpit already recorded the first alert.
    let mut known = entry("01B", 0, warroom::domain::alert_events::fired_event(&firing[0]));
    known.occurred_at = firing[0].starts_at;
    let effects = update(
        &mut s,
        Msg::Journal(JournalEvent::Opened {
            id: "20260314-1005-odin-errors".into(),
            entries: vec![declared, known],
            notice: None,
        }),
        at(T),
    );
    let fired: Vec<String> = recorded(&effects)
        .iter()
        .filter_map(|e| match e {
            Event::AlertFired { fingerprint, .. } => Some(fingerprint.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = firing[1..].iter().map(|a| a.fingerprint.clone()).collect();
    assert_eq!(fired, expected, "each firing once, the known one not again");
}

#[test]
fn an_alert_firing_after_the_declaration_sets_detected() {
    let declared = entry(
        "01A",
        0,
        Event::IncidentDeclared {
            title: "slow".into(),
            severity: warroom::domain::incident::IncidentSeverity::Sev3,
            commander: None,
        },
    );
    let fire = |id: &str, s: i64, severity: &str| {
        entry(
            id,
            s,
            Event::AlertFired {
                alertname: "X".into(),
                fingerprint: id.into(),
                severity: severity.into(),
                summary: String::new(),
            },
        )
    };
    let entries = [
        declared.clone(),
        fire("w", 30, "warning"),
        fire("p", 90, "page"),
        fire("i", 10, "info"),
    ];
    let incident = warroom::domain::incident::Incident::from_entries(&entries).unwrap_or_else(|| panic!());
    assert_eq!(
        incident.milestones.get(&Milestone::Detected),
        Some(&at(90)),
        "pages first"
    );
    let entries = [declared, fire("w", 30, "warning"), fire("i", 10, "info")];
    let incident = warroom::domain::incident::Incident::from_entries(&entries).unwrap_or_else(|| panic!());
    assert_eq!(
        incident.milestones.get(&Milestone::Detected),
        Some(&at(30)),
        "info never counts"
    );
}

#[test]
fn request_done_reports_which_alertmanager_took_it() {
    let mut s = demo_state(T, (200, 50));
    press(&mut s, "1 g s", at(T));
    type_text(&mut s, "c", at(T));
    let Some(Effect::Request(request)) = press(&mut s, "enter right enter", at(T)).into_iter().next() else {
        panic!()
    };
    update(
        &mut s,
        Msg::RequestDone {
            request,
            result: Ok(RequestDone {
                id: "abc".into(),
                via: "am-2".into(),
                confirmed_after_timeout: true,
            }),
        },
        at(T),
    );
    let text = s.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert!(text.contains("via am-2") && text.contains("timed out"), "{text}");
    assert!(s.modal.is_none());
}

#[test]
fn a_page_firing_during_an_incident_records_the_changes_ranked_before_it() {
    use std::collections::BTreeMap;
    use warroom::app::msg::{AlertSet, JournalEvent, SourceData, SourceKind, SourceUpdate};
    use warroom::domain::alert::{Alert, AlertState};
    use warroom::domain::deploy::{Deploy, DeployKind, DeployStatus};
    let mut s = support::empty_state((120, 40));
    let am = s.add_source(SourceKind::Alertmanager, "alertmanager");
    let deploy = |id: &str, version: &str, service: &str, minutes_before: i64| Deploy {
        id: id.into(),
        service: service.into(),
        version: version.into(),
        environment: "production".into(),
        author: "ci".into(),
        kind: DeployKind::Deploy,
        status: DeployStatus::Succeeded,
        started_at: at(600 - minutes_before * 60),
        finished_at: Some(at(600 - minutes_before * 60 + 60)),
        note: String::new(),
    };
    s.deploys.merge(vec![
        deploy("d1", "search-7", "search", 5),
        deploy("d2", "1.4.2", "odin", 20),
        deploy("d3", "1.3.0", "odin", 600),
    ]);
    let declared = entry(
        "01A",
        0,
        Event::IncidentDeclared {
            title: "errors".into(),
            severity: warroom::domain::incident::IncidentSeverity::Sev2,
            commander: None,
        },
    );
    update(
        &mut s,
        Msg::Journal(JournalEvent::Opened {
            id: "inc-1".into(),
            entries: vec![declared],
            notice: None,
        }),
        at(0),
    );
    let page = Alert {
        fingerprint: "fp1".into(),
        labels: [
            ("alertname", "OdinHighErrorRate"),
            ("severity", "page"),
            ("service", "odin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>(),
        annotations: BTreeMap::new(),
        state: AlertState::Firing,
        starts_at: at(600),
        generator_url: None,
        silenced_by: vec![],
        inhibited_by: vec![],
    };
    let effects = update(
        &mut s,
        Msg::Source(SourceUpdate {
            source: am,
            at: at(610),
            result: Ok(SourceData::Alerts(AlertSet::alertmanager(vec![page], vec![]))),
        }),
        at(610),
    );
    let events = recorded(&effects);
    let suspects = events.iter().find_map(|e| match e {
        Event::SuspectsRanked { alert, suspects } => Some((alert.clone(), suspects.clone())),
        _ => None,
    });
    let Some((alert, suspects)) = suspects else {
        panic!("{events:?}")
    };
    assert_eq!(alert, "OdinHighErrorRate");
    assert_eq!(
        suspects.len(),
        2,
        "the 10-hour-old deploy is outside the window: {suspects:?}"
    );
    assert!(
        suspects[0].contains("1.4.2") && suspects[0].contains("same service"),
        "{suspects:?}"
    );
    assert!(suspects[1].contains("search-7"), "{suspects:?}");
}
