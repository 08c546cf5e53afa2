//! The application core: `AppState` (sole owner of what the cockpit knows), typed `Msg`, `Action`
//! and `Effect`, the keymap, the pure `update`, and the runtime loop that feeds it and draws.

pub mod action;
pub mod canary;
pub mod effect;
pub mod keymap;
pub mod list;
pub mod msg;
pub mod palette;
pub mod pane;
pub mod panes;
pub mod rollback;
pub mod runbook_run;
pub mod runtime;
pub mod silencing;
pub mod state;
pub mod update;
