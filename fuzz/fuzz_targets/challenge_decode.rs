//! Signed challenge wire bytes → `Challenge::parse` (and re-encoding round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_protocol::challenge::Challenge;

fuzz_target!(|data: &[u8]| {
    if let Ok(ch) = Challenge::parse(data) {
        // What parses must re-encode to the same bytes (no ambiguous encodings).
        assert_eq!(ch.to_bytes(), data);
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let _ = ch.verify(|_| Some(key));
    }
});
