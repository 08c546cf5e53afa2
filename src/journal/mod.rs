//! The incident journal: the only code that writes incident data. `record` is the on-disk format
//! (hash-chained JSON Lines with checksums), `file` reads, verifies, repairs and appends one journal
//! under its lock, `store` maps incidents to directories, and `service` is the cockpit's background
//! writer and follower.

pub mod file;
pub mod record;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};

use crate::app::effect::EventDraft;
use crate::domain::timeline::{Durability, TimelineEntry};
use file::Pending;

/// A new ULID: the time part from `now` (the cockpit's clock), the random part from the OS.
pub fn new_id(now: DateTime<Utc>) -> String {
    let random = ulid::Ulid::generate().random();
    ulid::Ulid::from_parts(u64::try_from(now.timestamp_millis()).unwrap_or(0), random).to_string()
}

/// Turns drafts into entries ready for the journal: ids, the recording time and the actor.
pub fn prepare(drafts: Vec<EventDraft>, user: &str, now: DateTime<Utc>) -> Vec<Pending> {
    drafts
        .into_iter()
        .map(|d| Pending {
            id: new_id(now),
            incident: None,
            occurred_at: d.occurred_at,
            recorded_at: now,
            actor: d.actor.unwrap_or_else(|| user.to_string()),
            event: d.event,
            supersedes: d.supersedes,
        })
        .collect()
}

/// Entries kept in memory only (no journal): the demo's tests and a cockpit with no incident open.
pub fn memory_entries(drafts: Vec<EventDraft>, user: &str, now: DateTime<Utc>) -> Vec<TimelineEntry> {
    prepare(drafts, user, now)
        .iter()
        .map(|p| p.entry(Durability::MemoryOnly))
        .collect()
}
