//! The incident journal: turns event drafts into timeline entries (id, actor, time) and keeps them.
//! This first version keeps entries in memory only and says so on every entry; the durable,
//! hash-chained, crash-safe journal replaces it behind the same `record` call.

use chrono::{DateTime, Utc};

use crate::app::effect::EventDraft;
use crate::domain::timeline::{Durability, TimelineEntry};

/// A journal that keeps entries in memory (the demo, and until the durable journal exists).
#[derive(Debug, Clone)]
pub struct MemoryJournal {
    user: String,
    next: u64,
}

impl MemoryJournal {
    pub fn new(user: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            next: 1,
        }
    }

    /// Records drafts; `now` is when they were recorded (unused until records carry it).
    pub fn record(&mut self, drafts: Vec<EventDraft>, _now: DateTime<Utc>) -> Vec<TimelineEntry> {
        drafts
            .into_iter()
            .map(|d| {
                let id = format!("mem-{:06}", self.next);
                self.next += 1;
                TimelineEntry {
                    id,
                    occurred_at: d.occurred_at,
                    actor: d.actor.unwrap_or_else(|| self.user.clone()),
                    event: d.event,
                    durability: Durability::MemoryOnly,
                }
            })
            .collect()
    }
}
