//! A real Prometheus holding 31 days of backfilled counters of an Odin-like service (a synthetic
//! model written as OpenMetrics, turned into TSDB blocks by `promtool`), and the exact values the
//! SLO queries must give, computed from the model itself (never from Prometheus).
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::servers::{free_port, http_get, wait_for};

/// The histogram family: `_bucket` (le 0.1, 0.3, 1, +Inf) and `_count`, no `_sum`.
pub const METRIC: &str = "odin_http_request_duration_seconds";
/// The SLO route; the only one the SLO selector keeps.
pub const ORDERS: &str = "/api/orders";
/// Always half 5xx and slow: the SLO selector must exclude it.
pub const HEALTH: &str = "/api/health";
pub const ROUTES: [&str; 2] = [ORDERS, HEALTH];
pub const STATUSES: [&str; 2] = ["200", "503"];
pub const INSTANCES: [&str; 2] = ["10.0.0.1:8080", "10.0.0.2:8080"];
/// Bucket bounds; the last (`+Inf`) is also `_count`.
pub const LES: [&str; 4] = ["0.1", "0.3", "1", "+Inf"];
/// Index in [`LES`] of the latency SLO's threshold (0.3 s).
pub const GOOD_LE: usize = 1;

/// Requests per second of one instance, per route ([`ROUTES`] order), per instance.
const RPS: [[f64; 2]; 2] = [[20.0, 18.0], [2.0, 2.0]];
/// The counters already hold this much history (at baseline rates) at the first sample.
const PRELUDE_S: f64 = 2.0 * 86_400.0;

/// What the requests of a route look like for a while: the 5xx share, and the cumulative share
/// of requests at or under each bound of [`LES`].
#[derive(Clone, Copy, Debug)]
struct Mix {
    errors: f64,
    under: [f64; 4],
}

/// /api/orders normally: 0.05 % 5xx (availability burn 0.5), 99 % within 0.3 s (latency burn 0.2).
const BASELINE: Mix = Mix {
    errors: 0.0005,
    under: [0.90, 0.99, 0.998, 1.0],
};
/// The older incident: 1 % 5xx (burn 10), 80 % within 0.3 s (burn 4).
const OLDER: Mix = Mix {
    errors: 0.01,
    under: [0.50, 0.80, 0.97, 1.0],
};
/// The incident around `at`: 5 % 5xx (burn 50), 60 % within 0.3 s (burn 8).
const INCIDENT: Mix = Mix {
    errors: 0.05,
    under: [0.30, 0.60, 0.90, 1.0],
};
/// /api/health, always.
const HEALTH_MIX: Mix = Mix {
    errors: 0.5,
    under: [0.50, 0.70, 0.90, 1.0],
};

/// A stretch of time during which /api/orders has another mix than [`BASELINE`].
#[derive(Clone, Copy, Debug)]
struct Phase {
    from: f64,
    to: f64,
    mix: Mix,
}

/// One series: indexes into [`ROUTES`], [`STATUSES`], [`INSTANCES`], [`LES`] (3 = `+Inf` and `_count`).
#[derive(Clone, Copy, Debug)]
struct Series {
    route: usize,
    status: usize,
    instance: usize,
    le: usize,
}

impl Series {
    /// Requests per second this series counts under `mix`.
    fn rate(&self, mix: &Mix) -> f64 {
        let share = if self.status == 0 { 1.0 - mix.errors } else { mix.errors };
        RPS[self.route][self.instance] * share * mix.under[self.le]
    }
}

/// Which SLO of warroom's default config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sli {
    /// 5xx over all requests, objective 0.999, 30 days.
    Availability,
    /// Requests over 0.3 s over all requests, objective 0.95, 30 days.
    Latency,
}

impl Sli {
    pub fn objective(self) -> f64 {
        match self {
            Sli::Availability => 0.999,
            Sli::Latency => 0.95,
        }
    }
}

/// The synthetic history and its exact expected values.
pub struct Backfill {
    /// The last sample (history runs from `end − 31 d` to here).
    pub end: DateTime<Utc>,
    /// The one-hour incident: `end − 2 h` to `end − 1 h`.
    pub incident_start: DateTime<Utc>,
    pub incident_end: DateTime<Utc>,
    /// The evaluation time tests pin: `incident_start + 50 min`, inside the incident.
    pub at: DateTime<Utc>,
    /// The milder older incident: 2 h, 8 days before `end`.
    pub older_start: DateTime<Utc>,
    pub older_end: DateTime<Utc>,
    /// When instance 10.0.0.2 restarts (all its counters start again from 0): 5 days before `end`.
    pub reset: DateTime<Utc>,
    /// The first sample.
    pub start: DateTime<Utc>,
    phases: Vec<Phase>,
}

fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

impl Backfill {
    /// Builds the model for history ending at `end` (whole seconds).
    pub fn new(end: DateTime<Utc>) -> Self {
        let end = end.duration_trunc(Duration::seconds(1)).unwrap_or(end);
        let incident_start = end - Duration::hours(2);
        let incident_end = end - Duration::hours(1);
        let older_start = end - Duration::days(8);
        let older_end = older_start + Duration::hours(2);
        let phases = vec![
            Phase {
                from: secs(older_start),
                to: secs(older_end),
                mix: OLDER,
            },
            Phase {
                from: secs(incident_start),
                to: secs(incident_end),
                mix: INCIDENT,
            },
        ];
        Self {
            end,
            incident_start,
            incident_end,
            at: incident_start + Duration::minutes(50),
            older_start,
            older_end,
            reset: end - Duration::days(5),
            start: end - Duration::days(31),
            phases,
        }
    }

    /// History ending 3 hours before the real clock, on a whole minute: the "safe" kind of
    /// backfill (nothing in the head block's range).
    pub fn recent() -> Self {
        // The fixture ages with the wall clock: Prometheus's retention runs on it too.
        #[allow(clippy::disallowed_methods)]
        let now = Utc::now();
        let end = (now - Duration::hours(3))
            .duration_trunc(Duration::minutes(1))
            .unwrap_or_else(|e| panic!("rounding {now}: {e}"));
        Self::new(end)
    }

    /// Events `series` counted over (a, b]: the integral of its piecewise constant rate.
    fn events(&self, series: Series, a: f64, b: f64) -> f64 {
        if b <= a {
            return 0.0;
        }
        if series.route != 0 {
            return series.rate(&HEALTH_MIX) * (b - a);
        }
        let base = series.rate(&BASELINE);
        let mut total = base * (b - a);
        for phase in &self.phases {
            let overlap = (b.min(phase.to) - a.max(phase.from)).max(0.0);
            total += (series.rate(&phase.mix) - base) * overlap;
        }
        total
    }

    /// The counter's value at `t`: everything since the process started (the prelude before the
    /// first sample, or the restart of 10.0.0.2; the sample at the restart time itself is the last
    /// of the old process).
    fn value(&self, series: Series, t: f64) -> f64 {
        let reset = secs(self.reset);
        let born = if series.instance == 1 && t > reset {
            reset
        } else {
            secs(self.start) - PRELUDE_S
        };
        self.events(series, born, t)
    }

    /// Sample times, ascending, all on a grid through `end`: every 600 s until 4 days before `end`,
    /// every 60 s until 3 hours before, then every 15 s. So `at − w` is a sample for every usual
    /// window w ≥ 5 min, and `increase()` at `at` needs no extrapolation.
    pub fn timestamps(&self) -> Vec<i64> {
        let end = self.end.timestamp();
        let start = self.start.timestamp();
        let dense = end - 4 * 86_400;
        let densest = end - 3 * 3_600;
        let mut out = Vec::new();
        let mut t = start;
        while t <= end {
            out.push(t);
            t += if t < dense {
                600
            } else if t < densest {
                60
            } else {
                15
            };
        }
        out
    }

    /// Writes the OpenMetrics file `input.om` in `work_dir`, runs promtool on it and returns the
    /// directory holding the blocks (to copy into a TSDB directory before Prometheus starts).
    pub fn write_blocks(&self, promtool: &Path, work_dir: &Path) -> PathBuf {
        let input = work_dir.join("input.om");
        let blocks = work_dir.join("blocks");
        std::fs::create_dir_all(&blocks).unwrap_or_else(|e| panic!("{}: {e}", blocks.display()));

        let started = Instant::now();
        let lines = self.write_openmetrics(&input);
        let generated = started.elapsed();
        let size = std::fs::metadata(&input).map_or(0, |m| m.len());

        let started = Instant::now();
        let output = Command::new(promtool)
            .args([
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                "--max-block-duration=162h",
            ])
            .arg(&input)
            .arg(&blocks)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", promtool.display()));
        let converted = started.elapsed();
        assert!(
            output.status.success(),
            "promtool failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let count = std::fs::read_dir(&blocks).map_or(0, |d| d.count());
        eprintln!(
            "backfill: generated {lines} samples ({:.1} MB) in {:.2} s; promtool made {count} blocks ({:.1} MB) in {:.2} s",
            size as f64 / 1e6,
            generated.as_secs_f64(),
            dir_size(&blocks) as f64 / 1e6,
            converted.as_secs_f64()
        );
        blocks
    }

    /// Writes the whole history as OpenMetrics; returns the number of samples.
    fn write_openmetrics(&self, path: &Path) -> usize {
        let file = File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let times = self.timestamps();
        let mut samples = 0;
        let mut write = || -> std::io::Result<()> {
            writeln!(out, "# HELP {METRIC} Request duration.")?;
            writeln!(out, "# TYPE {METRIC} histogram")?;
            for (route, route_name) in ROUTES.iter().enumerate() {
                for (status, status_code) in STATUSES.iter().enumerate() {
                    for (instance, address) in INSTANCES.iter().enumerate() {
                        let labels =
                            format!("route=\"{route_name}\",status_code=\"{status_code}\",instance=\"{address}\"");
                        // The buckets, then `_count` (the same values as `+Inf`).
                        for (le, suffix) in (0..LES.len()).map(|le| (le, "bucket")).chain([(3, "count")]) {
                            let series = Series {
                                route,
                                status,
                                instance,
                                le,
                            };
                            let name = if suffix == "bucket" {
                                format!("{METRIC}_bucket{{{labels},le=\"{}\"}}", LES[le])
                            } else {
                                format!("{METRIC}_count{{{labels}}}")
                            };
                            for &t in &times {
                                // Millievent precision: rounding keeps buckets cumulative and
                                // counters monotonic.
                                let v = (self.value(series, t as f64) * 1000.0).round() / 1000.0;
                                writeln!(out, "{name} {v} {t}")?;
                            }
                            samples += times.len();
                        }
                    }
                }
            }
            writeln!(out, "# EOF")?;
            out.flush()
        };
        write().unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        samples
    }

    /// (bad, total) events of `sli` over (at − window, at], summed over what the SLO selector
    /// keeps (/api/orders, both instances), from the model: the true increase, across the restart.
    /// The window must lie within the history.
    pub fn expected(&self, sli: Sli, window: Duration, at: DateTime<Utc>) -> (f64, f64) {
        assert!(
            self.start <= at - window && at <= self.end,
            "({}, {at}] is not within the history {} .. {}",
            at - window,
            self.start,
            self.end
        );
        let (a, b) = (secs(at - window), secs(at));
        let sum = |le: usize, statuses: &[usize]| -> f64 {
            let mut total = 0.0;
            for &status in statuses {
                for instance in 0..INSTANCES.len() {
                    let series = Series {
                        route: 0,
                        status,
                        instance,
                        le,
                    };
                    total += self.events(series, a, b);
                }
            }
            total
        };
        let total = sum(3, &[0, 1]);
        let bad = match sli {
            Sli::Availability => sum(3, &[1]),
            Sli::Latency => total - sum(GOOD_LE, &[0, 1]),
        };
        (bad, total)
    }

    /// Burn rate over (at − window, at]: the bad share over the allowed one.
    pub fn burn_rate(&self, sli: Sli, window: Duration, at: DateTime<Utc>) -> f64 {
        let (bad, total) = self.expected(sli, window, at);
        bad / total / (1.0 - sli.objective())
    }

    /// Error budget left of the 30-day window ending at `at` (1 = untouched, 0 = spent).
    pub fn budget_remaining(&self, sli: Sli, at: DateTime<Utc>) -> f64 {
        1.0 - self.burn_rate(sli, Duration::days(30), at)
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => dir_size(&e.path()),
                _ => e.metadata().map_or(0, |m| m.len()),
            })
            .sum()
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", entry.path().display(), target.display()));
        }
    }
}

/// A Prometheus process serving backfilled blocks; killed when dropped.
// Stands in for `crate::servers::Server`, whose constructor and fields are private to servers.rs.
pub struct Prometheus {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Prometheus {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts Prometheus in a new directory under `dir` with `blocks` copied into its TSDB before it
/// starts, retention 60 days (so nothing backfilled is deleted), no scrape targets, on a free
/// port; returns once `/-/ready` answers 200.
pub async fn prometheus_with_blocks(binary: &Path, dir: &Path, blocks: &Path) -> Prometheus {
    let port = free_port();
    let dir = dir.join(format!("prom-backfill-{port}"));
    let data = dir.join("data");
    copy_dir(blocks, &data);
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n")
        .unwrap_or_else(|e| panic!("{}: {e}", config.display()));
    let log_path = dir.join("prometheus.log");
    let log = File::create(&log_path).unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
    let err = log.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg("--storage.tsdb.retention.time=60d")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let mut server = Prometheus {
        port,
        dir,
        child: Some(child),
    };
    let ready = format!("{}/-/ready", server.url());
    let what = format!("Prometheus ready at {ready} (log: {})", log_path.display());
    let child = server.child.as_mut().unwrap_or_else(|| panic!("no child"));
    wait_for(&what, StdDuration::from_secs(60), || {
        let exited = child.try_wait().ok().flatten();
        assert!(
            exited.is_none(),
            "Prometheus exited ({exited:?}); log: {}",
            log_path.display()
        );
        let ready = ready.clone();
        async move { http_get(&ready).await.is_some_and(|(s, _)| s == 200) }
    })
    .await;
    server
}
