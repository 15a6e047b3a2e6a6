//! Where the system's Debian archive is: read from its APT sources, which are never changed.

use std::path::PathBuf;

/// The Debian archive URI of the system's `bookworm` entry (deb822 `.sources` first, then
/// one-line `.list` files).
pub(crate) fn system_debian_uri() -> Option<String> {
    let mut deb822 = Vec::new();
    let mut one_line = Vec::new();
    one_line.extend(std::fs::read_to_string("/etc/apt/sources.list"));
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match path.extension().and_then(|ext| ext.to_str()) {
                Some("sources") => deb822.push(text),
                Some("list") => one_line.push(text),
                _ => {}
            }
        }
    }
    deb822
        .iter()
        .find_map(|text| bookworm_uri_in_deb822(text))
        .or_else(|| {
            one_line
                .iter()
                .find_map(|text| bookworm_uri_in_one_line(text))
        })
}

/// First URI of a deb822 stanza of type `deb` whose suites include exactly `bookworm`.
fn bookworm_uri_in_deb822(text: &str) -> Option<String> {
    let content: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();
    content
        .split(|line| line.trim().is_empty())
        .find_map(|stanza| {
            let field = |name: &str| {
                stanza.iter().find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
                })
            };
            let words = |name: &str| field(name).unwrap_or_default().split_whitespace();
            let enabled = !field("Enabled").is_some_and(|value| value.eq_ignore_ascii_case("no"));
            let is_deb = words("Types").any(|kind| kind == "deb");
            let bookworm = words("Suites").any(|suite| suite == "bookworm");
            (enabled && is_deb && bookworm)
                .then(|| words("URIs").next().map(String::from))
                .flatten()
        })
}

/// URI of the first `deb [options] URI bookworm ...` line.
fn bookworm_uri_in_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("deb ")?.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(options) => options.split_once(']')?.1,
            None => rest,
        };
        let mut words = rest.split_whitespace();
        let uri = words.next()?;
        (words.next()? == "bookworm").then(|| uri.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The archive host below is a placeholder: no real mirror name is written in this repository.
    const SOURCES: &str =
        "Types: deb\n# http://old.example/debian\nURIs: http://mirror.example/debian\n\
        Suites: bookworm bookworm-updates\nComponents: main\n\n\
        Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";

    #[test]
    fn deb822_bookworm_stanza_gives_its_uri() {
        assert_eq!(
            bookworm_uri_in_deb822(SOURCES).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn deb822_security_only_stanza_is_not_taken() {
        let security_only =
            "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(bookworm_uri_in_deb822(security_only), None);
    }

    #[test]
    fn deb822_disabled_stanza_is_not_taken() {
        let disabled = "Enabled: no\nTypes: deb\nURIs: http://a.example/debian\nSuites: bookworm\n";
        assert_eq!(bookworm_uri_in_deb822(disabled), None);
    }

    #[test]
    fn one_line_entry_with_options_gives_its_uri() {
        let list = "# comment\ndeb-src http://src.example/debian bookworm main\n\
            deb [arch=amd64 signed-by=/k.gpg] http://b.example/debian bookworm main\n";
        assert_eq!(
            bookworm_uri_in_one_line(list).as_deref(),
            Some("http://b.example/debian")
        );
    }

    #[test]
    fn one_line_entry_for_another_suite_is_not_taken() {
        assert_eq!(
            bookworm_uri_in_one_line("deb http://c.example/debian trixie main"),
            None
        );
    }
}
