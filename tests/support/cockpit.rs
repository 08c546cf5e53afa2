//! The real runtime on a 160x45 `TestBackend`, polling what a config names through the real
//! sources, with a journal (and so an audit log) in a data dir: keys go through `Runtime::accept`
//! (effects included), and every wait is for a condition on the state, with a hang guard.
//! Included with `#[path = "support/cockpit.rs"] mod cockpit;`.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use warroom::app::msg::Msg;
use warroom::app::runtime::{CHANNEL_CAPACITY, Runtime, TestShell};
use warroom::app::state::AppState;
use warroom::config::Config;
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::domain::timeline::Event;
use warroom::journal::store::Store;
use warroom::sources::clock::TimeSource;
use warroom::sources::live;
use warroom::terminal::OsSignal;

use crate::support::key;

/// Longest any condition may take (a hang guard; loopback servers answer in milliseconds).
pub const LIMIT: Duration = Duration::from_secs(60);

pub struct Cockpit {
    pub runtime: Runtime<TestBackend>,
    input: futures::channel::mpsc::UnboundedReceiver<std::io::Result<crossterm::event::Event>>,
    _keys: futures::channel::mpsc::UnboundedSender<std::io::Result<crossterm::event::Event>>,
    signals: mpsc::Receiver<OsSignal>,
    _signal_tx: mpsc::Sender<OsSignal>,
}

impl Cockpit {
    /// The cockpit polling what `config` names, its journal in `data`; confirmed silences go to
    /// the silencer and confirmed rollbacks to the deployer, as in `warroom`.
    pub fn start(config: &str, data: &Path) -> Self {
        let config: Config = toml::from_str(config).unwrap_or_else(|e| panic!("config: {e}"));
        let mut state = AppState::new(warroom::demo::test_setup("dark"));
        state.alerts.set_group_by(config.alerts.group_by.clone());
        let live = live::build(&config, data, &|_| None, &mut state);
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let terminal = Terminal::new(TestBackend::new(160, 45)).unwrap_or_else(|e| panic!("{e}"));
        let journal = warroom::journal::service::start(
            Store::new(data),
            Redactor::new(RedactionRules::default()),
            None,
            tx.clone(),
        )
        .unwrap_or_else(|e| panic!("journal: {e}"));
        let mut runtime =
            Runtime::new(state, terminal, TimeSource::Real, rx, Box::new(TestShell)).with_journal(journal);
        let refresh = runtime.refresh_requests();
        let senders = live::spawn(live, &mut runtime.tasks, TimeSource::Real, &tx, &refresh);
        if let Some(requests) = senders.requests {
            runtime = runtime.with_requests(requests);
        }
        if let Some(rollbacks) = senders.rollbacks {
            runtime = runtime.with_deployer(rollbacks);
        }
        let (keys, input) = futures::channel::mpsc::unbounded();
        let (signal_tx, signals) = mpsc::channel(1);
        Self {
            runtime,
            input,
            _keys: keys,
            signals,
            _signal_tx: signal_tx,
        }
    }

    /// Runs the cockpit until `stop` holds; panics with the screen after `LIMIT`.
    pub async fn until(&mut self, what: &str, stop: impl Fn(&AppState) -> bool) {
        let run = self.runtime.run_until(&mut self.input, &mut self.signals, stop);
        match tokio::time::timeout(LIMIT, run).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("runtime failed while waiting for {what}: {e}"),
            Err(_) => {
                let screen = self.screen();
                panic!(
                    "{what}: not true within {LIMIT:?}\nnotice: {:?}\ntimeline: {:?}\nsources: {:?}\nscreen:\n{screen}",
                    self.state().notice,
                    self.state()
                        .timeline
                        .entries
                        .iter()
                        .map(|e| e.event.kind())
                        .collect::<Vec<_>>(),
                    self.state().sources
                )
            }
        }
    }

    pub fn state(&self) -> &AppState {
        &self.runtime.state
    }

    /// Presses keys (space-separated key strings) through the runtime, effects included.
    pub fn press(&mut self, keys: &str) {
        for k in keys.split_whitespace() {
            self.runtime
                .accept(Msg::Key(key(k)))
                .unwrap_or_else(|e| panic!("key {k}: {e}"));
        }
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let k = if c == ' ' { "space".to_string() } else { c.to_string() };
            self.press(&k);
        }
    }

    /// The timeline's events of one kind, oldest first.
    pub fn events(&self, kind: &str) -> Vec<Event> {
        self.state()
            .timeline
            .entries
            .iter()
            .filter(|e| e.event.kind() == kind)
            .map(|e| e.event.clone())
            .collect()
    }

    pub fn screen(&mut self) -> String {
        let _ = self.runtime.draw();
        crate::support::buffer_text(self.runtime.terminal.backend())
    }
}
