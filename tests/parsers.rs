//! The Prometheus and Alertmanager parsers over every answer captured from real servers
//! (Prometheus 2.42, Alertmanager 0.25) in `../shared/fixtures`: each result type, each error
//! shape (with the status line it came with), the alert fingerprints the two servers agree on,
//! silences, and garbage (empty, truncated, HTML, the wrong shape) that must become a `Decode`
//! error, never a panic. Answers only reachable through a request (a created silence's id, an
//! expired one) are replayed by a loopback server to the real `Silencer`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use warroom::domain::alert::{AlertState, fingerprint_of};
use warroom::domain::health::{FetchError, FetchErrorKind};
use warroom::domain::matcher::{MatchOp, Matcher};
use warroom::domain::severity::Severity;
use warroom::domain::signal::{Direction, SignalSpec, Unit};
use warroom::domain::silence::SilenceState;
use warroom::sources::alertmanager::{self, PostableSilence, SilenceError, Silencer};
use warroom::sources::http::{Endpoint, HttpPolicy, Response};
use warroom::sources::prometheus::{self, PromError, QueryData, Sample};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/servers");

/// Hang guard for the replayed requests (they answer in milliseconds).
const LIMIT: Duration = Duration::from_secs(30);

/// The silence the captured session created, then expired.
const SILENCE_ID: &str = "6246c048-1609-45a0-b6e3-b8b938eb74f2";
const TARGET_DOWN_FP: &str = "48215a10e3b3faca";
const ALWAYS_FIRING_FP: &str = "a5e10518aa882916";

/// Answers checked one by one by the tests below, by name.
const CHECKED: &[&str] = &[
    "prom_query_vector",
    "prom_query_post",
    "prom_query_matrix",
    "prom_query_range",
    "prom_query_scalar",
    "prom_query_string",
    "prom_err_parse",
    "prom_err_missing",
    "prom_err_range",
    "prom_err_timeout",
    "prom_err_exec",
    "prom_err_exec2",
    "prom_err_method",
    "prom_404",
    "prom_alerts",
    "am_alerts",
    "am_alerts_after_silence",
    "am_alerts_only_silenced",
    "am_alerts_silenced_false",
    "am_alerts_filtered",
    "am_silences",
    "am_silence_get",
    "am_silence_get_after_delete",
    "am_silence_post",
    "am_filter_bad",
    "am_silence_bad",
    "am_silence_bad2",
    "am_silence_delete_unknown",
    "am_silence_delete",
    "am_silence_delete_again",
];

/// Prometheus API answers that are not query results: only their envelope is read.
const ENVELOPE_ONLY: &[&str] = &[
    "prom_buildinfo",
    "prom_rules",
    "prom_rules_alert",
    "prom_targets",
    "prom_targets_active",
];

/// Answers that are neither alert nor silence lists nor API envelopes (health texts, the groups,
/// status and receivers lists, the empty answer to posting alerts): each must be refused as one.
const NOT_LISTS: &[&str] = &[
    "prom_healthy",
    "prom_ready",
    "am_healthy",
    "am_ready",
    "am_groups",
    "am_status",
    "am_receivers",
    "am_post_alerts",
];

/// One captured answer: the status of its `.headers` file (200 for the query answers captured
/// without headers) and its body.
fn fixture(name: &str) -> Response {
    let dir = std::path::Path::new(FIXTURES);
    let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let headers = dir.join(format!("{name}.headers"));
    let status = if headers.exists() {
        let text = std::fs::read_to_string(&headers).unwrap_or_else(|e| panic!("{}: {e}", headers.display()));
        status_of(&text).unwrap_or_else(|| panic!("{name}.headers: no status line in {text:?}"))
    } else {
        assert!(
            name.starts_with("slo_") || name.starts_with("rec_") || name.starts_with("alerts_"),
            "{name} has no .headers file"
        );
        200
    };
    Response { status, body }
}

/// The status code of `HTTP/1.1 400 Bad Request`.
fn status_of(headers: &str) -> Option<u16> {
    let line = headers.lines().next()?;
    let mut words = line.split_whitespace();
    words.next().filter(|w| w.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

/// Every fixture, by the name of its `.json` file without the extension.
fn all_fixtures() -> BTreeSet<String> {
    std::fs::read_dir(FIXTURES)
        .unwrap_or_else(|e| panic!("{FIXTURES}: {e}"))
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .collect()
}

/// The query answers the loop below parses: every `prom_*`, `slo_*`, `rec_*` (and `alerts_*`)
/// fixture that is not checked by name, an envelope-only answer or not a list.
fn query_answers() -> Vec<String> {
    all_fixtures()
        .into_iter()
        .filter(|n| !n.starts_with("am_"))
        .filter(|n| {
            ![CHECKED, ENVELOPE_ONLY, NOT_LISTS]
                .iter()
                .any(|l| l.contains(&n.as_str()))
        })
        .collect()
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn query(name: &str) -> QueryData {
    let r = fixture(name);
    prometheus::parse_query(r.status, &r.body).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn query_error(name: &str) -> PromError {
    let r = fixture(name);
    match prometheus::parse_query(r.status, &r.body) {
        Ok(data) => panic!("{name} parsed as {data:?}"),
        Err(e) => e,
    }
}

fn spec(direction: Direction) -> SignalSpec {
    SignalSpec {
        name: "up".into(),
        unit: Unit::Count,
        warn: None,
        crit: Some(0.5),
        direction,
    }
}

/// (job, value) of every series of a vector, in order.
fn vector_values(data: &QueryData) -> Vec<(String, f64)> {
    let QueryData::Vector(series) = data else {
        panic!("not a vector: {data:?}")
    };
    series
        .iter()
        .map(|s| {
            assert_eq!(s.samples.len(), 1, "{s:?}");
            (s.labels.get("job").cloned().unwrap_or_default(), s.samples[0].value)
        })
        .collect()
}

fn assert_decode(what: &str, error: &FetchError) {
    assert_eq!(error.kind, FetchErrorKind::Decode, "{what}: {error}");
    assert!(
        !error.detail.contains('\n'),
        "{what}: the detail is one line: {error:?}"
    );
}

fn assert_prom_decode(what: &str, result: Result<impl std::fmt::Debug, PromError>) {
    match result {
        Err(PromError::Fetch(e)) => assert_decode(what, &e),
        other => panic!("{what}: expected a Decode error, got {other:?}"),
    }
}

#[test]
fn every_fixture_has_a_body_a_status_and_a_test() {
    let all = all_fixtures();
    assert!(all.len() >= 60, "{} fixtures in {FIXTURES}", all.len());
    // Every .headers file belongs to a body and starts with a status line.
    for entry in std::fs::read_dir(FIXTURES).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".headers") {
            assert!(all.contains(stem), "{name} has no body");
            let text = std::fs::read_to_string(entry.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(status_of(&text).is_some(), "{name}: {text:?}");
        }
    }
    let queries: Vec<String> = query_answers();
    let covered: BTreeSet<String> = CHECKED
        .iter()
        .chain(ENVELOPE_ONLY)
        .chain(NOT_LISTS)
        .map(|s| s.to_string())
        .chain(queries.iter().cloned())
        .collect();
    assert_eq!(covered, all, "every fixture is covered, and every covered name exists");
    assert!(queries.len() >= 15, "{queries:?}");
    assert_eq!(fixture("prom_err_parse").status, 400);
    assert_eq!(fixture("am_silence_bad").status, 422);
    assert_eq!(fixture("slo_burn_1h").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Prometheus: result types

#[test]
fn an_instant_vector_has_the_three_up_series_with_their_labels_and_values() {
    let data = query("prom_query_vector");
    assert_eq!(
        vector_values(&data),
        [
            ("prometheus".to_string(), 1.0),
            ("alertmanager".to_string(), 1.0),
            ("checkout-api".to_string(), 0.0)
        ]
    );
    let QueryData::Vector(series) = &data else {
        unreachable!()
    };
    assert_eq!(
        series[2].labels,
        labels(&[
            ("__name__", "up"),
            ("instance", "127.0.0.1:19999"),
            ("job", "checkout-api")
        ])
    );
    assert!(
        series.iter().all(|s| s.samples[0].at == 1_795_906_804.808),
        "{series:?}"
    );

    // The same query sent as a POST form: the same answer, at a whole second.
    let post = query("prom_query_post");
    assert_eq!(vector_values(&post), vector_values(&data));
    let QueryData::Vector(series) = &post else {
        unreachable!()
    };
    assert!(series.iter().all(|s| s.samples[0].at == 1_795_906_804.0), "{series:?}");
}

#[test]
fn a_signal_over_the_vector_takes_the_worst_series_and_counts_them() {
    let data = query("prom_query_vector");
    let at = Utc.timestamp_millis_opt(1_795_906_804_808).single().unwrap_or_default();
    let start = at - chrono::Duration::seconds(3600);
    let above = prometheus::reading(&spec(Direction::Above), &data, start);
    assert_eq!((above.value, above.series, above.state_word()), (Some(1.0), 3, "CRIT"));
    let below = prometheus::reading(&spec(Direction::Below), &data, start);
    assert_eq!((below.value, below.series, below.state_word()), (Some(0.0), 3, "CRIT"));
    assert!(below.problem.is_none());
}

#[test]
fn range_answers_are_matrices_with_every_sample_oldest_first() {
    let QueryData::Matrix(series) = query("prom_query_matrix") else {
        panic!("prom_query_matrix is not a matrix")
    };
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].labels.get("job").map(String::as_str), Some("prometheus"));
    let expected: Vec<Sample> = [
        1_795_906_786.713,
        1_795_906_791.713,
        1_795_906_796.713,
        1_795_906_801.713,
    ]
    .iter()
    .map(|&at| Sample { at, value: 1.0 })
    .collect();
    assert_eq!(series[0].samples, expected);

    let QueryData::Matrix(series) = query("prom_query_range") else {
        panic!("prom_query_range is not a matrix")
    };
    let jobs: Vec<&str> = series
        .iter()
        .map(|s| s.labels.get("job").map_or("", String::as_str))
        .collect();
    assert_eq!(jobs, ["prometheus", "alertmanager", "checkout-api"]);
    for s in &series {
        let times: Vec<f64> = s.samples.iter().map(|x| x.at).collect();
        assert_eq!(
            times,
            [
                1_795_906_784.0,
                1_795_906_789.0,
                1_795_906_794.0,
                1_795_906_799.0,
                1_795_906_804.0
            ],
            "{s:?}"
        );
    }
    let values = |i: usize| series[i].samples.iter().map(|x| x.value).collect::<Vec<_>>();
    assert_eq!(values(0), [1.0; 5]);
    assert_eq!(values(1), [1.0; 5]);
    assert_eq!(values(2), [0.0; 5]);
}

#[test]
fn scalar_and_string_results_keep_their_time() {
    assert_eq!(
        query("prom_query_scalar"),
        QueryData::Scalar(Sample {
            at: 1_795_906_804.822,
            value: 2.0
        })
    );
    let at = Utc.timestamp_millis_opt(1_795_906_804_833).single().unwrap_or_default();
    assert_eq!(query("prom_query_string"), QueryData::String(at, "hello".to_string()));
    // A string is not a number: the signal says so instead of showing a value.
    let reading = prometheus::reading(&spec(Direction::Above), &query("prom_query_string"), at);
    assert_eq!((reading.value, reading.state_word()), (None, "INVALID"));
}

#[test]
fn every_other_query_answer_parses_to_finite_samples() {
    let names = query_answers();
    assert!(!names.is_empty());
    for name in &names {
        let series = match query(name) {
            QueryData::Vector(s) | QueryData::Matrix(s) => s,
            other => panic!("{name}: not a vector or matrix: {other:?}"),
        };
        for s in &series {
            assert!(!s.samples.is_empty(), "{name}: a series without samples: {s:?}");
            for x in &s.samples {
                assert!(x.value.is_finite() && x.at > 1.7e9, "{name}: {x:?}");
            }
        }
        // And the envelope alone gives the data with its result type.
        let r = fixture(name);
        let data = prometheus::parse_envelope(r.status, &r.body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(data.get("resultType").is_some(), "{name}: {data}");
    }
    let burn = vector_values(&query("slo_burn_5m"));
    assert_eq!(burn.len(), 3);
    assert_eq!(burn[1], ("payments-api".to_string(), 175.455_218_356_772_6));
    let QueryData::Matrix(budget) = query("slo_budget_range") else {
        panic!("slo_budget_range is not a matrix")
    };
    assert_eq!(budget.len(), 1);
    assert!(budget[0].labels.is_empty());
    assert!(budget[0].samples.windows(2).all(|w| w[0].at < w[1].at));
    assert_eq!(query("alerts_slo"), QueryData::Vector(Vec::new()));
}

#[test]
fn answers_that_are_not_query_results_have_an_envelope_but_no_query_data() {
    for name in ENVELOPE_ONLY {
        let r = fixture(name);
        let data = prometheus::parse_envelope(r.status, &r.body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(data.is_object(), "{name}: {data}");
        assert_prom_decode(name, prometheus::parse_query(r.status, &r.body));
    }
    let r = fixture("prom_buildinfo");
    let data = prometheus::parse_envelope(r.status, &r.body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data["version"], "2.42.0+ds");
}

// ---------------------------------------------------------------------------------------------
// Prometheus: error shapes

#[test]
fn bad_data_errors_are_invalid_queries_with_prometheus_message() {
    let cases = [
        ("prom_err_parse", "1:17: parse error: unclosed left parenthesis"),
        ("prom_err_missing", "1:1: parse error: no expression found in input"),
        (
            "prom_err_range",
            "exceeded maximum resolution of 11,000 points per timeseries",
        ),
    ];
    for (name, message) in cases {
        let error = query_error(name);
        let PromError::Api {
            status,
            error_type,
            message: text,
        } = &error
        else {
            panic!("{name}: not an API error: {error:?}")
        };
        assert_eq!((*status, error_type.as_str()), (400, "bad_data"), "{name}");
        assert!(text.contains(message), "{name}: {text}");
        assert!(error.is_invalid_query(), "{name}");
        assert!(!prometheus::is_unreachable(&error), "{name}");
        let reading = prometheus::failed_reading(&spec(Direction::Above), &error);
        assert_eq!((reading.state_word(), reading.value), ("INVALID", None), "{name}");
        assert_eq!(reading.problem_text(), Some(text.as_str()));
        let fetch = error.clone().into_fetch_error();
        assert_eq!(fetch.kind, FetchErrorKind::Status(400));
        assert!(fetch.detail.starts_with("bad_data: "), "{fetch}");
    }
}

#[test]
fn execution_errors_and_timeouts_are_failures_not_invalid_queries() {
    let cases = [
        ("prom_err_timeout", "expanding series: context deadline exceeded"),
        ("prom_err_exec", "many-to-many matching not allowed"),
        (
            "prom_err_exec2",
            "found duplicate series for the match group {job=\"prometheus\"}",
        ),
    ];
    for (name, message) in cases {
        let error = query_error(name);
        let PromError::Api {
            status,
            error_type,
            message: text,
        } = &error
        else {
            panic!("{name}: not an API error: {error:?}")
        };
        assert_eq!((*status, error_type.as_str()), (422, "execution"), "{name}");
        assert!(text.contains(message), "{name}: {text}");
        assert!(!error.is_invalid_query(), "{name}");
        assert!(
            !prometheus::is_unreachable(&error),
            "one query failing is not Prometheus down"
        );
        let reading = prometheus::failed_reading(&spec(Direction::Above), &error);
        assert_eq!((reading.state_word(), reading.value), ("FAILED", None), "{name}");
        assert!(reading.history.iter().all(|v| v.is_nan()), "never a zero value");
        assert!(reading.problem_text().is_some_and(|t| t.contains(message)));
    }
}

#[test]
fn text_answers_are_http_status_errors_carrying_the_text() {
    for (name, status, text) in [
        ("prom_err_method", 405, "Method Not Allowed"),
        ("prom_404", 404, "404 page not found"),
    ] {
        let error = query_error(name);
        assert_eq!(
            error,
            PromError::Fetch(FetchError::new(FetchErrorKind::Status(status), text)),
            "{name}"
        );
        assert!(!error.is_invalid_query());
        let r = fixture(name);
        assert_eq!(
            prometheus::parse_envelope(r.status, &r.body),
            Err(error.clone()),
            "{name}"
        );
        assert_eq!(error.into_fetch_error().to_string(), format!("HTTP {status}: {text}"));
    }
    // A 404 means a wrong URL (no Prometheus there); a 405 is one request refused.
    assert!(prometheus::is_unreachable(&query_error("prom_404")));
    assert!(!prometheus::is_unreachable(&query_error("prom_err_method")));
}

// ---------------------------------------------------------------------------------------------
// Alerts from both servers

#[test]
fn prometheus_alerts_get_the_fingerprints_alertmanager_gave_the_same_labels() {
    let now = time("2026-11-28T23:00:05Z");
    let r = fixture("prom_alerts");
    let alerts =
        prometheus::parse_alerts(r.status, &r.body, "http://prom/alerts", now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.state == AlertState::Firing));
    assert!(
        alerts
            .iter()
            .all(|a| a.generator_url.as_deref() == Some("http://prom/alerts"))
    );
    let am = alertmanager::parse_alerts(&fixture("am_alerts")).unwrap_or_else(|e| panic!("{e}"));
    let by_name = |list: Vec<(String, String, BTreeMap<String, String>)>| -> BTreeMap<String, (String, BTreeMap<String, String>)> {
        list.into_iter().map(|(n, fp, l)| (n, (fp, l))).collect()
    };
    let ours = by_name(
        alerts
            .iter()
            .map(|a| (a.name().to_string(), a.fingerprint.clone(), a.labels.clone()))
            .collect(),
    );
    let theirs = by_name(
        am.iter()
            .map(|m| {
                (
                    m.alert.name().to_string(),
                    m.alert.fingerprint.clone(),
                    m.alert.labels.clone(),
                )
            })
            .collect(),
    );
    assert_eq!(ours, theirs, "same label sets, same fingerprints");
    assert_eq!(ours["TargetDown"].0, TARGET_DOWN_FP);
    assert_eq!(ours["CockpitAlwaysFiring"].0, ALWAYS_FIRING_FP);
    for (fp, labels) in theirs.values() {
        assert_eq!(&fingerprint_of(labels), fp);
    }
    let target = alerts.iter().find(|a| a.name() == "TargetDown");
    assert_eq!(
        target.map(|a| a.starts_at),
        Some(time("2026-11-28T22:59:44.813266618Z"))
    );
    assert_eq!(
        target.and_then(|a| a.runbook_url()),
        Some("https://runbooks.example.invalid/TargetDown")
    );
}

#[test]
fn alertmanager_alerts_keep_fingerprints_labels_and_times() {
    let alerts = alertmanager::parse_alerts(&fixture("am_alerts")).unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(&str, &str, AlertState)> = alerts
        .iter()
        .map(|m| (m.alert.fingerprint.as_str(), m.alert.name(), m.alert.state))
        .collect();
    assert_eq!(
        summary,
        [
            (TARGET_DOWN_FP, "TargetDown", AlertState::Firing),
            (ALWAYS_FIRING_FP, "CockpitAlwaysFiring", AlertState::Firing)
        ]
    );
    let target = &alerts[0];
    assert_eq!(
        target.alert.labels,
        labels(&[
            ("alertname", "TargetDown"),
            ("instance", "127.0.0.1:19999"),
            ("job", "checkout-api"),
            ("severity", "page")
        ])
    );
    assert_eq!(target.alert.summary(), "checkout-api target 127.0.0.1:19999 is down");
    assert_eq!(target.alert.starts_at, time("2026-11-28T22:59:54.813Z"));
    assert_eq!(target.updated_at, Some(time("2026-11-28T23:00:19.817Z")));
    assert_eq!(
        target.alert.generator_url.as_deref(),
        Some("http://vm:19090/graph?g0.expr=up+%3D%3D+0&g0.tab=1")
    );
    assert!(target.alert.silenced_by.is_empty() && target.alert.inhibited_by.is_empty());
}

#[test]
fn a_suppressed_alert_is_silenced_by_the_silence_that_holds_it() {
    let after = alertmanager::parse_alerts(&fixture("am_alerts_after_silence")).unwrap_or_else(|e| panic!("{e}"));
    let states: Vec<(&str, AlertState, Vec<String>)> = after
        .iter()
        .map(|m| (m.alert.name(), m.alert.state, m.alert.silenced_by.clone()))
        .collect();
    assert_eq!(
        states,
        [
            ("TargetDown", AlertState::Silenced, vec![SILENCE_ID.to_string()]),
            ("CockpitAlwaysFiring", AlertState::Firing, vec![])
        ]
    );

    let only = alertmanager::parse_alerts(&fixture("am_alerts_only_silenced")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(only.len(), 1);
    assert_eq!(
        (only[0].alert.fingerprint.as_str(), only[0].alert.state),
        (TARGET_DOWN_FP, AlertState::Silenced)
    );
    assert_eq!(only[0].alert.silenced_by, [SILENCE_ID]);

    let unsilenced = alertmanager::parse_alerts(&fixture("am_alerts_silenced_false")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unsilenced.len(), 1);
    assert_eq!(
        (unsilenced[0].alert.fingerprint.as_str(), unsilenced[0].alert.state),
        (ALWAYS_FIRING_FP, AlertState::Firing)
    );
    assert_eq!(unsilenced[0].alert.severity(), Severity::Info);

    let filtered = alertmanager::parse_alerts(&fixture("am_alerts_filtered")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(filtered.len(), 1);
    assert_eq!(
        (filtered[0].alert.name(), filtered[0].alert.state),
        ("TargetDown", AlertState::Firing)
    );

    // Two answers for the same alerts (as from two HA members): the later update wins.
    let before = alertmanager::parse_alerts(&fixture("am_alerts")).unwrap_or_else(|e| panic!("{e}"));
    for members in [vec![before.clone(), after.clone()], vec![after, before]] {
        let merged = alertmanager::merge(members);
        let mut states: Vec<(&str, AlertState)> = merged.iter().map(|a| (a.fingerprint.as_str(), a.state)).collect();
        states.sort_by_key(|(fp, _)| *fp);
        assert_eq!(
            states,
            [
                (TARGET_DOWN_FP, AlertState::Silenced),
                (ALWAYS_FIRING_FP, AlertState::Firing)
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Silences

#[test]
fn silences_keep_their_matchers_including_the_regex_and_their_state() {
    let silences = alertmanager::parse_silences(&fixture("am_silences")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(silences.len(), 1);
    let s = &silences[0];
    assert_eq!(s.id, SILENCE_ID);
    assert_eq!(s.state, SilenceState::Active);
    assert_eq!(
        s.matchers,
        [
            Matcher::new("alertname", MatchOp::Equal, "TargetDown").unwrap_or_else(|e| panic!("{e}")),
            Matcher::new("job", MatchOp::Regex, "checkout-.*").unwrap_or_else(|e| panic!("{e}")),
        ]
    );
    assert_eq!(
        (s.created_by.as_str(), s.comment.as_str()),
        ("cockpit", "ack from incident cockpit")
    );
    assert_eq!(s.starts_at, time("2026-11-28T23:00:34.685Z"));
    assert_eq!(s.ends_at, time("2026-11-29T00:00:34.000Z"));
    // It holds exactly the alert Alertmanager said it silences.
    let alerts = alertmanager::parse_alerts(&fixture("am_alerts")).unwrap_or_else(|e| panic!("{e}"));
    let held: Vec<&str> = alerts
        .iter()
        .filter(|m| s.matches(&m.alert))
        .map(|m| m.alert.fingerprint.as_str())
        .collect();
    assert_eq!(held, [TARGET_DOWN_FP]);

    let one = alertmanager::parse_silence(&fixture("am_silence_get")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&one, s, "GET /silence/{{id}} is the listed silence");

    let expired =
        alertmanager::parse_silence(&fixture("am_silence_get_after_delete")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expired.state, SilenceState::Expired);
    assert_eq!(expired.id, SILENCE_ID);
    assert_eq!(expired.ends_at, time("2026-11-28T23:00:35.786Z"));
    assert_eq!(expired.matchers, s.matchers);
}

// ---------------------------------------------------------------------------------------------
// Alertmanager error shapes

#[test]
fn alertmanager_errors_are_status_errors_with_its_message() {
    let cases = [
        (
            "am_filter_bad",
            400,
            "matcher value contains unescaped double quote: page\"",
        ),
        ("am_silence_bad", 422, "matchers in body should have at least 1 items"),
        (
            "am_silence_bad2",
            400,
            "Failed to create silence: start time must be before end time",
        ),
        ("am_silence_delete_unknown", 500, "silence not found"),
    ];
    for (name, status, message) in cases {
        let r = fixture(name);
        let expected = FetchError::new(FetchErrorKind::Status(status), message);
        assert_eq!(alertmanager::status_error(&r), expected, "{name}");
        assert_eq!(
            alertmanager::parse_alerts(&r).map(|_| ()),
            Err(expected.clone()),
            "{name}"
        );
        assert_eq!(
            alertmanager::parse_silences(&r).map(|_| ()),
            Err(expected.clone()),
            "{name}"
        );
        assert_eq!(
            alertmanager::parse_silence(&r).map(|_| ()),
            Err(expected.clone()),
            "{name}"
        );
        assert_eq!(expected.to_string(), format!("HTTP {status}: {message}"));
    }
}

#[test]
fn answers_that_are_not_alert_or_silence_lists_are_decode_errors() {
    for name in NOT_LISTS {
        let r = fixture(name);
        assert!(r.is_success(), "{name}: {}", r.status);
        if name.starts_with("am_") {
            match alertmanager::parse_alerts(&r) {
                Err(e) => assert_decode(name, &e),
                Ok(a) => panic!("{name} parsed as alerts: {a:?}"),
            }
            match alertmanager::parse_silences(&r) {
                Err(e) => assert_decode(name, &e),
                Ok(s) => panic!("{name} parsed as silences: {s:?}"),
            }
            match alertmanager::parse_silence(&r) {
                Err(e) => assert_decode(name, &e),
                Ok(s) => panic!("{name} parsed as a silence: {s:?}"),
            }
        } else {
            assert_prom_decode(name, prometheus::parse_envelope(r.status, &r.body));
            assert_prom_decode(name, prometheus::parse_query(r.status, &r.body));
        }
    }
    // Prometheus answers are not Alertmanager lists, and the other way round.
    for name in ["prom_query_vector", "prom_alerts", "am_silence_post"] {
        match alertmanager::parse_alerts(&fixture(name)) {
            Err(e) => assert_decode(name, &e),
            Ok(a) => panic!("{name} parsed as alerts: {a:?}"),
        }
    }
    for name in ["am_alerts", "am_silences"] {
        let r = fixture(name);
        assert_prom_decode(name, prometheus::parse_query(r.status, &r.body));
        assert_prom_decode(
            name,
            prometheus::parse_alerts(r.status, &r.body, "", time("2026-11-28T23:00:00Z")),
        );
    }
    // A silence list is not one silence, nor one silence a list.
    match alertmanager::parse_silence(&fixture("am_silences")) {
        Err(e) => assert_decode("am_silences as one silence", &e),
        Ok(s) => panic!("a list parsed as one silence: {s:?}"),
    }
    match alertmanager::parse_silences(&fixture("am_silence_get")) {
        Err(e) => assert_decode("am_silence_get as a list", &e),
        Ok(s) => panic!("one silence parsed as a list: {s:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Garbage

const HTML: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

/// Bodies no parser may accept, with what they are.
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    let truncate = |name: &str| {
        let body = fixture(name).body;
        body[..body.len() / 2].to_vec()
    };
    vec![
        ("empty", Vec::new()),
        ("whitespace", b"  \n".to_vec()),
        ("truncated alerts", truncate("am_alerts")),
        ("truncated query", truncate("prom_query_range")),
        ("html", HTML.as_bytes().to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x80, b'{', 0xc3]),
        ("a number", b"42".to_vec()),
        ("null", b"null".to_vec()),
        ("an object", br#"{"data":[]}"#.to_vec()),
        ("numbers", b"[1,2,3]".to_vec()),
        ("objects of the wrong shape", br#"[{"name":"blackhole"}]"#.to_vec()),
        ("a string", br#""OK""#.to_vec()),
    ]
}

#[test]
fn garbage_is_a_decode_error_for_every_parser() {
    let now = time("2026-11-28T23:00:00Z");
    for (what, body) in garbage() {
        let r = Response { status: 200, body };
        match alertmanager::parse_alerts(&r) {
            Err(e) => assert_decode(what, &e),
            Ok(a) => panic!("{what} parsed as alerts: {a:?}"),
        }
        match alertmanager::parse_silences(&r) {
            Err(e) => assert_decode(what, &e),
            Ok(s) => panic!("{what} parsed as silences: {s:?}"),
        }
        match alertmanager::parse_silence(&r) {
            Err(e) => assert_decode(what, &e),
            Ok(s) => panic!("{what} parsed as a silence: {s:?}"),
        }
        assert_prom_decode(what, prometheus::parse_envelope(r.status, &r.body));
        assert_prom_decode(what, prometheus::parse_query(r.status, &r.body));
        assert_prom_decode(what, prometheus::parse_alerts(r.status, &r.body, "", now));
    }
}

#[test]
fn envelopes_of_the_wrong_shape_are_decode_errors() {
    let now = time("2026-11-28T23:00:00Z");
    let cases: &[(&str, &str)] = &[
        ("success without data", r#"{"status":"success"}"#),
        ("no status", r#"{"data":{"resultType":"vector","result":[]}}"#),
        (
            "unknown result type",
            r#"{"status":"success","data":{"resultType":"histogram","result":[]}}"#,
        ),
        ("no result type", r#"{"status":"success","data":{"result":[]}}"#),
        (
            "result is an object",
            r#"{"status":"success","data":{"resultType":"vector","result":{"a":1}}}"#,
        ),
        (
            "value not a number",
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795906804,"abc"]}]}}"#,
        ),
        (
            "value not a string",
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795906804,1]}]}}"#,
        ),
        (
            "time not a number",
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]}}"#,
        ),
        (
            "scalar not a pair",
            r#"{"status":"success","data":{"resultType":"scalar","result":"2"}}"#,
        ),
        (
            "string not a pair",
            r#"{"status":"success","data":{"resultType":"string","result":[1]}}"#,
        ),
        (
            "metric not labels",
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":[1]}]}}"#,
        ),
    ];
    for (what, body) in cases {
        assert_prom_decode(what, prometheus::parse_query(200, body.as_bytes()));
    }
    assert_prom_decode(
        "alerts without alerts",
        prometheus::parse_alerts(200, br#"{"status":"success","data":{}}"#, "", now),
    );
    assert_prom_decode(
        "an alert without labels",
        prometheus::parse_alerts(
            200,
            br#"{"status":"success","data":{"alerts":[{"state":"firing"}]}}"#,
            "",
            now,
        ),
    );
    // The special floats are values, not errors.
    let specials = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]},{"metric":{},"value":[1,"+Inf"]},{"metric":{},"value":[1,"-Inf"]}]}}"#;
    let QueryData::Vector(series) = prometheus::parse_query(200, specials).unwrap_or_else(|e| panic!("{e}")) else {
        panic!("not a vector")
    };
    let values: Vec<f64> = series.iter().map(|s| s.samples[0].value).collect();
    assert!(values[0].is_nan() && values[1] == f64::INFINITY && values[2] == f64::NEG_INFINITY);
}

#[test]
fn every_truncation_of_a_real_answer_is_a_decode_error() {
    let now = time("2026-11-28T23:00:00Z");
    for name in ["am_alerts", "am_silences"] {
        let body = fixture(name).body;
        let full = body.trim_ascii_end().len();
        for cut in 0..full {
            let r = Response {
                status: 200,
                body: body[..cut].to_vec(),
            };
            let alerts = alertmanager::parse_alerts(&r).map(|_| ());
            let silences = alertmanager::parse_silences(&r).map(|_| ());
            for result in [alerts, silences] {
                match result {
                    Err(e) => assert_decode(&format!("{name}[..{cut}]"), &e),
                    Ok(()) => panic!("{name} cut at {cut} of {full} parsed"),
                }
            }
        }
    }
    for name in [
        "prom_query_range",
        "prom_query_scalar",
        "prom_query_string",
        "prom_alerts",
    ] {
        let body = fixture(name).body;
        let full = body.trim_ascii_end().len();
        for cut in 0..full {
            let what = format!("{name}[..{cut}]");
            let result = if name == "prom_alerts" {
                prometheus::parse_alerts(200, &body[..cut], "", now).map(|_| ())
            } else {
                prometheus::parse_query(200, &body[..cut]).map(|_| ())
            };
            assert_prom_decode(&what, result);
        }
    }
}

/// A parser reduced to whether it accepted a response.
type Parse = fn(&Response) -> Result<(), FetchError>;

#[test]
fn garbage_with_an_error_status_is_that_status_with_one_short_line_of_the_body() {
    let parsers: [Parse; 3] = [
        |r: &Response| alertmanager::parse_alerts(r).map(|_| ()),
        |r: &Response| alertmanager::parse_silences(r).map(|_| ()),
        |r: &Response| {
            prometheus::parse_query(r.status, &r.body)
                .map(|_| ())
                .map_err(PromError::into_fetch_error)
        },
    ];
    for parse in parsers {
        let r = Response {
            status: 502,
            body: HTML.as_bytes().to_vec(),
        };
        assert_eq!(
            parse(&r),
            Err(FetchError::new(FetchErrorKind::Status(502), "502 Bad Gateway")),
            "an HTML error page is named by its title"
        );
        let r = Response {
            status: 503,
            body: Vec::new(),
        };
        assert_eq!(parse(&r), Err(FetchError::new(FetchErrorKind::Status(503), "")));
        let long = Response {
            status: 500,
            body: "x".repeat(10_000).into_bytes(),
        };
        let error = parse(&long).err().unwrap_or_else(|| panic!("a 500 parsed"));
        assert_eq!(error.kind, FetchErrorKind::Status(500));
        assert_eq!(
            error.detail.chars().count(),
            201,
            "cut to 200 characters and an ellipsis"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Answers to silence requests, replayed to the real Silencer

/// A loopback server that answers every request with one captured answer (status and body) and
/// reports each request line it received.
struct Replay {
    endpoint: Endpoint,
    requests: tokio::sync::mpsc::UnboundedReceiver<String>,
}

fn replay(name: &str) -> Replay {
    let answer = fixture(name);
    let headers_file = std::path::Path::new(FIXTURES).join(format!("{name}.headers"));
    let reason = std::fs::read_to_string(&headers_file)
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.splitn(3, ' ').nth(2).unwrap_or("").to_string())
        })
        .unwrap_or_else(|| "OK".into());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (tx, requests) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(LIMIT));
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => return,
            });
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let head = format!(
                "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.status,
                reason.trim(),
                answer.body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&answer.body);
            let _ = stream.flush();
            if tx.send(request_line.trim().to_string()).is_err() {
                return;
            }
        }
    });
    let endpoint = Endpoint::new(name, &format!("http://{addr}"), HttpPolicy::default(), None, None)
        .unwrap_or_else(|e| panic!("{e}"));
    Replay { endpoint, requests }
}

impl Replay {
    fn silencer(&self) -> Silencer {
        Silencer {
            members: vec![self.endpoint.clone()],
        }
    }

    async fn request(&mut self) -> String {
        tokio::time::timeout(LIMIT, self.requests.recv())
            .await
            .unwrap_or_else(|_| panic!("no request within {LIMIT:?}"))
            .unwrap_or_else(|| panic!("the replay server stopped"))
    }
}

fn postable() -> PostableSilence {
    let matchers = [
        Matcher::new("alertname", MatchOp::Equal, "TargetDown").unwrap_or_else(|e| panic!("{e}")),
        Matcher::new("job", MatchOp::Regex, "checkout-.*").unwrap_or_else(|e| panic!("{e}")),
    ];
    PostableSilence::new(
        &matchers,
        time("2026-11-28T23:00:34Z"),
        time("2026-11-29T00:00:34Z"),
        "cockpit",
        "ack from incident cockpit",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_silence_answers_with_its_id() {
    let mut server = replay("am_silence_post");
    let done = tokio::time::timeout(LIMIT, server.silencer().post(&postable()))
        .await
        .unwrap_or_else(|_| panic!("hang"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.id, SILENCE_ID);
    assert_eq!(done.member, "am_silence_post");
    assert!(!done.confirmed_after_timeout);
    assert_eq!(server.request().await, "POST /api/v2/silences HTTP/1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_silences_carry_alertmanager_message() {
    for (name, status, message) in [
        ("am_silence_bad", 422, "matchers in body should have at least 1 items"),
        (
            "am_silence_bad2",
            400,
            "Failed to create silence: start time must be before end time",
        ),
    ] {
        let mut server = replay(name);
        let result = tokio::time::timeout(LIMIT, server.silencer().post(&postable()))
            .await
            .unwrap_or_else(|_| panic!("hang"));
        assert_eq!(
            result,
            Err(SilenceError::Refused {
                member: name.to_string(),
                error: FetchError::new(FetchErrorKind::Status(status), message),
            })
        );
        assert_eq!(server.request().await, "POST /api/v2/silences HTTP/1.1");
    }
    // A success that is not a creation answer is reported, not taken as a silence.
    let server = replay("am_silence_get");
    let result = tokio::time::timeout(LIMIT, server.silencer().post(&postable()))
        .await
        .unwrap_or_else(|_| panic!("hang"));
    match result {
        Err(SilenceError::Refused { error, .. }) => assert_decode("a silence instead of its id", &error),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_succeeds_on_the_empty_answers_and_fails_on_silence_not_found() {
    for name in ["am_silence_delete", "am_silence_delete_again"] {
        let mut server = replay(name);
        let member = tokio::time::timeout(LIMIT, server.silencer().expire(SILENCE_ID))
            .await
            .unwrap_or_else(|_| panic!("hang"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(member, name);
        assert_eq!(
            server.request().await,
            format!("DELETE /api/v2/silence/{SILENCE_ID} HTTP/1.1")
        );
    }
    let mut server = replay("am_silence_delete_unknown");
    let result = tokio::time::timeout(LIMIT, server.silencer().expire("no-such-silence"))
        .await
        .unwrap_or_else(|_| panic!("hang"));
    let expected = SilenceError::Refused {
        member: "am_silence_delete_unknown".into(),
        error: FetchError::new(FetchErrorKind::Status(500), "silence not found"),
    };
    assert_eq!(result, Err(expected.clone()));
    assert_eq!(
        expected.to_string(),
        "am_silence_delete_unknown: HTTP 500: silence not found"
    );
    assert_eq!(
        server.request().await,
        "DELETE /api/v2/silence/no-such-silence HTTP/1.1"
    );
}
