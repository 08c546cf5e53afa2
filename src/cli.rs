//! The command line (a contract: scripts, tests and users depend on it), defined with clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "warroom",
    version,
    about = "A terminal incident cockpit: alerts, SLO burn, signals, logs, deploys, runbooks and the incident timeline on one screen."
)]
pub struct Cli {
    /// Config file (default: the platform config dir's warroom/config.toml; also WARROOM_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Colour theme: dark, light, high-contrast, or one in the config dir's themes/.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Disable every action that changes the world (silences, rollbacks, runbook commands).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// The incident to open or act on (an id or a unique part of one; default: the open one).
    #[arg(long, global = true, value_name = "ID")]
    pub incident: Option<String>,
    /// Who is acting, as recorded in the timeline (default: the OS user).
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The cockpit on the embedded simulated service "odin" (no servers needed).
    Demo {
        /// Run simulated time this many times faster than real time.
        #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
        speed: f64,
        /// Seed of the simulation: the same seed tells the same story.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Validate the configuration, themes and runbooks, and probe each source; exit 2 on problems.
    Check {
        /// Do not contact the sources.
        #[arg(long)]
        offline: bool,
    },
    /// Print where the config, data, logs and themes live.
    Paths,
    /// One poll of every source: alerts, signals, source health. Exit 0 quiet, 1 an alert of page
    /// (or critical) severity firing and not silenced, 2 a source unreachable or misconfigured.
    Status {
        /// One JSON document (the same data) for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Every SLO's burn rates, budget, time to exhaustion and state, and the release gate. Exit 0
    /// gate open, 1 gate closed (a budget exhausted, or burning at the paging rate), 2 cannot tell.
    Slo {
        /// One JSON document (the same data) for scripts and release pipelines.
        #[arg(long)]
        json: bool,
        /// Evaluate as of this time (RFC 3339, or HH:MM[:SS] today in UTC) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Declare, list, show and change incidents.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// List, show and lint runbooks (the shipped ones and those in `[runbooks] dirs`).
    #[command(subcommand)]
    Runbook(RunbookCommand),
    /// Append a note to the incident's timeline; prints the entry's id once it is on disk.
    Note {
        /// Include the note in public exports.
        #[arg(long)]
        public: bool,
        /// The note (several words are joined with spaces).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Print the incident's timeline.
    Timeline {
        /// Keep printing new entries as they are written.
        #[arg(long)]
        follow: bool,
        /// One JSON record per line, exactly as stored.
        #[arg(long)]
        json: bool,
    },
    /// Check the journal's hash chain and record checksums; exit 1 on any damage.
    Verify {
        /// Check the audit log instead of an incident.
        #[arg(long)]
        audit: bool,
        /// A head hash recorded elsewhere (exports print it), or a unique prefix of at least 8
        /// hex digits: exit 1 if that record is no longer in the chain (records cut off the end,
        /// or the tail sealed again after an edit).
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
    },
    /// Export the incident (or the audit log) for the review.
    Export {
        /// md, json, csv or html.
        #[arg(long, default_value = "md")]
        format: String,
        /// internal, or public (drops internal-only entries, redacts more, no names).
        #[arg(long, default_value = "internal")]
        profile: String,
        /// Write to this file (atomically) instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Export the audit log (JSON Lines, redacted for archiving).
        #[arg(long)]
        audit: bool,
        /// With --audit: only records at or after this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Declare an incident; prints its id.
    Declare {
        #[arg(long)]
        title: String,
        /// SEV1 (worst) to SEV4.
        #[arg(long, value_parser = parse_severity)]
        severity: crate::domain::incident::IncidentSeverity,
        /// The incident commander (default: the actor).
        #[arg(long)]
        commander: Option<String>,
    },
    /// List incidents, oldest first.
    List,
    /// Show an incident: state, roles, milestones, TTD/TTA/TTM/TTR, runbooks, latest entries.
    Show { id: Option<String> },
    /// Change an incident's status: investigating, identified, monitoring, resolved.
    Status { id: String, state: String },
    /// Mark an incident resolved.
    Resolve { id: Option<String> },
    /// Set or correct a milestone: started, detected, acknowledged, mitigated, resolved.
    Milestone {
        id: String,
        name: String,
        /// When it happened (RFC 3339, or HH:MM[:SS] today in UTC); default now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunbookCommand {
    /// Every runbook: id, title, owner, review date, steps and what it applies to. Exit 2 if one
    /// does not load.
    List,
    /// One runbook: its inputs and its steps with ids, kinds, risks and commands as written.
    Show { id: String },
    /// Check runbooks (default: the configured ones) and print `file:line: severity: message`.
    /// Exit 0 clean or warnings only, 1 any error, 2 the configuration is unusable.
    Lint {
        /// Runbook files, or directories of `*.md` files.
        paths: Vec<PathBuf>,
    },
}

fn parse_severity(text: &str) -> Result<crate::domain::incident::IncidentSeverity, String> {
    crate::domain::incident::IncidentSeverity::parse(text)
        .ok_or_else(|| format!("\"{text}\" is not a severity (SEV1..SEV4)"))
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.1..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("\"{text}\" is not a speed between 0.1 and 1000")),
    }
}
