//! Corrupted copies of tokens (and any base64url text).

use tollgate_protocol::{b64_decode, b64_encode};

use crate::Error;

/// `text` with the character at `index` (clamped to the last one) swapped for another base64url
/// character (`A` ↔ `B`): still well-formed text, different bytes.
pub fn swap_char(text: &str, index: usize) -> String {
    let mut b = text.as_bytes().to_vec();
    let i = index.min(b.len().saturating_sub(1));
    if let Some(c) = b.get_mut(i) {
        *c = if *c == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// `text` with the character in the middle swapped ([`swap_char`]).
pub fn swap_middle(text: &str) -> String {
    swap_char(text, text.len() / 2)
}

/// Decode base64url `text`, flip `bit` (0–7) of byte `index` (clamped to the last byte) and
/// re-encode.
///
/// # Errors
/// `text` is not base64url.
pub fn flip_bit(text: &str, index: usize, bit: u8) -> Result<String, Error> {
    let mut raw = b64_decode(text)?;
    let i = index.min(raw.len().saturating_sub(1));
    if let Some(b) = raw.get_mut(i) {
        *b ^= 1 << (bit & 7);
    }
    Ok(b64_encode(&raw))
}

/// Flip the lowest bit of the last byte (the end of a token's MAC).
///
/// # Errors
/// `text` is not base64url.
pub fn flip_last_bit(text: &str) -> Result<String, Error> {
    flip_bit(text, usize::MAX, 0)
}

/// The first half of `text` (a truncated token).
pub fn truncate_half(text: &str) -> &str {
    text.get(..text.len() / 2).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruptions() {
        assert_eq!(swap_char("AAB", 0), "BAB");
        assert_eq!(swap_char("AAB", 9), "AAA");
        assert_eq!(swap_middle("xAy"), "xBy");
        assert_eq!(swap_char("", 3), "");
        let t = b64_encode(&[0, 1, 2, 3]);
        assert_eq!(
            b64_decode(&flip_last_bit(&t).unwrap()).unwrap(),
            [0, 1, 2, 2]
        );
        assert_eq!(
            b64_decode(&flip_bit(&t, 0, 7).unwrap()).unwrap(),
            [0x80, 1, 2, 3]
        );
        assert!(flip_bit("!!", 0, 0).is_err());
        assert_eq!(truncate_half("abcd"), "ab");
    }
}
