//! Real Prometheus and Alertmanager processes on free loopback ports, with the test's own
//! configuration and rules, for integration tests. When a binary is missing the test is skipped
//! with a message, except under CI=true, where it fails: CI installs them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Finds `name` on PATH. Missing: `None` (skip) locally, a panic under CI=true.
pub fn require(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "{name} is not installed: CI must install it (apt-get install prometheus prometheus-alertmanager)"
        );
        eprintln!("SKIPPED: {name} is not installed (apt-get install prometheus prometheus-alertmanager)");
    }
    found
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` until it holds or `limit` passes (a hang guard, not a speed assertion).
pub async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not true within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn client() -> Option<reqwest::Client> {
    warroom::sources::http::client(&warroom::sources::http::HttpPolicy::default(), None).ok()
}

/// GET returning the status and body (for readiness, and for asking the servers themselves what
/// they hold).
pub async fn http_get(url: &str) -> Option<(u16, String)> {
    let r = client()?.get(url).send().await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.unwrap_or_default()))
}

pub async fn http_post_json(url: &str, body: &serde_json::Value) -> Option<(u16, String)> {
    let r = client()?.post(url).json(body).send().await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.unwrap_or_default()))
}

/// One server process; killed when dropped.
pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    binary: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    ready_path: &'static str,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join(format!("server-{}.log", self.port)))
            .unwrap_or_else(|e| panic!("log file: {e}"));
        let err = log.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.binary.display()));
        self.child = Some(child);
        let url = format!("{}{}", self.url(), self.ready_path);
        let name = self.binary.display().to_string();
        let logs = self.dir.clone();
        wait_for(
            &format!("{name} ready at {url} (logs in {})", logs.display()),
            Duration::from_secs(60),
            || async { http_get(&url).await.is_some_and(|(s, _)| s == 200) },
        )
        .await;
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same storage.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub const ALERTMANAGER_CONFIG: &str = "route:
  receiver: blackhole
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: blackhole
";

/// Starts Alertmanager in `dir` (its storage keeps silences across restarts).
pub async fn alertmanager(binary: &Path, dir: &Path) -> Server {
    let dir = dir.join(format!("am-{}", free_port()));
    std::fs::create_dir_all(dir.join("data")).unwrap_or_else(|e| panic!("{e}"));
    let config = dir.join("alertmanager.yml");
    std::fs::write(&config, ALERTMANAGER_CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut server = Server {
        port,
        dir: dir.clone(),
        binary: binary.to_path_buf(),
        args: vec![
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".into(),
        ],
        child: None,
        ready_path: "/-/ready",
    };
    server.spawn().await;
    server
}

/// Starts Prometheus in `dir` with `rules` (YAML of rule groups), evaluating every second, sending
/// alerts to `alertmanager` if given.
pub async fn prometheus(binary: &Path, dir: &Path, rules: &str, alertmanager: Option<u16>) -> Server {
    let dir = dir.join(format!("prom-{}", free_port()));
    std::fs::create_dir_all(dir.join("data")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("rules.yml"), rules).unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let alerting = alertmanager.map_or(String::new(), |am| {
        format!("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am}']\n")
    });
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{alerting}rule_files:\n  - {}\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n",
        dir.join("rules.yml").display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server {
        port,
        dir: dir.clone(),
        binary: binary.to_path_buf(),
        args: vec![
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        child: None,
        ready_path: "/-/ready",
    };
    server.spawn().await;
    server
}

/// A scratch directory for servers and configs.
pub fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("warroom-servers-")
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Label or annotation pairs.
pub type Pairs<'a> = &'a [(&'a str, &'a str)];

/// Posts alerts straight to Alertmanager (as Prometheus would), each `(labels, annotations)`.
pub async fn post_alerts(am: &Server, alerts: &[(Pairs<'_>, Pairs<'_>)]) {
    let body: Vec<serde_json::Value> = alerts
        .iter()
        .map(|(labels, annotations)| {
            let labels: serde_json::Map<String, serde_json::Value> =
                labels.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
            let annotations: serde_json::Map<String, serde_json::Value> =
                annotations.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
            serde_json::json!({"labels": labels, "annotations": annotations, "generatorURL": "http://prometheus.test/graph"})
        })
        .collect();
    let answer = http_post_json(&format!("{}/api/v2/alerts", am.url()), &serde_json::Value::Array(body)).await;
    assert!(
        answer.as_ref().is_some_and(|(s, _)| *s == 200),
        "posting alerts: {answer:?}"
    );
}

/// What Alertmanager itself lists: (fingerprint, alertname, state, silencedBy count).
pub async fn am_alerts(am: &Server) -> Vec<(String, String, String, usize)> {
    let Some((200, body)) = http_get(&format!("{}/api/v2/alerts", am.url())).await else {
        return Vec::new();
    };
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap_or_default();
    let mut out: Vec<(String, String, String, usize)> = parsed
        .iter()
        .map(|a| {
            (
                a["fingerprint"].as_str().unwrap_or("").to_string(),
                a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                a["status"]["state"].as_str().unwrap_or("").to_string(),
                a["status"]["silencedBy"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    out.sort();
    out
}
