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

    /// The latest instant not after `now` that reads `h:m:s` in the shown time zone (today's, or
    /// yesterday's if today's is still to come).
    pub fn at_time_of_day(&self, now: DateTime<Utc>, (h, m, s): (u32, u32, u32)) -> DateTime<Utc> {
        let offset = match self.zone {
            TimeZoneChoice::Utc => Utc.fix(),
            TimeZoneChoice::Local => self.local_offset,
        };
        let local_now = now.with_timezone(&offset);
        let candidate = local_now
            .date_naive()
            .and_hms_opt(h, m, s)
            .and_then(|t| t.and_local_timezone(offset).single())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        if candidate > now {
            candidate - Duration::days(1)
        } else {
            candidate
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
    fn a_time_of_day_is_the_latest_past_one() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 3, 14, 10, 5, 0).single().unwrap_or_default();
        let utc = Clock::default();
        assert_eq!(
            utc.at_time_of_day(now, (9, 58, 0)),
            Utc.with_ymd_and_hms(2026, 3, 14, 9, 58, 0).single().unwrap_or_default()
        );
        assert_eq!(
            utc.at_time_of_day(now, (23, 0, 0)),
            Utc.with_ymd_and_hms(2026, 3, 13, 23, 0, 0).single().unwrap_or_default()
        );
        let cet = Clock {
            zone: TimeZoneChoice::Local,
            local_offset: FixedOffset::east_opt(3600).unwrap_or(Utc.fix()),
        };
        assert_eq!(
            cet.at_time_of_day(now, (10, 30, 0)),
            Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).single().unwrap_or_default()
        );
    }

    #[test]
    fn durations_use_at_most_two_units() {
        assert_eq!(short_duration(Duration::seconds(7)), "7s");
        assert_eq!(short_duration(Duration::seconds(252)), "4m12s");
        assert_eq!(short_duration(Duration::seconds(7500)), "2h05m");
        assert_eq!(short_duration(Duration::seconds(3 * 86_400 + 4 * 3600 + 5)), "3d04h");
        assert_eq!(short_duration(Duration::seconds(-5)), "0s");
    }
}
