//! SLO error-budget math: error ratios and burn rates per window, budget remaining, projected time
//! to exhaustion, and the multi-window multi-burn-rate (MWMBR) state from the SRE workbook.

use chrono::{DateTime, Duration, Utc};

/// The windows burn rates are computed over, shortest first; `Full` is the SLO window itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BurnWindow {
    M5,
    M30,
    H1,
    H2,
    H6,
    D1,
    D3,
    Full,
}

impl BurnWindow {
    pub const ALL: [BurnWindow; 8] = [
        Self::M5,
        Self::M30,
        Self::H1,
        Self::H2,
        Self::H6,
        Self::D1,
        Self::D3,
        Self::Full,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::M5 => "5m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H2 => "2h",
            Self::H6 => "6h",
            Self::D1 => "1d",
            Self::D3 => "3d",
            Self::Full => "window",
        }
    }

    /// The length of the window; `Full` is the SLO's own window.
    pub fn length(self, slo_window: Duration) -> Duration {
        match self {
            Self::M5 => Duration::minutes(5),
            Self::M30 => Duration::minutes(30),
            Self::H1 => Duration::hours(1),
            Self::H2 => Duration::hours(2),
            Self::H6 => Duration::hours(6),
            Self::D1 => Duration::days(1),
            Self::D3 => Duration::days(3),
            Self::Full => slo_window,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    pub name: String,
    /// Target good fraction, e.g. 0.999.
    pub objective: f64,
    pub window: Duration,
}

/// Bad and total events counted over one window (increase of the counters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowCounts {
    pub window: BurnWindow,
    pub bad: f64,
    pub total: f64,
}

/// What an SLO source reports at one evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct SloObservation {
    pub spec: SloSpec,
    pub at: DateTime<Utc>,
    /// Counts per window; a window missing here had no series (no data).
    pub counts: Vec<WindowCounts>,
    /// Burn rate over 5m windows across the last hour, oldest first, for a sparkline.
    pub burn_history: Vec<f64>,
    /// Why some or all of the numbers are missing (a query matched no series, was rejected…).
    pub problem: Option<String>,
}

/// The error ratio bad/total; `None` without traffic or with unusable numbers.
///
/// `increase()` extrapolates each series to the window's edges on its own, so right after a counter
/// reset or at a traffic edge `bad` can come out a little above `total`, or (as total − good) a
/// little below zero: the ratio is clamped to [0, 1] rather than reported as impossible.
pub fn error_ratio(bad: f64, total: f64) -> Option<f64> {
    if !bad.is_finite() || !total.is_finite() || total <= 0.0 {
        return None;
    }
    Some((bad / total).clamp(0.0, 1.0))
}

/// How many times faster than sustainable the budget burns: ratio ÷ (1 − objective). With an
/// objective of 1.0 there is no budget: any error burns infinitely fast, none burns at 0.
pub fn burn_rate(ratio: f64, objective: f64) -> f64 {
    let budget = 1.0 - objective;
    if budget <= 0.0 {
        if ratio > 0.0 { f64::INFINITY } else { 0.0 }
    } else {
        ratio / budget
    }
}

/// Budget left over the whole window as a fraction (1.0 = untouched, 0 or less = exhausted).
pub fn budget_remaining(full_window_ratio: f64, objective: f64) -> f64 {
    1.0 - burn_rate(full_window_ratio, objective)
}

/// Time until the remaining budget is gone if the current burn rate holds; `None` when the budget
/// is not being consumed faster than it refills (burn ≤ 0) or is already gone.
pub fn time_to_exhaustion(remaining: f64, burn: f64, window: Duration) -> Option<Duration> {
    if remaining <= 0.0 || !burn.is_finite() || burn <= 0.0 {
        return None;
    }
    let seconds = remaining * window.num_seconds() as f64 / burn;
    Some(Duration::seconds(seconds.round() as i64))
}

/// The alerting state of an SLO, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SloState {
    Page,
    Ticket,
    Stale,
    NoData,
    Ok,
}

impl SloState {
    pub fn word(self) -> &'static str {
        match self {
            Self::Page => "PAGE",
            Self::Ticket => "TICKET",
            Self::Stale => "STALE",
            Self::NoData => "NO DATA",
            Self::Ok => "OK",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Page => "▲",
            Self::Ticket => "△",
            Self::Stale => "✗",
            Self::NoData => "?",
            Self::Ok => "✓",
        }
    }
}

/// Burn-rate thresholds of the multi-window, multi-burn-rate policy: (long, short, factor).
pub const PAGE_RULES: [(BurnWindow, BurnWindow, f64); 2] = [
    (BurnWindow::H1, BurnWindow::M5, 14.4),
    (BurnWindow::H6, BurnWindow::M30, 6.0),
];
pub const TICKET_RULES: [(BurnWindow, BurnWindow, f64); 2] = [
    (BurnWindow::D1, BurnWindow::H2, 3.0),
    (BurnWindow::D3, BurnWindow::H6, 1.0),
];

/// Everything the SLO pane shows for one SLO, derived from an observation.
#[derive(Debug, Clone, PartialEq)]
pub struct SloReport {
    pub spec: SloSpec,
    pub at: DateTime<Utc>,
    /// Burn rate per window, `None` where there was no data or no traffic.
    pub burn: Vec<(BurnWindow, Option<f64>)>,
    pub budget_remaining: Option<f64>,
    pub exhaustion: Option<Duration>,
    pub state: SloState,
    pub burn_history: Vec<f64>,
    /// Why the state is NO DATA or STALE, or what else is missing.
    pub problem: Option<String>,
    /// The counts the figures came from, for reports that show their working.
    pub counts: Vec<WindowCounts>,
}

impl SloReport {
    pub fn burn(&self, window: BurnWindow) -> Option<f64> {
        self.burn.iter().find(|(w, _)| *w == window).and_then(|(_, b)| *b)
    }

    pub fn budget_exhausted(&self) -> bool {
        self.budget_remaining.is_some_and(|r| r <= 0.0)
    }

    /// The error ratio over a window, `None` without data or traffic.
    pub fn error_ratio(&self, window: BurnWindow) -> Option<f64> {
        self.counts
            .iter()
            .find(|c| c.window == window)
            .and_then(|c| error_ratio(c.bad, c.total))
    }

    /// The burn-rate threshold marked for a window in the policy (page before ticket).
    pub fn threshold(window: BurnWindow) -> Option<f64> {
        PAGE_RULES
            .iter()
            .chain(TICKET_RULES.iter())
            .find(|(long, short, _)| *long == window || *short == window)
            .map(|(_, _, factor)| *factor)
    }
}

/// Computes the report. No data is never healthy: without a full-window ratio the state is NO DATA;
/// with one but no samples at all in the last 5 minutes (the counters stopped moving: the service
/// or its scrape is gone) the state is STALE, not OK.
/// A mitigation plan as recorded (`:mitigation`, `slo.mitigation_plan`): who, when, what, for which
/// service and which exhausted SLOs.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPlan {
    /// The record's id (a retraction names it).
    pub id: String,
    pub by: String,
    pub at: DateTime<Utc>,
    pub plan: String,
    /// Empty in records from before the service was kept.
    pub service: String,
    /// The SLOs exhausted when it was recorded; empty in older records.
    pub slos: Vec<String>,
}

impl RecordedPlan {
    /// Whether it answers the exhaustion, as of `at`, of the SLOs named `exhausted` of `service`:
    /// recorded no later than `at` and within `window` before it (an older plan answered an older
    /// breach), for this service, and naming every SLO exhausted now (a record that names no
    /// service or SLOs is taken as covering them).
    pub fn covers(&self, service: &str, exhausted: &[&str], at: DateTime<Utc>, window: Duration) -> bool {
        self.at <= at
            && at - self.at <= window
            && (self.service.is_empty() || self.service == service)
            && (self.slos.is_empty() || exhausted.iter().all(|e| self.slos.iter().any(|s| s == e)))
    }
}

pub fn evaluate(observation: &SloObservation) -> SloReport {
    let spec = &observation.spec;
    let burn: Vec<(BurnWindow, Option<f64>)> = BurnWindow::ALL
        .iter()
        .map(|&w| {
            let rate = observation
                .counts
                .iter()
                .find(|c| c.window == w)
                .and_then(|c| error_ratio(c.bad, c.total))
                .map(|ratio| burn_rate(ratio, spec.objective));
            (w, rate)
        })
        .collect();
    let get = |w: BurnWindow| burn.iter().find(|(x, _)| *x == w).and_then(|(_, b)| *b);
    let budget = get(BurnWindow::Full).map(|full_burn| 1.0 - full_burn);
    let exhaustion = budget.and_then(|r| get(BurnWindow::H1).and_then(|b| time_to_exhaustion(r, b, spec.window)));
    let breached = |rules: &[(BurnWindow, BurnWindow, f64)]| {
        rules.iter().any(|&(long, short, factor)| {
            get(long).is_some_and(|b| b >= factor) && get(short).is_some_and(|b| b >= factor)
        })
    };
    let recent_absent = !observation.counts.iter().any(|c| c.window == BurnWindow::M5);
    let mut problem = observation.problem.clone();
    let state = if budget.is_none() {
        if problem.is_none() {
            problem = Some(if observation.counts.iter().any(|c| c.window == BurnWindow::Full) {
                "no traffic in the whole window".into()
            } else {
                "no series match the SLI's queries".into()
            });
        }
        SloState::NoData
    } else if recent_absent {
        problem.get_or_insert_with(|| "no samples in the last 5m: are the counters still scraped?".into());
        SloState::Stale
    } else if breached(&PAGE_RULES) {
        SloState::Page
    } else if breached(&TICKET_RULES) {
        SloState::Ticket
    } else {
        SloState::Ok
    };
    SloReport {
        spec: spec.clone(),
        at: observation.at,
        burn,
        budget_remaining: budget,
        exhaustion,
        state,
        burn_history: observation.burn_history.clone(),
        problem,
        counts: observation.counts.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(objective: f64) -> SloSpec {
        SloSpec {
            name: "availability".into(),
            objective,
            window: Duration::days(30),
        }
    }

    fn observe(objective: f64, ratios: &[(BurnWindow, f64)]) -> SloObservation {
        SloObservation {
            spec: spec(objective),
            at: Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default(),
            counts: ratios
                .iter()
                .map(|&(window, r)| WindowCounts {
                    window,
                    bad: r * 1e6,
                    total: 1e6,
                })
                .collect(),
            burn_history: vec![],
            problem: None,
        }
    }

    fn all(ratio: f64) -> Vec<(BurnWindow, f64)> {
        BurnWindow::ALL.iter().map(|&w| (w, ratio)).collect()
    }

    #[test]
    fn ratios_and_burn_rates() {
        assert_eq!(error_ratio(5.0, 100.0), Some(0.05));
        assert_eq!(error_ratio(0.0, 0.0), None, "zero traffic is no data, not healthy");
        assert_eq!(error_ratio(f64::NAN, 10.0), None);
        assert_eq!(error_ratio(1.0, f64::INFINITY), None);
        // After a counter reset, per-series extrapolation can overshoot: clamp, never above 100 %
        // or below 0.
        assert_eq!(error_ratio(100.4, 100.0), Some(1.0));
        assert_eq!(error_ratio(-0.2, 100.0), Some(0.0));
        assert!((burn_rate(0.0144, 0.999) - 14.4).abs() < 1e-9);
        assert_eq!(burn_rate(0.001, 1.0), f64::INFINITY);
        assert_eq!(burn_rate(0.0, 1.0), 0.0);
    }

    #[test]
    fn budget_and_exhaustion() {
        assert!((budget_remaining(0.0005, 0.999) - 0.5).abs() < 1e-9);
        assert!(budget_remaining(0.002, 0.999) < 0.0);
        // Half the budget left, burning 10x: 30d * 0.5 / 10 = 36h.
        assert_eq!(
            time_to_exhaustion(0.5, 10.0, Duration::days(30)),
            Some(Duration::hours(36))
        );
        assert_eq!(time_to_exhaustion(0.5, 0.0, Duration::days(30)), None);
        assert_eq!(time_to_exhaustion(0.0, 5.0, Duration::days(30)), None);
    }

    #[test]
    fn mwmbr_decision_table() {
        type Case = (&'static str, Vec<(BurnWindow, f64)>, SloState);
        let cases: Vec<Case> = vec![
            ("healthy", all(0.0001), SloState::Ok),
            ("fast burn: 1h and 5m above 14.4x", all(0.02), SloState::Page),
            (
                "fast burn long window only does not page",
                vec![
                    (BurnWindow::H1, 0.02),
                    (BurnWindow::M5, 0.001),
                    (BurnWindow::Full, 0.0001),
                ],
                SloState::Ok,
            ),
            (
                "6h and 30m above 6x pages",
                vec![
                    (BurnWindow::H6, 0.007),
                    (BurnWindow::M30, 0.007),
                    (BurnWindow::M5, 0.0001),
                    (BurnWindow::Full, 0.0002),
                ],
                SloState::Page,
            ),
            (
                "1d and 2h above 3x tickets",
                vec![
                    (BurnWindow::D1, 0.004),
                    (BurnWindow::H2, 0.004),
                    (BurnWindow::M5, 0.0001),
                    (BurnWindow::Full, 0.0002),
                ],
                SloState::Ticket,
            ),
            (
                "3d and 6h above 1x tickets",
                vec![
                    (BurnWindow::D3, 0.0015),
                    (BurnWindow::H6, 0.0015),
                    (BurnWindow::M5, 0.0001),
                    (BurnWindow::Full, 0.0002),
                ],
                SloState::Ticket,
            ),
            ("missing series is no data", vec![], SloState::NoData),
        ];
        for (name, ratios, expected) in cases {
            assert_eq!(evaluate(&observe(0.999, &ratios)).state, expected, "{name}");
        }
    }

    fn counts(window: BurnWindow, bad: f64, total: f64) -> WindowCounts {
        WindowCounts { window, bad, total }
    }

    fn with_counts(objective: f64, counts: Vec<WindowCounts>) -> SloReport {
        let mut o = observe(objective, &[]);
        o.counts = counts;
        evaluate(&o)
    }

    #[test]
    fn missing_zero_and_broken_numbers_are_never_healthy() {
        type Case = (&'static str, Vec<WindowCounts>, SloState, &'static str);
        let every = |bad: f64, total: f64| -> Vec<WindowCounts> {
            BurnWindow::ALL.iter().map(|&w| counts(w, bad, total)).collect()
        };
        let cases: Vec<Case> = vec![
            ("no series at all", vec![], SloState::NoData, "no series"),
            (
                "zero traffic in every window",
                every(0.0, 0.0),
                SloState::NoData,
                "no traffic",
            ),
            ("NaN totals", every(f64::NAN, f64::NAN), SloState::NoData, "no traffic"),
            (
                "infinite counts",
                every(1.0, f64::INFINITY),
                SloState::NoData,
                "no traffic",
            ),
            (
                "window has data but nothing in the last 5m",
                every(1.0, 10_000.0)
                    .into_iter()
                    .filter(|c| c.window != BurnWindow::M5)
                    .collect(),
                SloState::Stale,
                "last 5m",
            ),
            (
                "idle last 5m (series present, zero traffic) is not stale",
                every(1.0, 10_000.0)
                    .into_iter()
                    .map(|c| {
                        if c.window == BurnWindow::M5 {
                            counts(c.window, 0.0, 0.0)
                        } else {
                            c
                        }
                    })
                    .collect(),
                SloState::Ok,
                "",
            ),
        ];
        for (name, counts, expected, problem) in cases {
            let report = with_counts(0.999, counts);
            assert_eq!(report.state, expected, "{name}");
            let said = report.problem.clone().unwrap_or_default();
            assert!(said.contains(problem), "{name}: problem {said:?}");
            if expected == SloState::NoData {
                assert_eq!(report.exhaustion, None, "{name}");
                assert_eq!(report.budget_remaining, None, "{name}");
            }
        }
    }

    #[test]
    fn counter_reset_artefacts_do_not_page() {
        // A restart inside the 5m window made the errors' extrapolated increase exceed the total's:
        // the ratio is capped at 100 %, which is a page only when the long window agrees.
        let mut c: Vec<WindowCounts> = BurnWindow::ALL.iter().map(|&w| counts(w, 1.0, 100_000.0)).collect();
        c[0] = counts(BurnWindow::M5, 101.0, 100.0);
        let report = with_counts(0.999, c);
        assert_eq!(report.burn(BurnWindow::M5).map(f64::round), Some(1000.0));
        assert_eq!(report.state, SloState::Ok, "1h burn is 0.01x: no page");
        // A good-based SLI where good came out above total (bad < 0) burns at zero, not below.
        let mut c: Vec<WindowCounts> = BurnWindow::ALL.iter().map(|&w| counts(w, 0.0, 1000.0)).collect();
        c[0] = counts(BurnWindow::M5, -3.0, 1000.0);
        assert_eq!(with_counts(0.95, c).burn(BurnWindow::M5), Some(0.0));
    }

    #[test]
    fn budget_goes_negative_when_overspent_and_exhaustion_is_then_none() {
        // 0.3 % errors on a 99.9 % SLO over the window: 3x the budget, −200 % left.
        let report = with_counts(0.999, BurnWindow::ALL.iter().map(|&w| counts(w, 3.0, 1000.0)).collect());
        let left = report.budget_remaining.unwrap_or(f64::NAN);
        assert!((left + 2.0).abs() < 1e-9, "{left}");
        assert!(report.budget_exhausted());
        assert_eq!(report.exhaustion, None);
        assert_eq!(report.state, SloState::Ticket, "3x over 1d and 2h");
    }

    #[test]
    fn objective_of_one_pages_on_any_error() {
        let report = evaluate(&observe(1.0, &all(0.00001)));
        assert_eq!(report.state, SloState::Page);
        assert!(report.budget_exhausted());
        let clean = evaluate(&observe(1.0, &all(0.0)));
        assert_eq!(clean.state, SloState::Ok);
    }

    #[test]
    fn report_carries_budget_and_exhaustion() {
        let mut ratios = all(0.01);
        ratios.retain(|(w, _)| *w != BurnWindow::Full);
        ratios.push((BurnWindow::Full, 0.0004));
        let report = evaluate(&observe(0.999, &ratios));
        assert!((report.budget_remaining.unwrap_or(0.0) - 0.6).abs() < 1e-9);
        // 60 % left at 10x: 30d * 0.6 / 10 = 43.2h.
        assert_eq!(report.exhaustion, Some(Duration::seconds((43.2 * 3600.0) as i64)));
        assert_eq!(report.burn(BurnWindow::M5).map(|b| b.round()), Some(10.0));
    }
}
