//! Assembling the demo: an `AppState` for the simulated service with its four sources registered,
//! and the simulator that feeds them. Also builds the demo state at a fixed simulated time, which
//! the screen snapshots and render benchmarks use.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::app::keymap::Keymap;
use crate::app::msg::{Msg, SourceKind};
use crate::app::panes::logs::DEFAULT_CAP_BYTES;
use crate::app::state::{AppState, StateSetup};
use crate::app::update::update;
use crate::domain::runbook::Runbook;
use crate::domain::timefmt::Clock;
use crate::sources::simulator::{SimIds, Simulator};
use crate::ui::theme::Theme;

/// Registers the simulator's sources (Alertmanager, Prometheus, logs, deploys) on the state.
pub fn register_sources(state: &mut AppState) -> SimIds {
    SimIds {
        alertmanager: state.add_source(SourceKind::Alertmanager, "alertmanager"),
        prometheus: state.add_source(SourceKind::Prometheus, "prometheus"),
        logs: state.add_source(SourceKind::Logs, "logs"),
        deploys: state.add_source(SourceKind::Deploys, "deploys"),
    }
}

/// The demo's state and simulator, with T0 at `start`.
pub fn build(setup: StateSetup, runbooks: Vec<Runbook>, seed: u64, start: DateTime<Utc>) -> (AppState, Simulator) {
    let mut state = AppState::new(setup);
    state.runbook.library = runbooks;
    let ids = register_sources(&mut state);
    // `R` in Deploys rehearses an Argo Rollouts undo (the demo runs no command).
    state.deploys.rollback.insert(
        "demo".into(),
        crate::domain::rollback::RollbackVia::Command(
            [
                "kubectl",
                "argo",
                "rollouts",
                "undo",
                "odin",
                "--to-revision={previous_revision}",
            ]
            .map(String::from)
            .to_vec(),
        ),
    );
    let sim = Simulator::new(seed, start, ids);
    (state, sim)
}

/// The fixed T0 used by snapshots and benchmarks.
pub fn fixed_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 58, 0).single().unwrap_or_default()
}

/// A default setup with the built-in keymap and theme, for tests and benchmarks.
pub fn test_setup(theme: &str) -> StateSetup {
    let themes: Vec<Theme> = crate::ui::theme::BUILTIN
        .iter()
        .filter_map(|(n, _)| Theme::builtin(n))
        .collect();
    let theme = themes
        .iter()
        .find(|t| t.name == theme)
        .cloned()
        .or_else(|| themes.first().cloned());
    StateSetup {
        service: "odin".into(),
        environment: "production".into(),
        banner: Some("DEMO".into()),
        user: "oncall".into(),
        read_only: false,
        keymap: Keymap::defaults(),
        theme: theme.unwrap_or_else(Theme::plain),
        themes,
        clock: Clock::default(),
        log_cap_bytes: DEFAULT_CAP_BYTES,
        log_rate_limit: crate::app::panes::logs::DEFAULT_RATE_LIMIT,
    }
}

/// The demo state after `seconds` of simulated time, as the runtime would hold it: every message the
/// simulator produced applied through `update`, and recorded events fed back as the journal would.
pub fn state_at(setup: StateSetup, runbooks: Vec<Runbook>, seed: u64, seconds: i64, size: (u16, u16)) -> AppState {
    let start = fixed_start();
    let (mut state, mut sim) = build(setup, runbooks, seed, start);
    update(
        &mut state,
        Msg::Resize {
            width: size.0,
            height: size.1,
        },
        start,
    );
    for msg in sim.initial() {
        apply(&mut state, msg, start);
    }
    let mut t = 0;
    while t < seconds {
        t = (t + 5).min(seconds);
        let now = start + Duration::seconds(t);
        for msg in sim.advance_to(t) {
            apply(&mut state, msg, now);
        }
    }
    state
}

/// Applies one message and the memory-only round trip of any events it records.
pub fn apply(state: &mut AppState, msg: Msg, now: DateTime<Utc>) {
    let mut effects = update(state, msg, now);
    while !effects.is_empty() {
        let mut next = Vec::new();
        for effect in effects {
            if let crate::app::effect::Effect::Record(drafts) = effect {
                let entries = crate::journal::memory_entries(drafts, &state.user, now);
                next.extend(update(state, Msg::Recorded(entries), now));
            }
        }
        effects = next;
    }
}
