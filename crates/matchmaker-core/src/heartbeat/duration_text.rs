//! Durations as matchmaker reads them everywhere (CLI flags, URL parameters, environment
//! variables, config files): a bare number of seconds (`10`, `2.5`) or a humantime duration
//! (`10s`, `1500ms`, `1m`).
//!
//! ```
//! use std::time::Duration;
//! use matchmaker_core::heartbeat::duration_text::parse_duration;
//! assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
//! assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
//! assert!(parse_duration("soon").is_err());
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// What to write instead, appended to every parse error.
pub const EXAMPLES: &str = "write 10 (seconds), 10s, 1500ms or 1m";

/// Parses a bare number of seconds or a humantime duration; the error says what to write.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bare_seconds = text.starts_with(|ch: char| ch.is_ascii_digit())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'.');
    if bare_seconds {
        return text
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .ok_or_else(|| format!("{text:?} is not a number of seconds; {EXAMPLES}"));
    }
    humantime::parse_duration(text).map_err(|error| format!("{error}; {EXAMPLES}"))
}

/// [`parse_duration`] of the value of a named parameter (`ttl`, `request_timeout`, ...): the
/// error names the parameter and its value.
pub fn parse_parameter(name: &str, value: &str) -> Result<Duration, String> {
    parse_duration(value).map_err(|error| format!("{name} {value:?} is not a duration: {error}"))
}

/// Writes a duration the way [`parse_duration`] reads it back (`10s`, `1s 500ms`).
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Serde for `Duration` fields: reads a string ([`parse_duration`]) or a number of seconds,
/// writes a humantime string. Use with `#[serde(with = "...::duration_text")]`.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*duration))
}

/// See [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match Text::deserialize(deserializer)? {
        Text::Seconds(seconds) => Duration::try_from_secs_f64(seconds)
            .map_err(|_| serde::de::Error::custom(format!("{seconds} is not a number of seconds"))),
        Text::Written(text) => parse_duration(&text).map_err(serde::de::Error::custom),
    }
}

/// The same for `Option<Duration>` fields (`#[serde(with = "...::duration_text::option")]`).
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `None` as nothing and `Some` like [`super::serialize`].
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads nothing as `None` and anything else like [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] Duration);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(duration)| duration))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Seconds(f64),
    Written(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers_are_seconds_and_units_are_humantime() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration(" 2.5 "), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn nonsense_says_what_to_write() {
        for bad in ["", "soon", "1.2.3", "-1", "10 parsecs"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains(EXAMPLES), "{bad:?}: {error}");
        }
    }

    #[test]
    fn serde_reads_numbers_and_strings_and_writes_strings() {
        #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
        struct Config {
            #[serde(with = "super")]
            ttl: Duration,
            #[serde(with = "super::option", default)]
            interval: Option<Duration>,
        }
        let read: Config = serde_json::from_str(r#"{"ttl": 10, "interval": "1500ms"}"#).unwrap();
        assert_eq!(read.ttl, Duration::from_secs(10));
        assert_eq!(read.interval, Some(Duration::from_millis(1500)));
        let read: Config = serde_json::from_str(r#"{"ttl": "2"}"#).unwrap();
        assert_eq!((read.ttl, read.interval), (Duration::from_secs(2), None));
        let written = serde_json::to_string(&read).unwrap();
        assert_eq!(written, r#"{"ttl":"2s","interval":null}"#);
    }
}
