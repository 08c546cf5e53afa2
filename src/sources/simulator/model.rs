//! The simulated service: per-second traffic, errors and latency shaped by the scenario, alert rules
//! evaluated every second, and the snapshots the pollers would fetch.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::rng::SplitMix64;
use super::script;
use crate::app::effect::Request;
use crate::app::msg::{AlertSet, Msg, RequestDone, SourceData, SourceId, SourceUpdate};
use crate::domain::alert::{Alert, AlertState};
use crate::domain::deploy::{Deploy, DeployKind, DeployStatus};
use crate::domain::log::LogLine;
use crate::domain::matcher::Matcher;
use crate::domain::signal::{Direction, SignalReading, SignalSpec, Unit};
use crate::domain::silence::{Silence, SilenceState};
use crate::domain::slo::{BurnWindow, SloObservation, SloSpec, WindowCounts};
use crate::domain::timeline::{Durability, Event, TimelineEntry};

/// The source ids the simulator reports as.
#[derive(Debug, Clone, Copy)]
pub struct SimIds {
    pub alertmanager: SourceId,
    pub prometheus: SourceId,
    pub logs: SourceId,
    pub deploys: SourceId,
}

/// Log lines an attacker got into the logs, as (second, stream, millisecond, raw text): what the
/// sanitiser turns into visible markers in the Logs pane. Stream 0 is the app, 1 nginx.
const HOSTILE_LINES: [(i64, usize, i64, &str); 5] = [
    // A scanner probing during the deploy: a right-to-left override makes "exe.pdf" read "fdp.exe".
    (
        175,
        1,
        412,
        "level=warn method=GET path=/uploads/invoice-7731\u{202e}fdp.exe status=404 dur_ms=3.1 request_id=req-5c0ffee1d2a4",
    ),
    // A failed login whose user name carries a zero-width joiner and a window-title change.
    (
        243,
        0,
        87,
        "level=warn msg=\"login failed\" user=\"ad\u{200d}min\" reason=\"\x1b]0;odin: all checks passing\x07bad password\" ip=198.51.100.23",
    ),
    // A health check that logs in colour: the colour codes are dropped, the words kept.
    (
        301,
        0,
        640,
        "level=info msg=\"readiness \x1b[1;32mOK\x1b[0m\" check=db pool=orders",
    ),
    // A phishing link: the text shows one address, the OSC 8 hyperlink points at another.
    (
        455,
        0,
        903,
        "level=info msg=\"password reset link sent\" link=\"\x1b]8;;https://odin-support.example.net/reset\x1b\\https://odin.example.com/reset\x1b]8;;\x1b\\\"",
    ),
    // A header that asks the terminal to answer (DECRQSS, cursor position report) and moves the
    // cursor up to overwrite the line above with a forged success.
    (
        531,
        1,
        268,
        "level=warn msg=\"bad request header\" header=\"X-Debug: \x1bP$qm\x1b\\\x1b[6n\x1b[1A\x1b[2K\r[OK] deploy verified\" ip=203.0.113.77",
    ),
];

/// Simulated seconds of history before T0.
const HISTORY: i64 = 3600;
const DEPLOY_START: i64 = 120;
const DEPLOY_DONE: i64 = 150;
const RAMP: i64 = 30;
/// Seconds between the fast-burn page and the start of the rollback.
pub const ROLLBACK_DELAY: i64 = 20;
const ROLLBACK_TAKES: i64 = 20;
/// Latest rollback start if the fast burn never pages.
const ROLLBACK_LATEST: i64 = 900;
const BASE_RATE: f64 = 250.0;
/// Share of requests the SLOs count: API and UI requests, not health checks or static assets
/// (OSR: "core UI and API endpoints"). Errors only ever happen on counted requests.
const SLI_SHARE: f64 = 0.6;
/// 5xx over all requests; over SLI requests it is this divided by `SLI_SHARE`.
const BASE_ERR: f64 = 0.0004;
const PEAK_ERR: f64 = 0.08;
/// 5xx over all requests in the part of the 30-day window before the simulated history: an earlier
/// incident already spent about half of the availability budget.
const PRE_WINDOW_ERR: f64 = 0.0003;
/// Share of SLI requests slower than 300 ms.
const BASE_SLOW: f64 = 0.012;
const PEAK_SLOW: f64 = 0.35;

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    total: f64,
    errors: f64,
    slow: f64,
    p95: f64,
    auth: f64,
    db: f64,
    slow_queries: f64,
    queue: f64,
}

/// Counters summed over a span of seconds (cumulative up to a second in `Simulator::prefix`).
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    total: f64,
    errors: f64,
    /// Requests the SLOs count, and those of them slower than 300 ms.
    sli_total: f64,
    slow: f64,
    auth: f64,
    slow_queries: f64,
}

impl Sums {
    fn plus(self, s: &Sample) -> Sums {
        Sums {
            total: self.total + s.total,
            errors: self.errors + s.errors,
            sli_total: self.sli_total + s.total * SLI_SHARE,
            slow: self.slow + s.slow,
            auth: self.auth + s.auth,
            slow_queries: self.slow_queries + s.slow_queries,
        }
    }

    fn minus(self, o: Sums) -> Sums {
        Sums {
            total: self.total - o.total,
            errors: self.errors - o.errors,
            sli_total: self.sli_total - o.sli_total,
            slow: self.slow - o.slow,
            auth: self.auth - o.auth,
            slow_queries: self.slow_queries - o.slow_queries,
        }
    }
}

#[derive(Debug, Clone)]
struct AlertRule {
    name: &'static str,
    severity: &'static str,
    hold: i64,
    pending_since: Option<i64>,
    firing_since: Option<i64>,
}

pub struct Simulator {
    rng: SplitMix64,
    start: DateTime<Utc>,
    ids: SimIds,
    /// Last simulated second, relative to T0.
    t: i64,
    samples: Vec<Sample>,
    prefix: Vec<Sums>,
    rules: Vec<AlertRule>,
    rollback_at: Option<i64>,
    deploys: Vec<Deploy>,
    script: Vec<(i64, &'static str, Event)>,
    triggered: BTreeMap<&'static str, i64>,
    entry_seq: u32,
    logs: Vec<LogLine>,
    streams: [Arc<str>; 2],
    /// Silences as a simulated Alertmanager holds them (created, extended, expired from the demo).
    silences: Vec<Silence>,
    silence_seq: u32,
}

impl Simulator {
    /// A simulator whose T0 is `start`; the hour before it is simulated now.
    pub fn new(seed: u64, start: DateTime<Utc>, ids: SimIds) -> Self {
        let rule = |name, severity, hold| AlertRule {
            name,
            severity,
            hold,
            pending_since: None,
            firing_since: None,
        };
        let mut sim = Self {
            rng: SplitMix64::new(seed),
            start,
            ids,
            t: -HISTORY - 1,
            samples: Vec::with_capacity(8192),
            prefix: Vec::with_capacity(8192),
            rules: vec![
                rule("OdinHighErrorRate", "page", 60),
                rule("OdinErrorBudgetFastBurn", "critical", 0),
                rule("OdinHighLatencyP95", "warning", 120),
                rule("OdinQueueBacklog", "info", 60),
            ],
            rollback_at: None,
            deploys: history_deploys(start),
            script: Vec::new(),
            triggered: BTreeMap::new(),
            entry_seq: 0,
            logs: Vec::new(),
            streams: ["app".into(), "nginx".into()],
            silences: vec![maintenance_silence(start)],
            silence_seq: 0,
        };
        for _ in -HISTORY..=0 {
            sim.step();
        }
        sim.logs.drain(..sim.logs.len().saturating_sub(200));
        sim
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Simulated seconds since T0.
    pub fn elapsed(&self) -> i64 {
        self.t
    }

    fn at(&self, t: i64) -> DateTime<Utc> {
        self.start + Duration::seconds(t)
    }

    /// Everything a poller would have fetched at T0.
    pub fn initial(&mut self) -> Vec<Msg> {
        let mut out = self.polls(true);
        out.extend(self.flush_logs());
        out
    }

    /// Every poll at once, at the current simulated second (a manual refresh).
    pub fn poll_now(&mut self) -> Vec<Msg> {
        self.polls(true)
    }

    /// Simulates up to second `target` and returns the messages produced on the way.
    pub fn advance_to(&mut self, target: i64) -> Vec<Msg> {
        let mut out = Vec::new();
        while self.t < target {
            self.step();
            out.extend(self.polls(false));
            out.extend(self.due_entries());
        }
        out.extend(self.flush_logs());
        out
    }

    fn index(t: i64) -> usize {
        (t + HISTORY) as usize
    }

    /// How far into the incident the service is: 0 healthy, 1 fully broken.
    fn intensity(&self, t: i64) -> f64 {
        let rising = ((t - DEPLOY_DONE) as f64 / RAMP as f64).clamp(0.0, 1.0);
        match self.rollback_at {
            Some(r) => {
                let done = r + ROLLBACK_TAKES;
                rising * (1.0 - ((t - done) as f64 / RAMP as f64).clamp(0.0, 1.0))
            }
            None => rising,
        }
    }

    fn step(&mut self) {
        self.t += 1;
        let t = self.t;
        let k = self.intensity(t);
        let rng = &mut self.rng;
        let total = (BASE_RATE + rng.noise(8.0)).max(1.0);
        let err_ratio = (BASE_ERR + (PEAK_ERR - BASE_ERR) * k) * (1.0 + rng.noise(0.08));
        let slow_ratio = (BASE_SLOW + (PEAK_SLOW - BASE_SLOW) * k) * (1.0 + rng.noise(0.05));
        let sample = Sample {
            total,
            errors: (total * err_ratio).max(0.0),
            slow: (total * SLI_SHARE * slow_ratio).max(0.0),
            p95: 0.12 + 0.78 * k + rng.noise(0.01),
            auth: (0.13 + 0.05 * k + rng.noise(0.03)).max(0.0),
            db: (0.45 + 0.29 * k + rng.noise(0.01)).clamp(0.0, 1.0),
            slow_queries: (0.013 + 0.11 * k + rng.noise(0.005)).max(0.0),
            queue: (12.0 + 128.0 * k + rng.noise(3.0)).max(0.0),
        };
        let last = self.prefix.last().copied().unwrap_or_default();
        self.prefix.push(last.plus(&sample));
        self.samples.push(sample);
        self.generate_logs(t, &sample, k);
        if t >= 0 {
            self.scenario_events(t);
        }
        self.evaluate_rules(t);
    }

    /// Sums over the `secs` seconds ending at `t`; the part before the simulated history is filled
    /// with the baseline (using `pre_err` as its 5xx ratio over all requests).
    fn window(&self, t: i64, secs: i64, pre_err: f64) -> Sums {
        let first = t - secs;
        let hi = self.prefix.get(Self::index(t)).copied().unwrap_or_default();
        let lo = if first < -HISTORY {
            Sums::default()
        } else {
            self.prefix.get(Self::index(first)).copied().unwrap_or_default()
        };
        let mut sum = hi.minus(lo);
        let missing = (-HISTORY - 1 - first).max(0) as f64;
        if missing > 0.0 {
            let total = missing * BASE_RATE;
            sum.total += total;
            sum.errors += total * pre_err;
            sum.sli_total += total * SLI_SHARE;
            sum.slow += total * SLI_SHARE * BASE_SLOW;
            sum.auth += missing * 0.13;
            sum.slow_queries += missing * 0.013;
        }
        sum
    }

    /// 5xx over all requests in the last 5 minutes (the "5xx ratio" signal and the page rule).
    fn ratio_5m(&self, t: i64) -> f64 {
        let w = self.window(t, 300, BASE_ERR);
        w.errors / w.total.max(1.0)
    }

    /// Availability burn rate (SLI requests, objective 99.9 %) over the last `secs` seconds.
    fn burn(&self, t: i64, secs: i64) -> f64 {
        let w = self.window(t, secs, BASE_ERR);
        w.errors / w.sli_total.max(1.0) / 0.001
    }

    fn evaluate_rules(&mut self, t: i64) {
        let sample = self.samples[Self::index(t)];
        let conditions = [
            self.ratio_5m(t) > 0.05,
            self.burn(t, 3600) >= 14.4 && self.burn(t, 300) >= 14.4,
            sample.p95 > 0.5,
            sample.queue > 100.0,
        ];
        for (rule, cond) in self.rules.iter_mut().zip(conditions) {
            if cond {
                let since = *rule.pending_since.get_or_insert(t);
                if t - since >= rule.hold && rule.firing_since.is_none() {
                    rule.firing_since = Some(t);
                }
            } else {
                rule.pending_since = None;
                rule.firing_since = None;
            }
        }
    }

    fn firing_since(&self, name: &str) -> Option<i64> {
        self.rules.iter().find(|r| r.name == name).and_then(|r| r.firing_since)
    }

    /// Deploys, rollback and the responders' script, driven by what the alerts do.
    fn scenario_events(&mut self, t: i64) {
        if t == DEPLOY_START {
            self.deploys.push(deploy(
                self.at(t),
                "demo/142",
                "1.4.2",
                "ci-bot",
                DeployKind::Deploy,
                None,
            ));
            self.log_line(
                t,
                0,
                "level=info msg=\"deploy started\" version=1.4.2 strategy=rolling by=ci-bot".into(),
            );
        }
        if t == DEPLOY_DONE {
            self.finish_deploy("demo/142", t, DeployStatus::Succeeded);
            self.log_line(
                t,
                0,
                "level=info msg=\"deploy finished\" version=1.4.2 replicas=6/6".into(),
            );
        }
        if let Some(page) = self.firing_since("OdinHighErrorRate") {
            self.trigger("page", page, script::on_page);
        }
        let fast = self.firing_since("OdinErrorBudgetFastBurn");
        if let Some(f) = fast {
            self.trigger("fast", f, script::on_fast_burn);
        }
        if self.rollback_at.is_none() {
            let due = fast.map(|f| f + ROLLBACK_DELAY).unwrap_or(ROLLBACK_LATEST);
            if t >= due {
                self.rollback_at = Some(t);
                self.deploys.push(deploy(
                    self.at(t),
                    "demo/141-rb",
                    "1.4.1",
                    "alice",
                    DeployKind::Rollback,
                    None,
                ));
                self.log_line(
                    t,
                    0,
                    "level=warn msg=\"rollback started\" from=1.4.2 to=1.4.1 by=alice".into(),
                );
            }
        }
        if let Some(r) = self.rollback_at {
            let done = r + ROLLBACK_TAKES;
            if t == done {
                self.finish_deploy("demo/141-rb", t, DeployStatus::Succeeded);
                self.finish_deploy("demo/142", t, DeployStatus::RolledBack);
                self.log_line(
                    t,
                    0,
                    "level=info msg=\"rollback finished\" version=1.4.1 replicas=6/6".into(),
                );
                let recovered = done + RAMP;
                self.trigger("rollback", done, |d| script::on_rollback_done(d, recovered));
            }
            let all_clear = t > done
                && self.firing_since("OdinHighErrorRate").is_none()
                && self.firing_since("OdinErrorBudgetFastBurn").is_none();
            if all_clear {
                self.trigger("clear", t, script::on_all_clear);
            }
        }
        self.hostile_lines(t);
        if t == 200 || t == 320 {
            // Hostile input shows the sanitiser at work: escapes, OSC title/clipboard, bidi override.
            let ua = if t == 200 {
                "curl/8.1\x1b]0;owned\x07\x1b[2J\x1b]52;c;cm0gLXJmIC8=\x07"
            } else {
                "Mozilla\u{202e}gpj.exe\u{200b}"
            };
            self.log_line(
                t,
                1,
                format!("level=warn msg=\"suspicious user agent\" ua=\"{ua}\" ip=203.0.113.9"),
            );
        }
    }

    fn trigger(&mut self, key: &'static str, at: i64, entries: impl FnOnce(i64) -> Vec<(i64, &'static str, Event)>) {
        if !self.triggered.contains_key(key) {
            self.triggered.insert(key, at);
            self.script.extend(entries(at));
            self.script.sort_by_key(|(t, _, _)| *t);
        }
    }

    fn finish_deploy(&mut self, id: &str, t: i64, status: DeployStatus) {
        let at = self.at(t);
        if let Some(d) = self.deploys.iter_mut().find(|d| d.id == id) {
            d.status = status;
            d.finished_at.get_or_insert(at);
        }
    }

    fn due_entries(&mut self) -> Vec<Msg> {
        let due: Vec<_> = {
            let split = self.script.partition_point(|(t, _, _)| *t <= self.t);
            self.script.drain(..split).collect()
        };
        if due.is_empty() {
            return Vec::new();
        }
        let entries = due
            .into_iter()
            .map(|(t, actor, event)| {
                self.entry_seq += 1;
                TimelineEntry {
                    id: format!("sim-{:04}", self.entry_seq),
                    occurred_at: self.at(t),
                    recorded_at: self.at(t),
                    actor: actor.to_string(),
                    event,
                    supersedes: None,
                    durability: Durability::Durable,
                }
            })
            .collect();
        vec![Msg::Recorded(entries)]
    }

    /// The hostile lines of [`HOSTILE_LINES`] due at second `t`. Their milliseconds are fixed, so
    /// they draw nothing from the random stream and the rest of the demo stays as it was.
    fn hostile_lines(&mut self, t: i64) {
        for &(second, stream, ms, text) in HOSTILE_LINES.iter().filter(|(second, ..)| *second == t) {
            let at = self.at(second) + Duration::milliseconds(ms);
            self.logs.push(LogLine::new(at, self.streams[stream].clone(), text));
        }
    }

    fn log_line(&mut self, t: i64, stream: usize, text: String) {
        let at = self.at(t) + Duration::milliseconds(self.rng.below(1000) as i64);
        self.logs.push(LogLine::new(at, self.streams[stream].clone(), &text));
    }

    fn generate_logs(&mut self, t: i64, s: &Sample, k: f64) {
        const ROUTES: [&str; 7] = [
            "/api/orders",
            "/api/checkout",
            "/api/cart",
            "/api/products",
            "/api/health",
            "/login",
            "/static/app.js",
        ];
        let access = 2 + self.rng.below(2);
        for _ in 0..access {
            let route = *self.rng.pick(&ROUTES);
            let broken = k > 0.0 && matches!(route, "/api/orders" | "/api/checkout") && self.rng.unit() < k * 0.35;
            let status = if broken {
                *self.rng.pick(&[500, 503, 500])
            } else {
                *self.rng.pick(&[200, 200, 200, 201, 304])
            };
            let dur = if broken {
                600.0 + self.rng.unit() * 900.0
            } else {
                20.0 + self.rng.unit() * (80.0 + 500.0 * k)
            };
            let rid = self.rng.hex(12);
            let level = if status >= 500 { "error" } else { "info" };
            self.log_line(
                t,
                1,
                format!("level={level} method=GET path={route} status={status} dur_ms={dur:.1} request_id=req-{rid}"),
            );
        }
        let error_lines = (s.errors / 25.0 + self.rng.unit()) as usize;
        for _ in 0..error_lines.min(4) {
            let rid = self.rng.hex(12);
            let at = self.at(t).format("%Y-%m-%dT%H:%M:%S%.3fZ");
            let (msg, stack) = if k > 0.2 {
                (
                    "unhandled exception in checkout",
                    "java.lang.NullPointerException: discount is null\\n\\tat com.odin.pricing.DiscountService.apply(DiscountService.java:214)\\n\\tat com.odin.orders.CheckoutHandler.handle(CheckoutHandler.java:88)\\n\\tat com.odin.http.Router.dispatch(Router.java:131)",
                )
            } else {
                (
                    "upstream timeout",
                    "java.net.SocketTimeoutException: Read timed out\\n\\tat com.odin.clients.InventoryClient.get(InventoryClient.java:57)",
                )
            };
            let version =
                if k > 0.2 || (DEPLOY_DONE..self.rollback_at.map_or(i64::MAX, |r| r + ROLLBACK_TAKES)).contains(&t) {
                    "1.4.2"
                } else {
                    "1.4.1"
                };
            self.log_line(
                t,
                0,
                format!("{{\"ts\":\"{at}\",\"level\":\"error\",\"msg\":\"{msg}\",\"request_id\":\"req-{rid}\",\"version\":\"{version}\",\"route\":\"/api/checkout\",\"stack\":\"{stack}\"}}"),
            );
        }
        if self.rng.unit() < s.slow_queries {
            let ms = 500.0 + self.rng.unit() * 1500.0;
            self.log_line(t, 0, format!("level=warn msg=\"slow query\" duration_ms={ms:.0} table=orders query=\"SELECT * FROM orders WHERE customer_id = $1\""));
        }
        if t % 60 == 0 {
            self.log_line(
                t,
                0,
                format!(
                    "level=debug msg=\"pool stats\" db_in_use={:.0}% queue_depth={:.0}",
                    s.db * 100.0,
                    s.queue
                ),
            );
        }
    }

    fn flush_logs(&mut self) -> Vec<Msg> {
        if self.logs.is_empty() {
            return Vec::new();
        }
        let lines = std::mem::take(&mut self.logs);
        vec![self.update(self.ids.logs, SourceData::Logs(lines))]
    }

    fn update(&self, source: SourceId, data: SourceData) -> Msg {
        Msg::Source(SourceUpdate {
            source,
            at: self.at(self.t),
            result: Ok(data),
        })
    }

    /// The polls due at the current second: Prometheus and Alertmanager every 15 s, deploys every
    /// 10 s; everything when `all`.
    fn polls(&mut self, all: bool) -> Vec<Msg> {
        let t = self.t;
        let mut out = Vec::new();
        if all || t.rem_euclid(15) == 0 {
            out.push(self.update(self.ids.prometheus, SourceData::Signals(self.signals())));
            out.push(self.update(self.ids.prometheus, SourceData::Slos(self.slos())));
        }
        if all || t.rem_euclid(15) == 5 {
            let set = AlertSet::alertmanager(self.alerts(), self.silences_now());
            out.push(self.update(self.ids.alertmanager, SourceData::Alerts(set)));
        }
        if all || t.rem_euclid(10) == 0 {
            out.push(self.update(self.ids.deploys, SourceData::Deploys(self.deploys.clone())));
        }
        out
    }

    fn signal_value(&self, name: &str, t: i64) -> f64 {
        let s = self.samples[Self::index(t)];
        match name {
            "5xx ratio" => self.ratio_5m(t),
            "p95 latency" => s.p95,
            "auth failures / 5m" => self.window(t, 300, BASE_ERR).auth,
            "DB connections used" => s.db,
            "slow queries / 5m" => self.window(t, 300, BASE_ERR).slow_queries,
            "queue backlog" => s.queue,
            "disk used" => 0.61 + t as f64 * 1e-7,
            "TLS cert days left" => 23.0 - t as f64 / 86_400.0,
            _ => 0.0,
        }
    }

    fn signals(&self) -> Vec<SignalReading> {
        signal_specs()
            .into_iter()
            .map(|spec| {
                let history = (0..120)
                    .map(|k| self.signal_value(&spec.name, self.t - 3600 + (k + 1) * 30))
                    .collect();
                SignalReading {
                    value: Some(self.signal_value(&spec.name, self.t)),
                    history,
                    spec,
                    series: 1,
                    problem: None,
                }
            })
            .collect()
    }

    fn slos(&self) -> Vec<SloObservation> {
        let t = self.t;
        let at = self.at(t);
        let counts = |latency: bool| -> Vec<WindowCounts> {
            BurnWindow::ALL
                .iter()
                .map(|&w| {
                    let secs = w.length(Duration::days(30)).num_seconds();
                    let pre = if w == BurnWindow::Full {
                        PRE_WINDOW_ERR
                    } else {
                        BASE_ERR
                    };
                    let sum = self.window(t, secs, pre);
                    WindowCounts {
                        window: w,
                        bad: if latency { sum.slow } else { sum.errors },
                        total: sum.sli_total,
                    }
                })
                .collect()
        };
        let history = |latency: bool, objective: f64| -> Vec<f64> {
            (0..120)
                .map(|k| {
                    let tk = t - 3600 + (k + 1) * 30;
                    let w = self.window(tk, 300, BASE_ERR);
                    let bad = if latency { w.slow } else { w.errors };
                    bad / w.sli_total.max(1.0) / (1.0 - objective)
                })
                .collect()
        };
        vec![
            SloObservation {
                spec: SloSpec {
                    name: "availability".into(),
                    objective: 0.999,
                    window: Duration::days(30),
                },
                at,
                counts: counts(false),
                burn_history: history(false, 0.999),
                problem: None,
            },
            SloObservation {
                spec: SloSpec {
                    name: "latency".into(),
                    objective: 0.95,
                    window: Duration::days(30),
                },
                at,
                counts: counts(true),
                burn_history: history(true, 0.95),
                problem: None,
            },
        ]
    }

    fn alerts(&self) -> Vec<Alert> {
        let mut out: Vec<Alert> = self
            .rules
            .iter()
            .filter_map(|rule| {
                let since = rule.firing_since?;
                let (summary, runbook) = match rule.name {
                    "OdinHighErrorRate" => (
                        format!(
                            "5xx ratio is {:.1}% over 5m (page above 5%)",
                            self.ratio_5m(self.t) * 100.0
                        ),
                        Some("runbook://high-error-rate"),
                    ),
                    "OdinErrorBudgetFastBurn" => (
                        format!(
                            "availability budget burning {:.1}x over 1h and {:.1}x over 5m (page at 14.4x)",
                            self.burn(self.t, 3600),
                            self.burn(self.t, 300)
                        ),
                        Some("runbook://high-error-rate"),
                    ),
                    "OdinHighLatencyP95" => (
                        format!(
                            "p95 latency {:.0} ms (warn above 500 ms)",
                            self.samples[Self::index(self.t)].p95 * 1000.0
                        ),
                        None,
                    ),
                    _ => (
                        format!("queue backlog {:.0} jobs", self.samples[Self::index(self.t)].queue),
                        None,
                    ),
                };
                Some(odin_alert(
                    rule.name,
                    rule.severity,
                    self.at(since),
                    summary,
                    runbook,
                    &[],
                ))
            })
            .collect();
        out.push(odin_alert(
            "NodeDiskPressure",
            "warning",
            self.start - Duration::hours(2),
            "disk 91% full on db-2 (maintenance: log rotation pending)".into(),
            None,
            &[("instance", "db-2:9100"), ("service", "postgres")],
        ));
        // Muted as Alertmanager would: by every active silence that matches.
        let now = self.at(self.t);
        for alert in &mut out {
            let by: Vec<String> = self
                .silences
                .iter()
                .filter(|s| s.starts_at <= now && now < s.ends_at && s.matches(alert))
                .map(|s| s.id.clone())
                .collect();
            if !by.is_empty() {
                alert.state = AlertState::Silenced;
                alert.silenced_by = by;
            }
        }
        out
    }

    /// The silences with their state at the current second.
    fn silences_now(&self) -> Vec<Silence> {
        let now = self.at(self.t);
        self.silences
            .iter()
            .cloned()
            .map(|mut s| {
                s.state = if now >= s.ends_at {
                    SilenceState::Expired
                } else if now < s.starts_at {
                    SilenceState::Pending
                } else {
                    SilenceState::Active
                };
                s
            })
            .collect()
    }

    /// Carries out a silence request as Alertmanager would.
    pub fn handle(&mut self, request: &Request) -> Result<RequestDone, String> {
        let now = self.at(self.t);
        let done = |id: String| RequestDone {
            id,
            via: "alertmanager (simulated)".into(),
            confirmed_after_timeout: false,
        };
        match request {
            Request::CreateSilence {
                matchers,
                starts_at,
                ends_at,
                created_by,
                comment,
                ..
            } => {
                self.silence_seq += 1;
                let id = format!("sim-{:04}-{:08x}", self.silence_seq, self.rng.next_u64() as u32);
                self.silences.push(Silence {
                    id: id.clone(),
                    matchers: matchers.clone(),
                    starts_at: *starts_at,
                    ends_at: *ends_at,
                    created_by: created_by.clone(),
                    comment: comment.clone(),
                    state: SilenceState::Active,
                });
                Ok(done(id))
            }
            Request::ExtendSilence { silence, ends_at } => {
                match self.silences.iter_mut().find(|s| s.id == silence.id) {
                    Some(s) if s.ends_at > now => {
                        s.ends_at = *ends_at;
                        Ok(done(s.id.clone()))
                    }
                    Some(_) => Err("silence already expired".into()),
                    None => Err("silence not found".into()),
                }
            }
            Request::ExpireSilence { silence } => match self.silences.iter_mut().find(|s| s.id == silence.id) {
                Some(s) => {
                    s.ends_at = s.ends_at.min(now);
                    Ok(done(s.id.clone()))
                }
                None => Err("silence not found".into()),
            },
        }
    }
}

/// The silence a colleague set before the scenario: disk pressure on db-2 during maintenance.
fn maintenance_silence(start: DateTime<Utc>) -> Silence {
    let matcher = |k: &str, v: &str| Matcher::equal(k, v).ok();
    Silence {
        id: "5d0c9a1e-maintenance".into(),
        matchers: [
            matcher("alertname", "NodeDiskPressure"),
            matcher("instance", "db-2:9100"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        starts_at: start - Duration::hours(3),
        ends_at: start + Duration::hours(6),
        created_by: "maria".into(),
        comment: "log rotation fix scheduled (CHG-2211)".into(),
        state: SilenceState::Active,
    }
}

fn odin_alert(
    name: &str,
    severity: &str,
    starts_at: DateTime<Utc>,
    summary: String,
    runbook: Option<&str>,
    extra: &[(&str, &str)],
) -> Alert {
    let mut labels: BTreeMap<String, String> = [
        ("alertname", name),
        ("severity", severity),
        ("service", "odin"),
        ("env", "production"),
        ("team", "platform"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    labels
        .entry("instance".into())
        .or_insert_with(|| "odin.internal:443".into());
    let mut annotations = BTreeMap::from([("summary".to_string(), summary)]);
    if let Some(url) = runbook {
        annotations.insert("runbook_url".into(), url.into());
    }
    Alert {
        fingerprint: format!("{:016x}", fnv1a(name)),
        labels,
        annotations,
        state: AlertState::Firing,
        starts_at,
        generator_url: Some(format!(
            "http://prometheus.internal:9090/graph?g0.expr=ALERTS%7Balertname%3D%22{name}%22%7D"
        )),
        silenced_by: Vec::new(),
        inhibited_by: Vec::new(),
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn deploy(at: DateTime<Utc>, id: &str, version: &str, author: &str, kind: DeployKind, took: Option<i64>) -> Deploy {
    Deploy {
        id: id.into(),
        service: "odin".into(),
        version: version.into(),
        environment: "production".into(),
        author: author.into(),
        kind,
        status: if took.is_some() {
            DeployStatus::Succeeded
        } else {
            DeployStatus::InProgress
        },
        started_at: at,
        finished_at: took.map(|s| at + Duration::seconds(s)),
        note: String::new(),
    }
}

fn history_deploys(start: DateTime<Utc>) -> Vec<Deploy> {
    vec![
        deploy(
            start - Duration::days(6) - Duration::hours(3),
            "demo/140",
            "1.4.0",
            "ci-bot",
            DeployKind::Deploy,
            Some(205),
        ),
        deploy(
            start - Duration::days(2) - Duration::hours(1),
            "m-20261120",
            "migration 0042",
            "dana",
            DeployKind::Migration,
            Some(41),
        ),
        deploy(
            start - Duration::days(2),
            "demo/141",
            "1.4.1",
            "dana",
            DeployKind::Deploy,
            Some(188),
        ),
    ]
}

/// The spec's monitoring signals for Odin (OSR "Key signals to collect").
pub fn signal_specs() -> Vec<SignalSpec> {
    let spec = |name: &str, unit, warn, crit, direction| SignalSpec {
        name: name.into(),
        unit,
        warn: Some(warn),
        crit: Some(crit),
        direction,
    };
    vec![
        spec("5xx ratio", Unit::Percent, 0.01, 0.05, Direction::Above),
        spec("p95 latency", Unit::Seconds, 0.3, 0.5, Direction::Above),
        spec("auth failures / 5m", Unit::Count, 100.0, 200.0, Direction::Above),
        spec("DB connections used", Unit::Percent, 0.7, 0.8, Direction::Above),
        spec("slow queries / 5m", Unit::Count, 20.0, 50.0, Direction::Above),
        spec("queue backlog", Unit::Count, 100.0, 500.0, Direction::Above),
        spec("disk used", Unit::Percent, 0.8, 0.9, Direction::Above),
        spec("TLS cert days left", Unit::Days, 14.0, 3.0, Direction::Below),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::IncidentStatus;
    use crate::domain::slo::{SloState, evaluate};
    use chrono::TimeZone;

    fn sim(seed: u64) -> Simulator {
        let start = Utc.with_ymd_and_hms(2026, 3, 14, 9, 58, 0).single().unwrap_or_default();
        let ids = SimIds {
            alertmanager: SourceId(0),
            prometheus: SourceId(1),
            logs: SourceId(2),
            deploys: SourceId(3),
        };
        Simulator::new(seed, start, ids)
    }

    fn alert_names(msgs: &[Msg]) -> Option<Vec<String>> {
        msgs.iter().rev().find_map(|m| match m {
            Msg::Source(SourceUpdate {
                result: Ok(SourceData::Alerts(a)),
                ..
            }) => Some(
                a.alerts
                    .iter()
                    .filter(|a| a.state == AlertState::Firing)
                    .map(|a| a.name().to_string())
                    .collect(),
            ),
            _ => None,
        })
    }

    #[test]
    fn initial_batch_fills_every_source() {
        let mut s = sim(1);
        let msgs = s.initial();
        let kinds: Vec<&str> = msgs
            .iter()
            .filter_map(|m| match m {
                Msg::Source(SourceUpdate { result: Ok(d), .. }) => Some(match d {
                    SourceData::Alerts(_) => "alerts",
                    SourceData::Reachable => "reachable",
                    SourceData::Signals(_) => "signals",
                    SourceData::Slos(_) => "slos",
                    SourceData::Logs(_) | SourceData::LogsDropped(_) => "logs",
                    SourceData::Deploys(_) => "deploys",
                    SourceData::Probes(_) => "probes",
                }),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["signals", "slos", "alerts", "deploys", "logs"]);
    }

    #[test]
    fn scenario_unfolds_in_order_and_resolves() {
        let mut s = sim(42);
        s.initial();
        let (mut page, mut fast, mut all_clear, mut declared, mut resolved) = (None, None, None, None, None);
        let (mut peak_5xx, mut peak_p95): (f64, f64) = (0.0, 0.0);
        let mut slo_states = Vec::new();
        let mut runbook_urls = BTreeMap::new();
        let mut deploys = Vec::new();
        let mut stack_traces = 0;
        let mut error_request_ids = 0;
        let mut hostile_lines_sanitised = 0;
        for t in (5..=1500).step_by(5) {
            let msgs = s.advance_to(t);
            if let Some(names) = alert_names(&msgs) {
                if page.is_none() && names.iter().any(|n| n == "OdinHighErrorRate") {
                    page = Some(t);
                }
                if fast.is_none() && names.iter().any(|n| n == "OdinErrorBudgetFastBurn") {
                    fast = Some(t);
                }
                let paging = names
                    .iter()
                    .any(|n| n.starts_with("OdinHigh") || n.contains("FastBurn"));
                if fast.is_some() && all_clear.is_none() && !paging {
                    all_clear = Some(t);
                }
            }
            for m in &msgs {
                match m {
                    Msg::Recorded(entries) => {
                        for e in entries {
                            match &e.event {
                                Event::IncidentDeclared { .. } => declared = Some(t),
                                Event::StatusChanged {
                                    status: IncidentStatus::Resolved,
                                } => resolved = Some(t),
                                _ => {}
                            }
                        }
                    }
                    Msg::Source(SourceUpdate {
                        result: Ok(SourceData::Signals(r)),
                        ..
                    }) => {
                        peak_5xx = peak_5xx.max(r[0].value.unwrap_or(0.0));
                        peak_p95 = peak_p95.max(r[1].value.unwrap_or(0.0));
                    }
                    Msg::Source(SourceUpdate {
                        result: Ok(SourceData::Slos(o)),
                        ..
                    }) => {
                        slo_states.push(evaluate(&o[0]).state);
                    }
                    Msg::Source(SourceUpdate {
                        result: Ok(SourceData::Alerts(set)),
                        ..
                    }) => {
                        for a in &set.alerts {
                            if let Some(url) = a.runbook_url() {
                                runbook_urls.insert(a.name().to_string(), url.to_string());
                            }
                        }
                    }
                    Msg::Source(SourceUpdate {
                        result: Ok(SourceData::Deploys(d)),
                        ..
                    }) => deploys = d.clone(),
                    Msg::Source(SourceUpdate {
                        result: Ok(SourceData::Logs(lines)),
                        ..
                    }) => {
                        for l in lines {
                            if l.level == crate::domain::log::LogLevel::Error {
                                stack_traces += usize::from(l.text.contains("\\n\\tat com.odin."));
                                error_request_ids += usize::from(l.text.contains("request_id"));
                            }
                            if l.text.contains("suspicious user agent") {
                                assert!(!l.text.chars().any(|c| c.is_control()), "unsanitised: {:?}", l.text);
                                hostile_lines_sanitised += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let [page, fast, all_clear, declared, resolved] = [page, fast, all_clear, declared, resolved]
            .map(|t| t.unwrap_or_else(|| panic!("a scenario step never happened")));
        let deploy = deploys
            .iter()
            .find(|d| d.version == "1.4.2")
            .unwrap_or_else(|| panic!("no 1.4.2 deploy"));
        assert_eq!(
            deploy.started_at,
            s.start() + Duration::minutes(2),
            "1.4.2 deploys at T+2m"
        );
        assert_eq!(deploy.status, DeployStatus::RolledBack);
        assert!(
            deploys
                .iter()
                .any(|d| d.version == "1.4.1" && d.kind == DeployKind::Rollback && d.status == DeployStatus::Succeeded)
        );
        assert!(page > DEPLOY_DONE, "the page follows the deploy: {page}");
        assert!(
            declared > page && fast > declared,
            "declared {declared} between page {page} and fast burn {fast}"
        );
        assert!(all_clear > fast, "alerts resolve after the rollback: {all_clear}");
        assert!(
            resolved > all_clear && resolved <= 17 * 60,
            "the incident is resolved in about 15 minutes: {resolved}"
        );
        assert!((0.07..0.09).contains(&peak_5xx), "5xx climbs to about 8%: {peak_5xx}");
        assert!(
            (0.8..1.0).contains(&peak_p95),
            "p95 latency climbs to about 900 ms: {peak_p95}"
        );
        assert!(slo_states.contains(&SloState::Page), "the availability SLO pages");
        assert_eq!(slo_states.last(), Some(&SloState::Ok));
        assert_eq!(
            runbook_urls.get("OdinHighErrorRate").map(String::as_str),
            Some("runbook://high-error-rate")
        );
        assert_eq!(
            runbook_urls.get("OdinErrorBudgetFastBurn").map(String::as_str),
            Some("runbook://high-error-rate")
        );
        assert!(
            stack_traces > 50 && error_request_ids >= stack_traces,
            "{stack_traces} stack traces, {error_request_ids} with request ids"
        );
        assert_eq!(hostile_lines_sanitised, 2);
    }

    #[test]
    fn hostile_demo_lines_arrive_sanitised_with_their_markers() {
        let mut s = sim(1);
        s.initial();
        let lines: Vec<LogLine> = s
            .advance_to(600)
            .into_iter()
            .filter_map(|m| match m {
                Msg::Source(SourceUpdate {
                    result: Ok(SourceData::Logs(lines)),
                    ..
                }) => Some(lines),
                _ => None,
            })
            .flatten()
            .collect();
        for shown in [
            "invoice-7731⟪RLO⟫fdp.exe",
            "user=\"ad⟪ZWJ⟫min\" reason=\"⟪OSC 0 title 24B⟫bad password\"",
            "msg=\"readiness OK\" check=db",
            "link=\"⟪OSC 8 link https://odin-support.example.net/reset⟫https://odin.example.com/reset⟪OSC 8 link end⟫\"",
            "X-Debug: ⟪DCS DECRQSS 3B⟫⟪CSI 6n⟫⟪CSI 1A⟫⟪CSI 2K⟫␍[OK] deploy verified",
        ] {
            let found = lines.iter().filter(|l| l.text.contains(shown)).count();
            assert_eq!(found, 1, "{shown:?} in {found} lines");
        }
        let unsafe_lines: Vec<_> = lines
            .iter()
            .filter(|l| !crate::domain::sanitize::is_inert_line(&l.text))
            .collect();
        assert!(unsafe_lines.is_empty(), "{unsafe_lines:?}");
    }

    #[test]
    fn same_seed_same_story() {
        let run = |seed| {
            let mut s = sim(seed);
            s.initial();
            format!(
                "{:?}",
                s.advance_to(600).iter().map(|m| format!("{m:?}")).collect::<Vec<_>>()
            )
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
