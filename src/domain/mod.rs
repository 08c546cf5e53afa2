//! Pure data and math of an incident: alerts, SLO burn, signals, logs, deploys, runbooks, timeline.
//! Nothing here performs I/O, reads the clock or knows about tokio, reqwest or ratatui: every
//! function that needs the time takes `now` as an argument.

pub mod alert;
pub mod alert_events;
pub mod alert_query;
pub mod correlation;
pub mod deploy;
pub mod health;
pub mod incident;
pub mod log;
pub mod matcher;
pub mod probe;
pub mod redact;
pub mod rollback;
pub mod runbook;
pub mod sanitize;
pub mod severity;
pub mod signal;
pub mod silence;
pub mod slo;
pub mod timefmt;
pub mod timeline;
