//! SLO error budgets from raw counters in Prometheus: turns each `[[slo]]` into PromQL (one query
//! for every window's bad and total counts, `increase()` over the counters themselves, so it is
//! right straight after a Prometheus restart and needs no recording rules), and the answers into
//! the observations the domain's math evaluates.

use chrono::{DateTime, Duration, Utc};

use super::prometheus::{PromError, Prometheus, QueryData};
use crate::config::SloConfig;
use crate::domain::slo::{BurnWindow, SloObservation, SloSpec, WindowCounts, burn_rate, error_ratio};

/// How an SLI counts bad events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sli {
    /// Bad events are counted directly; no error series means no errors.
    Errors { errors: String, total: String },
    /// Bad events are total − good; no good series is no data (a wrong `le` must not read as a
    /// total outage).
    Good { good: String, total: String },
}

/// One SLO and the series it is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct SloQuery {
    pub spec: SloSpec,
    pub sli: Sli,
}

/// Why an `[[slo]]` cannot be turned into queries: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SliError {
    pub field: &'static str,
    pub message: String,
}

fn sli_error(field: &'static str, message: impl Into<String>) -> SliError {
    SliError {
        field,
        message: message.into(),
    }
}

/// Splits a series selector into its metric name and the matchers inside its braces, or says why
/// it is not one: the SLI fields take selectors (`metric{label="v"}`), not expressions, because
/// warroom applies `increase()` over each window itself.
pub fn split_selector(selector: &str) -> Result<(&str, &str), String> {
    let text = selector.trim();
    let name_len = text
        .char_indices()
        .find(|&(i, c)| !(c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(text.len(), |(i, _)| i);
    let (name, rest) = text.split_at(name_len);
    let rest = rest.trim();
    let not_selector = || {
        format!(
            "{selector:?} is not a series selector: write metric{{label=\"value\"}} (warroom takes increase() over each window itself)"
        )
    };
    if rest.is_empty() {
        return if name.is_empty() {
            Err(not_selector())
        } else {
            Ok((name, ""))
        };
    }
    let inner = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(not_selector)?;
    // A closing brace outside a quoted value before the end means more than one selector.
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
            None if c == '{' || c == '}' || c == '[' || c == '(' => return Err(not_selector()),
            None => {}
        }
    }
    if quote.is_some() {
        return Err(format!("{selector:?} has an unclosed quote"));
    }
    if name.is_empty() && inner.trim().is_empty() {
        return Err(not_selector());
    }
    Ok((name, inner.trim().trim_end_matches(',').trim()))
}

fn with_matcher(name: &str, inner: &str, extra: &str) -> String {
    match (inner.is_empty(), extra.is_empty()) {
        (true, true) => name.to_string(),
        (true, false) => format!("{name}{{{extra}}}"),
        (false, true) => format!("{name}{{{inner}}}"),
        (false, false) => format!("{name}{{{inner},{extra}}}"),
    }
}

/// The `le` matcher for a bucket bound. Prometheus 3 writes integral bounds as floats (`1` as
/// `1.0`), so those match either spelling.
fn le_matcher(le: &str) -> Result<String, String> {
    let le = le.trim();
    if le == "+Inf" {
        return Ok("le=\"+Inf\"".into());
    }
    let value: f64 = le
        .parse()
        .map_err(|_| format!("{le:?} is not a bucket bound (a number such as \"0.3\", or \"+Inf\")"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "{le:?} is not a bucket bound (a number such as \"0.3\", or \"+Inf\")"
        ));
    }
    if le.contains(['.', 'e', 'E']) {
        Ok(format!("le=\"{le}\""))
    } else {
        Ok(format!("le=~\"{le}(\\\\.0)?\""))
    }
}

impl SloQuery {
    /// The queries of one configured SLO, or which field is wrong.
    pub fn from_config(c: &SloConfig) -> Result<Self, SliError> {
        let spec = SloSpec {
            name: c.name.clone(),
            objective: c.objective,
            window: Duration::from_std(c.window.0).unwrap_or_else(|_| Duration::days(30)),
        };
        let checked = |field: &'static str, s: &str| -> Result<String, SliError> {
            split_selector(s).map_err(|m| sli_error(field, m))?;
            Ok(s.trim().to_string())
        };
        let sli = match (&c.errors, &c.good, &c.histogram) {
            (Some(errors), None, None) => Sli::Errors {
                errors: checked("errors", errors)?,
                total: checked(
                    "total",
                    c.total
                        .as_deref()
                        .ok_or_else(|| sli_error("total", "required with errors"))?,
                )?,
            },
            (None, Some(good), None) => Sli::Good {
                good: checked("good", good)?,
                total: checked(
                    "total",
                    c.total
                        .as_deref()
                        .ok_or_else(|| sli_error("total", "required with good"))?,
                )?,
            },
            (None, None, Some(histogram)) => {
                let (name, inner) = split_selector(histogram).map_err(|m| sli_error("histogram", m))?;
                if name.is_empty() {
                    return Err(sli_error(
                        "histogram",
                        "needs the histogram's metric name (without _bucket), e.g. http_request_duration_seconds{job=\"api\"}",
                    ));
                }
                let le =
                    c.le.as_deref()
                        .ok_or_else(|| sli_error("le", "required with histogram (the bucket bound, e.g. \"0.3\")"))?;
                let le = le_matcher(le).map_err(|m| sli_error("le", m))?;
                let base = name.strip_suffix("_bucket").unwrap_or(name);
                Sli::Good {
                    good: with_matcher(&format!("{base}_bucket"), inner, &le),
                    total: with_matcher(&format!("{base}_count"), inner, ""),
                }
            }
            _ => {
                return Err(sli_error(
                    "errors",
                    "set exactly one of errors (with total), good (with total), or histogram (with le)",
                ));
            }
        };
        Ok(Self { spec, sli })
    }

    /// One instant query answering every window's bad (or good) and total counts, each tagged
    /// with a `warroom_count` label ("bad:300", "total:300", …) so one evaluation time covers all.
    pub fn counts_query(&self) -> String {
        let (first, total) = match &self.sli {
            Sli::Errors { errors, total } => (("bad", errors), total),
            Sli::Good { good, total } => (("good", good), total),
        };
        let mut parts = Vec::new();
        for window in BurnWindow::ALL {
            let secs = window.length(self.spec.window).num_seconds();
            for (kind, selector) in [first, ("total", total)] {
                parts.push(format!(
                    "label_replace(sum(increase({selector}[{secs}s])), \"warroom_count\", \"{kind}:{secs}\", \"\", \"\")"
                ));
            }
        }
        parts.join(" or ")
    }

    /// The error ratio over 5 minutes, for the burn sparkline's range query.
    pub fn ratio_5m_query(&self) -> String {
        match &self.sli {
            Sli::Errors { errors, total } => {
                format!("(sum(increase({errors}[5m])) or vector(0)) / sum(increase({total}[5m]))")
            }
            Sli::Good { good, total } => {
                format!("1 - sum(increase({good}[5m])) / sum(increase({total}[5m]))")
            }
        }
    }

    /// Reads the answer of `counts_query` into counts per window. A window is left out (no data)
    /// when its total has no series, or for a good-based SLI when good has none; no error series
    /// with traffic present is zero errors.
    pub fn counts(&self, data: &QueryData) -> (Vec<WindowCounts>, Option<String>) {
        let series = match data {
            QueryData::Vector(series) => series.as_slice(),
            _ => &[],
        };
        let value = |kind: &str, secs: i64| -> Option<f64> {
            let tag = format!("{kind}:{secs}");
            series
                .iter()
                .find(|s| s.labels.get("warroom_count") == Some(&tag))
                .and_then(|s| s.samples.last())
                .map(|s| s.value)
        };
        let mut problem = None;
        let mut counts = Vec::new();
        for window in BurnWindow::ALL {
            let secs = window.length(self.spec.window).num_seconds();
            let Some(total) = value("total", secs) else {
                continue;
            };
            let bad = match &self.sli {
                Sli::Errors { .. } => value("bad", secs).unwrap_or(0.0),
                Sli::Good { good, .. } => match value("good", secs) {
                    Some(g) => total - g,
                    None => {
                        problem = Some(format!(
                            "the good series {good} matched nothing while total has traffic"
                        ));
                        continue;
                    }
                },
            };
            counts.push(WindowCounts { window, bad, total });
        }
        if counts.is_empty() && problem.is_none() {
            let total = match &self.sli {
                Sli::Errors { total, .. } | Sli::Good { total, .. } => total,
            };
            problem = Some(format!("no series match {total}"));
        }
        (counts, problem)
    }

    /// Burn rates from the 5-minute ratio range query; missing steps stay gaps (NaN).
    pub fn burn_history(&self, data: &QueryData, start: DateTime<Utc>) -> Vec<f64> {
        let mut out = vec![f64::NAN; HISTORY_POINTS];
        if let QueryData::Matrix(series) = data
            && let Some(s) = series.first()
        {
            let start = start.timestamp() as f64;
            for sample in &s.samples {
                let k = ((sample.at - start) / HISTORY_STEP_SECS as f64).round();
                if k >= 0.0
                    && let Some(slot) = out.get_mut(k as usize)
                    && let Some(ratio) = error_ratio(sample.value, 1.0)
                {
                    *slot = burn_rate(ratio, self.spec.objective);
                }
            }
        }
        out
    }

    /// Asks Prometheus for everything about this SLO as of `at`. A query Prometheus rejects is
    /// this SLO's problem (NO DATA with the reason); only a Prometheus that cannot be asked at all
    /// is an error.
    pub async fn observe(&self, prometheus: &Prometheus, at: DateTime<Utc>) -> Result<SloObservation, PromError> {
        let start = at - Duration::seconds(HISTORY_STEP_SECS as i64 * (HISTORY_POINTS as i64 - 1));
        let (counts_query, ratio_query) = (self.counts_query(), self.ratio_5m_query());
        let (counts, history) = tokio::join!(
            prometheus.instant(&counts_query, at),
            prometheus.range(&ratio_query, start, at, HISTORY_STEP_SECS),
        );
        let (counts, problem) = match counts {
            Ok(data) => self.counts(&data),
            Err(e) if super::prometheus::is_unreachable(&e) => return Err(e),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let burn_history = history.map_or_else(|_| vec![f64::NAN; HISTORY_POINTS], |d| self.burn_history(&d, start));
        Ok(SloObservation {
            spec: self.spec.clone(),
            at,
            counts,
            burn_history,
            problem,
        })
    }
}

/// The burn sparkline: an hour, a point a minute.
pub const HISTORY_POINTS: usize = 61;
pub const HISTORY_STEP_SECS: u32 = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::DurationText;
    use crate::sources::prometheus::{Sample, Series};

    fn config(f: impl FnOnce(&mut SloConfig)) -> SloConfig {
        let mut c = SloConfig {
            name: "availability".into(),
            objective: 0.999,
            window: DurationText::secs(30 * 86_400),
            ..SloConfig::default()
        };
        f(&mut c);
        c
    }

    #[test]
    fn selectors_are_split_and_expressions_refused() {
        assert_eq!(split_selector("up"), Ok(("up", "")));
        assert_eq!(
            split_selector(r#"x_count{route!~"/a|/b{1}",code=~"5.."}"#),
            Ok(("x_count", r#"route!~"/a|/b{1}",code=~"5..""#))
        );
        assert_eq!(split_selector(r#"{__name__="x"}"#), Ok(("", r#"__name__="x""#)));
        for bad in [
            "",
            "sum(rate(x[5m]))",
            "x[5m]",
            "x{a=\"1\"} / y",
            "x{a=\"1}",
            "rate(x)",
            "{}",
        ] {
            assert!(split_selector(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn histogram_slis_use_the_bucket_and_count_series() {
        let q = SloQuery::from_config(&config(|c| {
            c.histogram = Some(r#"odin_http_request_duration_seconds{route!~"/api/health"}"#.into());
            c.le = Some("0.3".into());
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            q.sli,
            Sli::Good {
                good: r#"odin_http_request_duration_seconds_bucket{route!~"/api/health",le="0.3"}"#.into(),
                total: r#"odin_http_request_duration_seconds_count{route!~"/api/health"}"#.into(),
            }
        );
        // An integral bound matches Prometheus 3's float spelling too.
        let q = SloQuery::from_config(&config(|c| {
            c.histogram = Some("h_bucket".into());
            c.le = Some("1".into());
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            q.sli,
            Sli::Good {
                good: r#"h_bucket{le=~"1(\\.0)?"}"#.into(),
                total: "h_count".into(),
            }
        );
        let e = SloQuery::from_config(&config(|c| {
            c.histogram = Some("h".into());
            c.le = Some("fast".into());
        }));
        assert!(matches!(e, Err(SliError { field: "le", .. })), "{e:?}");
        let e = SloQuery::from_config(&config(|c| {
            c.errors = Some("sum(rate(x[5m]))".into());
            c.total = Some("x".into());
        }));
        assert!(matches!(e, Err(SliError { field: "errors", .. })), "{e:?}");
    }

    #[test]
    fn one_query_tags_every_window() {
        let q = SloQuery::from_config(&config(|c| {
            c.errors = Some(r#"req{code=~"5.."}"#.into());
            c.total = Some("req".into());
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let text = q.counts_query();
        assert_eq!(text.matches("label_replace").count(), 16);
        assert!(
            text.contains(
                r#"label_replace(sum(increase(req{code=~"5.."}[300s])), "warroom_count", "bad:300", "", "")"#
            )
        );
        assert!(text.contains(r#"sum(increase(req[2592000s])), "warroom_count", "total:2592000""#));
    }

    fn tagged(pairs: &[(&str, f64)]) -> QueryData {
        QueryData::Vector(
            pairs
                .iter()
                .map(|(tag, v)| Series {
                    labels: [("warroom_count".to_string(), tag.to_string())].into_iter().collect(),
                    samples: vec![Sample { at: 0.0, value: *v }],
                })
                .collect(),
        )
    }

    #[test]
    fn answers_become_counts_with_absence_kept_apart_from_zero() {
        let errors = SloQuery::from_config(&config(|c| {
            c.errors = Some("e".into());
            c.total = Some("t".into());
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        // No error series but traffic: zero errors. No total for 5m: that window is absent.
        let (counts, problem) = errors.counts(&tagged(&[("total:2592000", 1000.0), ("total:3600", 10.0)]));
        assert_eq!(problem, None);
        assert_eq!(
            counts,
            vec![
                WindowCounts {
                    window: BurnWindow::H1,
                    bad: 0.0,
                    total: 10.0
                },
                WindowCounts {
                    window: BurnWindow::Full,
                    bad: 0.0,
                    total: 1000.0
                },
            ]
        );
        let (counts, problem) = errors.counts(&QueryData::Vector(vec![]));
        assert!(counts.is_empty());
        assert_eq!(problem.as_deref(), Some("no series match t"));
        let good = SloQuery::from_config(&config(|c| {
            c.good = Some("g".into());
            c.total = Some("t".into());
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let (counts, _) = good.counts(&tagged(&[("good:300", 90.0), ("total:300", 100.0)]));
        assert_eq!(
            counts,
            vec![WindowCounts {
                window: BurnWindow::M5,
                bad: 10.0,
                total: 100.0
            }]
        );
        let (counts, problem) = good.counts(&tagged(&[("total:300", 100.0)]));
        assert!(counts.is_empty());
        assert!(problem.unwrap_or_default().contains("good series g matched nothing"));
    }

    #[test]
    fn burn_history_places_points_by_time_and_leaves_gaps() {
        let q = SloQuery::from_config(&config(|c| {
            c.errors = Some("e".into());
            c.total = Some("t".into());
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let data = QueryData::Matrix(vec![Series {
            labels: Default::default(),
            samples: vec![
                Sample {
                    at: 1_700_000_000.0,
                    value: 0.001,
                },
                Sample {
                    at: 1_700_000_120.0,
                    value: 0.0144,
                },
            ],
        }]);
        let history = q.burn_history(&data, start);
        assert_eq!(history.len(), HISTORY_POINTS);
        assert!((history[0] - 1.0).abs() < 1e-9);
        assert!(history[1].is_nan());
        assert!((history[2] - 14.4).abs() < 1e-9);
    }
}
