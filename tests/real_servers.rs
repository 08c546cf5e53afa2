//! The cockpit and `warroom status` against real Prometheus and Alertmanager processes started on
//! free loopback ports with this test's own configuration and rules: what the Alerts pane lists is
//! what Alertmanager itself returns, silences created and expired from the keyboard take effect in
//! Alertmanager (and reach the audit log), a killed Alertmanager makes the pane stale while it
//! keeps its data, and with no Alertmanager answering the alerts come from Prometheus. Skipped
//! when the servers are not installed, failing instead under CI=true.

#[path = "support/cockpit.rs"]
mod cockpit;
#[path = "support/servers.rs"]
mod servers;
mod support;

use std::path::Path;

use cockpit::{Cockpit, LIMIT};
use servers::*;
use warroom::app::msg::{AlertVia, SourceKind};
use warroom::app::state::AppState;
use warroom::domain::alert::AlertState;
use warroom::domain::health::SourceHealth;

fn health<'a>(state: &'a AppState, name: &str) -> &'a SourceHealth {
    &state
        .sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name}"))
        .health
}

/// (fingerprint, alertname, state) of the active alerts the cockpit lists.
fn listed(state: &AppState) -> Vec<(String, String, &'static str)> {
    let mut out: Vec<_> = state
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state.is_active())
        .map(|a| {
            let s = match a.state {
                AlertState::Silenced | AlertState::Inhibited => "suppressed",
                _ => "active",
            };
            (a.fingerprint.clone(), a.name().to_string(), s)
        })
        .collect();
    out.sort();
    out
}

fn as_listed(am: Vec<(String, String, String, usize)>) -> Vec<(String, String, &'static str)> {
    am.into_iter()
        .map(|(fp, name, state, _)| (fp, name, if state == "suppressed" { "suppressed" } else { "active" }))
        .collect()
}

const PAGE_A: &[(&str, &str)] = &[
    ("alertname", "OdinHighErrorRate"),
    ("severity", "page"),
    ("service", "odin"),
    ("instance", "odin-1"),
];
const PAGE_B: &[(&str, &str)] = &[
    ("alertname", "OdinHighErrorRate"),
    ("severity", "page"),
    ("service", "odin"),
    ("instance", "odin-2"),
];
const DISK: &[(&str, &str)] = &[("alertname", "DiskFull"), ("severity", "warning"), ("service", "db")];
const SUMMARY: &[(&str, &str)] = &[
    ("summary", "5xx ratio above 5 %"),
    ("runbook_url", "runbook://high-error-rate"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alerts_pane_lists_what_alertmanager_holds_and_silences_round_trip() {
    let Some(am_bin) = require("prometheus-alertmanager") else {
        return;
    };
    let dir = scratch();
    let am = alertmanager(&am_bin, dir.path()).await;
    post_alerts(
        &am,
        &[
            (PAGE_A, SUMMARY),
            (PAGE_B, SUMMARY),
            (DISK, &[("summary", "disk 95% full")]),
        ],
    )
    .await;
    // An HA pair whose second member is down: one live member is enough.
    let dead = free_port();
    let config = format!(
        r#"
[[alertmanager]]
name = "am-live"
url = "{}"
interval = "1s"
[[alertmanager]]
name = "am-dead"
url = "http://127.0.0.1:{dead}"
interval = "1s"
"#,
        am.url()
    );
    let mut c = Cockpit::start(&config, dir.path());
    c.until("three alerts listed", |s| listed(s).len() == 3).await;
    assert_eq!(
        listed(c.state()),
        as_listed(am_alerts(&am).await),
        "the pane lists what Alertmanager returns"
    );
    assert_eq!(c.state().alerts.via, Some(AlertVia::Alertmanager));
    c.until("the dead member is stale", |s| health(s, "am-dead").is_stale())
        .await;
    assert!(matches!(health(c.state(), "am-live"), SourceHealth::Fresh { .. }));
    let screen = c.screen();
    assert!(
        screen.contains("▾ alertname=OdinHighErrorRate service=odin"),
        "{screen}"
    );
    assert!(screen.contains("DiskFull"), "{screen}");

    // Silence the disk alert from the keyboard: the confirmation starts on Cancel.
    c.press("1 /");
    c.type_text("alertname=DiskFull");
    c.press("enter s");
    c.type_text("cleanup running");
    c.press("enter enter");
    assert!(
        c.state().modal.is_some(),
        "Enter on the default choice cancels back to the editor"
    );
    assert!(am_alerts(&am).await.iter().all(|a| a.3 == 0), "nothing was sent");
    c.press("enter right enter");
    c.until("the disk alert is silenced", |s| {
        s.alerts
            .book
            .alerts()
            .iter()
            .any(|a| a.name() == "DiskFull" && a.state == AlertState::Silenced)
    })
    .await;
    let in_am = am_alerts(&am).await;
    let disk = in_am.iter().find(|a| a.1 == "DiskFull");
    assert_eq!(disk.map(|a| (a.2.as_str(), a.3)), Some(("suppressed", 1)), "{in_am:?}");
    assert_eq!(listed(c.state()), as_listed(in_am));
    let silence = &c.state().alerts.silences[0];
    assert_eq!(silence.comment, "cleanup running");
    assert_eq!(silence.created_by, "oncall");

    // Extend it by two hours from the silence list (the confirmation starts on Cancel too).
    let ends = silence.ends_at;
    c.press("esc S e");
    for _ in 0..2 {
        c.press("backspace");
    }
    c.type_text("2h");
    c.press("enter enter");
    assert_eq!(c.state().alerts.silences[0].ends_at, ends, "Cancel sent nothing");
    c.press("e enter right enter");
    c.until("the silence ends later", |s| {
        s.alerts.silences.iter().any(|x| {
            x.state == warroom::domain::silence::SilenceState::Active
                && x.ends_at > ends + chrono::Duration::minutes(59)
        })
    })
    .await;
    let listed = http_get(&format!("{}/api/v2/silences", am.url()))
        .await
        .map(|(_, b)| b)
        .unwrap_or_default();
    assert!(listed.contains("cleanup running"), "{listed}");

    // Expire it from the silence list.
    c.press("x right enter");
    c.until("the disk alert fires again", |s| {
        s.alerts
            .book
            .alerts()
            .iter()
            .any(|a| a.name() == "DiskFull" && a.state == AlertState::Firing)
    })
    .await;
    let in_am = am_alerts(&am).await;
    assert!(in_am.iter().all(|a| a.2 == "active"), "{in_am:?}");

    // Every action is in the audit log, with no incident open.
    c.until("the audit log holds every action", |_| {
        let text = std::fs::read_to_string(dir.path().join("audit/journal.jsonl")).unwrap_or_default();
        text.contains("silence.created") && text.contains("silence.extended") && text.contains("silence.expired")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_alertmanager_makes_the_pane_stale_and_a_restart_makes_it_fresh() {
    let Some(am_bin) = require("prometheus-alertmanager") else {
        return;
    };
    let dir = scratch();
    let mut am = alertmanager(&am_bin, dir.path()).await;
    post_alerts(&am, &[(PAGE_A, SUMMARY)]).await;
    let config = format!("[[alertmanager]]\nurl = \"{}\"\ninterval = \"1s\"\n", am.url());
    let mut c = Cockpit::start(&config, dir.path());
    c.until("the alert is listed", |s| listed(s).len() == 1).await;

    am.kill();
    c.until("alertmanager is stale", |s| health(s, "alertmanager").is_stale())
        .await;
    let SourceHealth::Stale { error, last_ok, .. } = health(c.state(), "alertmanager").clone() else {
        unreachable!()
    };
    assert!(last_ok.is_some());
    assert_eq!(listed(c.state()).len(), 1, "the stale pane keeps its data");
    let screen = c.screen();
    assert!(screen.contains("STALE"), "{screen}");
    assert!(screen.contains("OdinHighErrorRate"), "{screen}");
    // Zoomed, the pane has room for the whole error.
    c.press("1 z");
    let screen = c.screen();
    assert!(screen.contains(&error.to_string()), "{error}\n{screen}");
    assert!(screen.contains("OdinHighErrorRate"), "{screen}");
    c.press("esc");

    am.restart().await;
    post_alerts(&am, &[(PAGE_A, SUMMARY)]).await;
    c.until("alertmanager is fresh again", |s| {
        matches!(health(s, "alertmanager"), SourceHealth::Fresh { .. })
    })
    .await;
    assert_eq!(listed(c.state()), as_listed(am_alerts(&am).await));
}

const RULES: &str = r#"groups:
  - name: warroom-test
    rules:
      - alert: WarroomTestAlwaysFiring
        expr: vector(1)
        labels:
          severity: page
          service: odin
        annotations:
          summary: fires on the first evaluation
"#;

fn signals_config(prom: &str, am: &str) -> String {
    format!(
        r#"
[prometheus]
url = "{prom}"
interval = "1s"
[[alertmanager]]
url = "{am}"
interval = "1s"
[[signals]]
name = "ratio"
query = 'vector(0.08)'
unit = "percent"
warn = 0.01
crit = 0.05
[[signals]]
name = "broken"
query = 'sum(rate(x[5m])'
[[signals]]
name = "absent"
query = 'warroom_metric_that_does_not_exist'
[[signals]]
name = "clash"
query = 'vector(1) * on() group_left() (label_replace(vector(1), "x", "1", "", "") or label_replace(vector(1), "x", "2", "", ""))'
[[signals]]
name = "scalar"
query = 'scalar(vector(3))'
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_show_values_and_every_failure_and_alerts_fall_back_to_prometheus() {
    let Some(prom_bin) = require("prometheus") else { return };
    let dir = scratch();
    let prom = prometheus(&prom_bin, dir.path(), RULES, None).await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut c = Cockpit::start(&signals_config(&prom.url(), &dead), dir.path());
    c.until("signals read", |s| s.signals.readings.len() == 5).await;
    let states: Vec<(String, &str, Option<f64>)> = c
        .state()
        .signals
        .readings
        .iter()
        .map(|r| (r.spec.name.clone(), r.state_word(), r.value))
        .collect();
    assert_eq!(
        states,
        [
            ("ratio".to_string(), "CRIT", Some(0.08)),
            ("broken".to_string(), "INVALID", None),
            ("absent".to_string(), "NO DATA", None),
            ("clash".to_string(), "FAILED", None),
            ("scalar".to_string(), "OK", Some(3.0)),
        ]
    );
    assert!(
        c.state().signals.readings[0]
            .history
            .iter()
            .any(|v| (v - 0.08).abs() < 1e-9)
    );

    c.until("alerts come from Prometheus", |s| {
        s.alerts.via == Some(AlertVia::PrometheusFallback)
            && s.alerts
                .book
                .alerts()
                .iter()
                .any(|a| a.name() == "WarroomTestAlwaysFiring")
    })
    .await;
    assert!(health(c.state(), "alertmanager").is_stale());
    let screen = c.screen();
    assert!(screen.contains("VIA PROMETHEUS"), "{screen}");
    assert!(screen.contains("INVALID"), "{screen}");
    assert!(c.state().sources.iter().any(|s| s.kind == SourceKind::Prometheus));
}

/// Runs `warroom status --json` with `config`; returns the exit code and the parsed report.
fn status(config: &str, dir: &Path) -> (i32, serde_json::Value) {
    let file = dir.join(format!("status-{}.toml", free_port()));
    std::fs::write(&file, config).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["--config", &file.display().to_string(), "status", "--json"])
        .env("WARROOM_DATA_DIR", dir.join("data"))
        .output()
        .unwrap_or_else(|e| panic!("run warroom: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "status --json printed no JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn fingerprints(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    (
                        a["fingerprint"].as_str().unwrap_or("").to_string(),
                        a["alertname"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_reports_what_alertmanager_holds_with_documented_exit_codes() {
    let (Some(am_bin), Some(prom_bin)) = (require("prometheus-alertmanager"), require("prometheus")) else {
        return;
    };
    let dir = scratch();
    let mut am = alertmanager(&am_bin, dir.path()).await;
    let am_only = format!("[[alertmanager]]\nurl = \"{}\"\n", am.url());

    let (code, report) = status(&am_only, dir.path());
    assert_eq!(
        (code, report["alerts"].as_array().map(Vec::len)),
        (0, Some(0)),
        "{report}"
    );

    post_alerts(&am, &[(DISK, &[])]).await;
    let (code, report) = status(&am_only, dir.path());
    assert_eq!(code, 0, "a warning is not a page: {report}");

    post_alerts(&am, &[(PAGE_A, SUMMARY), (PAGE_B, SUMMARY)]).await;
    let (code, report) = status(&am_only, dir.path());
    assert_eq!(code, 1, "{report}");
    let theirs: Vec<(String, String)> = am_alerts(&am).await.into_iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(fingerprints(&report), theirs);
    assert_eq!(report["alerts_via"], "alertmanager");

    // Alertmanager down, no fallback: a source is unreachable.
    am.kill();
    let (code, report) = status(&am_only, dir.path());
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["sources"][0]["health"], "stale");

    // Alertmanager down with Prometheus configured: its alerts, said to come from it.
    let prom = prometheus(&prom_bin, dir.path(), RULES, None).await;
    let with_prom = format!("{am_only}[prometheus]\nurl = \"{}\"\n", prom.url());
    wait_for("prometheus evaluates its rule", LIMIT, || async {
        http_get(&format!("{}/api/v1/alerts", prom.url()))
            .await
            .is_some_and(|(_, body)| body.contains("firing"))
    })
    .await;
    let (code, report) = status(&with_prom, dir.path());
    assert_eq!(report["alerts_via"], "prometheus-fallback", "{report}");
    assert_eq!(code, 1, "a page firing in Prometheus: {report}");
    assert_eq!(fingerprints(&report).len(), 1);
}
