//! The configuration: its schema (this file), the embedded defaults, loading and merging the user's
//! file over them, validation that reports every problem with file, line and key, secrets, and the
//! paths warroom uses. Everything here runs before the terminal is touched.

pub mod duration;
pub mod load;
pub mod paths;
pub mod secret;

use std::path::PathBuf;

use serde::Deserialize;

use crate::domain::signal::{Direction, Unit};
use crate::domain::timefmt::TimeZoneChoice;
use duration::DurationText;
use secret::Secret;

pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The whole configuration. Every field has a default so a user file may set any subset; the
/// validator checks what must be present.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub service: ServiceConfig,
    pub prometheus: Option<HttpSource>,
    pub alertmanager: Vec<HttpSource>,
    pub alerts: AlertsConfig,
    pub signals: Vec<SignalConfig>,
    pub slo: Vec<SloConfig>,
    pub logs: Vec<LogSourceConfig>,
    pub deploys: Vec<DeployConfig>,
    pub probes: Vec<ProbeConfig>,
    pub runbooks: RunbooksConfig,
    pub ui: UiConfig,
    pub redaction: RedactionConfig,
    pub keys: toml::Table,
}

/// How the Alerts pane shows alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AlertsConfig {
    /// Alerts sharing these labels' values form a group (a header row, foldable, silenced together).
    pub group_by: Vec<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            group_by: vec!["alertname".into(), "service".into()],
        }
    }
}

/// What the journal redacts besides secrets, e-mail addresses and card numbers (always redacted).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RedactionConfig {
    /// Redact IPv4 and IPv6 addresses (they are personal data; turn off when they are evidence).
    pub ip_addresses: bool,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self { ip_addresses: true }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceConfig {
    pub name: String,
    pub environment: String,
}

/// A polled HTTP API (Prometheus, Alertmanager).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HttpSource {
    pub name: Option<String>,
    pub url: Option<String>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub interval: Option<DurationText>,
    pub timeout: Option<DurationText>,
}

impl HttpSource {
    /// The HTTP side of a source configured in its own table (Loki, GitHub, Argo CD): its URL,
    /// credentials and CA file, with the default interval and timeout.
    pub fn api(
        name: &str,
        url: Option<String>,
        token: Option<Secret>,
        token_file: Option<PathBuf>,
        ca_file: Option<PathBuf>,
    ) -> Self {
        Self {
            name: Some(name.to_string()),
            url,
            token,
            token_file,
            ca_file,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SignalConfig {
    pub name: String,
    pub query: String,
    pub unit: Unit,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub direction: Direction,
    pub enabled: bool,
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            query: String::new(),
            unit: Unit::Count,
            warn: None,
            crit: None,
            direction: Direction::Above,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SloConfig {
    pub name: String,
    pub objective: f64,
    pub window: DurationText,
    pub errors: Option<String>,
    pub good: Option<String>,
    pub total: Option<String>,
    pub histogram: Option<String>,
    pub le: Option<String>,
    pub enabled: bool,
}

impl Default for SloConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            objective: 0.0,
            window: DurationText::secs(30 * 86_400),
            errors: None,
            good: None,
            total: None,
            histogram: None,
            le: None,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogSourceConfig {
    pub name: String,
    pub file: Option<PathBuf>,
    pub loki: Option<LokiConfig>,
    pub command: Option<Vec<String>>,
    pub enabled: bool,
}

impl Default for LogSourceConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            file: None,
            loki: None,
            command: None,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LokiConfig {
    pub url: Option<String>,
    pub query: Option<String>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub tail: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DeployConfig {
    pub name: String,
    pub command: Option<Vec<String>>,
    pub github: Option<GithubConfig>,
    pub argocd: Option<ArgoCdConfig>,
    /// A rollback command template (argv with `{previous_version}` / `{previous_revision}`).
    /// Without one, GitHub and Argo CD entries roll back through their API.
    pub rollback: Option<Vec<String>>,
    /// Whether a GitHub or Argo CD entry without a `rollback` template may roll back through its
    /// API (on by default; `false` leaves the entry without rollback).
    pub rollback_via_api: bool,
    /// Start a canary watch of this length when a new deploy of this entry appears.
    pub canary: Option<DurationText>,
    pub enabled: bool,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            command: None,
            github: None,
            argocd: None,
            rollback: None,
            rollback_via_api: true,
            canary: None,
            enabled: true,
        }
    }
}

impl DeployConfig {
    /// How this entry rolls back, if it can: its command template, else its API.
    pub fn rollback_via(&self) -> Option<crate::domain::rollback::RollbackVia> {
        use crate::domain::rollback::RollbackVia;
        if let Some(template) = self.rollback.as_ref().filter(|t| !t.is_empty()) {
            return Some(RollbackVia::Command(template.clone()));
        }
        if !self.rollback_via_api {
            return None;
        }
        if let Some(a) = &self.argocd {
            return a.app.clone().map(|app| RollbackVia::ArgoCd { app });
        }
        self.github
            .as_ref()
            .and_then(|g| g.repo.clone())
            .map(|repo| RollbackVia::Github {
                repo: repo.trim_matches('/').to_string(),
            })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GithubConfig {
    pub repo: Option<String>,
    pub environment: Option<String>,
    pub api_url: Option<String>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArgoCdConfig {
    pub url: Option<String>,
    pub app: Option<String>,
    /// The application's namespace, when it is not Argo CD's own (`appNamespace`).
    pub app_namespace: Option<String>,
    /// The application's project (`project`): Argo CD then answers 404, not 403, for a missing app.
    pub project: Option<String>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ProbeConfig {
    pub name: String,
    /// A TLS certificate probe of `host:port`.
    pub tls: Option<String>,
    /// An HTTP health probe of this URL.
    pub http: Option<String>,
    /// A PEM bundle trusted besides the system roots (relative to the config file).
    pub ca_file: Option<PathBuf>,
    /// HTTP: the body must contain this text.
    pub body: Option<String>,
    /// HTTP: the body must match this regular expression.
    pub body_regex: Option<String>,
    pub interval: Option<DurationText>,
    pub timeout: Option<DurationText>,
    pub enabled: bool,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            tls: None,
            http: None,
            ca_file: None,
            body: None,
            body_regex: None,
            interval: None,
            timeout: None,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunbooksConfig {
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct UiConfig {
    pub theme: String,
    pub timezone: TimeZoneChoice,
    pub log_buffer_mib: u64,
    /// Lines a second one log source may add; more are dropped and counted (0: no limit).
    pub log_rate_limit: u32,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            theme: "dark".into(),
            timezone: TimeZoneChoice::Utc,
            log_buffer_mib: 256,
            log_rate_limit: 20_000,
        }
    }
}
