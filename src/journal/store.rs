//! Where journals live: one directory per incident under `<data>/incidents/`, named
//! `YYYYMMDD-HHMM-<slug>` from the declaration time and title, and the audit log in `<data>/audit/`.
//! Finds incidents by id or unique prefix, and the active (most recently declared, open) one.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::file::{JournalError, JournalPaths, scan};
use crate::domain::incident::Incident;
use crate::domain::runbook::slug;
use crate::domain::timeline::TimelineEntry;

#[derive(Debug, Clone)]
pub struct Store {
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no open incident: declare one (`warroom incident declare`) or name it with --incident ID")]
    NoOpenIncident,
    #[error("no incident matches \"{0}\" (`warroom incident list` shows them)")]
    Unknown(String),
    #[error("\"{prefix}\" matches several incidents: {}", matches.join(", "))]
    Ambiguous { prefix: String, matches: Vec<String> },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// One incident as listed: its id, its folded state, and how its journal reads.
#[derive(Debug, Clone)]
pub struct IncidentInfo {
    pub id: String,
    pub incident: Option<Incident>,
    pub entries: Vec<TimelineEntry>,
    /// A problem reading the journal (damage), shown instead of failing the whole listing.
    pub problem: Option<String>,
}

impl Store {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
        }
    }

    pub fn incidents_dir(&self) -> PathBuf {
        self.data_dir.join("incidents")
    }

    pub fn incident(&self, id: &str) -> JournalPaths {
        JournalPaths::in_dir(&self.incidents_dir().join(id))
    }

    pub fn audit(&self) -> JournalPaths {
        JournalPaths::in_dir(&self.data_dir.join("audit"))
    }

    /// A fresh id for an incident declared at `at` with `title`: `YYYYMMDD-HHMM-<slug>`, with a
    /// numeric suffix if that directory exists already.
    pub fn new_id(&self, title: &str, at: DateTime<Utc>) -> String {
        let slug = slug(title);
        let mut base = format!(
            "{}-{}",
            at.format("%Y%m%d-%H%M"),
            if slug.is_empty() { "incident".into() } else { slug }
        );
        base.truncate(60);
        let mut id = base.clone();
        let mut n = 2;
        while self.incidents_dir().join(&id).exists() {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    /// Ids of every incident directory, oldest first (ids sort by declaration time).
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.incidents_dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().join(super::file::JOURNAL_FILE).exists())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Reads one incident's journal.
    pub fn read(&self, id: &str) -> Result<IncidentInfo, JournalError> {
        let scan = scan(&self.incident(id).file)?;
        let entries: Vec<TimelineEntry> = scan.records.iter().map(|r| r.entry()).collect();
        let problem = scan
            .torn
            .as_ref()
            .map(|t| format!("torn last record at line {} ({})", t.line, t.reason));
        Ok(IncidentInfo {
            id: id.to_string(),
            incident: Incident::from_entries(&entries),
            entries,
            problem,
        })
    }

    /// Every incident, oldest first; a damaged journal is listed with its problem.
    pub fn list(&self) -> Vec<IncidentInfo> {
        self.ids()
            .into_iter()
            .map(|id| match self.read(&id) {
                Ok(info) => info,
                Err(e) => IncidentInfo {
                    id,
                    incident: None,
                    entries: Vec::new(),
                    problem: Some(e.to_string()),
                },
            })
            .collect()
    }

    /// The most recently declared incident that is still open.
    pub fn active(&self) -> Option<String> {
        self.ids()
            .into_iter()
            .rev()
            .find(|id| self.read(id).ok().and_then(|i| i.incident).is_some_and(|i| i.is_open()))
    }

    /// An incident by id or unique prefix; `None` means the active one.
    pub fn resolve(&self, wanted: Option<&str>) -> Result<String, StoreError> {
        let Some(wanted) = wanted else {
            return self.active().ok_or(StoreError::NoOpenIncident);
        };
        let ids = self.ids();
        if ids.iter().any(|id| id == wanted) {
            return Ok(wanted.to_string());
        }
        let matches: Vec<String> = ids
            .into_iter()
            .filter(|id| id.starts_with(wanted) || id.contains(wanted))
            .collect();
        match matches.len() {
            0 => Err(StoreError::Unknown(wanted.to_string())),
            1 => Ok(matches.into_iter().next().unwrap_or_default()),
            _ => Err(StoreError::Ambiguous {
                prefix: wanted.to_string(),
                matches,
            }),
        }
    }
}
