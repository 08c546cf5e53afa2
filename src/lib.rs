//! warroom: a terminal incident cockpit. `domain` is pure data and math, `app` owns the state, the
//! pure `update` and the runtime loop, `ui` draws, `sources` bring data in, `journal` records the
//! timeline, `config` loads and validates the configuration before the terminal is touched, and
//! `terminal` owns the terminal's lifecycle.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro, clippy::unwrap_used)]

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod domain;
pub mod export;
pub mod journal;
pub mod logging;
pub mod quiet;
pub mod runbook_cli;
pub mod slo_report;
pub mod sources;
pub mod status;
pub mod terminal;
pub mod ui;
