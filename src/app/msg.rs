//! `Msg`: everything that enters `update` — keys, the clock tick, the terminal size, data and
//! failures from sources, and timeline entries the journal recorded.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use crate::domain::alert::Alert;
use crate::domain::deploy::Deploy;
use crate::domain::health::FetchError;
use crate::domain::log::LogLine;
use crate::domain::signal::SignalReading;
use crate::domain::slo::SloObservation;
use crate::domain::timeline::TimelineEntry;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// The 1 Hz clock: ages and the status-bar clock move on.
    Tick,
    Source(SourceUpdate),
    /// Timeline entries: ours as pending or memory-only, then durable once synced, and entries
    /// written by other processes.
    Recorded(Vec<TimelineEntry>),
    Journal(JournalEvent),
}

/// What the journal service reports besides entries.
#[derive(Debug, Clone)]
pub enum JournalEvent {
    /// An incident's journal is open (at start, when one was declared here or elsewhere, or on
    /// request): every entry in it, and a notice if it had to be repaired or cannot be written.
    Opened {
        id: String,
        entries: Vec<TimelineEntry>,
        notice: Option<String>,
    },
    /// Writing failed; `held` entries are kept in memory and retried.
    Failed { error: String, held: usize },
    /// Writing works again; everything held is durable now.
    Recovered,
    /// Something worth telling (a repaired tail).
    Notice(String),
}

/// Index of a source in [`crate::app::state::AppState::sources`], assigned at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Alertmanager,
    Prometheus,
    Logs,
    Deploys,
    Probes,
}

impl SourceKind {
    /// The short label used in the status bar when space is tight.
    pub fn short(self) -> &'static str {
        match self {
            Self::Alertmanager => "am",
            Self::Prometheus => "prom",
            Self::Logs => "logs",
            Self::Deploys => "dep",
            Self::Probes => "probe",
        }
    }
}

/// The outcome of one poll of one source.
#[derive(Debug, Clone)]
pub struct SourceUpdate {
    pub source: SourceId,
    /// When the data was fetched (or the fetch failed), in the source's clock.
    pub at: DateTime<Utc>,
    pub result: Result<SourceData, FetchError>,
}

#[derive(Debug, Clone)]
pub enum SourceData {
    /// The full current set of alerts.
    Alerts(Vec<Alert>),
    Signals(Vec<SignalReading>),
    Slos(Vec<SloObservation>),
    /// New log lines since the last update.
    Logs(Vec<LogLine>),
    /// The recent deploy history, any order.
    Deploys(Vec<Deploy>),
}
