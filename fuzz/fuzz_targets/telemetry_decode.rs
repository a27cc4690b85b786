//! Telemetry postcard bytes → decode → limits → the behaviour feature extraction the verifier
//! runs on every valid token (`Session::from_telemetry` + `features::extract`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_protocol::Telemetry;
use tollgate_model::features::{self, Session};

fuzz_target!(|data: &[u8]| {
    let Ok(t) = postcard::from_bytes::<Telemetry>(data) else {
        return;
    };
    if t.check_limits().is_err() {
        return;
    }
    let f = features::extract(&Session::from_telemetry(&t));
    for v in f.values.iter().flatten() {
        assert!(v.is_finite(), "feature values are finite");
    }
});
