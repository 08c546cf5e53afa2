//! `Msg`: everything that enters `update` — keys, the clock tick, the terminal size, data and
//! failures from sources, and timeline entries the journal recorded.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use crate::domain::alert::Alert;
use crate::domain::deploy::Deploy;
use crate::domain::health::FetchError;
use crate::domain::log::LogLine;
use crate::domain::signal::SignalReading;
use crate::domain::silence::Silence;
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
    /// Idle time to continue background work (a log filter over a large buffer), one slice each.
    Work,
    Source(SourceUpdate),
    /// Timeline entries: ours as pending or memory-only, then durable once synced, and entries
    /// written by other processes.
    Recorded(Vec<TimelineEntry>),
    Journal(JournalEvent),
    /// A request to change the world (a silence) finished.
    RequestDone {
        request: super::effect::Request,
        result: Result<RequestDone, String>,
    },
    /// New output lines of a running step (sanitised, redacted, at most the display cap).
    StepOutput {
        run: u64,
        lines: Vec<String>,
    },
    /// A step's command ended (or could not start).
    StepFinished {
        run: u64,
        result: StepResult,
    },
    /// A verify step's PromQL was evaluated: `Ok(Some(value))` held (the value that satisfied it),
    /// `Ok(None)` did not hold, `Err` could not be evaluated.
    VerifyDone {
        run: u64,
        result: Result<Option<f64>, String>,
    },
    /// An API rollback answered: what the deploy system said, or how it failed.
    RollbackDone {
        id: u64,
        result: Result<String, crate::domain::rollback::RollbackFailure>,
    },
}

/// How a step's command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// The exit status, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// It ran past its timeout and its process group was killed.
    pub timed_out: bool,
    pub duration: std::time::Duration,
    /// Bytes of output (stdout and stderr) it wrote, including what was not kept.
    pub output_bytes: u64,
    /// More output than the cap: the saved copy is cut.
    pub truncated: bool,
    /// SHA-256 (hex) of the saved, redacted output.
    pub digest: String,
    /// Where the redacted output was saved.
    pub saved_to: Option<std::path::PathBuf>,
    /// Why it could not start or be saved, if so.
    pub error: Option<String>,
}

impl StepResult {
    /// A command that never ran, and why.
    pub fn not_started(why: impl Into<String>) -> Self {
        Self {
            exit_code: None,
            signal: None,
            timed_out: false,
            duration: std::time::Duration::ZERO,
            output_bytes: 0,
            truncated: false,
            digest: String::new(),
            saved_to: None,
            error: Some(why.into()),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.error.is_none()
    }

    /// How it ended, in a few words: `exit 0`, `timed out after 30s`, `killed by signal 9`.
    pub fn outcome(&self) -> String {
        match (&self.error, self.timed_out, self.exit_code, self.signal) {
            (Some(e), _, _, _) => format!("could not run: {e}"),
            (None, true, _, _) => format!(
                "timed out after {}s; its process group was killed",
                self.duration.as_secs()
            ),
            (None, false, Some(code), _) => format!("exit {code}"),
            (None, false, None, Some(signal)) => format!("killed by signal {signal}"),
            _ => "killed".to_string(),
        }
    }

    /// It was cut off (a timeout, a signal) and may have done part of its work.
    pub fn cut_off(&self) -> bool {
        self.error.is_none() && (self.timed_out || self.exit_code.is_none())
    }
}

/// A request that took effect: the id of what it created or changed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDone {
    pub id: String,
    /// The Alertmanager that took it.
    pub via: String,
    /// A create that timed out, then was found in the silence list.
    pub confirmed_after_timeout: bool,
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
    /// The full current set of alerts (merged over every Alertmanager that answered).
    Alerts(AlertSet),
    /// The source answered; its data arrives merged with others' in another update.
    Reachable,
    Signals(Vec<SignalReading>),
    Slos(Vec<SloObservation>),
    /// New log lines since the last update.
    Logs(Vec<LogLine>),
    /// The source had to drop this many lines (Loki's `dropped_entries`, a reader that fell
    /// behind): counted and shown, never silent.
    LogsDropped(u64),
    /// The recent deploy history, any order.
    Deploys(Vec<Deploy>),
    /// Every probe's latest result, in configuration order (shown among the signals).
    Probes(Vec<crate::domain::probe::ProbeResult>),
}

/// Where the alerts shown came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertVia {
    Alertmanager,
    /// No Alertmanager answered: Prometheus's own view of its alerting rules (no silences, no
    /// inhibitions, no alerts from other Prometheus servers).
    PrometheusFallback,
    /// No Alertmanager is configured: Prometheus is the alert source.
    Prometheus,
}

#[derive(Debug, Clone)]
pub struct AlertSet {
    pub alerts: Vec<Alert>,
    /// The silences, when the source knows them (`None` from the Prometheus fallback).
    pub silences: Option<Vec<Silence>>,
    pub via: AlertVia,
}

impl AlertSet {
    /// Alerts straight from Alertmanager (or the simulator), with their silences.
    pub fn alertmanager(alerts: Vec<Alert>, silences: Vec<Silence>) -> Self {
        Self {
            alerts,
            silences: Some(silences),
            via: AlertVia::Alertmanager,
        }
    }
}
