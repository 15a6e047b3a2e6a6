//! Characters that make a key display differently from what it is: bidi controls, zero-width
//! characters, every other Unicode format (general category Cf) character, and the letters
//! and marks that display as nothing (Hangul fillers, variation selectors, the combining
//! grapheme joiner, the blank Braille pattern).

/// What is wrong with `ch` when it can spoof a display: its name (for the well-known ones) and
/// its class; None for an innocent character.
pub(crate) fn spoofing(ch: char) -> Option<(Option<&'static str>, &'static str)> {
    let name = match ch {
        '\u{202A}' => Some("LEFT-TO-RIGHT EMBEDDING"),
        '\u{202B}' => Some("RIGHT-TO-LEFT EMBEDDING"),
        '\u{202C}' => Some("POP DIRECTIONAL FORMATTING"),
        '\u{202D}' => Some("LEFT-TO-RIGHT OVERRIDE"),
        '\u{202E}' => Some("RIGHT-TO-LEFT OVERRIDE"),
        '\u{2066}' => Some("LEFT-TO-RIGHT ISOLATE"),
        '\u{2067}' => Some("RIGHT-TO-LEFT ISOLATE"),
        '\u{2068}' => Some("FIRST STRONG ISOLATE"),
        '\u{2069}' => Some("POP DIRECTIONAL ISOLATE"),
        '\u{200E}' => Some("LEFT-TO-RIGHT MARK"),
        '\u{200F}' => Some("RIGHT-TO-LEFT MARK"),
        '\u{061C}' => Some("ARABIC LETTER MARK"),
        '\u{200B}' => Some("ZERO WIDTH SPACE"),
        '\u{200C}' => Some("ZERO WIDTH NON-JOINER"),
        '\u{200D}' => Some("ZERO WIDTH JOINER"),
        '\u{2060}' => Some("WORD JOINER"),
        '\u{FEFF}' => Some("ZERO WIDTH NO-BREAK SPACE"),
        '\u{00AD}' => Some("SOFT HYPHEN"),
        '\u{034F}' => Some("COMBINING GRAPHEME JOINER"),
        '\u{115F}' => Some("HANGUL CHOSEONG FILLER"),
        '\u{1160}' => Some("HANGUL JUNGSEONG FILLER"),
        '\u{3164}' => Some("HANGUL FILLER"),
        '\u{FFA0}' => Some("HALFWIDTH HANGUL FILLER"),
        '\u{2800}' => Some("BRAILLE PATTERN BLANK"),
        _ => None,
    };
    let class = match ch {
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => "a bidi control, which can reorder how the text around it is displayed",
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => {
            "a zero-width character, which is invisible"
        }
        _ if is_format(ch) => {
            "a format character, which is invisible or changes how text is displayed"
        }
        '\u{FE00}'..='\u{FE0F}'
        | '\u{E0100}'..='\u{E01EF}'
        | '\u{180B}'..='\u{180D}'
        | '\u{180F}' => "a variation selector, which is invisible",
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        | '\u{17B4}' | '\u{17B5}' => "a character that displays as nothing (or as a blank)",
        _ => return None,
    };
    Some((name, class))
}

/// Unicode general category Cf (format), as of Unicode 15.1.
fn is_format(ch: char) -> bool {
    matches!(ch,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_marks_that_display_as_nothing_are_caught() {
        for ch in [
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{2800}',
            '\u{FE0F}',
            '\u{E0100}',
            '\u{180B}',
            '\u{17B4}',
        ] {
            assert!(spoofing(ch).is_some(), "{:04X}", ch as u32);
        }
        for innocent in ['a', '\u{00E9}', '\u{AC00}', '\u{2801}', ' '] {
            assert!(spoofing(innocent).is_none(), "{:04X}", innocent as u32);
        }
    }

    #[test]
    fn bidi_zero_width_and_format_characters_are_named_and_classed() {
        assert_eq!(
            spoofing('\u{202E}').map(|(name, _)| name),
            Some(Some("RIGHT-TO-LEFT OVERRIDE"))
        );
        assert!(spoofing('\u{200B}').unwrap().1.contains("zero-width"));
        assert!(spoofing('\u{2067}').unwrap().1.contains("bidi"));
        let tag = spoofing('\u{E0041}').expect("a tag character is Cf");
        assert_eq!(tag.0, None);
        assert!(tag.1.contains("format"));
    }

    #[test]
    fn ordinary_letters_symbols_and_emoji_are_innocent() {
        for ch in ['a', 'é', '主', '🚀', '-', '~', '/', ' ', '\u{00A0}'] {
            assert_eq!(spoofing(ch), None, "{ch:?}");
        }
    }
}
