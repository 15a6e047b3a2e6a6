//! Reversible byte escapes for the names backends store (etcd key segments: `%XX`; Consul
//! service names: `-xx`), and percent-decoding of URL parts: one codec each backend
//! configures, instead of one hand-written per backend.
//!
//! ```
//! use matchmaker_core::escape::ByteEscape;
//! fn alphanumeric(byte: u8) -> bool {
//!     byte.is_ascii_alphanumeric()
//! }
//! const ESCAPE: ByteEscape = ByteEscape::new(alphanumeric, b'%', true);
//! assert_eq!(ESCAPE.encode("a/b"), "a%2Fb");
//! assert_eq!(ESCAPE.decode("a%2Fb").as_deref(), Some("a/b"));
//! assert_eq!(ESCAPE.decode("%61"), None); // `a` is kept, so never escaped
//! ```

/// An injective escape of UTF-8 text into a set of kept bytes: every other byte becomes the
/// marker followed by two hex digits. The marker is not a kept byte, so decoding is exact
/// and every text has exactly one encoding.
#[derive(Debug, Clone, Copy)]
pub struct ByteEscape {
    keep: fn(u8) -> bool,
    marker: u8,
    upper_hex: bool,
}

impl ByteEscape {
    /// Keeps the bytes `keep` accepts and writes any other as `marker` and two hex digits,
    /// upper case when `upper_hex`. `keep(marker)` must be false.
    pub const fn new(keep: fn(u8) -> bool, marker: u8, upper_hex: bool) -> Self {
        ByteEscape {
            keep,
            marker,
            upper_hex,
        }
    }

    fn digits(&self) -> &'static [u8; 16] {
        match self.upper_hex {
            true => b"0123456789ABCDEF",
            false => b"0123456789abcdef",
        }
    }

    /// `text` with every byte outside the kept set escaped.
    pub fn encode(&self, text: &str) -> String {
        let digits = self.digits();
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            if (self.keep)(byte) {
                out.push(char::from(byte));
            } else {
                out.push(char::from(self.marker));
                out.push(char::from(digits[usize::from(byte >> 4)]));
                out.push(char::from(digits[usize::from(byte & 0xF)]));
            }
        }
        out
    }

    /// Reverses [`Self::encode`]; `None` for text it cannot have produced (a byte outside the
    /// kept set, an escape of a kept byte, a digit of the other case, invalid UTF-8).
    pub fn decode(&self, encoded: &str) -> Option<String> {
        let digits = self.digits();
        let hex = |digit: u8| digits.iter().position(|d| *d == digit).map(|v| v as u8);
        let bytes = encoded.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            let byte = bytes[index];
            if byte == self.marker {
                let pair = bytes.get(index + 1..index + 3)?;
                let value = hex(pair[0])? << 4 | hex(pair[1])?;
                if (self.keep)(value) {
                    return None;
                }
                out.push(value);
                index += 3;
            } else if (self.keep)(byte) {
                out.push(byte);
                index += 1;
            } else {
                return None;
            }
        }
        String::from_utf8(out).ok()
    }
}

/// Decodes the `%XX` escapes (either case) of a URL part; `None` for a broken escape or text
/// that is not UTF-8 once decoded.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            if !hex.bytes().all(|digit| digit.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower_alphanumeric(byte: u8) -> bool {
        byte.is_ascii_lowercase() || byte.is_ascii_digit()
    }

    const DASH: ByteEscape = ByteEscape::new(lower_alphanumeric, b'-', false);

    #[test]
    fn every_text_round_trips_and_has_one_encoding() {
        for text in ["", "abc", "Billing/v1", "a-b", "--", "héllo\u{202e}", "%2F"] {
            let encoded = DASH.encode(text);
            assert!(!encoded.contains("--"), "{encoded}");
            assert_eq!(DASH.decode(&encoded).as_deref(), Some(text));
        }
        assert_eq!(DASH.encode("Billing/v1"), "-42illing-2fv1");
    }

    #[test]
    fn text_the_encoder_cannot_produce_is_refused() {
        for encoded in ["-", "-4", "-4G", "-2F", "-61", "A", "-ff-fe", "a b"] {
            assert_eq!(DASH.decode(encoded), None, "{encoded}");
        }
    }

    #[test]
    fn url_parts_decode_either_hex_case_and_refuse_broken_escapes() {
        assert_eq!(percent_decode("a%20b%2f%2F").as_deref(), Some("a b//"));
        for broken in ["%", "%2", "%zz", "%+1", "%ff"] {
            assert_eq!(percent_decode(broken), None, "{broken}");
        }
    }
}
