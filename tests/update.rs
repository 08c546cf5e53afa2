//! `update` as a pure function: keys, focus, zoom, filter, palette, quit, recording, with a fixed
//! clock and no terminal.

mod support;

use pretty_assertions::assert_eq;
use support::*;
use warroom::app::effect::Effect;
use warroom::app::keymap::raw_bindings_from_table;
use warroom::app::msg::{AlertSet, Msg, SourceData, SourceKind, SourceUpdate};
use warroom::app::pane::PaneId;
use warroom::app::panes::ListPane;
use warroom::app::state::{Modal, NoticeLevel};
use warroom::app::update::update;
use warroom::domain::health::{FetchError, FetchErrorKind, SourceHealth};
use warroom::domain::incident::IncidentStatus;
use warroom::domain::timeline::Event;

#[test]
fn tab_shift_tab_and_digits_move_focus() {
    let mut s = empty_state((200, 50));
    assert_eq!(s.focus, PaneId::Alerts);
    press(&mut s, "tab tab", at(0));
    assert_eq!(s.focus, PaneId::Signals);
    press(&mut s, "shift-tab shift-tab shift-tab", at(0));
    assert_eq!(s.focus, PaneId::Timeline);
    press(&mut s, "4", at(0));
    assert_eq!(s.focus, PaneId::Logs);
    press(&mut s, "7 1", at(0));
    assert_eq!(s.focus, PaneId::Alerts);
}

#[test]
fn enter_and_z_zoom_and_esc_goes_back() {
    let mut s = empty_state((200, 50));
    press(&mut s, "enter", at(0));
    assert!(s.zoomed);
    press(&mut s, "esc", at(0));
    assert!(!s.zoomed);
    press(&mut s, "z", at(0));
    assert!(s.zoomed);
    press(&mut s, "z", at(0));
    assert!(!s.zoomed);
}

#[test]
fn q_quits_at_once_without_an_incident_and_asks_with_one() {
    let mut s = demo_state(60, (200, 50));
    assert!(s.incident.is_none());
    assert_eq!(press(&mut s, "q", at(60)), vec![Effect::Quit]);

    let mut s = demo_state(8 * 60, (200, 50));
    assert!(s.incident_open(), "the simulated commander declared by T+8m");
    assert_eq!(press(&mut s, "q", at(480)), vec![]);
    assert!(matches!(s.modal, Some(Modal::ConfirmQuit)));
    // Anything but y stays (the default is Cancel).
    assert_eq!(press(&mut s, "enter", at(480)), vec![]);
    assert!(s.modal.is_none());
    press(&mut s, "q", at(480));
    assert_eq!(press(&mut s, "y", at(480)), vec![Effect::Quit]);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut s = demo_state(8 * 60, (200, 50));
    press(&mut s, ":", at(0));
    assert!(matches!(s.modal, Some(Modal::Palette(_))));
    assert_eq!(press(&mut s, "ctrl-c", at(0)), vec![Effect::Quit]);
}

#[test]
fn j_k_g_gg_and_half_pages_move_the_selection() {
    let mut s = demo_state(120, (200, 50));
    press(&mut s, "4 s", at(120)); // logs, stop following
    assert!(!s.logs.follow);
    let len = s.logs.visible_len();
    assert!(len > 100, "{len} lines");
    press(&mut s, "g", at(120));
    assert_eq!(s.logs.list.cursor.selected, 0);
    press(&mut s, "j j down", at(120));
    assert_eq!(s.logs.list.cursor.selected, 3);
    press(&mut s, "k", at(120));
    assert_eq!(s.logs.list.cursor.selected, 2);
    let rows = warroom::ui::layout::list_rows(s.viewport, PaneId::Logs, false);
    press(&mut s, "ctrl-d", at(120));
    assert_eq!(s.logs.list.cursor.selected, 2 + rows / 2);
    press(&mut s, "ctrl-u ctrl-u", at(120));
    assert_eq!(s.logs.list.cursor.selected, 0);
    press(&mut s, "G", at(120));
    assert_eq!(s.logs.list.cursor.selected, len - 1);
    assert!(s.logs.follow, "G resumes following");
}

#[test]
fn filter_is_live_n_steps_matches_and_esc_restores() {
    let mut s = demo_state(300, (200, 50));
    press(&mut s, "4 /", at(300));
    type_text(&mut s, "error", at(300));
    let filtered = s.logs.visible_len();
    assert!(
        filtered > 0 && filtered < s.logs.buffer.len(),
        "{filtered} of {}",
        s.logs.buffer.len()
    );
    assert_eq!(
        s.logs.list.filter.as_ref().map(|f| f.text().to_string()),
        Some("error".into())
    );
    press(&mut s, "enter", at(300));
    assert!(s.modal.is_none());
    press(&mut s, "g n", at(300));
    assert_eq!(s.logs.list.cursor.selected, 1);
    press(&mut s, "N N", at(300));
    assert_eq!(s.logs.list.cursor.selected, filtered - 1, "N wraps around");
    // Esc in a new filter prompt restores the filter that was there.
    press(&mut s, "/ backspace backspace backspace backspace backspace", at(300));
    assert_eq!(s.logs.list.filter, None);
    press(&mut s, "esc", at(300));
    assert_eq!(
        s.logs.list.filter.as_ref().map(|f| f.text().to_string()),
        Some("error".into())
    );
    // Esc in the pane clears it.
    press(&mut s, "esc", at(300));
    assert_eq!(s.logs.list.filter, None);
    assert_eq!(s.logs.visible_len(), s.logs.buffer.len());
}

#[test]
fn n_without_a_filter_says_so() {
    let mut s = empty_state((80, 24));
    press(&mut s, "n", at(0));
    assert_eq!(s.notice.as_ref().map(|n| n.level), Some(NoticeLevel::Info));
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("press /")));
}

#[test]
fn palette_completes_and_runs_commands() {
    let mut s = empty_state((200, 50));
    press(&mut s, ":", at(0));
    type_text(&mut s, "foc", at(0));
    let Some(Modal::Palette(prompt)) = &s.modal else {
        panic!("palette open")
    };
    assert!(prompt.candidates.contains(&"focus".to_string()));
    type_text(&mut s, "us l", at(0));
    press(&mut s, "tab", at(0));
    let Some(Modal::Palette(prompt)) = &s.modal else {
        panic!("palette open")
    };
    assert_eq!(prompt.text(), "focus logs");
    press(&mut s, "enter", at(0));
    assert_eq!(s.focus, PaneId::Logs);
    assert!(s.modal.is_none());

    press(&mut s, ":", at(0));
    type_text(&mut s, "theme light", at(0));
    press(&mut s, "enter", at(0));
    assert_eq!(s.theme.name, "light");

    press(&mut s, ":", at(0));
    type_text(&mut s, "bogus", at(0));
    press(&mut s, "enter", at(0));
    assert!(
        matches!(s.modal, Some(Modal::Palette(_))),
        "a bad command keeps the palette open"
    );
    assert!(s.notice.as_ref().is_some_and(|n| n.text.contains("unknown command")));
}

#[test]
fn declaring_records_an_event_and_opens_the_incident() {
    let mut s = empty_state((200, 50));
    press(&mut s, ":", at(5));
    type_text(&mut s, "declare SEV2 checkout errors", at(5));
    let effects = press(&mut s, "enter", at(5));
    let [Effect::Record(drafts)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(matches!(&drafts[0].event, Event::IncidentDeclared { title, .. } if title == "checkout errors"));
    // The journal answers; the incident is folded from the timeline.
    let entries = warroom::journal::memory_entries(drafts.clone(), "oncall", at(5));
    update(&mut s, Msg::Recorded(entries), at(5));
    assert!(s.incident_open());
    assert_eq!(
        s.incident.as_ref().map(|i| i.status),
        Some(IncidentStatus::Investigating)
    );
    assert_eq!(s.timeline.entries.len(), 1);
    assert_eq!(s.timeline.entries[0].actor, "oncall");
}

#[test]
fn space_in_the_runbook_records_step_progress_only_with_an_incident() {
    let mut s = empty_state((200, 50));
    press(&mut s, ":", at(0));
    type_text(&mut s, "runbook high-error-rate", at(0));
    press(&mut s, "enter", at(0));
    assert_eq!(s.focus, PaneId::Runbook);
    assert_eq!(press(&mut s, "space", at(0)), vec![]);
    assert_eq!(s.notice.as_ref().map(|n| n.level), Some(NoticeLevel::Warn));

    let mut s = demo_state(8 * 60, (200, 50));
    press(&mut s, "6 G", at(480));
    let effects = press(&mut s, "space", at(480));
    let [Effect::Record(drafts)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(
        matches!(&drafts[0].event, Event::StepChanged { step, .. } if step == "verify-recovery"),
        "{drafts:?}"
    );
}

#[test]
fn source_failures_go_stale_keep_data_and_are_recorded_once() {
    let mut s = empty_state((200, 50));
    let id = s.add_source(SourceKind::Deploys, "deploys");
    let deploys = demo_state(0, (80, 24)).deploys.deploys.clone();
    update(
        &mut s,
        Msg::Source(SourceUpdate {
            source: id,
            at: at(0),
            result: Ok(SourceData::Deploys(deploys)),
        }),
        at(0),
    );
    let kept = s.deploys.deploys.len();
    assert!(kept > 0);
    let fail = |n| {
        Msg::Source(SourceUpdate {
            source: id,
            at: at(n),
            result: Err(FetchError::new(FetchErrorKind::Timeout, "")),
        })
    };
    let first = update(&mut s, fail(10), at(10));
    let second = update(&mut s, fail(20), at(20));
    assert!(matches!(first.as_slice(), [Effect::Record(d)] if matches!(d[0].event, Event::SourceStale { .. })));
    assert_eq!(second, vec![], "stale is recorded once, not at every failure");
    assert!(matches!(s.sources[id.0].health, SourceHealth::Stale { since, .. } if since == at(10)));
    assert_eq!(s.deploys.deploys.len(), kept, "a stale source keeps its last good data");
}

#[test]
fn rebinding_from_config_changes_what_keys_do() {
    let mut s = empty_state((200, 50));
    let table: toml::Table =
        toml::from_str("\"x\" = \"zoom\"\n\"z\" = \"none\"\n[logs]\n\"f\" = \"toggle_follow\"\n").unwrap_or_default();
    let (raw, shape) = raw_bindings_from_table(&table);
    assert_eq!(shape, vec![]);
    assert_eq!(s.keymap.apply(&raw, "keys"), vec![]);
    press(&mut s, "z", at(0));
    assert!(!s.zoomed, "z was unbound");
    press(&mut s, "x", at(0));
    assert!(s.zoomed);
    press(&mut s, "4 f", at(0));
    assert!(!s.logs.follow);
}

#[test]
fn help_opens_scrolls_and_closes() {
    let mut s = empty_state((80, 24));
    press(&mut s, "?", at(0));
    assert!(matches!(s.modal, Some(Modal::Help { scroll: 0 })));
    press(&mut s, "j j", at(0));
    assert!(matches!(s.modal, Some(Modal::Help { scroll: 2 })));
    press(&mut s, "esc", at(0));
    assert!(s.modal.is_none());
}

#[test]
fn info_notices_fade_on_the_clock() {
    let mut s = empty_state((80, 24));
    press(&mut s, "n", at(0));
    update(&mut s, Msg::Tick, at(3));
    assert!(s.notice.is_some());
    update(&mut s, Msg::Tick, at(7));
    assert!(s.notice.is_none());
}

#[test]
fn resize_keeps_selection_visible_and_nothing_panics_at_tiny_sizes() {
    let mut s = demo_state(300, (200, 50));
    press(&mut s, "4 s G", at(300));
    let selected = s.logs.list.cursor.selected;
    for (w, h) in [(80, 24), (120, 40), (20, 5), (200, 50)] {
        update(&mut s, Msg::Resize { width: w, height: h }, at(300));
        let rows = warroom::ui::layout::list_rows(s.viewport, PaneId::Logs, false);
        let c = s.logs.list.cursor;
        assert_eq!(c.selected, selected, "a resize moved the selection");
        assert!(
            c.offset <= c.selected && c.selected < c.offset + rows,
            "{c:?} not visible in {rows} rows at {w}x{h}"
        );
    }
    for (w, h) in [(1, 1), (0, 0), (300, 100)] {
        update(&mut s, Msg::Resize { width: w, height: h }, at(300));
        press(&mut s, "G k g j ctrl-d tab enter esc", at(300));
    }
}

#[test]
fn help_scrolls_no_further_than_its_last_line() {
    let mut s = empty_state((120, 40));
    press(&mut s, "? G", at(0));
    let Some(Modal::Help { scroll }) = s.modal else {
        panic!("help open")
    };
    let lines = warroom::ui::help::line_count(&s.keymap);
    assert_eq!(
        scroll,
        lines - warroom::ui::help::visible_rows(40),
        "G stops with the last line at the bottom"
    );
    press(&mut s, "j pgdn", at(0));
    assert!(matches!(s.modal, Some(Modal::Help { scroll: x }) if x == scroll));
}

#[test]
fn changing_the_filter_keeps_the_selected_line() {
    let mut s = demo_state(300, (200, 50));
    press(&mut s, "4 s g", at(300));
    // Select the first error line, then filter to errors: still selected; clear: still selected.
    let first_error = (0..s.logs.visible_len())
        .find(|&r| s.logs.row(r).is_some_and(|l| l.text.contains("status=500")))
        .unwrap_or(0);
    s.logs.list.cursor.selected = first_error;
    let text = s.logs.row(first_error).map(|l| l.text.to_string());
    press(&mut s, "/", at(300));
    type_text(&mut s, "status=500", at(300));
    press(&mut s, "enter", at(300));
    assert_eq!(
        s.logs.row(s.logs.list.cursor.selected).map(|l| l.text.to_string()),
        text
    );
    press(&mut s, "esc", at(300));
    assert_eq!(s.logs.list.filter, None);
    assert_eq!(s.logs.list.cursor.selected, first_error);
    // Esc in the prompt restores the old filter and keeps following the newest line when following.
    let mut s = demo_state(300, (200, 50));
    press(&mut s, "7 G", at(300));
    let last = s.timeline.visible_len() - 1;
    press(&mut s, "/ x esc", at(300));
    assert_eq!(s.timeline.list.cursor.selected, last);
    assert!(s.timeline.follow);
}

#[test]
fn the_selected_alert_stays_selected_when_a_snapshot_reorders_the_list() {
    let mut s = demo_state(8 * 60, (200, 50));
    press(&mut s, "1 G", at(480));
    let chosen = s.alerts.selected().map(|a| a.fingerprint.clone());
    assert!(chosen.is_some());
    // The fast burn appears later and sorts above the chosen alert.
    let later = demo_state(10 * 60, (200, 50));
    let id = later
        .sources
        .iter()
        .position(|x| x.name == "alertmanager")
        .map(warroom::app::msg::SourceId);
    let alerts: Vec<_> = later
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state.is_active())
        .cloned()
        .collect();
    assert!(
        alerts.iter().any(|a| a.name() == "OdinErrorBudgetFastBurn"),
        "the later snapshot adds an alert above"
    );
    let before = s.alerts.list.cursor.selected;
    let source = id.unwrap_or_else(|| panic!("alertmanager source"));
    update(
        &mut s,
        Msg::Source(SourceUpdate {
            source,
            at: at(600),
            result: Ok(SourceData::Alerts(AlertSet::alertmanager(alerts, vec![]))),
        }),
        at(600),
    );
    assert_eq!(
        s.alerts.selected().map(|a| a.fingerprint.clone()),
        chosen,
        "selection jumped (row {before} → {})",
        s.alerts.list.cursor.selected
    );
}

#[test]
fn timeline_filters_by_kind_and_actor_and_pins_entries() {
    let mut s = demo_state(9 * 60, (200, 50));
    press(&mut s, "7 /", at(540));
    type_text(&mut s, "kind:note actor:bob", at(540));
    press(&mut s, "enter", at(540));
    let rows = s.timeline.visible_rows();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|&i| {
        let e = &s.timeline.entries[i];
        e.actor == "bob" && matches!(e.event, Event::Note { .. })
    }));
    press(&mut s, "esc", at(540));
    press(&mut s, "/", at(540));
    type_text(&mut s, "kind:alert", at(540));
    press(&mut s, "enter", at(540));
    assert!(
        s.timeline
            .visible_rows()
            .iter()
            .all(|&i| s.timeline.entries[i].event.category() == "alert")
    );
    press(&mut s, "esc", at(540));

    // Pin a journaled entry (a teammate's note), then unpin it; entries that never reached the
    // journal (the memory demo's own observations) cannot be pinned.
    let rows = s.timeline.visible_rows();
    let durable: Vec<bool> = rows
        .iter()
        .map(|&i| s.timeline.entries[i].durability == warroom::domain::timeline::Durability::Durable)
        .collect();
    s.timeline.list.cursor.selected = durable
        .iter()
        .position(|d| !d)
        .unwrap_or_else(|| panic!("a memory-only entry"));
    assert_eq!(press(&mut s, "p", at(540)), vec![]);
    s.timeline.list.cursor.selected = durable
        .iter()
        .rposition(|d| *d)
        .unwrap_or_else(|| panic!("a durable entry"));
    let target = s.timeline.entries[rows[s.timeline.list.cursor.selected]].clone();
    let effects = press(&mut s, "p", at(540));
    let [Effect::Record(drafts)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        drafts[0].event,
        Event::Pinned {
            target: target.id.clone()
        }
    );
    update(
        &mut s,
        Msg::Recorded(warroom::journal::memory_entries(drafts.clone(), "oncall", at(540))),
        at(540),
    );
    assert!(s.incident.as_ref().is_some_and(|i| i.is_pinned(&target.id)));
    press(&mut s, "7", at(540));
    s.timeline.list.cursor.selected = rows
        .iter()
        .position(|&i| s.timeline.entries[i].id == target.id)
        .unwrap_or(0);
    let effects = press(&mut s, "p", at(540));
    assert!(
        matches!(effects.as_slice(), [Effect::Record(d)] if d[0].event == Event::Unpinned { target: target.id.clone() })
    );
}

#[test]
fn z_in_the_timeline_toggles_local_time_and_elsewhere_zooms() {
    let mut s = empty_state((200, 50));
    press(&mut s, "7 z", at(0));
    assert_eq!(s.clock.zone, warroom::domain::timefmt::TimeZoneChoice::Local);
    assert!(!s.zoomed);
    press(&mut s, "1 z", at(0));
    assert!(s.zoomed);
}

#[test]
fn d_prefills_a_declaration_from_the_selected_alert() {
    let mut s = demo_state(8 * 60, (200, 50));
    // The simulated commander declared already; pretend she did not.
    s.incident = None;
    press(&mut s, "1 g D", at(480));
    let Some(Modal::Palette(prompt)) = &s.modal else {
        panic!("the palette opens")
    };
    assert!(
        prompt
            .text()
            .starts_with("declare SEV2 odin OdinHighErrorRate: 5xx ratio"),
        "{}",
        prompt.text()
    );
    let effects = press(&mut s, "enter", at(480));
    let [Effect::Record(drafts)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(matches!(drafts[0].event, Event::IncidentDeclared { .. }));
    assert!(
        drafts.iter().any(|d| matches!(d.event, Event::AlertFired { .. })),
        "the firing alerts come along"
    );
    assert!(
        drafts.iter().any(|d| matches!(d.event, Event::DeployObserved { .. })),
        "the recent deploy comes along"
    );
    assert!(
        drafts.iter().any(|d| matches!(d.event, Event::Milestone { .. })),
        "detected at the first page"
    );
}
