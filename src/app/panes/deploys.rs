//! Deploys pane state: recent deploys and rollbacks, newest first, merged by id across polls.

use std::collections::BTreeMap;

use crate::app::list::ListView;
use crate::app::rollback::{RollbackInFlight, RollbackMark, SmokeWait};
use crate::domain::deploy::{Deploy, DeployKind, DeployStatus, sort_newest_first};
use crate::domain::rollback::{RollbackVia, entry_of};

#[derive(Debug, Clone, Default)]
pub struct DeploysPane {
    pub deploys: Vec<Deploy>,
    pub list: ListView,
    /// Per `[[deploys]]` entry name, how it rolls back (its command template or its API).
    pub rollback: BTreeMap<String, RollbackVia>,
    /// Per `[[deploys]]` entry name, the canary watch a new deploy starts (`canary = "30m"`).
    pub canary: BTreeMap<String, chrono::Duration>,
    /// The rollback sent and not answered yet.
    pub in_flight: Option<RollbackInFlight>,
    /// The smoke checks after a finished rollback.
    pub smoke: SmokeWait,
    /// The rollbacks sent (from this cockpit or read from the journal), newest last: each
    /// entry's later deploys at the version returned to are that rollback.
    pub rollback_marks: Vec<RollbackMark>,
    /// A rollback whose outcome is unknown (it timed out), until its entry shows it happened or
    /// a later rollback succeeds.
    pub unknown_outcome: Option<UnknownOutcome>,
}

/// A rollback that may or may not have taken effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOutcome {
    pub entry: String,
    pub service: String,
    pub to_version: String,
}

/// Rollback marks kept.
const MARKS: usize = 32;

/// How many deploys are kept.
const KEPT: usize = 200;

impl DeploysPane {
    /// Merges a poll of the `[[deploys]]` entry `entry`: a deploy of it still shown as running but
    /// absent from the poll has ended (an Argo CD sync operation becomes a history entry), and its
    /// deploys that carry out the last rollback are marked as a rollback. Returns the deploys that
    /// are new or changed status.
    pub fn merge_from(&mut self, entry: &str, mut incoming: Vec<Deploy>) -> Vec<Deploy> {
        self.deploys.retain(|d| {
            entry_of(d) != entry || d.status != DeployStatus::InProgress || incoming.iter().any(|n| n.id == d.id)
        });
        for d in incoming.iter_mut().filter(|d| entry_of(d) == entry) {
            let marked = self.rollback_marks.iter().any(|m| m.covers(d));
            if marked && d.kind == DeployKind::Deploy {
                d.kind = DeployKind::Rollback;
            }
            // The rollback with an unknown outcome did happen: a deploy at its version, or one
            // the source itself calls a rollback, since it was sent.
            let since_a_mark = self
                .rollback_marks
                .iter()
                .any(|m| m.entry == entry && d.started_at >= m.at - chrono::Duration::minutes(1));
            if (marked || (d.kind == DeployKind::Rollback && since_a_mark))
                && self.unknown_outcome.as_ref().is_some_and(|u| u.entry == entry)
            {
                self.unknown_outcome = None;
            }
        }
        self.merge(incoming)
    }

    /// Remembers a rollback sent (once, however often it is read back from the journal).
    pub fn mark_rollback(&mut self, mark: RollbackMark) {
        if !self.rollback_marks.contains(&mark) {
            self.rollback_marks.push(mark);
            if self.rollback_marks.len() > MARKS {
                self.rollback_marks.remove(0);
            }
        }
    }

    /// Merges deploys from any source; returns the deploys that are new or changed status.
    pub fn merge(&mut self, incoming: Vec<Deploy>) -> Vec<Deploy> {
        let mut changed = Vec::new();
        for d in incoming {
            match self.deploys.iter_mut().find(|k| k.id == d.id) {
                Some(known) => {
                    // Once known to be a rollback, always one (the source may not say so).
                    let mut d = d;
                    if known.kind == DeployKind::Rollback {
                        d.kind = DeployKind::Rollback;
                    }
                    if known.status != d.status || known.kind != d.kind {
                        changed.push(d.clone());
                    }
                    *known = d;
                }
                None => {
                    changed.push(d.clone());
                    self.deploys.push(d);
                }
            }
        }
        sort_newest_first(&mut self.deploys);
        self.deploys.truncate(KEPT);
        changed
    }

    /// The deploy a rollback of `d` returns to: the newest successful deploy (not a rollback)
    /// of the same service and environment that started before it.
    pub fn previous_of(&self, d: &Deploy) -> Option<&Deploy> {
        self.deploys
            .iter()
            .filter(|p| {
                p.id != d.id
                    && p.service == d.service
                    && p.environment == d.environment
                    && p.started_at < d.started_at
                    && p.kind == DeployKind::Deploy
                    && p.status == DeployStatus::Succeeded
            })
            .max_by_key(|p| p.started_at)
    }

    pub fn visible_rows(&self) -> Vec<usize> {
        self.deploys
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                self.list.filter.as_ref().is_none_or(|f| {
                    f.matches(&d.version)
                        || f.matches(&d.author)
                        || f.matches(&d.environment)
                        || f.matches(d.status.word())
                })
            })
            .map(|(i, _)| i)
            .collect()
    }
}

super::simple_list_pane!(DeploysPane);
