//! Prometheus HTTP API (`/api/v1`): parsing every result type and error shape, instant and range
//! queries, the signal poller (value, state and a one-hour sparkline per configured signal), and
//! `/api/v1/alerts`, the fallback when no Alertmanager answers. Works against anything that speaks
//! the API (Thanos, Mimir, VictoriaMetrics).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::{Endpoint, Response, body_snippet};
use crate::domain::alert::{Alert, AlertState, fingerprint_of};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::signal::{Direction, SignalProblem, SignalReading, SignalSpec};

/// What an instant or range query returned.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Vector(Vec<Series>),
    Matrix(Vec<Series>),
    Scalar(Sample),
    String(DateTime<Utc>, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    /// One sample for a vector, many for a matrix, oldest first.
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub at: f64,
    pub value: f64,
}

/// Why a query produced no data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromError {
    /// Prometheus answered with its error envelope: `bad_data` (the query is invalid),
    /// `execution`, `timeout`, `canceled`, `internal`, `unavailable`, `not_found`.
    #[error("{error_type}: {message}")]
    Api {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Not an API answer at all (a proxy's page, a 404 text, garbage).
    #[error("{0}")]
    Fetch(FetchError),
}

impl PromError {
    /// The query itself was rejected (its text is wrong), as opposed to failing to run.
    pub fn is_invalid_query(&self) -> bool {
        matches!(self, Self::Api { error_type, .. } if error_type == "bad_data")
    }

    pub fn into_fetch_error(self) -> FetchError {
        match self {
            Self::Fetch(e) => e,
            Self::Api {
                status,
                error_type,
                message,
            } => FetchError::new(FetchErrorKind::Status(status), format!("{error_type}: {message}")),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Reads the `/api/v1` envelope and returns its `data`, or the error it carries.
pub fn parse_envelope(status: u16, body: &[u8]) -> Result<serde_json::Value, PromError> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => {
            let kind = if (200..300).contains(&status) {
                FetchErrorKind::Decode
            } else {
                FetchErrorKind::Status(status)
            };
            let detail = if kind == FetchErrorKind::Decode {
                format!("not a Prometheus API answer: {e}")
            } else {
                body_snippet(body)
            };
            return Err(PromError::Fetch(FetchError::new(kind, detail)));
        }
    };
    if envelope.status == "success" {
        return envelope
            .data
            .ok_or_else(|| PromError::Fetch(FetchError::new(FetchErrorKind::Decode, "success without data")));
    }
    Err(PromError::Api {
        status,
        error_type: envelope.error_type.unwrap_or_else(|| "error".into()),
        message: envelope.error.unwrap_or_default(),
    })
}

fn decode<T: serde::de::DeserializeOwned>(data: serde_json::Value, what: &str) -> Result<T, PromError> {
    serde_json::from_value(data)
        .map_err(|e| PromError::Fetch(FetchError::new(FetchErrorKind::Decode, format!("{what}: {e}"))))
}

/// `[1795906804.808, "1"]`: a time and a value written as a string ("NaN", "+Inf" included).
#[derive(Deserialize)]
struct RawPair(f64, String);

impl RawPair {
    fn sample(&self) -> Result<Sample, PromError> {
        let value = parse_value(&self.1).ok_or_else(|| {
            PromError::Fetch(FetchError::new(
                FetchErrorKind::Decode,
                format!("sample value \"{}\" is not a number", self.1),
            ))
        })?;
        Ok(Sample { at: self.0, value })
    }
}

/// Prometheus writes sample values as strings: "1", "0e+00", "NaN", "+Inf", "-Inf".
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<RawPair>,
    #[serde(default)]
    values: Vec<RawPair>,
}

#[derive(Deserialize)]
struct RawQueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

/// Parses the answer of `/api/v1/query` or `/api/v1/query_range`.
pub fn parse_query(status: u16, body: &[u8]) -> Result<QueryData, PromError> {
    let raw: RawQueryData = decode(parse_envelope(status, body)?, "query result")?;
    let series = |result: serde_json::Value| -> Result<Vec<Series>, PromError> {
        let raw: Vec<RawSeries> = decode(result, "series")?;
        raw.into_iter()
            .map(|s| {
                let samples = s
                    .value
                    .iter()
                    .chain(s.values.iter())
                    .map(RawPair::sample)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Series {
                    labels: s.metric,
                    samples,
                })
            })
            .collect()
    };
    match raw.result_type.as_str() {
        "vector" => Ok(QueryData::Vector(series(raw.result)?)),
        "matrix" => Ok(QueryData::Matrix(series(raw.result)?)),
        "scalar" => Ok(QueryData::Scalar(decode::<RawPair>(raw.result, "scalar")?.sample()?)),
        "string" => {
            let pair: RawPair = decode(raw.result, "string")?;
            Ok(QueryData::String(unix_time(pair.0), pair.1))
        }
        other => Err(PromError::Fetch(FetchError::new(
            FetchErrorKind::Decode,
            format!("unknown resultType \"{other}\""),
        ))),
    }
}

fn unix_time(secs: f64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((secs * 1000.0).round() as i64).unwrap_or_default()
}

fn unix_secs(t: DateTime<Utc>) -> String {
    format!("{:.3}", t.timestamp_millis() as f64 / 1000.0)
}

#[derive(Deserialize)]
struct RawAlerts {
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    #[serde(rename = "activeAt")]
    active_at: Option<DateTime<Utc>>,
}

/// Parses `/api/v1/alerts` into alerts with Alertmanager's fingerprints; `pending` alerts are kept
/// as pending, `inactive` ones dropped.
pub fn parse_alerts(status: u16, body: &[u8], generator: &str, now: DateTime<Utc>) -> Result<Vec<Alert>, PromError> {
    let raw: RawAlerts = decode(parse_envelope(status, body)?, "alerts")?;
    Ok(raw
        .alerts
        .into_iter()
        .filter_map(|a| {
            let state = match a.state.as_str() {
                "firing" => AlertState::Firing,
                "pending" => AlertState::Pending,
                _ => return None,
            };
            Some(Alert {
                fingerprint: fingerprint_of(&a.labels),
                labels: a.labels,
                annotations: a.annotations,
                state,
                starts_at: a.active_at.unwrap_or(now),
                generator_url: Some(generator.to_string()),
                silenced_by: Vec::new(),
                inhibited_by: Vec::new(),
            })
        })
        .collect())
}

/// Queries through the HTTP policy. Long queries go as POST forms, as Prometheus allows.
#[derive(Debug, Clone)]
pub struct Prometheus {
    pub endpoint: Endpoint,
}

impl Prometheus {
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Response, PromError> {
        self.endpoint.post_form(path, form).await.map_err(PromError::Fetch)
    }

    pub async fn instant(&self, query: &str, at: DateTime<Utc>) -> Result<QueryData, PromError> {
        let time = unix_secs(at);
        let r = self.post("/api/v1/query", &[("query", query), ("time", &time)]).await?;
        parse_query(r.status, &r.body)
    }

    pub async fn range(
        &self,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step_secs: u32,
    ) -> Result<QueryData, PromError> {
        let (start, end, step) = (unix_secs(start), unix_secs(end), step_secs.to_string());
        let r = self
            .post(
                "/api/v1/query_range",
                &[("query", query), ("start", &start), ("end", &end), ("step", &step)],
            )
            .await?;
        parse_query(r.status, &r.body)
    }

    pub async fn alerts(&self, now: DateTime<Utc>) -> Result<Vec<Alert>, PromError> {
        let r = self
            .endpoint
            .get("/api/v1/alerts", &[])
            .await
            .map_err(PromError::Fetch)?;
        parse_alerts(r.status, &r.body, &self.endpoint.url("/alerts"), now)
    }

    /// One signal: a range query over the last hour (one point a minute); its last point, taken
    /// at `now`, is the current value.
    pub async fn signal(&self, spec: &SignalSpec, query: &str, now: DateTime<Utc>) -> Result<SignalReading, PromError> {
        let start = now - chrono::Duration::seconds(i64::from(HISTORY_POINTS - 1) * i64::from(HISTORY_STEP_SECS));
        let data = self.range(query, start, now, HISTORY_STEP_SECS).await?;
        Ok(reading(spec, &data, start))
    }
}

/// One hour of history, a point a minute.
pub const HISTORY_POINTS: u32 = 61;
pub const HISTORY_STEP_SECS: u32 = 60;

/// Turns a query result into a signal reading: several series are combined point by point (the
/// worst value wins: the highest, or the lowest for a signal that is bad when low); no series at
/// the last point means no data, never zero.
pub fn reading(spec: &SignalSpec, data: &QueryData, start: DateTime<Utc>) -> SignalReading {
    let start_secs = start.timestamp_millis() as f64 / 1000.0;
    let mut history = vec![f64::NAN; HISTORY_POINTS as usize];
    let worse = |a: f64, b: f64| match spec.direction {
        Direction::Above => a.max(b),
        Direction::Below => a.min(b),
    };
    let mut put = |sample: &Sample| {
        let slot = ((sample.at - start_secs) / f64::from(HISTORY_STEP_SECS)).round();
        if slot >= 0.0 && (slot as usize) < history.len() && !sample.value.is_nan() {
            let h = &mut history[slot as usize];
            *h = if h.is_nan() {
                sample.value
            } else {
                worse(*h, sample.value)
            };
        }
    };
    let mut series_count = 0;
    let mut problem = None;
    match data {
        QueryData::Vector(series) | QueryData::Matrix(series) => {
            series_count = series.len();
            for s in series {
                s.samples.iter().for_each(&mut put);
            }
        }
        QueryData::Scalar(sample) => {
            series_count = 1;
            put(sample);
        }
        QueryData::String(_, text) => {
            problem = Some(SignalProblem::Invalid(format!(
                "the query returns a string (\"{text}\"), not a number"
            )));
        }
    }
    let value = history.last().copied().filter(|v| !v.is_nan());
    SignalReading {
        spec: spec.clone(),
        value,
        history,
        series: series_count,
        problem,
    }
}

/// A signal whose query failed: invalid (Prometheus rejected its text) or failed to run.
pub fn failed_reading(spec: &SignalSpec, error: &PromError) -> SignalReading {
    let problem = if error.is_invalid_query() {
        SignalProblem::Invalid(match error {
            PromError::Api { message, .. } => message.clone(),
            other => other.to_string(),
        })
    } else {
        SignalProblem::Failed(error.to_string())
    };
    SignalReading {
        spec: spec.clone(),
        value: None,
        history: Vec::new(),
        series: 0,
        problem: Some(problem),
    }
}

/// Whether an error means Prometheus itself could not be reached (as opposed to one query failing).
pub fn is_unreachable(error: &PromError) -> bool {
    match error {
        PromError::Fetch(e) => {
            matches!(
                e.kind,
                FetchErrorKind::Connect | FetchErrorKind::Timeout | FetchErrorKind::Other
            ) || matches!(e.kind, FetchErrorKind::Status(s) if s >= 500 || s == 401 || s == 403 || s == 404)
        }
        PromError::Api { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_include_the_special_floats() {
        assert_eq!(parse_value("0e+00"), Some(0.0));
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("x"), None);
    }
}
