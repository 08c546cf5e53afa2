//! Monitoring signals: a named value with a unit, warn/crit thresholds, a level, and one hour of
//! history for a sparkline.

use serde::{Deserialize, Serialize};

use super::severity::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Percent,
    Ratio,
    Seconds,
    #[default]
    Count,
    Bytes,
    Days,
}

/// Whether a value is bad when it rises above the thresholds (error ratios) or falls below them
/// (days left on a certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Above,
    Below,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignalSpec {
    pub name: String,
    pub unit: Unit,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub direction: Direction,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignalReading {
    pub spec: SignalSpec,
    /// The current value; `None` when the query returned no series (or failed).
    pub value: Option<f64>,
    /// Evenly spaced samples over the last hour, oldest first (NaN where there was no data).
    pub history: Vec<f64>,
    /// How many series the query returned (several are combined, the worst value winning).
    pub series: usize,
    /// Why there is no value, when the query did not run.
    pub problem: Option<SignalProblem>,
}

/// A query that did not produce a value: never shown as zero or as "ok".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalProblem {
    /// Prometheus rejected the query text (or it does not return a number).
    Invalid(String),
    /// The query could not run (timeout, execution error, Prometheus unreachable).
    Failed(String),
}

impl SignalReading {
    pub fn level(&self) -> Level {
        if self.problem.is_some() {
            Level::NoData
        } else {
            self.spec.level(self.value)
        }
    }

    /// The state as a word: INVALID, FAILED, NO DATA, OK, WARN or CRIT.
    pub fn state_word(&self) -> &'static str {
        match &self.problem {
            Some(SignalProblem::Invalid(_)) => "INVALID",
            Some(SignalProblem::Failed(_)) => "FAILED",
            None => self.level().word(),
        }
    }

    pub fn problem_text(&self) -> Option<&str> {
        match &self.problem {
            Some(SignalProblem::Invalid(t) | SignalProblem::Failed(t)) => Some(t),
            None => None,
        }
    }
}

impl SignalSpec {
    pub fn level(&self, value: Option<f64>) -> Level {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            return Level::NoData;
        };
        let breached = |threshold: Option<f64>| {
            threshold.is_some_and(|t| match self.direction {
                Direction::Above => v > t,
                Direction::Below => v < t,
            })
        };
        if breached(self.crit) {
            Level::Crit
        } else if breached(self.warn) {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// Formats a value in its unit: "8.1%", "0.081", "912ms", "1.2k", "3.4 MiB", "23d".
pub fn format_value(unit: Unit, value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return "—".to_string();
    };
    match unit {
        Unit::Percent => {
            let pct = v * 100.0;
            if pct.abs() < 10.0 {
                format!("{pct:.2}%")
            } else {
                format!("{pct:.1}%")
            }
        }
        Unit::Ratio => format!("{v:.3}"),
        Unit::Seconds if v.abs() < 1.0 => format!("{:.0}ms", v * 1000.0),
        Unit::Seconds => format!("{v:.2}s"),
        Unit::Count if v.abs() >= 1_000_000.0 => format!("{:.1}M", v / 1_000_000.0),
        Unit::Count if v.abs() >= 10_000.0 => format!("{:.1}k", v / 1000.0),
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.1}"),
        Unit::Bytes => {
            let units = ["B", "KiB", "MiB", "GiB", "TiB"];
            let mut x = v;
            let mut i = 0;
            while x.abs() >= 1024.0 && i < units.len() - 1 {
                x /= 1024.0;
                i += 1;
            }
            if i == 0 {
                format!("{x:.0} B")
            } else {
                format!("{x:.1} {}", units[i])
            }
        }
        Unit::Days => format!("{v:.0}d"),
    }
}

/// Eight-level block sparkline of `values` scaled to their own range, `width` cells wide (the most
/// recent samples win). Gaps (NaN) are shown as spaces.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(width)..];
    let finite = tail.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    tail.iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi - lo <= f64::EPSILON {
                BARS[0]
            } else {
                let idx = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[idx.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(direction: Direction) -> SignalSpec {
        SignalSpec {
            name: "x".into(),
            unit: Unit::Percent,
            warn: Some(0.01),
            crit: Some(0.05),
            direction,
        }
    }

    #[test]
    fn levels_follow_thresholds_and_direction() {
        let above = spec(Direction::Above);
        assert_eq!(above.level(Some(0.001)), Level::Ok);
        assert_eq!(above.level(Some(0.02)), Level::Warn);
        assert_eq!(above.level(Some(0.08)), Level::Crit);
        assert_eq!(above.level(None), Level::NoData);
        assert_eq!(above.level(Some(f64::NAN)), Level::NoData);
        let below = SignalSpec {
            warn: Some(14.0),
            crit: Some(3.0),
            unit: Unit::Days,
            ..spec(Direction::Below)
        };
        assert_eq!(below.level(Some(30.0)), Level::Ok);
        assert_eq!(below.level(Some(10.0)), Level::Warn);
        assert_eq!(below.level(Some(2.0)), Level::Crit);
    }

    #[test]
    fn values_format_in_their_unit() {
        assert_eq!(format_value(Unit::Percent, Some(0.0812)), "8.12%");
        assert_eq!(format_value(Unit::Percent, Some(0.25)), "25.0%");
        assert_eq!(format_value(Unit::Seconds, Some(0.912)), "912ms");
        assert_eq!(format_value(Unit::Count, Some(12_345.0)), "12.3k");
        assert_eq!(format_value(Unit::Bytes, Some(3.5 * 1024.0 * 1024.0)), "3.5 MiB");
        assert_eq!(format_value(Unit::Days, Some(23.4)), "23d");
        assert_eq!(format_value(Unit::Count, None), "—");
    }

    #[test]
    fn sparkline_scales_to_range_and_keeps_gaps() {
        assert_eq!(sparkline(&[0.0, 1.0, f64::NAN, 0.5], 10), "▁█ ▅");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 2), "▁█");
        assert_eq!(sparkline(&[4.0, 4.0], 5), "▁▁");
    }
}
