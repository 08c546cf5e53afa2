//! warroom: a terminal incident cockpit. `domain` is pure data and math, `app` owns the state and
//! the pure `update`, `ui` draws it, `sources` talk to the world, `config` loads and validates the
//! configuration before the terminal is touched, `terminal` owns the terminal's lifecycle.
#![deny(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::dbg_macro,
    clippy::unwrap_used
)]

pub mod app;
pub mod domain;
pub mod sources;
pub mod ui;
