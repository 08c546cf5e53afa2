//! Everything that brings data in from the world. Each source runs as its own task and sends
//! `Msg::Source` updates; nothing here touches `AppState`. The simulator behind `warroom demo`
//! sends exactly the messages the real sources send.

pub mod alertmanager;
pub mod clock;
pub mod deploys;
pub mod http;
pub mod live;
pub mod logs;
pub mod probes;
pub mod prometheus;
pub mod runbook_exec;
pub mod simulator;
pub mod slo;
