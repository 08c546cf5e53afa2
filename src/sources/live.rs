//! The real sources of a configured cockpit: builds the Alertmanager and Prometheus clients from
//! the config, registers each source in the state, and runs the pollers (alerts with the
//! Prometheus fallback; signals and SLO burn from Prometheus), the log feeds (one task per
//! `[[logs]]` entry, `sources::logs`), the deploy feeds (one per `[[deploys]]` entry,
//! `sources::deploys`) and the silencer that carries out confirmed silence requests.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::alertmanager::{self, PostableSilence, SilenceDone, SilenceError, Silencer};
use super::clock::TimeSource;
use super::deploys::{self, DeployFeed};
use super::http::{Backoff, ClientError, Endpoint};
use super::logs::{self, LogFeed};
use super::prometheus::{self, Prometheus};
use super::slo::SloQuery;
use crate::app::effect::Request;
use crate::app::msg::{AlertSet, AlertVia, Msg, RequestDone, SourceData, SourceId, SourceKind, SourceUpdate};
use crate::app::state::AppState;
use crate::config::Config;
use crate::domain::health::{FetchError, SourceHealth};
use crate::domain::signal::SignalSpec;

/// Default poll intervals.
pub const ALERTS_INTERVAL: Duration = Duration::from_secs(10);
pub const SIGNALS_INTERVAL: Duration = Duration::from_secs(15);
/// Backoff after failures: from one second, doubling, at most this long.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Queries in flight at once against Prometheus.
const QUERY_CONCURRENCY: usize = 4;

/// The alert poller: every Alertmanager (merged), and Prometheus when none answers.
#[derive(Debug, Clone)]
pub struct AlertFeed {
    pub members: Vec<(SourceId, Endpoint)>,
    pub fallback: Option<(SourceId, Prometheus)>,
    pub interval: Duration,
}

/// The Prometheus poller: signals, then SLO burn, each round (one source, one health mark).
#[derive(Debug, Clone)]
pub struct SignalFeed {
    pub source: SourceId,
    pub prometheus: Prometheus,
    /// Each signal and its query.
    pub signals: Vec<(SignalSpec, String)>,
    pub slos: Vec<SloQuery>,
    pub interval: Duration,
}

/// Everything a configured cockpit polls.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub alerts: Option<AlertFeed>,
    pub signals: Option<SignalFeed>,
    /// One feed per `[[logs]]` entry (Loki, file or command).
    pub logs: Vec<LogFeed>,
    /// One feed per `[[deploys]]` entry (GitHub, Argo CD or command).
    pub deploys: Vec<DeployFeed>,
    pub silencer: Option<Silencer>,
    /// The `[[probes]]` poller (TLS and HTTP probes).
    pub probes: Option<super::probes::ProbeFeed>,
}

fn disabled(state: &mut AppState, id: SourceId, error: &ClientError) {
    if let Some(s) = state.sources.get_mut(id.0) {
        s.health = SourceHealth::Disabled {
            reason: error.to_string(),
        };
    }
}

/// Registers the configured Prometheus and Alertmanagers in `state` and builds their pollers. A
/// source whose client cannot be built (unreadable CA file, missing token) is shown as disabled
/// with the reason; the others still run.
pub fn build(config: &Config, base_dir: &Path, env: &dyn Fn(&str) -> Option<String>, state: &mut AppState) -> Live {
    let mut live = Live::default();
    let prometheus = config.prometheus.as_ref().and_then(|p| {
        let id = state.add_source(
            SourceKind::Prometheus,
            p.name.clone().unwrap_or_else(|| "prometheus".into()),
        );
        match Endpoint::from_config("prometheus", p, base_dir, env) {
            Ok(endpoint) => Some((
                id,
                Prometheus::new(endpoint),
                p.interval.map_or(SIGNALS_INTERVAL, |d| d.0),
            )),
            Err(e) => {
                disabled(state, id, &e);
                None
            }
        }
    });
    let mut members = Vec::new();
    let mut alerts_interval = ALERTS_INTERVAL;
    for (i, am) in config.alertmanager.iter().enumerate() {
        let name = am.name.clone().unwrap_or_else(|| {
            if config.alertmanager.len() == 1 {
                "alertmanager".into()
            } else {
                format!("alertmanager-{}", i + 1)
            }
        });
        let id = state.add_source(SourceKind::Alertmanager, name.clone());
        if let Some(d) = am.interval {
            alerts_interval = alerts_interval.min(d.0);
        }
        match Endpoint::from_config(&name, am, base_dir, env) {
            Ok(endpoint) => members.push((id, endpoint)),
            Err(e) => disabled(state, id, &e),
        }
    }
    if !members.is_empty() || prometheus.is_some() {
        live.alerts = Some(AlertFeed {
            members: members.clone(),
            fallback: prometheus.as_ref().map(|(id, p, _)| (*id, p.clone())),
            interval: alerts_interval,
        });
    }
    if !members.is_empty() {
        live.silencer = Some(Silencer {
            members: members.into_iter().map(|(_, e)| e).collect(),
        });
    }
    if let Some((id, prometheus, interval)) = prometheus {
        let signals: Vec<(SignalSpec, String)> = config
            .signals
            .iter()
            .map(|s| {
                (
                    SignalSpec {
                        name: s.name.clone(),
                        unit: s.unit,
                        warn: s.warn,
                        crit: s.crit,
                        direction: s.direction,
                    },
                    s.query.clone(),
                )
            })
            .collect();
        // Validated when the config was loaded; one that still fails is left out, not guessed at.
        let slos: Vec<SloQuery> = config
            .slo
            .iter()
            .filter_map(|s| SloQuery::from_config(s).ok())
            .collect();
        if !signals.is_empty() || !slos.is_empty() {
            live.signals = Some(SignalFeed {
                source: id,
                prometheus,
                signals,
                slos,
                interval,
            });
        }
    }
    live.logs = logs::build(&config.logs, base_dir, env, state);
    let context = deploys::Context {
        service: &config.service.name,
        environment: &config.service.environment,
        base_dir,
    };
    live.deploys = deploys::build(&config.deploys, context, env, state);
    live.probes = super::probes::build(&config.probes, base_dir, state);
    live
}

/// Where the runtime sends what responders confirmed.
#[derive(Debug, Default)]
pub struct Senders {
    /// Silence requests, when an Alertmanager is configured.
    pub requests: Option<mpsc::Sender<Request>>,
    /// API rollbacks, when a GitHub or Argo CD deploy source is configured.
    pub rollbacks: Option<mpsc::Sender<crate::app::effect::RollbackCall>>,
}

/// Starts the pollers, the silencer and the deployer (API rollbacks).
pub fn spawn(
    live: Live,
    tasks: &mut JoinSet<()>,
    time: TimeSource,
    tx: &mpsc::Sender<Msg>,
    refresh: &watch::Receiver<u64>,
) -> Senders {
    let mut senders = Senders::default();
    if let Some(feed) = live.alerts {
        tasks.spawn(feed.run(time, tx.clone(), refresh.clone()));
    }
    if let Some(feed) = live.signals {
        tasks.spawn(feed.run(time, tx.clone(), refresh.clone()));
    }
    for feed in live.logs {
        tasks.spawn(feed.run(time, tx.clone(), refresh.clone()));
    }
    let mut deployer = deploys::rollback::Deployer::default();
    for feed in live.deploys {
        if !matches!(feed.kind, deploys::DeploySource::Command(_)) {
            deployer.sources.insert(feed.name.clone(), feed.kind.clone());
        }
        tasks.spawn(feed.run(time, tx.clone(), refresh.clone()));
    }
    if !deployer.sources.is_empty() {
        senders.rollbacks = Some(deploys::rollback::spawn(deployer, tasks, tx));
    }
    if let Some(feed) = live.probes {
        tasks.spawn(feed.run(time, tx.clone(), refresh.clone()));
    }
    if let Some(silencer) = live.silencer {
        let (requests, rx) = mpsc::channel(4);
        tasks.spawn(serve_requests(silencer, rx, tx.clone()));
        senders.requests = Some(requests);
    }
    senders
}

/// Waits `wait`, or less if the user asks for a refresh; false when the cockpit is gone.
async fn pause(wait: Duration, refresh: &mut watch::Receiver<u64>, tx: &mpsc::Sender<Msg>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => !tx.is_closed(),
        changed = refresh.changed() => changed.is_ok() && !tx.is_closed(),
    }
}

fn seed(name: &str) -> u64 {
    name.bytes()
        .fold(u64::from(std::process::id()) ^ 0x9E37_79B9_7F4A_7C15, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        })
}

impl AlertFeed {
    pub async fn run(self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        let mut backoff = Backoff::new(Duration::from_secs(1), BACKOFF_CAP, seed("alerts"));
        loop {
            let Some(ok) = self.poll_once(time, &tx).await else {
                return;
            };
            let wait = if ok {
                backoff.reset();
                self.interval
            } else {
                backoff.next_delay().min(self.interval.max(Duration::from_secs(1)) * 3)
            };
            if !pause(wait, &mut refresh, &tx).await {
                return;
            }
        }
    }

    /// One round: every member at once, merged; the fallback when none answered. Returns whether
    /// alerts were shown, `None` when the cockpit is gone.
    pub async fn poll_once(&self, time: TimeSource, tx: &mpsc::Sender<Msg>) -> Option<bool> {
        let results = futures::future::join_all(self.members.iter().map(|(_, e)| alertmanager::fetch_member(e))).await;
        let at = time.now();
        let mut answered = None;
        let mut alerts = Vec::new();
        let mut silences = Vec::new();
        for ((id, _), result) in self.members.iter().zip(results) {
            let health = match result {
                Ok((a, s)) => {
                    answered.get_or_insert(*id);
                    alerts.push(a);
                    silences.push(s);
                    Ok(SourceData::Reachable)
                }
                Err(e) => Err(e),
            };
            send(tx, *id, at, health).await?;
        }
        if let Some(id) = answered {
            let set = AlertSet::alertmanager(alertmanager::merge(alerts), alertmanager::merge_silences(silences));
            send(tx, id, at, Ok(SourceData::Alerts(set))).await?;
            return Some(true);
        }
        let Some((id, prometheus)) = &self.fallback else {
            return Some(false);
        };
        // With no Alertmanager configured, Prometheus is the alert source, not a fallback.
        let via = if self.members.is_empty() {
            AlertVia::Prometheus
        } else {
            AlertVia::PrometheusFallback
        };
        self.poll_prometheus(*id, prometheus, via, time, tx).await
    }

    async fn poll_prometheus(
        &self,
        id: SourceId,
        prometheus: &Prometheus,
        via: AlertVia,
        time: TimeSource,
        tx: &mpsc::Sender<Msg>,
    ) -> Option<bool> {
        match prometheus.alerts(time.now()).await {
            Ok(alerts) => {
                let set = AlertSet {
                    alerts,
                    silences: None,
                    via,
                };
                send(tx, id, time.now(), Ok(SourceData::Alerts(set))).await?;
                Some(true)
            }
            Err(e) => {
                send(tx, id, time.now(), Err(e.into_fetch_error())).await?;
                Some(false)
            }
        }
    }
}

async fn send(
    tx: &mpsc::Sender<Msg>,
    source: SourceId,
    at: chrono::DateTime<chrono::Utc>,
    result: Result<SourceData, FetchError>,
) -> Option<()> {
    tx.send(Msg::Source(SourceUpdate { source, at, result })).await.ok()
}

impl SignalFeed {
    pub async fn run(self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        let mut backoff = Backoff::new(Duration::from_secs(1), BACKOFF_CAP, seed("signals"));
        loop {
            let now = time.now();
            let mut ok = true;
            if !self.signals.is_empty() {
                let result = self.poll_once(now).await;
                ok &= result.is_ok();
                if send(&tx, self.source, time.now(), result.map(SourceData::Signals))
                    .await
                    .is_none()
                {
                    return;
                }
            }
            if !self.slos.is_empty() {
                let result = self.poll_slos(now).await;
                ok &= result.is_ok();
                if send(&tx, self.source, time.now(), result.map(SourceData::Slos))
                    .await
                    .is_none()
                {
                    return;
                }
            }
            let wait = if ok {
                backoff.reset();
                self.interval
            } else {
                backoff.next_delay().min(self.interval * 3)
            };
            if !pause(wait, &mut refresh, &tx).await {
                return;
            }
        }
    }

    /// Every signal's reading. When Prometheus cannot be reached at all, that is the error (the
    /// pane keeps its last readings and goes stale); a query that fails alone is that signal's
    /// state.
    pub async fn poll_once(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::domain::signal::SignalReading>, FetchError> {
        let queries = self.signals.clone().into_iter().map(|(spec, query)| {
            let prometheus = self.prometheus.clone();
            async move {
                let result = prometheus.signal(&spec, &query, now).await;
                (spec, result)
            }
        });
        let results: Vec<_> = futures::stream::iter(queries)
            .buffered(QUERY_CONCURRENCY)
            .collect()
            .await;
        let unreachable = results
            .iter()
            .find_map(|(_, r)| r.as_ref().err().filter(|e| prometheus::is_unreachable(e)).cloned());
        if let Some(error) = unreachable
            && results.iter().all(|(_, r)| r.is_err())
        {
            return Err(error.into_fetch_error());
        }
        Ok(results
            .into_iter()
            .map(|(spec, r)| match r {
                Ok(reading) => reading,
                Err(e) => prometheus::failed_reading(&spec, &e),
            })
            .collect())
    }
}

impl SignalFeed {
    /// Every SLO as of `at`. Prometheus unreachable for all of them is the error (the pane keeps
    /// its last reports and goes stale); one that fails alone is NO DATA with the reason.
    pub async fn poll_slos(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::domain::slo::SloObservation>, FetchError> {
        let queries = self.slos.clone().into_iter().map(|q| {
            let prometheus = self.prometheus.clone();
            async move {
                let result = q.observe(&prometheus, at).await;
                (q, result)
            }
        });
        let results: Vec<_> = futures::stream::iter(queries).buffered(2).collect().await;
        if let Some(Err(error)) = results.first().map(|(_, r)| r)
            && results.iter().all(|(_, r)| r.is_err())
        {
            return Err(error.clone().into_fetch_error());
        }
        Ok(results
            .into_iter()
            .map(|(q, r)| match r {
                Ok(observation) => observation,
                Err(e) => crate::domain::slo::SloObservation {
                    spec: q.spec.clone(),
                    at,
                    counts: Vec::new(),
                    burn_history: Vec::new(),
                    problem: Some(e.to_string()),
                },
            })
            .collect())
    }
}

/// Carries out confirmed requests one at a time and reports each outcome.
pub async fn serve_requests(silencer: Silencer, mut rx: mpsc::Receiver<Request>, tx: mpsc::Sender<Msg>) {
    while let Some(request) = rx.recv().await {
        let result = execute(&silencer, &request).await;
        if tx.send(Msg::RequestDone { request, result }).await.is_err() {
            return;
        }
    }
}

fn done(d: SilenceDone) -> RequestDone {
    RequestDone {
        id: d.id,
        via: d.member,
        confirmed_after_timeout: d.confirmed_after_timeout,
    }
}

/// One request against Alertmanager.
pub async fn execute(silencer: &Silencer, request: &Request) -> Result<RequestDone, String> {
    let result: Result<RequestDone, SilenceError> = match request {
        Request::CreateSilence {
            matchers,
            starts_at,
            ends_at,
            created_by,
            comment,
            ..
        } => silencer
            .post(&PostableSilence::new(
                matchers, *starts_at, *ends_at, created_by, comment,
            ))
            .await
            .map(done),
        Request::ExtendSilence { silence, ends_at } => {
            let mut body = PostableSilence::new(
                &silence.matchers,
                silence.starts_at,
                *ends_at,
                &silence.created_by,
                &silence.comment,
            );
            body.id = Some(silence.id.clone());
            silencer.post(&body).await.map(done)
        }
        Request::ExpireSilence { silence } => silencer.expire(&silence.id).await.map(|member| RequestDone {
            id: silence.id.clone(),
            via: member,
            confirmed_after_timeout: false,
        }),
    };
    result.map_err(|e| e.to_string())
}
