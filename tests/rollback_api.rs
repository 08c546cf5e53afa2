//! Rollbacks against the deploy APIs, replayed by a loopback server from their documented answers
//! (../shared/reference/research/slo-apis.md B.4, B.5): Argo CD by history id (accepted, refused
//! while auto-sync is on, an unknown id), GitHub as a new deployment of the earlier deployment's
//! commit (created, a conflict), a call that never answers (uncertain), each sent exactly once.
//! Then the whole flow through the real runtime on a configured cockpit: the confirmation refused
//! (nothing sent), accepted with Argo CD refusing (recorded, not retried), accepted and carried out
//! (the smoke checks run once the rollout settled), all of it in the audit log.

#[path = "support/cockpit.rs"]
mod cockpit;
#[path = "support/replay.rs"]
mod replay;
mod support;

use std::time::Duration;

use cockpit::Cockpit;
use replay::{Replay, TOKEN};
use tokio::sync::mpsc;
use warroom::app::effect::RollbackCall;
use warroom::app::rollback::SmokeWait;
use warroom::app::state::AppState;
use warroom::domain::deploy::{DeployKind, DeployStatus};
use warroom::domain::rollback::{RollbackMethod, RollbackPlan};
use warroom::domain::timeline::Event;
use warroom::sources::clock::TimeSource;
use warroom::sources::deploys::rollback::{Deployer, failure};
use warroom::sources::deploys::{ArgoCdSource, DeploySource, GithubSource};
use warroom::sources::http::{Endpoint, HttpPolicy, Token};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deploys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const AUTO_SYNC: &str = r#"{"error":"rollback cannot be initiated when auto-sync is enabled","code":9,"message":"rollback cannot be initiated when auto-sync is enabled","details":[]}"#;

fn plan(method: RollbackMethod, entry: &str) -> RollbackCall {
    RollbackCall {
        id: 1,
        plan: RollbackPlan {
            entry: entry.into(),
            service: "checkout".into(),
            environment: "production".into(),
            from_version: "9f2c4e1".into(),
            to_version: "1ab3c5d".into(),
            method,
        },
    }
}

fn argo_deployer(server: &Replay) -> Deployer {
    let mut d = Deployer::default();
    d.sources.insert(
        "argo".into(),
        DeploySource::ArgoCd(ArgoCdSource::new(
            "argo",
            server.endpoint("argo"),
            "checkout",
            "production",
        )),
    );
    d
}

fn argo_call(history_id: i64) -> RollbackCall {
    plan(
        RollbackMethod::ArgoCd {
            app: "checkout".into(),
            history_id,
        },
        "argo",
    )
}

#[tokio::test]
async fn argocd_rollback_posts_the_history_id_once() {
    let server = Replay::start(vec![(
        "POST /api/v1/applications/checkout/rollback",
        200,
        fixture("argocd_syncing.json"),
    )])
    .await;
    let answer = argo_deployer(&server).carry_out(&argo_call(7)).await;
    let text = answer.unwrap_or_else(|f| panic!("{f:?}"));
    assert!(text.contains("history 7") && text.contains("sync operation"), "{text}");
    let posts = server.requests_with("POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].json(),
        serde_json::json!({"name": "checkout", "id": 7, "dryRun": false, "prune": false})
    );
    assert_eq!(
        posts[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn argocd_refusals_come_back_in_its_words_once() {
    for (body, expected) in [
        (AUTO_SYNC, "rollback cannot be initiated when auto-sync is enabled"),
        (
            r#"{"error":"application checkout does not have deployment with id 70","code":3,"message":"application checkout does not have deployment with id 70"}"#,
            "does not have deployment with id 70",
        ),
    ] {
        let server = Replay::start(vec![(
            "POST /api/v1/applications/checkout/rollback",
            400,
            body.to_string(),
        )])
        .await;
        let failed = argo_deployer(&server)
            .carry_out(&argo_call(70))
            .await
            .err()
            .unwrap_or_else(|| panic!("a 400 is a failure"));
        assert!(!failed.uncertain, "Argo CD answered: nothing happened");
        assert!(
            failed.message.contains("HTTP 400") && failed.message.contains(expected),
            "{}",
            failed.message
        );
        if expected.contains("auto-sync") {
            assert!(failed.message.contains("--sync-policy none"), "{}", failed.message);
        }
        assert_eq!(server.requests_with("POST").len(), 1, "never retried");
    }
}

fn github_deployer(server: &Replay) -> Deployer {
    let mut d = Deployer::default();
    d.sources.insert(
        "gh".into(),
        DeploySource::Github(GithubSource::new(
            "gh",
            server.endpoint("gh"),
            "acme/odin",
            Some("production".into()),
        )),
    );
    d
}

/// Deployment 301 of the fixture list: v1.4.9 at commit 0c0ffee….
fn deployment_301() -> String {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&fixture("github_deployments.json")).unwrap_or_else(|e| panic!("{e}"));
    all.into_iter()
        .find(|d| d["id"] == 301)
        .map(|d| d.to_string())
        .unwrap_or_else(|| panic!("no 301"))
}

fn github_call() -> RollbackCall {
    plan(
        RollbackMethod::Github {
            repo: "acme/odin".into(),
            deployment_id: 301,
        },
        "gh",
    )
}

#[tokio::test]
async fn github_rollback_is_a_deployment_of_the_earlier_commit_not_its_branch() {
    let server = Replay::start(vec![
        ("/repos/acme/odin/deployments/301", 200, deployment_301()),
        (
            "POST /repos/acme/odin/deployments",
            201,
            r#"{"id":304,"sha":"0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff","ref":"0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff","task":"deploy:rollback","environment":"production","created_at":"2026-11-29T06:00:00Z"}"#.into(),
        ),
    ])
    .await;
    let text = github_deployer(&server)
        .carry_out(&github_call())
        .await
        .unwrap_or_else(|f| panic!("{f:?}"));
    assert!(text.contains("deployment 304") && text.contains("0c0ffee"), "{text}");
    let posts = server.requests_with("POST");
    assert_eq!(posts.len(), 1);
    let body = posts[0].json();
    assert_eq!(
        body["ref"], "0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff",
        "the sha, never the ref v1.4.9"
    );
    assert_eq!(body["task"], "deploy:rollback");
    assert_eq!(body["environment"], "production");
    assert_eq!(body["auto_merge"], false);
    assert_eq!(body["required_contexts"], serde_json::json!([]));
}

#[tokio::test]
async fn github_refusals_come_back_in_its_words_once() {
    let server = Replay::start(vec![
        ("/repos/acme/odin/deployments/301", 200, deployment_301()),
        (
            "POST /repos/acme/odin/deployments",
            409,
            r#"{"message":"Conflict: Commit status checks failed for 0c0ffee.","documentation_url":"https://docs.github.com/rest"}"#.into(),
        ),
    ])
    .await;
    let failed = github_deployer(&server)
        .carry_out(&github_call())
        .await
        .err()
        .unwrap_or_else(|| panic!("a 409 is a failure"));
    assert!(
        !failed.uncertain
            && failed.message.contains("HTTP 409")
            && failed.message.contains("Commit status checks failed"),
        "{failed:?}"
    );
    assert_eq!(server.requests_with("POST").len(), 1);
    // An earlier deployment that is gone: nothing is created.
    let gone = Replay::start(vec![]).await;
    let failed = github_deployer(&gone).carry_out(&github_call()).await.err();
    assert!(failed.is_some_and(|f| f.message.contains("HTTP 404") && !f.uncertain));
    assert!(gone.requests_with("POST").is_empty());
}

#[tokio::test]
async fn a_rollback_call_that_never_answers_is_uncertain_and_not_retried() {
    // Accepts connections and reads, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = seen_tx.send(());
            held.push(stream);
        }
    });
    let policy = HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_millis(300),
        max_body: 1024,
    };
    let endpoint = Endpoint::new(
        "argo",
        &format!("http://{addr}"),
        policy,
        None,
        Some(Token::new(TOKEN.into())),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut deployer = Deployer::default();
    deployer.sources.insert(
        "argo".into(),
        DeploySource::ArgoCd(ArgoCdSource::new("argo", endpoint, "checkout", "production")),
    );
    let failed = deployer.carry_out(&argo_call(7)).await.err();
    assert!(
        failed
            .as_ref()
            .is_some_and(|f| f.uncertain && f.message.contains("timed out")),
        "{failed:?}"
    );
    let mut connections = 0;
    while seen.try_recv().is_ok() {
        connections += 1;
    }
    assert_eq!(connections, 1, "sent once");
    // GitHub's lookup of the earlier deployment never answers: nothing was created, certainly.
    let endpoint = Endpoint::new("gh", &format!("http://{addr}"), policy, None, None).unwrap_or_else(|e| panic!("{e}"));
    let mut github = Deployer::default();
    github.sources.insert(
        "gh".into(),
        DeploySource::Github(GithubSource::new("gh", endpoint, "acme/odin", None)),
    );
    let lookup = github.carry_out(&github_call()).await.err();
    assert!(
        lookup
            .as_ref()
            .is_some_and(|f| !f.uncertain && f.message.contains("nothing was sent")),
        "{lookup:?}"
    );
    silent.abort();
}

#[test]
fn failures_are_uncertain_only_when_the_call_may_have_arrived() {
    use warroom::domain::health::{FetchError, FetchErrorKind};
    use warroom::sources::deploys::DeployError;
    let fetch = |kind| DeployError::Fetch(FetchError::new(kind, "x"));
    let status = |code| DeployError::status("Argo CD rollback of checkout", code, b"{}");
    for (error, sent, uncertain) in [
        (fetch(FetchErrorKind::Connect), true, false),
        (fetch(FetchErrorKind::Timeout), true, true),
        (fetch(FetchErrorKind::Other), true, true),
        (status(504), true, true),
        (status(502), true, true),
        (status(400), true, false),
        (status(403), true, false),
        (fetch(FetchErrorKind::Timeout), false, false),
        (status(500), false, false),
    ] {
        let shown = error.to_string();
        let f = failure(error, sent);
        assert_eq!(f.uncertain, uncertain, "{shown} (sent: {sent})");
        assert_eq!(f.message.ends_with("nothing was sent"), !sent, "{}", f.message);
    }
}

#[tokio::test]
async fn an_accepted_call_with_an_unreadable_answer_is_still_accepted_and_a_5xx_is_uncertain() {
    let server = Replay::start(vec![(
        "POST /api/v1/applications/checkout/rollback",
        200,
        "<html>proxy page</html>".into(),
    )])
    .await;
    let ok = argo_deployer(&server).carry_out(&argo_call(7)).await;
    assert!(ok.is_ok_and(|t| t.contains("accepted")));
    server.set(
        "POST /api/v1/applications/checkout/rollback",
        504,
        "upstream request timeout".into(),
    );
    let gateway = argo_deployer(&server).carry_out(&argo_call(7)).await;
    assert!(gateway.is_err_and(|f| f.uncertain && f.message.contains("HTTP 504")));

    let github = Replay::start(vec![
        ("/repos/acme/odin/deployments/301", 200, deployment_301()),
        ("POST /repos/acme/odin/deployments", 201, "not json".into()),
    ])
    .await;
    let created = github_deployer(&github).carry_out(&github_call()).await;
    assert!(created.is_ok_and(|t| t.contains("created")));
    // 202: GitHub merged the default branch instead and created no deployment.
    github.set(
        "POST /repos/acme/odin/deployments",
        202,
        r#"{"message":"Auto-merged master into topic-branch on deployment."}"#.into(),
    );
    let merged = github_deployer(&github).carry_out(&github_call()).await;
    assert!(merged.is_err_and(|f| !f.uncertain && f.message.contains("HTTP 202") && f.message.contains("Auto-merged")));
    assert_eq!(github.requests_with("POST").len(), 2, "one per call");
}

#[tokio::test]
async fn a_call_for_an_entry_or_method_it_cannot_serve_sends_nothing() {
    let server = Replay::start(vec![]).await;
    let deployer = argo_deployer(&server);
    let unknown = deployer
        .carry_out(&plan(
            RollbackMethod::ArgoCd {
                app: "x".into(),
                history_id: 1,
            },
            "nope",
        ))
        .await;
    assert!(unknown.is_err_and(|f| !f.uncertain && f.message.contains("nothing was sent")));
    let mismatch = deployer
        .carry_out(&plan(
            RollbackMethod::Github {
                repo: "acme/odin".into(),
                deployment_id: 1,
            },
            "argo",
        ))
        .await;
    assert!(mismatch.is_err_and(|f| f.message.contains("nothing was sent")));
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Through the runtime

/// The cockpit on one `[[deploys]]` entry (`entry`, with `{base}` for the server's URL and `{{ }}`
/// for braces) and an HTTP probe of the server's /healthz, its data in a fresh directory.
fn cockpit_with_probe(server: &Replay, entry: &str) -> (Cockpit, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://{}", server.addr);
    let entry = entry.replace("{base}", &base).replace("{{", "{").replace("}}", "}");
    let config = format!("[[deploys]]\n{entry}\n\n[[probes]]\nname = \"health\"\nhttp = \"{base}/healthz\"\n");
    (Cockpit::start(&config, data.path()), data)
}

fn count(state: &AppState, kind: &str) -> usize {
    state.timeline.entries.iter().filter(|e| e.event.kind() == kind).count()
}

/// The application while the rollback syncs: the operation running, history unchanged.
fn syncing_app() -> String {
    let now = TimeSource::Real.now();
    let mut app: serde_json::Value =
        serde_json::from_str(&fixture("argocd_application.json")).unwrap_or_else(|e| panic!("{e}"));
    app["status"]["health"]["status"] = "Progressing".into();
    app["status"]["operationState"] = serde_json::json!({
        "phase": "Running",
        "startedAt": now.to_rfc3339(),
        "message": "rolling back to 7",
        "operation": {"sync": {"revision": "1ab3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9"}, "initiatedBy": {"username": "alice"}}
    });
    app.to_string()
}

/// The application after the rollback: a new history entry 9 at the earlier revision, healthy.
fn rolled_back_app() -> String {
    let now = TimeSource::Real.now();
    let mut app: serde_json::Value =
        serde_json::from_str(&fixture("argocd_application.json")).unwrap_or_else(|e| panic!("{e}"));
    app["status"]["health"]["status"] = "Healthy".into();
    if let Some(history) = app["status"]["history"].as_array_mut() {
        history.push(serde_json::json!({
            "id": 9,
            "revision": "1ab3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9",
            "deployStartedAt": now.to_rfc3339(),
            "deployedAt": now.to_rfc3339(),
            "initiatedBy": {"username": "alice"}
        }));
    }
    app.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollback_flow_through_the_runtime_refused_failing_and_carried_out() {
    let server = Replay::start(vec![
        ("/api/v1/applications/checkout", 200, fixture("argocd_application.json")),
        ("POST /api/v1/applications/checkout/rollback", 400, AUTO_SYNC.into()),
        ("/healthz", 200, "ok".into()),
    ])
    .await;
    let (mut c, data) = cockpit_with_probe(
        &server,
        r#"name = "argo"
argocd = {{ url = "{base}", app = "checkout" }}"#,
    );
    c.until("the Argo CD history and the probe", |s| {
        s.deploys.deploys.len() == 3 && !s.signals.probes.is_empty()
    })
    .await;

    // Refused: a wrong name. Recorded, nothing sent.
    c.press("5 g R");
    c.type_text("odin");
    c.press("enter");
    c.until("the refusal", |s| count(s, "runbook.refused") == 1).await;
    assert!(server.requests_with("POST").is_empty());

    // Accepted; Argo CD refuses (auto-sync). Recorded in its words; nothing more is sent.
    c.press("R");
    c.type_text("checkout");
    c.press("enter");
    c.until("the failed rollback", |s| count(s, "rollback.finished") == 1)
        .await;
    let finished = c.events("rollback.finished");
    assert!(
        matches!(&finished[..], [Event::RollbackFinished { ok: false, uncertain: false, outcome, method, to, .. }]
            if outcome.contains("auto-sync is enabled") && method == "argocd" && to == "1ab3c5d"),
        "{finished:?}"
    );
    // Another poll of the deploy source, answered and taken in by the cockpit.
    let polled_at = |s: &AppState| {
        s.sources
            .iter()
            .find(|x| x.name == "argo")
            .and_then(|x| match x.health {
                warroom::domain::health::SourceHealth::Fresh { at } => Some(at),
                _ => None,
            })
    };
    let before = polled_at(&c.runtime.state);
    c.press("ctrl-r");
    c.until("another poll", |s| polled_at(s) > before).await;
    let posts = server.requests_with("POST");
    assert_eq!(posts.len(), 1, "not retried");
    assert_eq!(
        posts[0].json()["id"],
        7,
        "history 7 is the deploy before the degraded 8"
    );

    // Accepted and carried out: the smoke checks follow once the rollout has settled.
    server.set(
        "POST /api/v1/applications/checkout/rollback",
        200,
        fixture("argocd_syncing.json"),
    );
    server.set("/api/v1/applications/checkout", 200, syncing_app());
    c.press("R");
    c.type_text("checkout");
    c.press("enter");
    assert!(c.runtime.state.deploys.in_flight.is_some());
    c.until("the rollback's sync is seen running", |s| {
        count(s, "rollback.finished") == 2
            && s.deploys
                .deploys
                .iter()
                .any(|d| d.id.starts_with("argo/op-") && d.status == DeployStatus::InProgress)
    })
    .await;
    assert_eq!(
        count(&c.runtime.state, "rollback.smoke_checked"),
        0,
        "not while it rolls out"
    );
    assert!(matches!(c.runtime.state.deploys.smoke, SmokeWait::AfterRollout { .. }));
    // The sync finished: history entry 9, healthy. The next poll settles it.
    server.set("/api/v1/applications/checkout", 200, rolled_back_app());
    c.press("ctrl-r");
    c.until("the smoke checks", |s| count(s, "rollback.smoke_checked") == 1)
        .await;
    assert!(
        !c.runtime
            .state
            .deploys
            .deploys
            .iter()
            .any(|d| d.status == DeployStatus::InProgress),
        "the finished operation is gone"
    );
    assert!(
        matches!(
            &c.events("rollback.finished")[1],
            Event::RollbackFinished { ok: true, .. }
        ),
        "{:?}",
        c.events("rollback.finished")
    );
    assert!(
        matches!(&c.events("rollback.smoke_checked")[..], [Event::SmokeChecked { ok: true, results }] if results[0].contains("health")),
        "{:?}",
        c.events("rollback.smoke_checked")
    );
    assert_eq!(server.requests_with("POST").len(), 2);

    // All of it is in the audit log, with no incident open.
    let audit = data.path().join("audit/journal.jsonl");
    c.until("the audit log holds the rollbacks", |_| {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        text.matches("\"rollback.finished\"").count() == 2 && text.contains("rollback.smoke_checked")
    })
    .await;
    let text = std::fs::read_to_string(&audit).unwrap_or_default();
    assert_eq!(text.matches("\"rollback.started\"").count(), 2, "{text}");
    assert_eq!(text.matches("\"runbook.refused\"").count(), 1, "{text}");
    assert!(!text.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_rollback_through_the_runtime_deploys_the_earlier_commit_then_smoke_checks() {
    let statuses = |id: u32| {
        (
            match id {
                303 => "/repos/acme/odin/deployments/303/statuses",
                302 => "/repos/acme/odin/deployments/302/statuses",
                301 => "/repos/acme/odin/deployments/301/statuses",
                _ => "/repos/acme/odin/deployments/300/statuses",
            },
            200,
            fixture(&format!("github_statuses_{id}.json")),
        )
    };
    let server = Replay::start(vec![
        ("/repos/acme/odin/deployments", 200, fixture("github_deployments.json")),
        statuses(303),
        statuses(302),
        statuses(301),
        statuses(300),
        ("/repos/acme/odin/deployments/301", 200, deployment_301()),
        (
            "POST /repos/acme/odin/deployments",
            201,
            r#"{"id":304,"sha":"0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff"}"#.into(),
        ),
        ("/healthz", 200, "ok".into()),
    ])
    .await;
    let (mut c, _data) = cockpit_with_probe(
        &server,
        r#"name = "gh"
github = {{ repo = "acme/odin", environment = "production", api_url = "{base}" }}"#,
    );
    c.until("the deployments and the probe", |s| {
        s.deploys.deploys.len() == 4 && !s.signals.probes.is_empty()
    })
    .await;
    // The newest, v1.5.0 (still rolling out), back to v1.4.9 (the migration is skipped).
    c.press("5 g R");
    c.type_text("odin");
    c.press("enter");
    c.until("the rollback answered", |s| count(s, "rollback.finished") == 1)
        .await;
    let finished = c.events("rollback.finished");
    assert!(
        matches!(&finished[..], [Event::RollbackFinished { ok: true, method, to, outcome, .. }]
            if method == "github" && to == "v1.4.9" && outcome.contains("deployment 304")),
        "{finished:?}"
    );
    let posts = server.requests_with("POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].json()["ref"], "0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff");
    // GitHub lists the new deployment; the repository's workflow reports it done.
    let now = TimeSource::Real.now().to_rfc3339();
    let mut list: Vec<serde_json::Value> =
        serde_json::from_str(&fixture("github_deployments.json")).unwrap_or_else(|e| panic!("{e}"));
    list.insert(
        0,
        serde_json::json!({"id": 304, "sha": "0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff",
            "ref": "0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff", "task": "deploy:rollback",
            "environment": "production", "creator": {"login": "alice"}, "created_at": now}),
    );
    server.set(
        "/repos/acme/odin/deployments",
        200,
        serde_json::Value::from(list).to_string(),
    );
    server.set(
        "/repos/acme/odin/deployments/304/statuses",
        200,
        serde_json::json!([{"state": "success", "created_at": now, "description": "rolled back"}]).to_string(),
    );
    c.press("ctrl-r");
    c.until("the smoke checks", |s| count(s, "rollback.smoke_checked") == 1)
        .await;
    let rollback = c
        .runtime
        .state
        .deploys
        .deploys
        .iter()
        .find(|d| d.id == "gh/304")
        .map(|d| (d.kind, d.status));
    assert_eq!(rollback, Some((DeployKind::Rollback, DeployStatus::Succeeded)));
    assert_eq!(server.requests_with("POST").len(), 1, "sent once");
}

#[tokio::test]
async fn an_application_in_another_namespace_and_project_is_named_in_every_call() {
    let server = Replay::start(vec![
        ("/api/v1/applications/checkout", 200, fixture("argocd_application.json")),
        (
            "POST /api/v1/applications/checkout/rollback",
            200,
            fixture("argocd_syncing.json"),
        ),
    ])
    .await;
    let mut argo = ArgoCdSource::new("argo", server.endpoint("argo"), "checkout", "production");
    argo.app_namespace = Some("team-a".into());
    argo.project = Some("payments".into());
    let deploys = DeploySource::ArgoCd(argo.clone()).fetch().await;
    assert!(deploys.is_ok_and(|d| d.len() == 3));
    let get = &server.requests_with("GET")[0];
    assert_eq!(get.params.get("appNamespace").map(String::as_str), Some("team-a"));
    assert_eq!(get.params.get("project").map(String::as_str), Some("payments"));
    let mut deployer = Deployer::default();
    deployer.sources.insert("argo".into(), DeploySource::ArgoCd(argo));
    assert!(deployer.carry_out(&argo_call(7)).await.is_ok());
    let body = server.requests_with("POST")[0].json();
    assert_eq!(
        body,
        serde_json::json!({"name": "checkout", "id": 7, "dryRun": false, "prune": false,
            "appNamespace": "team-a", "project": "payments"})
    );
}
