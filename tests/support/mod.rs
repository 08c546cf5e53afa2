//! Shared helpers for integration tests: a fixed clock, key presses from key strings, and demo
//! states at fixed simulated times.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyEvent, KeyEventKind, KeyEventState};
use warroom::app::effect::Effect;
use warroom::app::keymap::KeyChord;
use warroom::app::msg::Msg;
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::config::load::{BUILTIN_RUNBOOKS, load_runbooks};
use warroom::demo;
use warroom::domain::runbook::Runbook;

pub fn t0() -> DateTime<Utc> {
    demo::fixed_start()
}

pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

pub fn runbooks() -> Vec<Runbook> {
    assert!(!BUILTIN_RUNBOOKS.is_empty());
    load_runbooks(&[], std::path::Path::new(".")).0
}

/// A key event from a key string such as "q", "G", "ctrl-d", "shift-tab".
pub fn key(text: &str) -> KeyEvent {
    let chord = KeyChord::parse(text).unwrap_or_else(|e| panic!("{e}"));
    KeyEvent {
        code: chord.code,
        modifiers: chord.modifiers,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

/// Presses each key in turn (space-separated key strings), returning every effect.
pub fn press(state: &mut AppState, keys: &str, now: DateTime<Utc>) -> Vec<Effect> {
    let mut effects = Vec::new();
    for k in keys.split_whitespace() {
        effects.extend(update(state, Msg::Key(key(k)), now));
    }
    effects
}

/// Types literal text, one character per key press.
pub fn type_text(state: &mut AppState, text: &str, now: DateTime<Utc>) {
    for c in text.chars() {
        let k = if c == ' ' { "space".to_string() } else { c.to_string() };
        update(state, Msg::Key(key(&k)), now);
    }
}

/// An empty cockpit (no sources) at the given size.
pub fn empty_state(size: (u16, u16)) -> AppState {
    let mut state = AppState::new(demo::test_setup("dark"));
    state.runbook.library = runbooks();
    update(
        &mut state,
        Msg::Resize {
            width: size.0,
            height: size.1,
        },
        t0(),
    );
    state
}

/// The demo after `seconds` of simulated time with seed 1.
pub fn demo_state(seconds: i64, size: (u16, u16)) -> AppState {
    demo::state_at(demo::test_setup("dark"), runbooks(), 1, seconds, size)
}

/// The screen `state` draws at `now` (TestBackend at its viewport), one row a line with trailing
/// spaces trimmed and a final `|`.
pub fn screen_text(state: &AppState, now: DateTime<Utc>) -> String {
    use std::fmt::Write as _;
    let (w, h) = state.viewport;
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| warroom::ui::draw(f, state, now))
        .unwrap_or_else(|e| panic!("{e}"));
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        let _ = writeln!(out, "{}|", line.trim_end());
    }
    out
}

/// What a test terminal shows, one line per row, untrimmed.
pub fn buffer_text(backend: &ratatui::backend::TestBackend) -> String {
    let buffer = backend.buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the `warroom` binary with `args`, its data and config dirs under `dir` and none of the
/// environment that would change its behaviour; returns what it printed and its status.
pub fn run_warroom(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(args)
        .env("WARROOM_DATA_DIR", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env_remove("WARROOM_CONFIG")
        .env_remove("NO_COLOR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run warroom: {e}"))
}

/// Printed bytes as text (lossy UTF-8).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The timeline events among `effects`, in order.
pub fn events_of(effects: &[Effect]) -> Vec<warroom::domain::timeline::Event> {
    effects
        .iter()
        .flat_map(|e| match e {
            Effect::Record(drafts) => drafts.iter().map(|d| d.event.clone()).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Opens an incident declared by alice at `at`, the way the journal reports one it opened.
pub fn open_incident(state: &mut AppState, at: DateTime<Utc>) {
    use warroom::domain::timeline::{Durability, Event};
    let declared = warroom::journal::prepare(
        vec![warroom::app::effect::EventDraft {
            occurred_at: at,
            actor: Some("alice".into()),
            event: Event::IncidentDeclared {
                title: "odin errors".into(),
                severity: warroom::domain::incident::IncidentSeverity::Sev2,
                commander: None,
            },
            supersedes: None,
        }],
        "alice",
        at,
    )
    .iter()
    .map(|p| p.entry(Durability::Durable))
    .collect();
    update(
        state,
        Msg::Journal(warroom::app::msg::JournalEvent::Opened {
            id: "inc-1".into(),
            entries: declared,
            notice: None,
        }),
        at,
    );
}

/// The entries the journal would report durable for what `effects` record, written by `actor`.
pub fn journaled(effects: &[Effect], actor: &str, at: DateTime<Utc>) -> Vec<warroom::domain::timeline::TimelineEntry> {
    let drafts = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    warroom::journal::prepare(drafts, actor, at)
        .iter()
        .map(|p| p.entry(warroom::domain::timeline::Durability::Durable))
        .collect()
}
