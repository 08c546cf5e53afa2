//! Timeline pane state: every recorded entry in time order (newest at the bottom), following the
//! newest unless the user scrolled away.

use crate::app::list::ListView;
use crate::domain::timeline::TimelineEntry;

#[derive(Debug, Clone)]
pub struct TimelinePane {
    pub entries: Vec<TimelineEntry>,
    pub list: ListView,
    pub follow: bool,
}

impl Default for TimelinePane {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            list: ListView::default(),
            follow: true,
        }
    }
}

impl TimelinePane {
    /// Inserts new entries in time order, or replaces a pending one by id when it becomes durable.
    pub fn insert(&mut self, entries: Vec<TimelineEntry>) {
        for entry in entries {
            if let Some(known) = self.entries.iter_mut().find(|e| e.id == entry.id) {
                *known = entry;
                continue;
            }
            let at = self.entries.partition_point(|e| e.occurred_at <= entry.occurred_at);
            self.entries.insert(at, entry);
        }
    }

    /// Rows passing the filter. Besides free text, the filter understands `kind:<kind or
    /// category>` and `actor:<name>` (each may repeat; any of the same sort may match).
    pub fn visible_rows(&self) -> Vec<usize> {
        let query = self.list.filter.as_ref().map(|f| Query::parse(f.text()));
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| query.as_ref().is_none_or(|q| q.matches(e)))
            .map(|(i, _)| i)
            .collect()
    }
}

/// A parsed timeline filter.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Query {
    kinds: Vec<String>,
    actors: Vec<String>,
    words: Vec<String>,
}

impl Query {
    pub fn parse(text: &str) -> Self {
        let mut q = Query::default();
        for token in text.split_whitespace() {
            let lower = token.to_lowercase();
            if let Some(kind) = lower.strip_prefix("kind:") {
                q.kinds.push(kind.to_string());
            } else if let Some(actor) = lower.strip_prefix("actor:") {
                q.actors.push(actor.to_string());
            } else {
                q.words.push(lower);
            }
        }
        q
    }

    pub fn matches(&self, e: &TimelineEntry) -> bool {
        let kind_ok = self.kinds.is_empty()
            || self
                .kinds
                .iter()
                .any(|k| e.event.category() == k || e.event.kind() == k || e.event.kind().starts_with(k.as_str()));
        let actor_ok = self.actors.is_empty() || self.actors.iter().any(|a| e.actor.to_lowercase() == *a);
        let text = if self.words.is_empty() {
            String::new()
        } else {
            format!("{} {} {}", e.event.summary(), e.actor, e.event.category()).to_lowercase()
        };
        kind_ok && actor_ok && self.words.iter().all(|w| text.contains(w.as_str()))
    }
}

super::simple_list_pane!(TimelinePane);
