//! The real runtime loop on a `TestBackend`, with paused tokio time: the demo fills every pane at
//! once, bursts coalesce into few frames, nothing is drawn between clock ticks when nothing changes,
//! and quit, signals and task panics end the loop as they should.

mod support;

use std::io;
use std::time::Duration;

use crossterm::event::Event;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::*;
use tokio::sync::mpsc;
use tokio::time::Instant;
use warroom::app::msg::{Msg, SourceData, SourceKind, SourceUpdate};
use warroom::app::panes::ListPane;
use warroom::app::runtime::{CHANNEL_CAPACITY, Outcome, Runtime, RuntimeError, TestShell};
use warroom::app::state::AppState;
use warroom::domain::log::LogLine;
use warroom::sources::clock::TimeSource;
use warroom::sources::simulator;
use warroom::terminal::OsSignal;

type Input = futures::channel::mpsc::UnboundedReceiver<io::Result<Event>>;

struct Rig {
    runtime: Runtime<TestBackend>,
    input: Input,
    keys: UnboundedSender<io::Result<Event>>,
    signals: mpsc::Receiver<OsSignal>,
    signal_tx: mpsc::Sender<OsSignal>,
    tx: mpsc::Sender<Msg>,
}

fn rig(state: AppState, size: (u16, u16), time: TimeSource) -> Rig {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap_or_else(|e| panic!("{e}"));
    let runtime = Runtime::new(state, terminal, time, rx, Box::new(TestShell));
    let (keys, input) = unbounded();
    let (signal_tx, signals) = mpsc::channel(4);
    Rig {
        runtime,
        input,
        keys,
        signals,
        signal_tx,
        tx,
    }
}

impl Rig {
    async fn until(&mut self, what: &str, stop: impl Fn(&AppState) -> bool) -> Outcome {
        let run = self.runtime.run_until(&mut self.input, &mut self.signals, stop);
        match tokio::time::timeout(Duration::from_secs(600), run).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => panic!("runtime failed while waiting for {what}: {e}"),
            Err(_) => panic!("{what} did not happen within 600 s of simulated time"),
        }
    }

    fn key(&self, k: &str) {
        let _ = self.keys.unbounded_send(Ok(Event::Key(key(k))));
    }

    fn screen(&self) -> String {
        buffer_text(self.runtime.terminal.backend())
    }
}

fn demo_rig(speed: f64) -> (Rig, simulator::Simulator, TimeSource) {
    let start = t0();
    let (state, sim) = warroom::demo::build(warroom::demo::test_setup("dark"), runbooks(), 1, start);
    let time = TimeSource::simulated(start, speed);
    (rig(state, (200, 50), time), sim, time)
}

fn every_pane_has_data(s: &AppState) -> bool {
    !s.alerts.book.alerts().is_empty()
        && !s.slos.reports.is_empty()
        && !s.signals.readings.is_empty()
        && s.logs.visible_len() > 0
        && !s.deploys.deploys.is_empty()
}

#[tokio::test(start_paused = true)]
async fn demo_fills_every_pane_within_a_second() {
    let (mut rig, sim, time) = demo_rig(1.0);
    let started = Instant::now();
    let refresh = rig.runtime.refresh_requests();
    rig.runtime.tasks.spawn(simulator::run(
        sim,
        time,
        1.0,
        rig.tx.clone(),
        refresh,
        simulator::Teammates::Direct,
        tokio::sync::mpsc::channel(1).1,
    ));
    assert_eq!(
        rig.until("data in every pane", every_pane_has_data).await,
        Outcome::Condition
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    // And it is on screen once the pending frame is drawn.
    rig.runtime.draw().unwrap_or_else(|e| panic!("{e}"));
    let screen = rig.screen();
    for title in [
        "1 Alerts",
        "2 SLOs",
        "3 Signals",
        "4 Logs",
        "5 Deploys",
        "6 Runbook",
        "7 Timeline",
        "availability",
        "5xx ratio",
        "1.4.1",
    ] {
        assert!(screen.contains(title), "{title} not on screen:\n{screen}");
    }
}

#[tokio::test(start_paused = true)]
async fn demo_at_speed_plays_the_whole_scenario_through_the_loop() {
    let (mut rig, sim, time) = demo_rig(20.0);
    let refresh = rig.runtime.refresh_requests();
    rig.runtime.tasks.spawn(simulator::run(
        sim,
        time,
        20.0,
        rig.tx.clone(),
        refresh,
        simulator::Teammates::Direct,
        tokio::sync::mpsc::channel(1).1,
    ));
    let fired = |name: &'static str| {
        move |s: &AppState| {
            s.alerts
                .book
                .alerts()
                .iter()
                .any(|a| a.name() == name && a.state.is_active())
        }
    };
    rig.until("the page", fired("OdinHighErrorRate")).await;
    rig.until("the incident", |s| s.incident_open()).await;
    rig.until("the fast burn", fired("OdinErrorBudgetFastBurn")).await;
    rig.until("the rollback", |s| {
        s.deploys
            .deploys
            .iter()
            .any(|d| d.version == "1.4.1" && d.kind == warroom::domain::deploy::DeployKind::Rollback)
    })
    .await;
    rig.until("the resolution", |s| s.incident.as_ref().is_some_and(|i| !i.is_open()))
        .await;
    assert!(
        rig.runtime
            .state
            .alerts
            .book
            .alerts()
            .iter()
            .filter(|a| a.name().starts_with("Odin"))
            .all(|a| !a.state.is_active())
    );
    // Quitting needs no confirmation once the incident is resolved.
    rig.key("q");
    assert_eq!(rig.until("quit", |_| false).await, Outcome::Quit);
}

fn log_burst(id: warroom::app::msg::SourceId, n: usize) -> Vec<Msg> {
    (0..n)
        .map(|i| {
            Msg::Source(SourceUpdate {
                source: id,
                at: at(0),
                result: Ok(SourceData::Logs(vec![LogLine::new(
                    at(0),
                    "app".into(),
                    &format!("line {i}"),
                )])),
            })
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn burst_frames_and_idle_frames_are_bounded() {
    let mut state = empty_state((200, 50));
    let id = state.add_source(SourceKind::Logs, "logs");
    let mut rig = rig(state, (200, 50), TimeSource::simulated(t0(), 1.0));
    for msg in log_burst(id, 1000) {
        rig.tx.try_send(msg).unwrap_or_else(|e| panic!("{e}"));
    }
    let frames_before = rig.runtime.frames;
    rig.until("the burst", |s| s.logs.buffer.len() == 1000).await;
    assert!(
        rig.runtime.frames - frames_before <= 3,
        "1000 messages drew {} frames",
        rig.runtime.frames - frames_before
    );

    // Idle: only the 1 Hz clock draws. Wait ten simulated seconds with nothing happening.
    let start = Instant::now();
    let frames = rig.runtime.frames;
    let deadline = start + Duration::from_millis(10_500);
    rig.until("ten idle seconds", move |_| Instant::now() >= deadline).await;
    let drawn = rig.runtime.frames - frames;
    assert!(
        (9..=12).contains(&drawn),
        "{drawn} frames in 10.5 idle seconds (expected one per clock tick)"
    );
}

#[tokio::test(start_paused = true)]
async fn quit_key_signals_and_closed_input_end_the_loop() {
    let mut rig = rig(empty_state((80, 24)), (80, 24), TimeSource::simulated(t0(), 1.0));
    rig.key("tab");
    rig.key("q");
    assert_eq!(rig.until("quit", |_| false).await, Outcome::Quit);
    assert_eq!(rig.runtime.state.focus, warroom::app::pane::PaneId::Slos);

    let mut rig = rig_for_signal();
    rig.signal_tx
        .try_send(OsSignal::Hangup)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rig.until("hangup", |_| false).await, Outcome::Signal(OsSignal::Hangup));

    let mut rig = rig_for_signal();
    rig.signal_tx
        .try_send(OsSignal::Terminate)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rig.until("terminate", |_| false).await,
        Outcome::Signal(OsSignal::Terminate)
    );

    let mut rig = rig_for_signal();
    rig.keys.close_channel();
    assert_eq!(rig.until("input closed", |_| false).await, Outcome::InputClosed);
}

fn rig_for_signal() -> Rig {
    rig(empty_state((80, 24)), (80, 24), TimeSource::simulated(t0(), 1.0))
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_stops_the_runtime() {
    let mut rig = rig(empty_state((80, 24)), (80, 24), TimeSource::simulated(t0(), 1.0));
    rig.runtime.tasks.spawn(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        panic!("poller bug");
    });
    let run = rig.runtime.run(&mut rig.input, &mut rig.signals);
    match tokio::time::timeout(Duration::from_secs(5), run).await {
        Ok(Err(RuntimeError::TaskPanicked(e))) => assert!(e.is_panic(), "{e}"),
        other => panic!("expected a task panic, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_quits_even_during_an_incident() {
    let mut state = demo_state(8 * 60, (120, 40));
    assert!(state.incident_open());
    state.viewport = (120, 40);
    let mut rig = rig(state, (120, 40), TimeSource::simulated(at(480), 1.0));
    rig.key("q");
    rig.until("the confirmation", |s| s.modal.is_some()).await;
    rig.runtime.draw().unwrap_or_else(|e| panic!("{e}"));
    assert!(rig.screen().contains("Quit warroom?"), "{}", rig.screen());
    rig.key("ctrl-c");
    assert_eq!(rig.until("quit", |_| false).await, Outcome::Quit);
}

/// Counts bytes reaching the "terminal".
#[derive(Clone, Default)]
struct Counter(std::sync::Arc<std::sync::Mutex<usize>>);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut n) = self.0.lock() {
            *n += buf.len();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Counter {
    fn bytes(&self) -> usize {
        self.0.lock().map(|n| *n).unwrap_or(0)
    }
}

#[tokio::test(start_paused = true)]
async fn keys_that_change_nothing_write_nothing_and_a_change_writes_little() {
    use ratatui::backend::CrosstermBackend;
    use ratatui::layout::Rect;
    use ratatui::{TerminalOptions, Viewport};
    use warroom::quiet::QuietBackend;

    let counter = Counter::default();
    let backend = QuietBackend::new(CrosstermBackend::new(counter.clone()), true);
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, 200, 50)),
    };
    let terminal = Terminal::with_options(backend, options).unwrap_or_else(|e| panic!("{e}"));
    let (_tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    // A frozen clock: the status-bar clock cannot change during the test.
    let mut runtime = Runtime::new(
        demo_state(300, (200, 50)),
        terminal,
        TimeSource::simulated(at(300), 0.000_001),
        rx,
        Box::new(TestShell),
    );
    let (keys, mut input) = unbounded::<io::Result<Event>>();
    let (_signal_tx, mut signals) = mpsc::channel(4);
    let deadline = Instant::now() + Duration::from_millis(500);
    runtime
        .run_until(&mut input, &mut signals, move |_| Instant::now() >= deadline)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after_first_frame = counter.bytes();
    assert!(after_first_frame > 10_000, "first frame {after_first_frame} B");
    for k in ["x", "y", "F5", "alt-q", "ctrl-g"] {
        let _ = keys.unbounded_send(Ok(Event::Key(key(k))));
    }
    let frames = runtime.frames;
    let deadline = Instant::now() + Duration::from_millis(900);
    runtime
        .run_until(&mut input, &mut signals, move |_| Instant::now() >= deadline)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(runtime.frames > frames, "the keys were handled");
    assert_eq!(counter.bytes(), after_first_frame, "keys bound to nothing wrote bytes");
    let _ = keys.unbounded_send(Ok(Event::Key(key("tab"))));
    let deadline = Instant::now() + Duration::from_millis(100);
    runtime
        .run_until(&mut input, &mut signals, move |_| Instant::now() >= deadline)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let focus_change = counter.bytes() - after_first_frame;
    assert!(
        focus_change > 0 && focus_change < 6_000,
        "a focus change wrote {focus_change} B"
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_r_makes_every_source_poll_now() {
    let (mut rig, sim, time) = demo_rig(1.0);
    let refresh = rig.runtime.refresh_requests();
    rig.runtime.tasks.spawn(simulator::run(
        sim,
        time,
        1.0,
        rig.tx.clone(),
        refresh,
        simulator::Teammates::Direct,
        tokio::sync::mpsc::channel(1).1,
    ));
    rig.until("data in every pane", every_pane_has_data).await;
    // Prometheus polls every 15 s: seven seconds in, its data is seven seconds old.
    let seven = Instant::now() + Duration::from_secs(7);
    rig.until("seven quiet seconds", move |_| Instant::now() >= seven).await;
    let prometheus_at = |s: &AppState| {
        s.sources
            .iter()
            .find(|x| x.name == "prometheus")
            .and_then(|x| x.health.last_ok())
    };
    assert_eq!(prometheus_at(&rig.runtime.state), Some(t0()));
    rig.key("ctrl-r");
    let asked = Instant::now();
    rig.until("a fresh poll", move |s| prometheus_at(s).is_some_and(|at| at > t0()))
        .await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "the refresh took {:?}",
        asked.elapsed()
    );
}

/// The cockpit with a real journal (real time: the journal's writer thread runs on its own clock).
#[tokio::test]
async fn declaring_and_writing_a_note_go_to_disk_pending_then_durable() {
    use warroom::domain::redact::{RedactionRules, Redactor};
    use warroom::domain::timeline::{Durability, Event};
    use warroom::journal::{file, service, store::Store};

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::new(dir.path());
    let mut r = rig(
        demo_state(6 * 60, (120, 40)),
        (120, 40),
        TimeSource::simulated(at(360), 1.0),
    );
    let journal = service::start(
        store.clone(),
        Redactor::new(RedactionRules::default()),
        None,
        r.tx.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    r.runtime = r.runtime.with_journal(journal);
    // At T+6m the page fires in the memory demo but nobody declared yet (teammates are off here:
    // the state was built without a journal, so declare ourselves).
    r.runtime
        .state
        .timeline
        .entries
        .retain(|e| !matches!(e.event, Event::IncidentDeclared { .. }));
    r.runtime.state.incident = None;
    for k in [
        ":", "d", "e", "c", "l", "a", "r", "e", "space", "S", "E", "V", "2", "space", "o", "d", "i", "n", "enter",
    ] {
        r.key(k);
    }
    let declared = |s: &AppState, d: Durability| {
        s.timeline.entries.iter().any(|e| {
            matches!(e.event, Event::IncidentDeclared { ref title, .. } if title == "odin") && e.durability == d
        })
    };
    r.until("the pending declaration", move |s| {
        declared(s, Durability::Pending) || declared(s, Durability::Durable)
    })
    .await;
    r.until("the durable declaration", move |s| declared(s, Durability::Durable))
        .await;
    let id = r
        .runtime
        .state
        .journal
        .incident_id
        .clone()
        .unwrap_or_else(|| panic!("an incident id"));
    let on_disk = file::scan(&store.incident(&id).file).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        on_disk
            .records
            .iter()
            .any(|r| matches!(r.body.event, Event::IncidentDeclared { .. }))
    );
    // The declaration took the lead-up with it: the alerts firing and the recent deploy.
    assert!(
        on_disk
            .records
            .iter()
            .any(|r| matches!(r.body.event, Event::AlertFired { .. }))
    );
    assert!(
        on_disk
            .records
            .iter()
            .any(|r| matches!(r.body.event, Event::DeployObserved { .. }))
    );

    // A note from the editor: Ctrl-S saves it.
    for k in [
        "7", "a", "c", "h", "e", "c", "k", "i", "n", "g", "space", "d", "b", "ctrl-s",
    ] {
        r.key(k);
    }
    let noted = |s: &AppState| {
        s.timeline.entries.iter().any(|e| {
            matches!(e.event, Event::Note { ref text, .. } if text == "checking db")
                && e.durability == Durability::Durable
        })
    };
    r.until("the durable note", noted).await;
    let on_disk = file::scan(&store.incident(&id).file).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        on_disk
            .records
            .iter()
            .any(|r| matches!(&r.body.event, Event::Note { text, .. } if text == "checking db"))
    );
    assert!(store.audit().file.exists(), "the declaration is in the audit log");
}
