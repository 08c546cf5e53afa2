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
