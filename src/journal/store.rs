//! Where journals live: one directory per incident under `<data>/incidents/`, named
//! `YYYYMMDD-HHMM-<slug>` from the declaration time and title, and the audit log in `<data>/audit/`.
//! Finds incidents by id or unique prefix, and the active (most recently declared, open) one.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::file::{JournalError, JournalPaths, create_dir_durable, read_all, sync_dir};
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

    /// `YYYYMMDD-HHMM-<slug>` for an incident declared at `at` with `title` (never longer than
    /// 60 characters before a suffix).
    fn base_id(title: &str, at: DateTime<Utc>) -> String {
        let slug = slug(title);
        let mut base = format!(
            "{}-{}",
            at.format("%Y%m%d-%H%M"),
            if slug.is_empty() { "incident".into() } else { slug }
        );
        base.truncate(60);
        base
    }

    /// Reserves a fresh id for an incident declared at `at` with `title`: creates its directory
    /// (`YYYYMMDD-HHMM-<slug>`, with `-2`, `-3`… when that one exists), so two declarations at
    /// the same minute with the same title, from any processes, never share a journal. The
    /// directory entry is synced.
    pub fn reserve_id(&self, title: &str, at: DateTime<Utc>) -> Result<String, JournalError> {
        let dir = self.incidents_dir();
        create_dir_durable(&dir, false)?;
        let base = Self::base_id(title, at);
        let mut n = 1u32;
        loop {
            let id = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            let path = dir.join(&id);
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    sync_dir(&dir)?;
                    return Ok(id);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(source) => return Err(JournalError::Io { path, source }),
            }
        }
    }

    /// A fresh id, reserved as `reserve_id` does; if the directory cannot be created, the first
    /// free name (writing to it will then report why).
    pub fn new_id(&self, title: &str, at: DateTime<Utc>) -> String {
        self.reserve_id(title, at).unwrap_or_else(|_| {
            let base = Self::base_id(title, at);
            let mut id = base.clone();
            let mut n = 2;
            while self.incidents_dir().join(&id).exists() {
                id = format!("{base}-{n}");
                n += 1;
            }
            id
        })
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

    /// Reads one incident's journal: everything that can be read of it. Damage or a torn tail is
    /// the `problem`; the incident is folded from the valid records (those before the damage, and
    /// complete records after it that pass their own checks). Only I/O fails.
    pub fn read(&self, id: &str) -> Result<IncidentInfo, JournalError> {
        let readable = read_all(&self.incident(id).file)?;
        let entries: Vec<TimelineEntry> = readable.records.iter().map(|r| r.entry()).collect();
        Ok(IncidentInfo {
            id: id.to_string(),
            incident: Incident::from_entries(&entries),
            entries,
            problem: readable.problem(),
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

    /// The most recently declared incident that is still open (a damaged journal counts by what
    /// can be read of it).
    pub fn active(&self) -> Option<String> {
        self.active_info().map(|i| i.id)
    }

    /// `active`, with what was read of it.
    pub fn active_info(&self) -> Option<IncidentInfo> {
        self.ids()
            .into_iter()
            .rev()
            .filter_map(|id| self.read(&id).ok())
            .find(|i| i.incident.as_ref().is_some_and(|i| i.is_open()))
    }

    /// The most recently declared incident, open or not.
    pub fn most_recent(&self) -> Option<String> {
        self.ids().pop()
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
