//! `Effect`: what `update` asks the runtime to do. Effects are the only way state changes reach the
//! world (the journal, the terminal, the sources).

use chrono::{DateTime, Utc};

use crate::domain::matcher::Matcher;
use crate::domain::silence::Silence;
use crate::domain::timeline::Event;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Leave the cockpit: restore the terminal and exit.
    Quit,
    /// Restore the terminal and stop the process until the shell resumes it.
    Suspend,
    /// Ask every poller to fetch now.
    RefreshAll,
    /// Append events to the timeline; the journal answers with `Msg::Recorded`.
    Record(Vec<EventDraft>),
    /// Change something in the world; the answer comes back as `Msg::RequestDone`.
    Request(Request),
    /// Run a confirmed runbook command step in the background; its output comes back as
    /// `Msg::StepOutput` and its end as `Msg::StepFinished`.
    RunStep(StepRun),
    /// Evaluate a runbook verify step's PromQL; the answer comes back as `Msg::VerifyDone`.
    CheckVerify(VerifyCheck),
    /// Put text on the responder's clipboard (OSC 52, through the terminal, over SSH too).
    Clipboard(String),
    /// Send a confirmed API rollback (Argo CD, GitHub) once; the answer comes back as
    /// `Msg::RollbackDone`.
    Rollback(RollbackCall),
}

/// A rollback through a deploy system's API that a responder confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackCall {
    /// Identifies the answer (`Msg::RollbackDone`).
    pub id: u64,
    pub plan: crate::domain::rollback::RollbackPlan,
}

/// A runbook command a responder confirmed, ready to run.
#[derive(Clone, PartialEq)]
pub struct StepRun {
    /// Identifies this run in `StepOutput` / `StepFinished`.
    pub run: u64,
    /// The open incident, if any: the saved output goes in its directory.
    pub incident: Option<String>,
    pub runbook: String,
    pub step: String,
    /// The code block's language ("sh", "bash"): what interprets `command`.
    pub lang: String,
    /// Fully expanded, secrets included: never logged, never shown, never recorded.
    pub command: String,
    /// What may be shown and recorded: secrets masked.
    pub display: String,
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for StepRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepRun")
            .field("run", &self.run)
            .field("incident", &self.incident)
            .field("runbook", &self.runbook)
            .field("step", &self.step)
            .field("lang", &self.lang)
            .field("display", &self.display)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What the runbook runner (sources::runbook_exec) is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerRequest {
    Run(StepRun),
    Verify(VerifyCheck),
}

/// A verify step to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyCheck {
    pub run: u64,
    pub runbook: String,
    pub step: String,
    pub promql: String,
}

/// A change to the world that a responder confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    CreateSilence {
        matchers: Vec<Matcher>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        created_by: String,
        comment: String,
        /// How many active alerts the preview showed it would match.
        matched: usize,
    },
    ExtendSilence {
        silence: Silence,
        ends_at: DateTime<Utc>,
    },
    ExpireSilence {
        silence: Silence,
    },
}

impl Request {
    /// What the request does, as a verb for messages and the audit log.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::CreateSilence { .. } => "create",
            Self::ExtendSilence { .. } => "extend",
            Self::ExpireSilence { .. } => "expire",
        }
    }

    /// The matchers concerned, as one line.
    pub fn matchers_text(&self) -> String {
        match self {
            Self::CreateSilence { matchers, .. } => crate::domain::matcher::format_list(matchers),
            Self::ExtendSilence { silence, .. } | Self::ExpireSilence { silence } => {
                crate::domain::matcher::format_list(&silence.matchers)
            }
        }
    }
}

/// An event to record, before the journal gives it an id.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub occurred_at: DateTime<Utc>,
    /// `None`: the person running this cockpit; `Some`: an automatic observation's actor.
    pub actor: Option<String>,
    pub event: Event,
    /// The entry this one corrects or retracts.
    pub supersedes: Option<String>,
}
