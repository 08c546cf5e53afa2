//! The cockpit's notion of "now": the real UTC clock, or the demo's simulated clock that runs
//! `speed` times faster from a start time. Both read tokio's clock, so paused-time tests control them.

use chrono::{DateTime, Duration, Utc};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub enum TimeSource {
    Real,
    Simulated {
        start: DateTime<Utc>,
        started: Instant,
        speed: f64,
    },
}

impl TimeSource {
    pub fn simulated(start: DateTime<Utc>, speed: f64) -> Self {
        Self::Simulated {
            start,
            started: Instant::now(),
            speed,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            // The one place the cockpit reads the wall clock.
            #[allow(clippy::disallowed_methods)]
            Self::Real => Utc::now(),
            Self::Simulated { start, started, speed } => {
                let elapsed = started.elapsed().as_secs_f64() * speed;
                *start + Duration::milliseconds((elapsed * 1000.0) as i64)
            }
        }
    }
}
