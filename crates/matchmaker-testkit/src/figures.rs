//! Figures measured by the fault scenarios (times, counts), collected for `RELIABILITY.md`.
//!
//! Each test that runs a fault scenario records what it measured with [`record`]; the lines go
//! to `target/faults/figures.tsv` (one `scenario\tfigure\tvalue` line each, appended, so tests in
//! several binaries add to one file), and `cargo xtask faults` / `cargo xtask test` print them
//! as a table after the run. Recording never fails a test: a file that cannot be written is
//! reported on stderr.

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// One measured figure: which scenario, what was measured, and the value as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The scenario, e.g. `etcd cluster: leader SIGKILL`.
    pub scenario: String,
    /// What was measured, e.g. `lookups empty`.
    pub figure: String,
    /// The value with its unit, e.g. `412 ms` or `0`.
    pub value: String,
}

/// The file the figures of this workspace's runs are appended to.
pub fn file() -> PathBuf {
    crate::target_dir().join("faults").join("figures.tsv")
}

/// Records `value` for `figure` of `scenario` (and prints it, so `--nocapture` shows it).
pub fn record(scenario: &str, figure: &str, value: impl Display) {
    let line = format!(
        "{}\t{}\t{}\n",
        one_field(scenario),
        one_field(figure),
        one_field(&value.to_string())
    );
    eprintln!("figure: {}", line.trim_end().replace('\t', " | "));
    let path = file();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        })
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(error) = written {
        eprintln!("figures: cannot append to {}: {error}", path.display());
    }
}

/// Records a duration in milliseconds (`412 ms`).
pub fn record_duration(scenario: &str, figure: &str, took: Duration) {
    record(scenario, figure, format_millis(took));
}

/// `412 ms`.
pub fn format_millis(took: Duration) -> String {
    format!("{} ms", took.as_millis())
}

/// Every figure in [`file()`], in the order recorded (an absent file has none).
pub fn read_all() -> Vec<Figure> {
    let text = std::fs::read_to_string(file()).unwrap_or_default();
    parse(&text)
}

/// Removes [`file()`], before a run that records anew.
pub fn clear() {
    let _ = std::fs::remove_file(file());
}

fn parse(text: &str) -> Vec<Figure> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            Some(Figure {
                scenario: fields.next()?.to_owned(),
                figure: fields.next()?.to_owned(),
                value: fields.next()?.to_owned(),
            })
        })
        .collect()
}

/// Tabs and line breaks would split a line: they become spaces.
fn one_field(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_parses_back_into_its_three_fields() {
        let line = format!(
            "{}\t{}\t{}\n",
            one_field("etcd: leader\tkill"),
            one_field("took"),
            one_field("3 ms")
        );
        assert_eq!(
            parse(&line),
            vec![Figure {
                scenario: "etcd: leader kill".to_owned(),
                figure: "took".to_owned(),
                value: "3 ms".to_owned(),
            }]
        );
    }

    #[test]
    fn durations_are_written_in_milliseconds() {
        assert_eq!(format_millis(Duration::from_micros(412_900)), "412 ms");
    }
}
