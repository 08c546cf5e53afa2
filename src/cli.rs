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
    /// Open this incident.
    #[arg(long, global = true, value_name = "ID")]
    pub incident: Option<String>,
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
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.1..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("\"{text}\" is not a speed between 0.1 and 1000")),
    }
}
