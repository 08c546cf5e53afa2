//! Config-validation fixtures, in the style of bottom's `tests/valid_configs` and
//! `tests/invalid_configs`: every `tests/configs/valid/*.toml` loads with no problems, and every
//! `tests/configs/invalid/*.toml` fails with the problems its header comment states.
//!
//! Fixture header (the leading `#` comment lines of an invalid fixture):
//! - `# expect: line 4: signals[0].warn: message` — some problem reads `<file>:4: signals[0].warn: message…`
//!   (`file:line: key: message` is how `Problem` displays); `# expect: text` without `line N:` only
//!   requires `text` somewhere in a problem. Every problem reported must be expected by some line.
//! - `# absent: text` — no problem may show `text` (e.g. a literal secret).
//!
//! Each fixture is copied into a fresh sandbox directory together with `tests/configs/sandbox/*`
//! (a CA file, a runbooks directory) and 0600 token files made here (git does not keep 0600), and
//! loaded with an injected environment. The sandbox also stands in for the config and themes
//! directories, so the tests never read the real environment or the user's own config or themes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use warroom::app::action::Action;
use warroom::app::keymap::KeyChord;
use warroom::app::pane::PaneId;
use warroom::config::load::{LoadOptions, Loaded, Problem, load};
use warroom::config::paths::Paths;

const CONFIGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/configs");

/// Token files the sandbox creates with mode 0600, and their contents.
const TOKEN_FILES: [(&str, &str); 2] = [("prom.token", "prom-file-token\n"), ("am.token", "am-file-token\n")];

/// The environment every load sees: a data directory inside the sandbox and the secrets the
/// fixtures name. Nothing is read from the real environment.
fn test_env(sandbox: &Path) -> impl Fn(&str) -> Option<String> + use<> {
    let data_dir = sandbox.join("data").display().to_string();
    move |name: &str| match name {
        "WARROOM_DATA_DIR" => Some(data_dir.clone()),
        "PROM_TOKEN" => Some("prom-env-token".into()),
        "AM_TOKEN" => Some("am-env-token".into()),
        "LOKI_TOKEN" => Some("loki-env-token".into()),
        "GITHUB_TOKEN" => Some("github-env-token".into()),
        _ => None,
    }
}

struct Sandbox {
    dir: tempfile::TempDir,
    /// The config file as loaded (the fixture's copy inside the sandbox).
    config: PathBuf,
    /// The fixture in the source tree, for messages.
    fixture: PathBuf,
}

impl Sandbox {
    fn new(fixture: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        copy_tree(&Path::new(CONFIGS).join("sandbox"), dir.path());
        for (name, text) in TOKEN_FILES {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        let name = fixture
            .file_name()
            .unwrap_or_else(|| panic!("{} has no file name", fixture.display()));
        let config = dir.path().join(name);
        fs::copy(fixture, &config).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
        Self {
            dir,
            config,
            fixture: fixture.to_path_buf(),
        }
    }

    /// A sandbox holding a config file with `text`.
    fn with_text(name: &str, text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = dir.path().join(name);
        fs::write(&config, text).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        Self {
            fixture: config.clone(),
            dir,
            config,
        }
    }

    /// `Paths::resolve` with `--config` naming the fixture. `resolve` takes the config and themes
    /// directories from the platform (the real `$HOME`), so they are pointed into the sandbox.
    fn paths(&self) -> Paths {
        let env = test_env(self.dir.path());
        let mut paths =
            Paths::resolve(Some(self.config.clone()), &env).unwrap_or_else(|e| panic!("Paths::resolve: {e}"));
        assert!(paths.config_explicit);
        assert_eq!(paths.data_dir, self.dir.path().join("data"));
        paths.config_dir = self.dir.path().to_path_buf();
        paths.themes_dir = self.dir.path().join("themes");
        paths
    }

    fn load_with(&self, paths: &Paths, theme: Option<&str>) -> Result<Loaded, Vec<Problem>> {
        let env = test_env(self.dir.path());
        load(&LoadOptions {
            paths,
            theme,
            env: &env,
        })
    }

    fn load(&self) -> Result<Loaded, Vec<Problem>> {
        self.load_with(&self.paths(), None)
    }

    /// The config file as problems name it.
    fn shown(&self) -> String {
        self.config.display().to_string()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            fs::create_dir_all(&dst).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
    }
}

/// The `*.toml` fixtures of `tests/configs/<kind>`, sorted.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(CONFIGS).join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(CONFIGS).join(kind).join(name)
}

fn show(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n    {p}")).collect()
}

fn load_ok(sandbox: &Sandbox) -> Loaded {
    sandbox
        .load()
        .unwrap_or_else(|ps| panic!("{} should load:{}", sandbox.fixture.display(), show(&ps)))
}

/// What an invalid fixture's header says about it.
#[derive(Debug, Default)]
struct Header {
    /// `(line, text)` from `# expect: [line N: ]text`.
    expect: Vec<(Option<usize>, String)>,
    absent: Vec<String>,
}

fn header(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let line = line.trim_start_matches('#').trim();
        if let Some(rest) = line.strip_prefix("expect:") {
            let rest = rest.trim();
            let located = rest
                .strip_prefix("line ")
                .and_then(|r| r.split_once(": "))
                .and_then(|(n, r)| n.parse().ok().map(|n| (Some(n), r.to_string())));
            h.expect.push(located.unwrap_or((None, rest.to_string())));
        } else if let Some(rest) = line.strip_prefix("absent:") {
            h.absent.push(rest.trim().to_string());
        }
    }
    h
}

/// The fragment an expectation requires in a problem's `Display` text.
fn fragment(file: &str, (line, text): &(Option<usize>, String)) -> String {
    match line {
        Some(n) => format!("{file}:{n}: {text}"),
        None => text.clone(),
    }
}

/// Checks one invalid fixture against its header; `Err` describes every mismatch.
fn check_invalid(path: &Path) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{e}"))?;
    let h = header(&text);
    if h.expect.is_empty() {
        return Err("states no `# expect:` line".into());
    }
    let sandbox = Sandbox::new(path);
    let problems = match sandbox.load() {
        Ok(_) => return Err("loaded without problems".into()),
        Err(ps) => ps,
    };
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let mut wrong = Vec::new();
    for secret in &h.absent {
        if let Some(p) = shown.iter().find(|p| p.contains(secret.as_str())) {
            wrong.push(format!("shows {secret:?}: {p}"));
        }
    }
    let file = sandbox.shown();
    let fragments: Vec<String> = h.expect.iter().map(|e| fragment(&file, e)).collect();
    for f in &fragments {
        if !shown.iter().any(|p| p.contains(f.as_str())) {
            wrong.push(format!("no problem reads {f:?}"));
        }
    }
    for p in &shown {
        if !fragments.iter().any(|f| p.contains(f.as_str())) {
            wrong.push(format!("unexpected problem {p:?}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  problems reported:{}",
            wrong.join("\n  "),
            show(&problems)
        ))
    }
}

#[test]
fn valid_configs_load_without_problems() {
    let mut failures = Vec::new();
    for path in fixtures("valid") {
        if let Err(ps) = Sandbox::new(&path).load() {
            failures.push(format!("{}:{}", path.display(), show(&ps)));
        }
    }
    assert!(
        failures.is_empty(),
        "valid fixtures with problems:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_configs_report_every_expected_problem() {
    let mut failures = Vec::new();
    for path in fixtures("invalid") {
        if let Err(e) = check_invalid(&path) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(failures.is_empty(), "invalid fixtures:\n{}", failures.join("\n"));
}

#[test]
fn the_design_example_loads_as_written() {
    let sandbox = Sandbox::new(&fixture("valid", "design_example.toml"));
    let loaded = load_ok(&sandbox);
    let c = &loaded.config;
    assert_eq!(loaded.config_file.as_deref(), Some(sandbox.config.as_path()));
    assert_eq!(
        (c.service.name.as_str(), c.service.environment.as_str()),
        ("odin", "production")
    );
    let prom = c.prometheus.as_ref().unwrap_or_else(|| panic!("no [prometheus]"));
    assert_eq!(prom.url.as_deref(), Some("https://prometheus.internal:9090"));
    assert_eq!(prom.interval.map(|d| d.0.as_secs()), Some(15));
    assert_eq!(c.alertmanager.len(), 1);
    assert_eq!(c.logs.len(), 1);
    assert_eq!(c.deploys.len(), 1);
    assert_eq!(c.probes.len(), 2);
    // "5xx ratio" and "availability" merge into the defaults of the same name.
    assert_eq!(c.signals.len(), 9);
    assert_eq!(c.slo.len(), 2);
    let ids: Vec<&str> = loaded.runbooks.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "high-error-rate",
            "credential-abuse",
            "db-saturation",
            "db-compromise",
            "deployment",
            "rollback",
            "db-connection-exhaustion"
        ]
    );
    assert_eq!(loaded.theme.name, "dark");
    assert_eq!(
        loaded.keymap.resolve(PaneId::Alerts, chord("ctrl-r")),
        Some(Action::RefreshAll)
    );
}

#[test]
fn a_minimal_file_selects_the_light_theme_and_keeps_the_defaults() {
    let loaded = load_ok(&Sandbox::new(&fixture("valid", "minimal_light_theme.toml")));
    assert_eq!(loaded.theme.name, "light");
    assert_eq!(loaded.config.service.name, "odin");
    assert_eq!(loaded.config.signals.len(), 9);
    assert_eq!(loaded.config.slo.len(), 2);
    assert!(loaded.config.prometheus.is_none());
}

fn chord(text: &str) -> KeyChord {
    KeyChord::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rebound_keys_take_effect() {
    let km = load_ok(&Sandbox::new(&fixture("valid", "keys_rebound.toml"))).keymap;
    let at = |pane, key: &str| km.resolve(pane, chord(key));
    assert_eq!(at(PaneId::Alerts, "ctrl-q"), Some(Action::Quit));
    assert_eq!(at(PaneId::Logs, "ctrl-q"), Some(Action::Quit));
    assert_eq!(at(PaneId::Alerts, "q"), None, "\"q\" = \"none\" unbinds it");
    assert_eq!(at(PaneId::Signals, "f5"), Some(Action::RefreshAll));
    assert_eq!(at(PaneId::Signals, "G"), Some(Action::Top));
    assert_eq!(at(PaneId::Signals, "end"), Some(Action::Bottom), "other defaults stay");
    assert_eq!(at(PaneId::Logs, "f"), Some(Action::ToggleFollow));
    assert_eq!(at(PaneId::Alerts, "f"), None, "a pane binding stays in its pane");
    assert_eq!(at(PaneId::Logs, "s"), None, "[keys.logs] \"s\" = \"none\"");
    assert_eq!(
        at(PaneId::Timeline, "s"),
        Some(Action::ToggleFollow),
        "other panes keep theirs"
    );
    assert_eq!(
        at(PaneId::Alerts, "j"),
        Some(Action::Top),
        "a pane binding wins in its pane"
    );
    assert_eq!(at(PaneId::Logs, "j"), Some(Action::Down));
    assert_eq!(at(PaneId::Deploys, "ctrl-x"), Some(Action::ForceQuit));
}

#[test]
fn signal_overrides_merge_by_name() {
    let defaults = load_ok(&Sandbox::with_text("empty.toml", "")).config.signals;
    let signals = load_ok(&Sandbox::new(&fixture("valid", "signals_override.toml")))
        .config
        .signals;
    let names: Vec<&str> = signals.iter().map(|s| s.name.as_str()).collect();
    let mut expected: Vec<&str> = defaults
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| *n != "queue backlog")
        .collect();
    expected.push("cache hit ratio");
    assert_eq!(names, expected, "disabled entries are dropped, new ones appended");

    let find = |list: &[warroom::config::SignalConfig], name: &str| {
        list.iter()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no signal {name:?}"))
    };
    let (before, after) = (find(&defaults, "p95 latency"), find(&signals, "p95 latency"));
    assert_eq!((after.warn, after.crit), (Some(0.25), Some(0.4)), "overridden fields");
    assert_eq!(after.query, before.query, "fields not set keep the default");
    assert_eq!(after.unit, before.unit);
    assert_eq!(find(&signals, "5xx ratio").query, find(&defaults, "5xx ratio").query);
    let added = find(&signals, "cache hit ratio");
    assert_eq!((added.warn, added.crit), (Some(0.9), Some(0.8)));
    assert_eq!(added.direction, warroom::domain::signal::Direction::Below);
}

#[test]
fn two_alertmanagers_are_both_kept() {
    let am = load_ok(&Sandbox::new(&fixture("valid", "two_alertmanagers.toml")))
        .config
        .alertmanager;
    let urls: Vec<Option<&str>> = am.iter().map(|a| a.url.as_deref()).collect();
    assert_eq!(
        urls,
        [Some("http://am-1.internal:9093"), Some("https://am-2.internal:9093")]
    );
    assert_eq!(am[0].token.as_ref().and_then(|t| t.env_name()), Some("AM_TOKEN"));
    assert_eq!(am[1].token_file.as_deref(), Some(Path::new("am.token")));
    assert_eq!(am[1].interval.map(|d| d.0.as_secs()), Some(90));
}

#[test]
fn a_token_file_readable_by_others_is_refused() {
    let sandbox = Sandbox::with_text(
        "config.toml",
        "[prometheus]\nurl = \"https://prometheus.internal:9090\"\ntoken_file = \"prom.token\"\n",
    );
    let token = sandbox.dir.path().join("prom.token");
    fs::write(&token, "prom-file-token\n").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&token, fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
    let problems = match sandbox.load() {
        Ok(_) => panic!("a 0644 token file must be refused"),
        Err(ps) => ps,
    };
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    let p = &shown[0];
    assert!(
        p.starts_with(&format!("{}:3: prometheus.token_file: ", sandbox.shown())),
        "located at the key: {p}"
    );
    assert!(p.contains(&token.display().to_string()), "names the file: {p}");
    assert!(p.contains("mode 0644"), "{p}");
    assert!(
        p.contains(&format!("chmod 600 {}", token.display())),
        "suggests the fix: {p}"
    );
    assert!(!p.contains("prom-file-token"), "never shows the secret: {p}");

    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap_or_else(|e| panic!("{e}"));
    load_ok(&sandbox);
}

#[test]
fn the_theme_option_is_checked_and_overrides_the_file() {
    let sandbox = Sandbox::new(&fixture("valid", "minimal_light_theme.toml"));
    let paths = sandbox.paths();
    let chosen = sandbox
        .load_with(&paths, Some("high-contrast"))
        .unwrap_or_else(|ps| panic!("--theme high-contrast:{}", show(&ps)));
    assert_eq!(
        chosen.theme.name, "high-contrast",
        "--theme wins over [ui] theme = \"light\""
    );

    let problems = match sandbox.load_with(&paths, Some("neon")) {
        Ok(_) => panic!("--theme neon must be refused"),
        Err(ps) => ps,
    };
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["--theme: no theme named \"neon\" (known: dark, light, high-contrast)"]
    );
}

#[test]
fn a_missing_config_file_is_fine_unless_named_explicitly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = dir.path().join("config.toml");
    let mut paths = Paths {
        config_file: missing.clone(),
        config_explicit: false,
        config_dir: dir.path().to_path_buf(),
        themes_dir: dir.path().join("themes"),
        data_dir: dir.path().join("data"),
        incidents_dir: dir.path().join("data/incidents"),
        log_dir: dir.path().join("data/logs"),
    };
    let env = test_env(dir.path());
    let loaded = load(&LoadOptions {
        paths: &paths,
        theme: None,
        env: &env,
    })
    .unwrap_or_else(|ps| panic!("the defaults alone should load:{}", show(&ps)));
    assert_eq!(loaded.config_file, None);
    assert_eq!(loaded.config.service.name, "odin");
    assert_eq!(loaded.theme.name, "dark");

    paths.config_explicit = true;
    let problems = match load(&LoadOptions {
        paths: &paths,
        theme: None,
        env: &env,
    }) {
        Ok(_) => panic!("an explicit config file that does not exist must be a problem"),
        Err(ps) => ps,
    };
    assert_eq!(problems.len(), 1, "{}", show(&problems));
    let p = problems[0].to_string();
    assert!(
        p.starts_with(&format!("{}: cannot read the config file: ", missing.display())),
        "{p}"
    );
}
