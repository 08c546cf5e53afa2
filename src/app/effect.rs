//! `Effect`: what `update` asks the runtime to do. Effects are the only way state changes reach the
//! world (the journal, the terminal, the sources).

use chrono::{DateTime, Utc};

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
