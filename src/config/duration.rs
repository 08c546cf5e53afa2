//! Durations written as text in the config ("15s", "5m", "30d", "1h30m").

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DurationText(pub Duration);

impl fmt::Debug for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map(DurationText).map_err(|e| {
            serde::de::Error::custom(format!(
                "bad duration \"{text}\" ({e}); write e.g. \"15s\", \"5m\", \"30d\""
            ))
        })
    }
}

impl DurationText {
    pub fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}
