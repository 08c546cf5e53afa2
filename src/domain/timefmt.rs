//! Compact human formats for ages, durations and clock times, as shown in panes and the status bar.

use chrono::{DateTime, Duration, FixedOffset, Offset, Utc};

/// "7s", "4m12s", "2h05m", "3d04h": at most two units, never negative.
pub fn short_duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins, s) = (secs / 86_400, (secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    if days > 0 {
        format!("{days}d{hours:02}h")
    } else if hours > 0 {
        format!("{hours}h{mins:02}m")
    } else if mins > 0 {
        format!("{mins}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The age of `at` relative to `now`, as [`short_duration`].
pub fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    short_duration(now - at)
}

/// Which clock the user reads times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeZoneChoice {
    #[default]
    Utc,
    Local,
}

/// How a wall-clock time is shown: UTC (with a `Z`) or a fixed local offset captured at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub zone: TimeZoneChoice,
    pub local_offset: FixedOffset,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            zone: TimeZoneChoice::Utc,
            local_offset: Utc.fix(),
        }
    }
}

impl Clock {
    /// "14:05:33Z" in UTC, "16:05:33" in local time.
    pub fn hms(&self, t: DateTime<Utc>) -> String {
        match self.zone {
            TimeZoneChoice::Utc => t.format("%H:%M:%SZ").to_string(),
            TimeZoneChoice::Local => t.with_timezone(&self.local_offset).format("%H:%M:%S").to_string(),
        }
    }

    /// "14:05Z" or "16:05".
    pub fn hm(&self, t: DateTime<Utc>) -> String {
        match self.zone {
            TimeZoneChoice::Utc => t.format("%H:%MZ").to_string(),
            TimeZoneChoice::Local => t.with_timezone(&self.local_offset).format("%H:%M").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_at_most_two_units() {
        assert_eq!(short_duration(Duration::seconds(7)), "7s");
        assert_eq!(short_duration(Duration::seconds(252)), "4m12s");
        assert_eq!(short_duration(Duration::seconds(7500)), "2h05m");
        assert_eq!(short_duration(Duration::seconds(3 * 86_400 + 4 * 3600 + 5)), "3d04h");
        assert_eq!(short_duration(Duration::seconds(-5)), "0s");
    }
}
