//! The `warroom` binary: parses the command line and dispatches. Everything that can fail on bad
//! input (config, themes, runbooks) is checked before the terminal is touched.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use chrono::DurationRound;
use clap::Parser;
use crossterm::event::EventStream;
use tokio::sync::mpsc;

use warroom::app::runtime::{CHANNEL_CAPACITY, Outcome, ProcessShell, Runtime, RuntimeError};
use warroom::app::state::{AppState, StateSetup};
use warroom::cli::{Cli, Command, IncidentCommand};
use warroom::commands;
use warroom::config::load::{LoadOptions, Loaded, Problem, load};
use warroom::config::paths::Paths;
use warroom::domain::health::FetchError;
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::domain::timefmt::Clock;
use warroom::domain::timeline::TimelineEntry;
use warroom::journal::{self, file::Pending, store::Store};
use warroom::sources::clock::TimeSource;
use warroom::sources::http::{self, HttpPolicy};
use warroom::sources::runbook_exec;
use warroom::sources::simulator;
use warroom::terminal::{self, OsSignal};
use warroom::ui::theme::Theme;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = match Paths::resolve(cli.config.clone(), &env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("warroom: {e}");
            return ExitCode::from(2);
        }
    };
    match &cli.command {
        Some(Command::Paths) => print_paths(&paths),
        Some(Command::Check { offline }) => check(&cli, &paths, *offline),
        Some(Command::Status { json }) => status(&cli, &paths, *json),
        Some(Command::Slo { json, at }) => slo(&cli, &paths, *json, at.as_deref()),
        Some(Command::Demo { speed, seed }) => cockpit(&cli, &paths, Some((*speed, *seed))),
        Some(Command::Runbook(cmd)) => runbook_command(&cli, &paths, cmd),
        None => cockpit(&cli, &paths, None),
        Some(_) => journal_command(&cli, &paths),
    }
}

/// The redaction rules the configuration asks for.
fn redactor(loaded: &Loaded) -> Redactor {
    Redactor::new(RedactionRules {
        ip_addresses: loaded.config.redaction.ip_addresses,
        ..RedactionRules::default()
    })
}

/// `incident …`, `note`, `timeline`, `verify`, `export`: one-shot commands on the journals. They
/// read the configuration (redaction rules) but not the runbooks, so a broken runbook never stops
/// a note from being recorded.
fn journal_command(cli: &Cli, paths: &Paths) -> ExitCode {
    let loaded = match warroom::config::load::load_without_runbooks(&LoadOptions {
        paths,
        theme: cli.theme.as_deref(),
        env: &env,
    }) {
        Ok(l) => l,
        Err(problems) => {
            report(&problems);
            return ExitCode::from(2);
        }
    };
    let ctx = commands::Ctx {
        store: Store::new(&paths.data_dir),
        actor: actor(cli),
        incident: cli.incident.clone(),
        redactor: redactor(&loaded),
        now: TimeSource::Real.now(),
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let code = match &cli.command {
        Some(Command::Incident(cmd)) => match cmd {
            IncidentCommand::Declare {
                title,
                severity,
                commander,
            } => commands::declare(&ctx, title, *severity, commander.clone(), &mut out, &mut err),
            IncidentCommand::List => commands::list(&ctx, &mut out, &mut err),
            IncidentCommand::Show { id } => commands::show(&ctx, id.as_deref(), &mut out, &mut err),
            IncidentCommand::Status { id, state } => commands::status(&ctx, id, state, &mut out, &mut err),
            IncidentCommand::Resolve { id } => commands::resolve(&ctx, id.as_deref(), &mut out, &mut err),
            IncidentCommand::Milestone { id, name, at } => {
                commands::milestone(&ctx, id, name, at.as_deref(), &mut out, &mut err)
            }
        },
        Some(Command::Note { public, text }) => commands::note(&ctx, &text.join(" "), *public, &mut out, &mut err),
        Some(Command::Timeline { follow, json }) => commands::timeline(&ctx, *follow, *json, &mut out, &mut err),
        Some(Command::Verify { audit, expect_head }) => {
            commands::verify_expecting(&ctx, *audit, expect_head.as_deref(), &mut out, &mut err)
        }
        Some(Command::Export {
            format,
            profile,
            output,
            audit,
            since,
        }) => {
            let args = commands::ExportArgs {
                format,
                profile,
                output: output.as_deref(),
                audit: *audit,
                since: since.as_deref(),
            };
            commands::export(&ctx, &args, &mut out, &mut err)
        }
        _ => 2,
    };
    ExitCode::from(code)
}

fn actor(cli: &Cli) -> String {
    cli.actor
        .clone()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(current_user)
}

fn load_config(cli: &Cli, paths: &Paths) -> Result<Loaded, Vec<Problem>> {
    load(&LoadOptions {
        paths,
        theme: cli.theme.as_deref(),
        env: &env,
    })
}

fn report(problems: &[Problem]) {
    eprintln!(
        "warroom: {} problem{} in the configuration:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        eprintln!("  {p}");
    }
}

fn print_paths(paths: &Paths) -> ExitCode {
    let exists = |p: &std::path::Path| if p.exists() { "" } else { "  (not present)" };
    println!(
        "config file   {}{}",
        paths.config_file.display(),
        exists(&paths.config_file)
    );
    println!(
        "config dir    {}{}",
        paths.config_dir.display(),
        exists(&paths.config_dir)
    );
    println!(
        "themes dir    {}{}",
        paths.themes_dir.display(),
        exists(&paths.themes_dir)
    );
    println!("data dir      {}{}", paths.data_dir.display(), exists(&paths.data_dir));
    println!(
        "incidents dir {}{}",
        paths.incidents_dir.display(),
        exists(&paths.incidents_dir)
    );
    println!("log dir       {}{}", paths.log_dir.display(), exists(&paths.log_dir));
    println!(
        "log file      {}",
        paths.log_dir.join("warroom.log.YYYY-MM-DD").display()
    );
    ExitCode::SUCCESS
}

fn check(cli: &Cli, paths: &Paths, offline: bool) -> ExitCode {
    let loaded = match load_config(cli, paths) {
        Ok(l) => l,
        Err(problems) => {
            report(&problems);
            return ExitCode::from(2);
        }
    };
    let c = &loaded.config;
    match &loaded.config_file {
        Some(f) => println!("config      {} merged over the defaults", f.display()),
        None => println!(
            "config      defaults only ({} not present)",
            paths.config_file.display()
        ),
    }
    println!("service     {} / {}", c.service.name, c.service.environment);
    println!(
        "sources     prometheus: {}, alertmanager: {}, logs: {}, deploys: {}, probes: {}",
        c.prometheus.as_ref().map_or(0, |_| 1),
        c.alertmanager.len(),
        c.logs.len(),
        c.deploys.len(),
        c.probes.len()
    );
    println!("signals     {}, SLOs {}", c.signals.len(), c.slo.len());
    println!(
        "theme       {} (of {})",
        loaded.theme.name,
        loaded
            .themes
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "runbooks    {}",
        loaded
            .runbooks
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Runbook lint: errors fail the check, warnings are only printed.
    let today = TimeSource::Real.now().date_naive();
    let runbook_errors = warroom::runbook_cli::check_runbooks(&loaded, today, &mut std::io::stderr());
    if runbook_errors > 0 {
        eprintln!("warroom: {runbook_errors} runbook error(s) (warroom runbook lint)");
    }
    if offline {
        if runbook_errors > 0 {
            return ExitCode::from(2);
        }
        println!("ok (offline: sources not probed)");
        return ExitCode::SUCCESS;
    }
    let (problems, rules) = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(async {
            let rules = warroom::runbook_cli::fetch_unlinked_rules(&loaded, &env);
            futures::future::join(probe_sources(&loaded), rules).await
        }),
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Alerting rules no runbook covers are warnings, as is not being able to list them.
    match rules {
        Ok(Some(unlinked)) => {
            for rule in &unlinked {
                eprintln!("  warning: {rule}");
            }
        }
        Ok(None) => {}
        Err(e) => eprintln!("  warning: cannot list Prometheus's alerting rules: {e}"),
    }
    if problems.is_empty() && runbook_errors == 0 {
        println!("ok");
        ExitCode::SUCCESS
    } else if problems.is_empty() {
        ExitCode::from(2)
    } else {
        eprintln!(
            "warroom: {} source problem{}:",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for p in &problems {
            eprintln!("  {p}");
        }
        ExitCode::from(2)
    }
}

/// `warroom runbook …`: list, show and lint runbooks.
fn runbook_command(cli: &Cli, paths: &Paths, cmd: &warroom::cli::RunbookCommand) -> ExitCode {
    let opts = LoadOptions {
        paths,
        theme: cli.theme.as_deref(),
        env: &env,
    };
    let today = TimeSource::Real.now().date_naive();
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    ExitCode::from(warroom::runbook_cli::run(cmd, &opts, today, &mut out, &mut err))
}

/// `warroom status`: one poll through the cockpit's own pollers, printed as text or JSON.
fn status(cli: &Cli, paths: &Paths, json: bool) -> ExitCode {
    let loaded = match load_config(cli, paths) {
        Ok(l) => l,
        Err(problems) => {
            report(&problems);
            return ExitCode::from(warroom::status::EXIT_SOURCE);
        }
    };
    let (mut state, live) = live_state(setup(&loaded, cli, None), &loaded);
    state.slos.mitigation = warroom::slo_report::mitigation_from_audit(
        &Store::new(&paths.data_dir).audit().file,
        &state.service,
        TimeSource::Real.now(),
    );
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::from(warroom::status::EXIT_SOURCE);
        }
    };
    let state = rt.block_on(warroom::status::poll_once(state, live, TimeSource::Real));
    let now = TimeSource::Real.now();
    let report = warroom::status::report(&state, now);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("warroom: cannot write the report: {e}");
                return ExitCode::from(warroom::status::EXIT_SOURCE);
            }
        }
    } else {
        print!("{}", warroom::status::text(&report, now));
    }
    ExitCode::from(report.exit_code)
}

/// `warroom slo`: every SLO evaluated once, as of now or `--at`.
fn slo(cli: &Cli, paths: &Paths, json: bool, at: Option<&str>) -> ExitCode {
    use warroom::slo_report::{self, EXIT_UNKNOWN};
    let loaded = match load_config(cli, paths) {
        Ok(l) => l,
        Err(problems) => {
            report(&problems);
            return ExitCode::from(EXIT_UNKNOWN);
        }
    };
    let now = TimeSource::Real.now();
    let at = match at {
        None => now,
        Some(text) => match warroom::commands::parse_time(text, now) {
            Some(t) => t,
            None => {
                eprintln!("warroom: \"{text}\" is not a time (RFC 3339, or HH:MM[:SS] in UTC)");
                return ExitCode::from(EXIT_UNKNOWN);
            }
        },
    };
    let (mut state, live) = live_state(setup(&loaded, cli, None), &loaded);
    // A recorded mitigation plan lifts the release freeze (the audit log holds every plan).
    state.slos.mitigation =
        slo_report::mitigation_from_audit(&Store::new(&paths.data_dir).audit().file, &state.service, at);
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_UNKNOWN);
        }
    };
    let state = rt.block_on(slo_report::poll_once(state, &live, at));
    let configured: Vec<String> = loaded.config.slo.iter().map(|s| s.name.clone()).collect();
    let report = slo_report::report(&state, &configured, at);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("warroom: cannot write the report: {e}");
                return ExitCode::from(EXIT_UNKNOWN);
            }
        }
    } else {
        print!("{}", slo_report::text(&report));
    }
    ExitCode::from(report.exit_code)
}

/// Why a source did not answer `warroom check`'s readiness probe.
#[derive(Debug, thiserror::Error)]
enum ProbeError {
    #[error(transparent)]
    Client(#[from] http::ClientError),
    #[error("{0}")]
    Fetch(FetchError),
    #[error("answered HTTP {0}")]
    Status(u16),
}

#[derive(Debug)]
struct ProbeFailure {
    source: String,
    url: String,
    error: ProbeError,
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.source, self.url, self.error)
    }
}

/// Readiness of every HTTP source, concurrently.
async fn probe_sources(loaded: &Loaded) -> Vec<ProbeFailure> {
    let c = &loaded.config;
    let base = |url: &Option<String>| url.as_deref().unwrap_or("").trim_end_matches('/').to_string();
    let mut targets: Vec<(String, String, Option<std::path::PathBuf>)> = Vec::new();
    if let Some(p) = &c.prometheus {
        targets.push((
            "prometheus".into(),
            format!("{}/-/ready", base(&p.url)),
            p.ca_file.clone(),
        ));
    }
    for (i, am) in c.alertmanager.iter().enumerate() {
        targets.push((
            format!("alertmanager[{i}]"),
            format!("{}/-/ready", base(&am.url)),
            am.ca_file.clone(),
        ));
    }
    for l in &c.logs {
        if let Some(loki) = &l.loki {
            targets.push((
                format!("logs \"{}\" (loki)", l.name),
                format!("{}/ready", base(&loki.url)),
                loki.ca_file.clone(),
            ));
        }
    }
    for p in &c.probes {
        if let Some(url) = &p.http {
            targets.push((format!("probe \"{}\"", p.name), url.clone(), None));
        }
    }
    let policy = HttpPolicy {
        timeout: Duration::from_secs(5),
        ..HttpPolicy::default()
    };
    let checks = targets.into_iter().map(|(source, url, ca)| async move {
        let result = async {
            let client = http::client(&policy, ca.as_deref())?;
            match http::get(&client, &policy, &url, None).await {
                // 401/403: up, but behind authentication (the cockpit's token is not sent here).
                Ok((status, _)) if status < 400 || status == 401 || status == 403 => Ok(status),
                Ok((status, _)) => Err(ProbeError::Status(status)),
                Err(e) => Err(ProbeError::Fetch(e)),
            }
        }
        .await;
        match result {
            Ok(status) => {
                println!("reachable   {source} ({url}): HTTP {status}");
                None
            }
            Err(error) => Some(ProbeFailure { source, url, error }),
        }
    });
    futures::future::join_all(checks).await.into_iter().flatten().collect()
}

fn current_user() -> String {
    env("USER")
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "unknown".into())
}

fn setup(loaded: &Loaded, cli: &Cli, demo: Option<f64>) -> StateSetup {
    let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme: Theme = if no_color {
        loaded.theme.without_color()
    } else {
        loaded.theme.clone()
    };
    let themes = loaded
        .themes
        .iter()
        .map(|t| if no_color { t.without_color() } else { t.clone() })
        .collect();
    let local_offset = TimeSource::Real.now().with_timezone(&chrono::Local).offset().fix();
    let (service, environment, banner) = match demo {
        Some(speed) => (
            "odin".to_string(),
            "production".to_string(),
            Some(format!("DEMO ×{speed}")),
        ),
        None => (
            loaded.config.service.name.clone(),
            loaded.config.service.environment.clone(),
            None,
        ),
    };
    StateSetup {
        service,
        environment,
        banner,
        user: actor(cli),
        read_only: cli.read_only,
        keymap: loaded.keymap.clone(),
        theme,
        themes,
        clock: Clock {
            zone: loaded.config.ui.timezone,
            local_offset,
        },
        log_cap_bytes: (loaded.config.ui.log_buffer_mib as usize).saturating_mul(1024 * 1024),
        log_rate_limit: loaded.config.ui.log_rate_limit,
    }
}

use chrono::Offset;

fn cockpit(cli: &Cli, paths: &Paths, demo: Option<(f64, u64)>) -> ExitCode {
    let loaded = match load_config(cli, paths) {
        Ok(l) => l,
        Err(problems) => {
            report(&problems);
            return ExitCode::from(2);
        }
    };
    let _log_guard = match warroom::logging::init(&paths.log_dir, env("WARROOM_LOG")) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!(
                "warroom: logging disabled: cannot create {}: {e}",
                paths.log_dir.display()
            );
            None
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), demo = demo.is_some(), config = ?loaded.config_file, "warroom starting");
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // `--incident` takes any unique part of an id, as the other commands do.
    let incident = match (&cli.incident, demo) {
        (Some(wanted), None) => match Store::new(&paths.data_dir).resolve(Some(wanted)) {
            Ok(id) => Some(id),
            Err(e) => {
                eprintln!("warroom: --incident {wanted}: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let result = rt.block_on(run_cockpit(cli, &loaded, demo, &paths.data_dir, incident));
    terminal::restore();
    rt.shutdown_timeout(Duration::from_millis(200));
    let result = match result {
        Ok((outcome, closed)) => {
            // What the journal could not write is said after the terminal is restored.
            let lost = match closed {
                Some(journal::service::Closed::Held { journal, audit, error }) => {
                    eprintln!(
                        "warroom: {journal} timeline entries and {audit} audit entries could not be written: {error}"
                    );
                    true
                }
                Some(journal::service::Closed::TimedOut) => {
                    eprintln!("warroom: the journal writer did not finish in time; the latest entries may be missing");
                    true
                }
                Some(journal::service::Closed::Gone) => {
                    eprintln!("warroom: the journal writer had stopped; the latest entries may be missing");
                    true
                }
                Some(journal::service::Closed::Flushed) | None => false,
            };
            match outcome {
                Ok(Outcome::Quit | Outcome::InputClosed | Outcome::Condition) if lost => return ExitCode::from(1),
                other => other,
            }
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(Outcome::Quit | Outcome::InputClosed | Outcome::Condition) => ExitCode::SUCCESS,
        Ok(Outcome::Signal(signal)) => {
            tracing::info!(?signal, "ended by signal");
            ExitCode::from(match signal {
                OsSignal::Hangup => 129,
                OsSignal::Interrupt => 130,
                _ => 143,
            })
        }
        Err(RuntimeError::TaskPanicked(e)) => {
            eprintln!("warroom: stopped because a background task panicked: {e}");
            ExitCode::from(101)
        }
        Err(e) => {
            eprintln!("warroom: {e}");
            ExitCode::from(1)
        }
    }
}

/// The demo's teammates write to the journal from their own thread, as another `warroom` process
/// would: a declaration creates the incident, everything else goes to the open one.
fn teammate_writer(store: Store, redactor: Redactor) -> std::io::Result<std::sync::mpsc::Sender<Vec<TimelineEntry>>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<TimelineEntry>>();
    std::thread::Builder::new()
        .name("demo-teammates".into())
        .spawn(move || {
            for entries in rx {
                for e in entries {
                    let id = match &e.event {
                        warroom::domain::timeline::Event::IncidentDeclared { title, .. } => {
                            store.new_id(&redactor.redact(title).0, e.occurred_at)
                        }
                        _ => match store.active() {
                            Some(id) => id,
                            None => continue,
                        },
                    };
                    let pending = Pending {
                        id: journal::new_id(e.recorded_at),
                        incident: Some(id.clone()),
                        occurred_at: e.occurred_at,
                        recorded_at: e.recorded_at,
                        actor: e.actor,
                        event: e.event,
                        supersedes: e.supersedes,
                    };
                    let audited = pending.event.is_audited().then(|| pending.clone());
                    if let Err(err) = journal::file::append(&store.incident(&id), &[pending], &redactor) {
                        tracing::warn!(%err, "demo teammate could not write the journal");
                    }
                    if let Some(entry) = audited
                        && let Err(err) = journal::file::append(&store.audit(), &[entry], &redactor)
                    {
                        tracing::warn!(%err, "demo teammate could not write the audit log");
                    }
                }
            }
        })?;
    Ok(tx)
}

/// Runs the cockpit until it ends, then closes the journal (everything queued is written). The
/// outer error is a failure to start; the outcome is how the loop ended.
async fn run_cockpit(
    cli: &Cli,
    loaded: &Loaded,
    demo: Option<(f64, u64)>,
    data_dir: &std::path::Path,
    incident: Option<String>,
) -> Result<(Result<Outcome, RuntimeError>, Option<journal::service::Closed>), RuntimeError> {
    terminal::install_panic_hook();
    let mut signals = terminal::signals()?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let setup = setup(loaded, cli, demo.map(|(speed, _)| speed));
    let (state, time, simulator, live) = match demo {
        Some((speed, seed)) => {
            let now = TimeSource::Real.now();
            let start = now.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(now);
            let (mut state, sim) = warroom::demo::build(setup, loaded.runbooks.clone(), seed, start);
            state.alerts.set_group_by(loaded.config.alerts.group_by.clone());
            (state, TimeSource::simulated(start, speed), Some((sim, speed)), None)
        }
        None => {
            let (state, live) = live_state(setup, loaded);
            (state, TimeSource::Real, None, Some(live))
        }
    };
    // The demo keeps its journals in a temporary directory that goes away with it.
    let demo_dir = match demo {
        Some(_) => Some(tempfile::Builder::new().prefix("warroom-demo-").tempdir()?),
        None => None,
    };
    let store = Store::new(demo_dir.as_ref().map_or(data_dir, |d| d.path()));
    let journal = journal::service::start(store.clone(), redactor(loaded), incident, tx.clone())?;
    let terminal = terminal::enter()?;
    let mut runtime = Runtime::new(state, terminal, time, rx, Box::new(ProcessShell)).with_journal(journal);
    // Runbook command steps and verify checks; none at all in a read-only session. Commands run
    // in the config file's directory; the demo runs nothing (a rehearsal shows what would run).
    if !cli.read_only {
        let runs = if demo.is_some() {
            runbook_exec::spawn_rehearsal(&mut runtime.tasks, &tx)
        } else {
            let runner = runbook_exec::Runner {
                data_dir: store.data_dir.clone(),
                cwd: config_dir(loaded),
                redactor: redactor(loaded),
                verify: runbook_exec::Verifier::from_config(&loaded.config, &config_dir(loaded), &env),
                time,
            };
            runbook_exec::spawn(runner, &mut runtime.tasks, &tx)
        };
        runtime = runtime.with_runner(runs);
    }
    if let Some((sim, speed)) = simulator {
        let refresh = runtime.refresh_requests();
        let teammates = simulator::Teammates::Journal(teammate_writer(store, redactor(loaded))?);
        let (requests, requests_rx) = mpsc::channel(4);
        runtime = runtime.with_requests(requests);
        runtime.tasks.spawn(simulator::run(
            sim,
            time,
            speed,
            tx.clone(),
            refresh,
            teammates,
            requests_rx,
        ));
    }
    if let Some(live) = live {
        let refresh = runtime.refresh_requests();
        let senders = warroom::sources::live::spawn(live, &mut runtime.tasks, time, &tx, &refresh);
        if let Some(requests) = senders.requests {
            runtime = runtime.with_requests(requests);
        }
        // A read-only session never rolls back (the key is refused too).
        if let Some(rollbacks) = senders.rollbacks.filter(|_| !cli.read_only) {
            runtime = runtime.with_deployer(rollbacks);
        }
    }
    inject_debug_panic(&mut runtime);
    let mut input = EventStream::new();
    let outcome = runtime.run(&mut input, &mut signals).await;
    runtime.tasks.abort_all();
    let closed = match runtime.take_journal() {
        Some(journal) => tokio::task::spawn_blocking(move || journal.close(Duration::from_secs(3)))
            .await
            .ok(),
        None => None,
    };
    Ok((outcome, closed))
}

/// The directory relative paths in the config (token_file, ca_file) are read from.
fn config_dir(loaded: &Loaded) -> std::path::PathBuf {
    loaded
        .config_file
        .as_ref()
        .and_then(|f| f.parent())
        .map_or_else(|| std::path::PathBuf::from("."), std::path::Path::to_path_buf)
}

/// The cockpit on the configured sources: Alertmanager, Prometheus and the `[[logs]]` and
/// `[[deploys]]` feeds are all registered by `sources::live::build`.
fn live_state(setup: StateSetup, loaded: &Loaded) -> (AppState, warroom::sources::live::Live) {
    let mut state = AppState::new(setup);
    state.runbook.library = loaded.runbooks.clone();
    state.alerts.set_group_by(loaded.config.alerts.group_by.clone());
    let c = &loaded.config;
    if c.prometheus.is_none() {
        state.slos.not_computed = c.slo.iter().map(|s| s.name.clone()).collect();
    }
    // Registers the sources, and each deploy entry's rollback and canary settings.
    let live = warroom::sources::live::build(c, &config_dir(loaded), &env, &mut state);
    (state, live)
}

/// Debug builds only: `WARROOM_DEBUG_PANIC=task` panics in a background task, `main` in the loop,
/// shortly after the first frame, so tests can check that the terminal is restored.
fn inject_debug_panic<B: ratatui::backend::Backend>(runtime: &mut Runtime<B>) {
    if !cfg!(debug_assertions) {
        return;
    }
    match env("WARROOM_DEBUG_PANIC").as_deref() {
        Some("task") => {
            runtime.tasks.spawn(async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                panic!("injected panic in a background task (WARROOM_DEBUG_PANIC=task)");
            });
        }
        Some("main") => runtime.debug_panic_in_loop = true,
        _ => {}
    }
}
