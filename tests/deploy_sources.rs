//! The deploy sources against the APIs they read. GitHub (the deployments list and each one's
//! newest status) and Argo CD (an application with its history, a running sync) are replayed by a
//! loopback server from the documented shapes (tests/fixtures/deploys), including their error
//! bodies (401, 404, 500), which must become the source's error text. The command source runs a
//! good fixture and a malformed one. A feed's updates go through `update` into the Deploys pane.
//! Every wait is for a condition (with a hang guard), never a fixed time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::{mpsc, watch};
use warroom::app::msg::{Msg, SourceKind};
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::config::{DeployConfig, GithubConfig};
use warroom::domain::correlation::{self, ServiceMatch};
use warroom::domain::deploy::{Deploy, DeployKind, DeployStatus};
use warroom::domain::health::{FetchError, FetchErrorKind, SourceHealth};
use warroom::sources::clock::TimeSource;
use warroom::sources::deploys::{
    self, ArgoCdSource, CommandSource, Context, DeployError, DeployFeed, DeploySource, GithubSource,
};

#[path = "support/replay.rs"]
mod replay;
use replay::{Asked, Replay, Route, TOKEN};

/// A hang guard, not a speed assertion.
const LIMIT: Duration = Duration::from_secs(30);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploys")
}

fn fixture(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn github_routes() -> Vec<Route> {
    vec![
        ("/repos/acme/odin/deployments", 200, fixture("github_deployments.json")),
        (
            "/repos/acme/odin/deployments/303/statuses",
            200,
            fixture("github_statuses_303.json"),
        ),
        (
            "/repos/acme/odin/deployments/302/statuses",
            200,
            fixture("github_statuses_302.json"),
        ),
        (
            "/repos/acme/odin/deployments/301/statuses",
            200,
            fixture("github_statuses_301.json"),
        ),
        (
            "/repos/acme/odin/deployments/300/statuses",
            200,
            fixture("github_statuses_300.json"),
        ),
    ]
}

fn github(server: &Replay) -> GithubSource {
    GithubSource::new("gh", server.endpoint("gh"), "acme/odin", Some("production".into()))
}

fn argocd(server: &Replay) -> ArgoCdSource {
    ArgoCdSource::new("argo", server.endpoint("argo"), "checkout", "production")
}

/// The Argo CD source's deploys when the application is the fixture `name`, and the server.
async fn argocd_answering(name: &str) -> (Replay, Vec<Deploy>) {
    let server = Replay::start(vec![("/api/v1/applications/checkout", 200, fixture(name))]).await;
    let deploys = DeploySource::ArgoCd(argocd(&server))
        .fetch()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (server, deploys)
}

/// The fields a person reads in the pane, in order.
fn rows(deploys: &[Deploy]) -> Vec<(String, String, String, DeployKind, DeployStatus)> {
    deploys
        .iter()
        .map(|d| (d.id.clone(), d.version.clone(), d.author.clone(), d.kind, d.status))
        .collect()
}

fn error_of(result: Result<Vec<Deploy>, DeployError>) -> FetchError {
    match result {
        Ok(d) => panic!("expected an error, got {d:?}"),
        Err(e) => e.into_fetch_error(),
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub

#[tokio::test]
async fn github_deployments_come_with_their_newest_status() {
    let server = Replay::start(github_routes()).await;
    let deploys = DeploySource::Github(github(&server))
        .fetch()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    use DeployKind::{Deploy as D, Migration as M};
    use DeployStatus::{Failed, InProgress, Succeeded};
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows(&deploys),
        [
            (s("gh/303"), s("v1.5.0"), s("ana"), D, InProgress),
            (s("gh/302"), s("1ab3c5d"), s("bo"), M, Failed),
            (s("gh/301"), s("v1.4.9"), s("ana"), D, Succeeded),
            (s("gh/300"), s("v1.4.8"), s(""), D, InProgress),
        ]
    );
    // Started when created; finished when the newest status is terminal.
    assert_eq!(deploys[0].started_at, utc("2026-11-28T22:50:00Z"));
    assert_eq!(deploys[0].finished_at, None, "in progress");
    assert_eq!(deploys[1].finished_at, Some(utc("2026-11-28T22:31:00Z")));
    assert_eq!(deploys[2].finished_at, Some(utc("2026-11-28T20:06:00Z")));
    assert_eq!(
        deploys[2].duration(utc("2026-11-29T00:00:00Z")),
        chrono::Duration::minutes(6)
    );
    assert!(
        deploys
            .iter()
            .all(|d| d.service == "odin" && d.environment == "production")
    );

    let asked = server.requests();
    let list = asked
        .iter()
        .find(|a| a.path == "/repos/acme/odin/deployments")
        .unwrap_or_else(|| panic!("no list request: {asked:?}"));
    assert_eq!(list.params.get("environment").map(String::as_str), Some("production"));
    let statuses: Vec<&Asked> = asked.iter().filter(|a| a.path.ends_with("/statuses")).collect();
    assert_eq!(statuses.len(), 4, "one status request per deployment");
    assert!(
        statuses
            .iter()
            .all(|a| a.params.get("per_page").map(String::as_str) == Some("1"))
    );
    let bearer = format!("Bearer {TOKEN}");
    assert!(
        asked
            .iter()
            .all(|a| a.authorization.as_deref() == Some(bearer.as_str()))
    );
    // GitHub's media type and API version, as its documentation asks.
    for a in &asked {
        assert_eq!(
            a.headers.get("accept").map(String::as_str),
            Some("application/vnd.github+json")
        );
        assert_eq!(
            a.headers.get("x-github-api-version").map(String::as_str),
            Some("2022-11-28")
        );
    }
}

#[tokio::test]
async fn github_error_bodies_become_the_source_error() {
    let cases: Vec<(Vec<Route>, FetchErrorKind, &str)> = vec![
        (
            vec![(
                "/repos/acme/odin/deployments",
                401,
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#.into(),
            )],
            FetchErrorKind::Status(401),
            "HTTP 401: GitHub deployments: Bad credentials",
        ),
        (
            Vec::new(),
            FetchErrorKind::Status(404),
            "HTTP 404: GitHub deployments: Not Found",
        ),
        (
            {
                let mut routes = github_routes();
                routes.retain(|(p, _, _)| !p.contains("/302/"));
                routes.push((
                    "/repos/acme/odin/deployments/302/statuses",
                    500,
                    "upstream exploded\n".into(),
                ));
                routes
            },
            FetchErrorKind::Status(500),
            "HTTP 500: GitHub statuses of deployment 302: upstream exploded",
        ),
        (
            vec![("/repos/acme/odin/deployments", 200, r#"[{"id":"x"}]"#.into())],
            FetchErrorKind::Decode,
            "bad response: bad JSON from GitHub deployments: invalid type: string \"x\", expected u64 at line 1 column 10",
        ),
    ];
    for (routes, kind, text) in cases {
        let server = Replay::start(routes).await;
        let error = error_of(DeploySource::Github(github(&server)).fetch().await);
        assert_eq!(error.kind, kind, "{error}");
        assert_eq!(error.to_string(), text);
        assert!(!error.to_string().contains(TOKEN));
    }
}

// ---------------------------------------------------------------------------------------------
// Argo CD

#[tokio::test]
async fn argocd_history_is_newest_first_and_the_current_one_shows_the_health() {
    let (server, deploys) = argocd_answering("argocd_application.json").await;
    use DeployKind::Deploy as D;
    use DeployStatus::{Failed, Succeeded};
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows(&deploys),
        [
            (s("argo/8"), s("9f2c4e1"), s("admin"), D, Failed),
            (s("argo/7"), s("1ab3c5d"), s("bo"), D, Succeeded),
            (s("argo/6"), s("0c0ffee"), s("automated"), D, Succeeded),
        ],
        "the Degraded app's current deploy is failed; the succeeded sync adds no row of its own"
    );
    assert_eq!(
        deploys[0].note, "Synced · Degraded",
        "the app's state is on the current deploy"
    );
    assert!(deploys[1..].iter().all(|d| d.note.is_empty()));
    assert_eq!(deploys[0].started_at, utc("2026-11-28T22:55:00Z"));
    assert_eq!(deploys[0].finished_at, Some(utc("2026-11-28T22:56:30Z")));
    assert_eq!(
        deploys[1].started_at,
        utc("2026-11-28T12:00:00Z"),
        "no deployStartedAt: deployedAt"
    );
    assert!(
        deploys
            .iter()
            .all(|d| d.service == "checkout" && d.environment == "production")
    );
    let asked = server.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn argocd_running_sync_comes_first_in_progress() {
    let (_server, deploys) = argocd_answering("argocd_syncing.json").await;
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows(&deploys),
        [
            (
                s("argo/op-1795906800"),
                s("abcdef0"),
                s("ana"),
                DeployKind::Deploy,
                DeployStatus::InProgress
            ),
            (
                s("argo/7"),
                s("1ab3c5d"),
                s("bo"),
                DeployKind::Deploy,
                DeployStatus::Succeeded
            ),
        ]
    );
    assert_eq!(deploys[0].finished_at, None);
}

#[tokio::test]
async fn argocd_error_bodies_become_the_source_error() {
    let grpc =
        |error: &str, code: u8| format!(r#"{{"error":"{error}","code":{code},"message":"{error}","details":[]}}"#);
    let cases = vec![
        (
            401,
            grpc("invalid session: token is expired", 16),
            "HTTP 401: Argo CD application checkout: invalid session: token is expired",
        ),
        (
            404,
            grpc("applications.argoproj.io \\\"checkout\\\" not found", 5),
            "HTTP 404: Argo CD application checkout: applications.argoproj.io \"checkout\" not found",
        ),
        (
            500,
            "<html><head><title>500 Internal Server Error</title></head></html>".to_string(),
            "HTTP 500: Argo CD application checkout: 500 Internal Server Error",
        ),
    ];
    for (status, body, text) in cases {
        let server = Replay::start(vec![("/api/v1/applications/checkout", status, body)]).await;
        let error = error_of(DeploySource::ArgoCd(argocd(&server)).fetch().await);
        assert_eq!(error.kind, FetchErrorKind::Status(status));
        assert_eq!(error.to_string(), text);
    }
}

// ---------------------------------------------------------------------------------------------
// The command source

fn command(argv: &[&str]) -> CommandSource {
    CommandSource::new(
        "helm",
        argv.iter().map(|s| s.to_string()).collect(),
        "odin",
        Some(&fixtures()),
    )
}

#[tokio::test]
async fn command_output_in_the_documented_schema_becomes_deploys() {
    let deploys = DeploySource::Command(command(&["cat", "command_history.json"]))
        .fetch()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows(&deploys),
        [
            (
                s("helm/2026_11_28_add_orders_index@1795906200"),
                s("2026_11_28_add_orders_index"),
                s("bo"),
                DeployKind::Migration,
                DeployStatus::InProgress
            ),
            (
                s("helm/rev-12"),
                s("1.4.2"),
                s("ana"),
                DeployKind::Deploy,
                DeployStatus::Succeeded
            ),
            (
                s("helm/rev-11"),
                s("1.4.1"),
                s("ana"),
                DeployKind::Rollback,
                DeployStatus::RolledBack
            ),
        ]
    );
    assert_eq!(deploys[0].service, "odin-db");
    assert_eq!(deploys[1].service, "odin", "no service: [service].name");
    assert_eq!(deploys[1].finished_at, Some(utc("2026-11-28T22:46:00Z")));
}

#[tokio::test]
async fn malformed_command_output_says_what_is_wrong_and_where() {
    let error = error_of(
        DeploySource::Command(command(&["cat", "command_malformed.json"]))
            .fetch()
            .await,
    );
    assert_eq!(error.kind, FetchErrorKind::Decode);
    let text = error.to_string();
    assert!(
        text.starts_with("bad response: bad JSON from `cat command_malformed.json`: "),
        "{text}"
    );
    assert!(text.contains("at line 3 column"), "{text}");
    assert!(
        text.contains("input contains invalid characters") || text.contains("premature end"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_command_reports_its_status_and_stderr() {
    let error = error_of(
        DeploySource::Command(command(&["sh", "-c", "echo 'Error: release: not found' >&2; exit 1"]))
            .fetch()
            .await,
    );
    assert_eq!(error.kind, FetchErrorKind::Exited(1));
    assert!(
        error
            .to_string()
            .ends_with("exited with status 1: Error: release: not found"),
        "{error}"
    );

    let missing = error_of(
        DeploySource::Command(command(&["/nonexistent/helm-history"]))
            .fetch()
            .await,
    );
    assert!(
        missing.to_string().contains("cannot start `/nonexistent/helm-history`"),
        "{missing}"
    );

    let mut slow = command(&["sleep", "30"]);
    slow.timeout = Duration::from_millis(200);
    let timed_out = error_of(DeploySource::Command(slow).fetch().await);
    assert_eq!(timed_out.kind, FetchErrorKind::Timeout, "{timed_out}");
}

// ---------------------------------------------------------------------------------------------
// Through the feed and `update` into the pane

#[tokio::test]
async fn feeds_are_registered_from_the_config_and_fill_the_pane_newest_first() {
    let server = Replay::start(github_routes()).await;
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    let configs = vec![
        DeployConfig {
            name: "github".into(),
            github: Some(GithubConfig {
                repo: Some("acme/odin".into()),
                environment: Some("production".into()),
                api_url: Some(format!("http://{}", server.addr)),
                ..GithubConfig::default()
            }),
            ..DeployConfig::default()
        },
        DeployConfig {
            name: "helm".into(),
            command: Some(vec!["cat".into(), "command_history.json".into()]),
            ..DeployConfig::default()
        },
        DeployConfig {
            name: "broken".into(),
            ..DeployConfig::default()
        },
        DeployConfig {
            name: "off".into(),
            enabled: false,
            ..DeployConfig::default()
        },
    ];
    let context = Context {
        service: "odin",
        environment: "production",
        base_dir: &fixtures(),
    };
    let feeds = deploys::build(&configs, context, &|_| None, &mut state);
    assert_eq!(feeds.len(), 2);
    let registered: Vec<(SourceKind, String)> = state.sources.iter().map(|s| (s.kind, s.name.clone())).collect();
    for name in ["github", "helm", "broken"] {
        assert!(
            registered.contains(&(SourceKind::Deploys, name.into())),
            "{registered:?}"
        );
    }
    assert!(!registered.iter().any(|(_, n)| n == "off"));
    let broken = state
        .sources
        .iter()
        .find(|s| s.name == "broken")
        .map(|s| s.health.clone());
    assert!(
        matches!(&broken, Some(SourceHealth::Disabled { reason }) if reason.contains("github, argocd or command")),
        "{broken:?}"
    );

    let (tx, mut rx) = mpsc::channel(16);
    let (_refresh, refresh_rx) = watch::channel(0u64);
    let ids: Vec<_> = feeds.iter().map(|f| f.source).collect();
    let tasks: Vec<_> = feeds
        .into_iter()
        .map(|f| tokio::spawn(f.run(TimeSource::Real, tx.clone(), refresh_rx.clone())))
        .collect();
    let now = utc("2026-11-28T23:00:00Z");
    let mut answered = Vec::new();
    while answered.len() < ids.len() {
        match tokio::time::timeout(LIMIT, rx.recv()).await {
            Ok(Some(Msg::Source(u))) => {
                assert!(u.result.is_ok(), "{:?}", u.result);
                answered.push(u.source);
                let _ = update(&mut state, Msg::Source(u), now);
            }
            Ok(_) => panic!("the feeds stopped"),
            Err(_) => panic!("no answer within {LIMIT:?}; got {answered:?}"),
        }
    }
    for t in tasks {
        t.abort();
    }
    for id in ids {
        assert!(
            matches!(state.source(id).map(|s| &s.health), Some(SourceHealth::Fresh { .. })),
            "{id:?}"
        );
    }
    let shown: Vec<&str> = state.deploys.deploys.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        shown,
        [
            "github/303",
            "helm/2026_11_28_add_orders_index@1795906200",
            "helm/rev-12",
            "github/302",
            "helm/rev-11",
            "github/301",
            "github/300",
        ]
    );

    // The suspects of an alert at 23:00 on odin: odin's migration half an hour before outranks its
    // deploy ten minutes before; the migration of odin-db is another service's.
    let suspects = correlation::rank(&state.deploys.deploys, now, Some("odin"), correlation::DEFAULT_WINDOW);
    let top: Vec<(&str, ServiceMatch)> = suspects
        .iter()
        .map(|s| (s.deploy.id.as_str(), s.service))
        .take(3)
        .collect();
    assert_eq!(
        top,
        [
            ("github/302", ServiceMatch::Same),
            ("github/303", ServiceMatch::Same),
            ("helm/rev-12", ServiceMatch::Same),
        ]
    );
}

#[tokio::test]
async fn a_failing_feed_goes_stale_with_the_error_and_keeps_polling() {
    let server = Replay::start(vec![(
        "/repos/acme/odin/deployments",
        401,
        r#"{"message":"Bad credentials"}"#.into(),
    )])
    .await;
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    let id = state.add_source(SourceKind::Deploys, "github");
    let mut feed = DeployFeed::new(id, "github", DeploySource::Github(github(&server)));
    feed.backoff = warroom::sources::http::Backoff::new(Duration::from_millis(5), Duration::from_millis(20), 3);
    let (tx, mut rx) = mpsc::channel(16);
    let (_refresh, refresh_rx) = watch::channel(0u64);
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let now = Utc
        .with_ymd_and_hms(2026, 11, 28, 23, 0, 0)
        .single()
        .unwrap_or_default();
    let mut errors = 0;
    while errors < 2 {
        match tokio::time::timeout(LIMIT, rx.recv()).await {
            Ok(Some(Msg::Source(u))) => {
                assert!(u.result.is_err(), "{:?}", u.result);
                errors += 1;
                let _ = update(&mut state, Msg::Source(u), now);
            }
            Ok(_) => panic!("the feed stopped"),
            Err(_) => panic!("no retry within {LIMIT:?}"),
        }
    }
    task.abort();
    match state.source(id).map(|s| &s.health) {
        Some(SourceHealth::Stale { error, .. }) => {
            assert_eq!(error.to_string(), "HTTP 401: GitHub deployments: Bad credentials");
        }
        other => panic!("{other:?}"),
    }
    assert!(state.deploys.deploys.is_empty());
}

#[test]
fn warroom_status_polls_the_deploy_sources_and_lists_the_newest() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(fixtures().join("command_history.json"), dir.path().join("history.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("warroom.toml");
    std::fs::write(
        &config,
        "[[deploys]]\nname = \"helm\"\ncommand = [\"cat\", \"history.json\"]\n\n[[deploys]]\nname = \"gone\"\ncommand = [\"false\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["--config", &config.display().to_string(), "status", "--json"])
        .env("WARROOM_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let deploys = report["deploys"].as_array().cloned().unwrap_or_default();
    assert!(!deploys.is_empty(), "{report:#}");
    let starts: Vec<&str> = deploys.iter().filter_map(|d| d["started_at"].as_str()).collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "newest first");
    let gone = report["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "gone").cloned())
        .unwrap_or_default();
    assert_eq!(gone["health"], "stale", "{report:#}");
    assert_eq!(
        output.status.code(),
        Some(2),
        "a deploy source that fails is a degraded view"
    );
}
