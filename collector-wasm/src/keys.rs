//! Key → key class. The key value is only looked at here, transiently; it is never stored.

use tollgate_protocol::telemetry::key_class;

/// Map a `KeyboardEvent.key` value to its class ([`key_class`]).
///
/// - one printable character (or a multi-character printable value such as a composed grapheme),
///   plus `Dead` (dead-key composition) and `Process` (IME) → `CHAR`;
/// - `" "` → `SPACE`, `Backspace`, `Enter`, `Tab`, `Shift` → their own class;
/// - modifier and lock keys → `MODIFIER`;
/// - any other named key (`ArrowLeft`, `F5`, `Escape`, `Unidentified`, …) and control characters → `OTHER`.
pub fn key_class_of(key: &str) -> u8 {
    let mut chars = key.chars();
    let Some(first) = chars.next() else {
        return key_class::OTHER;
    };
    if chars.next().is_none() {
        return match first {
            ' ' => key_class::SPACE,
            c if c.is_control() => key_class::OTHER,
            _ => key_class::CHAR,
        };
    }
    match key {
        "Backspace" => key_class::BACKSPACE,
        "Enter" => key_class::ENTER,
        "Tab" => key_class::TAB,
        "Shift" => key_class::SHIFT,
        "Control" | "Alt" | "AltGraph" | "Meta" | "OS" | "Super" | "Hyper" | "Fn" | "FnLock"
        | "CapsLock" | "NumLock" | "ScrollLock" | "Symbol" | "SymbolLock" => key_class::MODIFIER,
        "Dead" | "Process" => key_class::CHAR,
        // Named keys are ASCII words ("ArrowLeft", "F5", "Unidentified"); anything else with more
        // than one code point is a printable value (e.g. a composed grapheme or an emoji sequence).
        _ if key.bytes().all(|b| b.is_ascii_alphanumeric()) => key_class::OTHER,
        _ if key.chars().any(char::is_control) => key_class::OTHER,
        _ => key_class::CHAR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_keys_are_char() {
        for k in [
            "a",
            "Z",
            "7",
            "@",
            "é",
            "ß",
            "€",
            "あ",
            "🙂",
            "👩‍💻",
            "e\u{301}",
            "Dead",
            "Process",
        ] {
            assert_eq!(key_class_of(k), key_class::CHAR, "{k:?}");
        }
    }

    #[test]
    fn named_keys() {
        assert_eq!(key_class_of(" "), key_class::SPACE);
        assert_eq!(key_class_of("Backspace"), key_class::BACKSPACE);
        assert_eq!(key_class_of("Enter"), key_class::ENTER);
        assert_eq!(key_class_of("Tab"), key_class::TAB);
        assert_eq!(key_class_of("Shift"), key_class::SHIFT);
        for k in [
            "Control", "Alt", "AltGraph", "Meta", "CapsLock", "Fn", "NumLock",
        ] {
            assert_eq!(key_class_of(k), key_class::MODIFIER, "{k:?}");
        }
        for k in [
            "ArrowLeft",
            "Escape",
            "F5",
            "Delete",
            "Home",
            "Unidentified",
            "",
            "\u{7f}",
            "\t",
            "a\u{0}",
        ] {
            assert_eq!(key_class_of(k), key_class::OTHER, "{k:?}");
        }
    }
}
