//! SLO maths against a real Prometheus holding 31 days of backfilled counters of an Odin-like
//! service (tests/support/backfill.rs): first the fixture proves itself (Prometheus's own
//! `increase()` over every burn-rate window equals the generated model's exact values), then
//! warroom's budget and burn rates are checked against the same model. Skipped when Prometheus is
//! not installed, failing instead under CI=true.

#[allow(dead_code)]
#[path = "support/servers.rs"]
mod servers;

#[path = "support/backfill.rs"]
mod backfill;

use std::time::Instant;

use backfill::{Backfill, Sli};
use chrono::{DateTime, Duration, Utc};

/// The selector warroom's default SLOs put on every query.
const KEEP: &str = r#"route!~"/api/health|/static/.*""#;

/// The burn-rate windows, as PromQL writes them and as a duration.
fn windows() -> [(&'static str, Duration); 8] {
    [
        ("5m", Duration::minutes(5)),
        ("30m", Duration::minutes(30)),
        ("1h", Duration::hours(1)),
        ("2h", Duration::hours(2)),
        ("6h", Duration::hours(6)),
        ("1d", Duration::days(1)),
        ("3d", Duration::days(3)),
        ("30d", Duration::days(30)),
    ]
}

/// The single value of an instant query at `at`.
async fn scalar(prometheus: &backfill::Prometheus, query: &str, at: DateTime<Utc>) -> f64 {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/query", prometheus.url()),
        &[("query", query), ("time", &at.timestamp().to_string())],
    )
    .unwrap_or_else(|e| panic!("query url: {e}"));
    let Some((200, body)) = servers::http_get(url.as_str()).await else {
        panic!("{query}: no answer from Prometheus");
    };
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{query}: {e}: {body}"));
    let value = json["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("{query}: no single value in {body}"));
    value
        .parse()
        .unwrap_or_else(|e| panic!("{query}: value {value:?}: {e}"))
}

fn relative_error(measured: f64, expected: f64) -> f64 {
    ((measured - expected) / expected).abs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfilled_counters_match_the_generated_model() {
    let (Some(prometheus_bin), Some(promtool)) = (servers::require("prometheus"), servers::require("promtool")) else {
        return;
    };
    let scratch = servers::scratch();
    let fixture = Backfill::recent();
    let at = fixture.at;
    eprintln!(
        "backfill: history {} .. {}, incident {} .. {}, at {at}",
        fixture.start, fixture.end, fixture.incident_start, fixture.incident_end
    );

    let started = Instant::now();
    let blocks = fixture.write_blocks(&promtool, scratch.path());
    let backfilled = started.elapsed();
    let started = Instant::now();
    let prometheus = backfill::prometheus_with_blocks(&prometheus_bin, scratch.path(), &blocks).await;
    eprintln!(
        "backfill: generate + promtool {:.2} s, Prometheus ready {:.2} s later",
        backfilled.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // The fixture itself: Prometheus's increase() over each window equals the model's exact
    // increase (reset-aware, /api/health excluded) within 1 %.
    let count = format!("{}_count{{{KEEP}}}", backfill::METRIC);
    let errors = format!("{}_count{{{KEEP},status_code=~\"5..\"}}", backfill::METRIC);
    let good = format!("{}_bucket{{{KEEP},le=\"0.3\"}}", backfill::METRIC);
    let started = Instant::now();
    let mut failures = Vec::new();
    for sli in [Sli::Availability, Sli::Latency] {
        for (name, window) in windows() {
            let total = scalar(&prometheus, &format!("sum(increase({count}[{name}]))"), at).await;
            let bad = match sli {
                Sli::Availability => scalar(&prometheus, &format!("sum(increase({errors}[{name}]))"), at).await,
                Sli::Latency => total - scalar(&prometheus, &format!("sum(increase({good}[{name}]))"), at).await,
            };
            let (want_bad, want_total) = fixture.expected(sli, window, at);
            let (bad_error, total_error) = (relative_error(bad, want_bad), relative_error(total, want_total));
            eprintln!(
                "{sli:?} {name:>3}: bad {bad:.3} (model {want_bad:.3}, error {bad_error:.2e}), total {total:.3} (model {want_total:.3}, error {total_error:.2e}), burn {:.4}",
                fixture.burn_rate(sli, window, at)
            );
            if bad_error > 0.01 || total_error > 0.01 {
                failures.push(format!(
                    "{sli:?} {name}: Prometheus bad {bad} total {total}, model bad {want_bad} total {want_total}"
                ));
            }
        }
    }
    eprintln!(
        "backfill: 24 queries in {:.2} s; budget remaining at {at}: availability {:.4}, latency {:.4}",
        started.elapsed().as_secs_f64(),
        fixture.budget_remaining(Sli::Availability, at),
        fixture.budget_remaining(Sli::Latency, at)
    );
    assert!(
        failures.is_empty(),
        "Prometheus disagrees with the model by more than 1 %:\n{}",
        failures.join("\n")
    );

    // warroom itself, through the binary and its default SLOs (plus a strict one whose budget is
    // gone and one on a histogram that never recorded), evaluated inside the incident.
    let config = scratch.path().join("warroom.toml");
    std::fs::write(
        &config,
        format!(
            r#"[prometheus]
url = "{url}"

[[slo]]
name = "availability strict"
objective = 0.9999
errors = '{errors}'
total = '{count}'

[[slo]]
name = "queue wait"
objective = 0.99
histogram = 'odin_queue_wait_seconds'
le = "0.5"
"#,
            url = prometheus.url()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (report, code) = warroom_slo(&config, scratch.path(), at);
    assert_eq!(code, 1, "inside the incident the gate is closed: {report:#}");
    let slo = |name: &str| -> serde_json::Value {
        report["slos"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no SLO {name} in {report:#}"))
    };
    let mut mismatches = Vec::new();
    for (name, sli) in [("availability", Sli::Availability), ("latency", Sli::Latency)] {
        let s = slo(name);
        let budget = s["budget_remaining"].as_f64().unwrap_or(f64::NAN);
        let want = fixture.budget_remaining(sli, at);
        eprintln!(
            "warroom {name}: state {}, budget {budget:.4} (model {want:.4})",
            s["state"]
        );
        if relative_error(budget, want).is_nan() || relative_error(budget, want) > 0.01 {
            mismatches.push(format!("{name} budget remaining {budget}, model {want}"));
        }
        for (label, window) in windows() {
            let key = if label == "30d" { "window" } else { label };
            let burn = s["windows"][key]["burn_rate"].as_f64().unwrap_or(f64::NAN);
            let want = fixture.burn_rate(sli, window, at);
            if relative_error(burn, want).is_nan() || relative_error(burn, want) > 0.01 {
                mismatches.push(format!("{name} burn over {label}: warroom {burn}, model {want}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "warroom disagrees with the model by more than 1 %:\n{}",
        mismatches.join("\n")
    );
    // 50x over 5m and 41.75x over 1h: the fast-burn page. Latency burns 8x/6.7x: below every rule.
    assert_eq!(slo("availability")["state"], "PAGE");
    assert_eq!(slo("latency")["state"], "OK");
    assert!(slo("availability")["exhaustion_seconds"].as_i64().is_some());
    // At a 99.99 % objective the month's errors overspend the budget: releases are frozen.
    assert_eq!(slo("availability strict")["budget_exhausted"], true);
    assert_eq!(report["release_frozen"], true);
    assert_eq!(report["frozen_by"], serde_json::json!(["availability strict"]));
    // A histogram that never recorded is NO DATA, never healthy.
    assert_eq!(slo("queue wait")["state"], "NO DATA");
    assert!(
        slo("queue wait")["problem"]
            .as_str()
            .is_some_and(|p| p.contains("odin_queue_wait_seconds_count")),
        "{report:#}"
    );

    // Before the incident the same SLO is OK; after the counters stop it is STALE, not OK.
    let (before, _) = warroom_slo(&config, scratch.path(), fixture.incident_start - Duration::minutes(30));
    let after_end = fixture.end + Duration::minutes(15);
    let (after, _) = warroom_slo(&config, scratch.path(), after_end);
    let state_of = |report: &serde_json::Value, name: &str| {
        report["slos"]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["name"] == name))
            .map(|s| s["state"].clone())
    };
    assert_eq!(state_of(&before, "availability"), Some("OK".into()), "{before:#}");
    assert_eq!(state_of(&after, "availability"), Some("STALE".into()), "{after:#}");

    // The text form says the same, gate first.
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args([
            "--config",
            &config.display().to_string(),
            "slo",
            "--at",
            &at.to_rfc3339(),
        ])
        .env("WARROOM_DATA_DIR", scratch.path().join("data"))
        .output()
        .unwrap_or_else(|e| panic!("warroom slo: {e}"));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("RELEASES FROZEN: error budget exhausted (availability strict)"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("availability ") && l.contains("PAGE")),
        "{text}"
    );

    // A mitigation plan recorded (the audit log holds every one) lifts the freeze; the paging burn
    // still closes the gate. A plan recorded after the time asked about does not count.
    let store = warroom::journal::store::Store::new(&scratch.path().join("data"));
    let plan = |at: DateTime<Utc>, text: &str, service: &str| warroom::journal::file::Pending {
        id: warroom::journal::new_id(at),
        incident: None,
        occurred_at: at,
        recorded_at: at,
        actor: "alice".into(),
        event: warroom::domain::timeline::Event::MitigationPlan {
            plan: text.into(),
            service: service.into(),
            slos: vec!["availability strict".into()],
        },
        supersedes: None,
    };
    warroom::journal::file::append(
        &store.audit(),
        &[
            plan(at - Duration::minutes(10), "revert 1.4.2; canary gate on 5xx", "odin"),
            // Another service's plan, recorded later, answers nothing here.
            plan(at - Duration::minutes(5), "search: shed load", "search"),
        ],
        &warroom::domain::redact::Redactor::new(warroom::domain::redact::RedactionRules::default()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (planned, code) = warroom_slo(&config, scratch.path(), at);
    assert_eq!(planned["release_frozen"], false, "{planned:#}");
    assert_eq!(planned["frozen_by"], serde_json::json!(["availability strict"]));
    assert_eq!(planned["mitigation"]["plan"], "revert 1.4.2; canary gate on 5xx");
    assert_eq!(planned["mitigation"]["by"], "alice");
    assert_eq!(code, 1, "availability still pages");
    let (earlier, _) = warroom_slo(&config, scratch.path(), at - Duration::minutes(20));
    assert!(earlier["mitigation"].is_null(), "the plan came later: {earlier:#}");
    // Retracted (retractions are audited), it lifts nothing.
    let plan_id = planned_id(&store);
    let retraction = warroom::journal::file::Pending {
        id: warroom::journal::new_id(at - Duration::minutes(2)),
        incident: None,
        occurred_at: at - Duration::minutes(2),
        recorded_at: at - Duration::minutes(2),
        actor: "bob".into(),
        event: warroom::domain::timeline::Event::Retracted {
            reason: "not the right plan".into(),
        },
        supersedes: Some(plan_id),
    };
    assert!(retraction.event.is_audited());
    warroom::journal::file::append(
        &store.audit(),
        &[retraction],
        &warroom::domain::redact::Redactor::new(warroom::domain::redact::RedactionRules::default()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (withdrawn, _) = warroom_slo(&config, scratch.path(), at);
    assert!(withdrawn["mitigation"].is_null(), "{withdrawn:#}");
    assert_eq!(withdrawn["release_frozen"], true);
}

/// The id of odin's mitigation plan in the audit log.
fn planned_id(store: &warroom::journal::store::Store) -> String {
    let readable = warroom::journal::file::read_all(&store.audit().file).unwrap_or_else(|e| panic!("{e}"));
    readable
        .records
        .iter()
        .find(|r| matches!(&r.body.event, warroom::domain::timeline::Event::MitigationPlan { service, .. } if service == "odin"))
        .map(|r| r.body.id.clone())
        .unwrap_or_else(|| panic!("no plan in the audit log"))
}

/// `warroom slo --json --at AT` with `config`: the parsed report and the exit code.
fn warroom_slo(config: &std::path::Path, scratch: &std::path::Path, at: DateTime<Utc>) -> (serde_json::Value, i32) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args([
            "--config",
            &config.display().to_string(),
            "slo",
            "--json",
            "--at",
            &at.to_rfc3339(),
        ])
        .env("WARROOM_DATA_DIR", scratch.join("data"))
        .output()
        .unwrap_or_else(|e| panic!("warroom slo: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "warroom slo --json printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.code().unwrap_or(-1))
}
