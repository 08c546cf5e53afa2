//! The Logs pane's keys through `update` at a fixed clock: follow and pause, wrap, timestamps,
//! UTC/local, regex filter with negation, jumps to errors and warnings, the level filter, the
//! request-id filter, `:goto`, pinning a line into the incident timeline, a filter over a large
//! buffer finishing in the background, and the counters of dropped lines.

mod support;

use chrono::{DateTime, Duration, Utc};
use support::*;
use warroom::app::effect::Effect;
use warroom::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use warroom::app::panes::ListPane;
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::domain::log::{LogLevel, LogLine};
use warroom::domain::timeline::Event;

struct Rig {
    state: AppState,
    source: SourceId,
}

fn rig(size: (u16, u16)) -> Rig {
    let mut state = empty_state(size);
    let source = state.add_source(SourceKind::Logs, "api");
    update(&mut state, Msg::Key(key("4")), at(0));
    Rig { state, source }
}

impl Rig {
    fn feed(&mut self, texts: &[String], now: DateTime<Utc>) {
        let lines = texts
            .iter()
            .enumerate()
            .map(|(i, t)| LogLine::new(now + Duration::milliseconds(i as i64), "api".into(), t))
            .collect();
        update(
            &mut self.state,
            Msg::Source(SourceUpdate {
                source: self.source,
                at: now,
                result: Ok(SourceData::Logs(lines)),
            }),
            now,
        );
    }

    fn keys(&mut self, keys: &str) -> Vec<Effect> {
        press(&mut self.state, keys, at(600))
    }

    fn command(&mut self, line: &str) -> Vec<Effect> {
        let mut effects = self.keys(":");
        type_text(&mut self.state, line, at(600));
        effects.extend(self.keys("enter"));
        effects
    }

    /// Hands recorded drafts back as durable entries, as the runtime and journal would.
    fn settle(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            if let Effect::Record(drafts) = effect {
                let entries = warroom::journal::prepare(drafts, "alice", at(600))
                    .iter()
                    .map(|p| p.entry(warroom::domain::timeline::Durability::Durable))
                    .collect();
                update(&mut self.state, Msg::Recorded(entries), at(600));
            }
        }
    }

    fn selected(&self) -> String {
        self.state
            .logs
            .row(self.state.logs.list.cursor.selected)
            .map(|l| l.text.to_string())
            .unwrap_or_default()
    }

    fn screen(&self) -> String {
        screen_text(&self.state, at(600))
    }
}

/// Ten lines at 10:00:00 + i seconds, errors at 2 and 7, a warning at 5, request ids on some.
fn story() -> Vec<String> {
    (0..10)
        .map(|i| {
            let level = match i {
                2 | 7 => "error",
                5 => "warn",
                _ => "info",
            };
            let rid = if i % 2 == 0 {
                format!(" request_id=req-{}", i % 4)
            } else {
                String::new()
            };
            format!("ts=2026-03-14T10:00:{i:02}Z level={level} msg=\"step {i}\"{rid}")
        })
        .collect()
}

#[test]
fn jumps_to_errors_and_warnings_pause_following() {
    let mut r = rig((120, 40));
    r.feed(&story(), at(10));
    assert!(r.state.logs.follow);
    assert!(r.selected().contains("step 9"));
    r.keys("E");
    assert!(r.selected().contains("step 7"), "{}", r.selected());
    assert!(!r.state.logs.follow, "a jump pauses following");
    r.keys("E");
    assert!(r.selected().contains("step 2"));
    r.keys("E");
    assert!(r.selected().contains("step 2"), "nothing earlier: stays");
    assert!(
        r.state
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("no earlier error"))
    );
    r.keys("e");
    assert!(r.selected().contains("step 7"));
    r.keys("alt-w");
    assert!(r.selected().contains("step 5"), "warnings and worse: {}", r.selected());
    r.keys("W");
    assert!(r.selected().contains("step 7"));
    // s resumes following at the bottom.
    r.keys("s");
    assert!(r.state.logs.follow);
    assert!(r.selected().contains("step 9"));
}

#[test]
fn regex_filter_negation_level_and_request_id() {
    let mut r = rig((120, 40));
    r.feed(&story(), at(10));
    r.keys("/");
    type_text(&mut r.state, r"step [2-4]", at(600));
    assert_eq!(r.state.logs.visible_len(), 3, "live while typing");
    r.keys("enter");
    r.keys("esc /");
    type_text(&mut r.state, "!level=info", at(600));
    r.keys("enter");
    assert_eq!(r.state.logs.visible_len(), 3, "errors and the warning");
    r.keys("esc");
    assert_eq!(r.state.logs.visible_len(), 10);
    // L cycles the minimum level: debug, info, warn, error, all.
    r.keys("L L L");
    assert_eq!(r.state.logs.min_level, Some(LogLevel::Warn));
    assert_eq!(r.state.logs.visible_len(), 3);
    r.keys("L");
    assert_eq!(r.state.logs.visible_len(), 2);
    r.keys("L");
    assert_eq!(r.state.logs.min_level, None);
    r.command("level error");
    assert_eq!(r.state.logs.visible_len(), 2);
    r.command("level all");
    // r keeps only the selected line's request (step 8 and step 0 and 4 share req-0).
    r.keys("k");
    assert!(r.selected().contains("step 8"));
    r.keys("r");
    assert_eq!(r.state.logs.visible_len(), 3, "req-0 is on steps 0, 4 and 8");
    assert!(r.selected().contains("step 8"), "the selection stays on its line");
    r.keys("r");
    assert_eq!(r.state.logs.visible_len(), 10, "again clears");
}

#[test]
fn goto_a_time_wrap_timestamps_and_time_zone() {
    let mut r = rig((60, 20));
    let mut lines = story();
    lines.push(format!("level=info msg=\"{}\" x=1", "long ".repeat(30)));
    r.feed(&lines, at(10));
    r.command("goto 10:00:05");
    assert!(r.selected().contains("step 5"), "{}", r.selected());
    assert!(!r.state.logs.follow);
    let plain = r.screen();
    assert!(plain.contains("10:00:05Z WRN"), "the time column: {plain}");
    r.keys("t");
    assert!(!r.screen().contains("10:00:05Z WRN"), "timestamps hidden");
    r.keys("t G w");
    let wrapped = r.screen();
    assert!(wrapped.contains("WRAP"), "{wrapped}");
    assert!(
        wrapped.lines().filter(|l| l.contains("long long")).count() >= 2,
        "the long line takes several rows: {wrapped}"
    );
    r.keys("z");
    assert_eq!(r.state.clock.zone, warroom::domain::timefmt::TimeZoneChoice::Local);
}

#[test]
fn pinning_a_line_records_it_with_its_source_only_inside_an_incident() {
    let mut r = rig((120, 40));
    r.state
        .logs
        .origins
        .insert("api".into(), "{app=\"odin\"} |= \"error\"".into());
    r.feed(&story(), at(10));
    r.keys("E");
    assert!(r.keys("p").is_empty(), "no incident: nothing recorded");
    assert!(
        r.state
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("declare one first"))
    );
    let declared = r.command("declare SEV2 checkout errors");
    r.settle(declared);
    assert!(r.state.incident_open());
    r.keys("4 G E");
    let effects = r.keys("p");
    let pinned: Vec<Event> = effects
        .into_iter()
        .flat_map(|e| match e {
            Effect::Record(drafts) => drafts.into_iter().map(|d| d.event).collect(),
            _ => Vec::new(),
        })
        .collect();
    let [
        Event::LogPinned {
            source,
            origin,
            line,
            logged_at,
            ..
        },
    ] = pinned.as_slice()
    else {
        panic!("{pinned:?}")
    };
    assert_eq!(source, "api");
    assert_eq!(origin.as_deref(), Some("{app=\"odin\"} |= \"error\""));
    assert!(line.contains("step 7"));
    assert_eq!(logged_at.to_rfc3339(), "2026-03-14T10:00:07+00:00");
}

#[test]
fn a_filter_over_a_large_buffer_shows_its_first_screen_then_finishes_in_the_background() {
    let mut r = rig((120, 40));
    r.state.logs.rate_limit = 0;
    let lines: Vec<String> = (0..200_000)
        .map(|i| {
            format!(
                "level={} msg=\"n {i}\" x=1",
                if i % 1000 == 0 { "error" } else { "info" }
            )
        })
        .collect();
    for chunk in lines.chunks(20_000) {
        r.feed(chunk, at(10));
    }
    assert_eq!(r.state.logs.buffer.len(), 200_000);
    r.command("filter level=error");
    let first = r.state.logs.visible_len();
    assert!(first > 0 && first < 200, "{first}");
    assert!(r.screen().contains("filtering"), "the title says it is still working");
    let mut steps = 0;
    while r.state.logs.scanning().is_some() {
        update(&mut r.state, Msg::Work, at(600));
        steps += 1;
        assert!(steps < 100);
    }
    assert_eq!(r.state.logs.visible_len(), 200);
    assert!(
        r.selected().contains("n 199000"),
        "following: the newest match stays selected"
    );
}

#[test]
fn dropped_lines_are_counted_in_the_title() {
    let mut r = rig((120, 40));
    r.state.logs.rate_limit = 100;
    let burst: Vec<String> = (0..150).map(|i| format!("line {i}")).collect();
    r.feed(&burst, at(10));
    update(
        &mut r.state,
        Msg::Source(SourceUpdate {
            source: r.source,
            at: at(11),
            result: Ok(SourceData::LogsDropped(7)),
        }),
        at(11),
    );
    let screen = r.screen();
    assert!(screen.contains("57 dropped by sources"), "{screen}");
}

#[test]
fn a_flapping_source_is_recorded_down_once_and_up_once_it_stays_up() {
    use warroom::domain::health::{FetchError, FetchErrorKind};
    let mut r = rig((120, 40));
    let mut send = |ok: bool, t: i64| -> Vec<Event> {
        let result = if ok {
            Ok(SourceData::Logs(Vec::new()))
        } else {
            Err(FetchError::new(FetchErrorKind::Exited(1), "exited with status 1"))
        };
        let effects = update(
            &mut r.state,
            Msg::Source(SourceUpdate {
                source: r.source,
                at: at(t),
                result,
            }),
            at(t),
        );
        effects
            .into_iter()
            .flat_map(|e| match e {
                Effect::Record(drafts) => drafts.into_iter().map(|d| d.event).collect(),
                _ => Vec::new(),
            })
            .collect()
    };
    let kinds = |events: Vec<Event>| events.iter().map(|e| e.kind()).collect::<Vec<_>>();
    assert_eq!(kinds(send(true, 0)), Vec::<&str>::new());
    assert_eq!(kinds(send(false, 10)), ["source.down"]);
    // A crash loop: back, down, back, down… nothing more is recorded.
    for cycle in 0..10 {
        assert!(send(true, 12 + cycle * 4).is_empty());
        assert!(send(false, 14 + cycle * 4).is_empty());
    }
    assert!(send(true, 60).is_empty(), "up, but not for long yet");
    let up = send(true, 60 + 5 * 60);
    assert_eq!(kinds(up.clone()), ["source.up"]);
    // A later outage is recorded again.
    assert_eq!(kinds(send(false, 2000)), ["source.down"]);
}
