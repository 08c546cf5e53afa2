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
use crate::app::effect::Request;
use crate::app::msg::Msg;

/// Where the simulated teammates' timeline entries go: straight to the cockpit (as if read from
/// the journal), or to a writer that appends them to the journal like another process would.
pub enum Teammates {
    Direct,
    Journal(std::sync::mpsc::Sender<Vec<crate::domain::timeline::TimelineEntry>>),
}

impl Teammates {
    /// Takes the teammates' entries out of the stream when they go to the journal.
    fn route(&self, msg: Msg) -> Option<Msg> {
        match (msg, self) {
            (Msg::Recorded(entries), Teammates::Journal(writer)) => {
                let _ = writer.send(entries);
                None
            }
            (msg, _) => Some(msg),
        }
    }
}

/// Advances the simulator to the simulated clock and sends what it produced, until the receiver
/// is gone. The first batch (an hour of history) goes out immediately, so every pane has data at
/// once; a refresh request makes every simulated source poll at once, as real pollers do.
pub async fn run(
    mut sim: Simulator,
    clock: TimeSource,
    speed: f64,
    tx: mpsc::Sender<Msg>,
    mut refresh: watch::Receiver<u64>,
    teammates: Teammates,
    mut requests: mpsc::Receiver<Request>,
) {
    for msg in sim.initial().into_iter().filter_map(|m| teammates.route(m)) {
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
            Some(request) = requests.recv() => {
                let result = sim.handle(&request);
                vec![Msg::RequestDone { request, result }]
            }
        };
        for msg in msgs.into_iter().filter_map(|m| teammates.route(m)) {
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    }
}
