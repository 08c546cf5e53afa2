//! The embedded simulated service "odin" behind `warroom demo`. A pure, seeded model advanced one
//! simulated second at a time; it emits exactly the `Msg`s real sources and other journal writers
//! would: Alertmanager snapshots, Prometheus signals and SLO counts, log lines, deploy history, and
//! timeline entries from two simulated teammates. `run` drives it in real time at a chosen speed.

mod model;
mod rng;
mod script;

pub use model::{ROLLBACK_DELAY, SimIds, Simulator};

use std::time::Duration as StdDuration;

use tokio::sync::{mpsc, watch};

use super::clock::TimeSource;
use crate::app::msg::Msg;

/// Advances the simulator to the simulated clock and sends what it produced, until the receiver
/// is gone. The first batch (an hour of history) goes out immediately, so every pane has data at
/// once; a refresh request makes every simulated source poll at once, as real pollers do.
pub async fn run(
    mut sim: Simulator,
    clock: TimeSource,
    speed: f64,
    tx: mpsc::Sender<Msg>,
    mut refresh: watch::Receiver<u64>,
) {
    for msg in sim.initial() {
        if tx.send(msg).await.is_err() {
            return;
        }
    }
    let period = StdDuration::from_secs_f64((1.0 / speed.max(0.01)).max(0.05));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let msgs = tokio::select! {
            _ = ticker.tick() => sim.advance_to((clock.now() - sim.start()).num_seconds()),
            changed = refresh.changed() => {
                if changed.is_err() {
                    return;
                }
                sim.poll_now()
            }
        };
        for msg in msgs {
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    }
}
