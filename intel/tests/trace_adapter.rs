//! Property tests on stable for the intel trace adapter (the `trace_adapter` fuzz target in
//! `fuzz/` covers the same code with libFuzzer): arbitrary bytes and JSON-ish lines never panic,
//! and every record it accepts gives finite features.

use proptest::prelude::*;
use tollgate_intel::traces;
use tollgate_model::features;

proptest! {
    #[test]
    fn trace_adapter_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (records, report) = traces::read_records(&bytes[..]);
        prop_assert_eq!(records.len(), report.records);
    }

    #[test]
    fn trace_adapter_never_panics_on_jsonish_lines(lines in prop::collection::vec(
        prop_oneof![
            Just(String::new()),
            "[{}\\[\\]\":,0-9a-z.e+-]{0,120}",
            Just(r#"{"id":"a","source":"s","subject":"u","label":"human","pointer":[[0,1,2],[16,3,4]],"keys":[]}"#.to_string()),
            Just(r#"{"id":"b","source":"s","subject":"u","label":"bot","pointer":[[1e308,-1e308,0]],"keys":[[0,1e400,"char"]]}"#.to_string()),
        ],
        0..20,
    )) {
        let text = lines.join("\n");
        let (records, report) = traces::read_records(text.as_bytes());
        prop_assert_eq!(records.len(), report.records);
        for r in &records {
            let f = features::extract(&r.session);
            prop_assert!(f.values.iter().flatten().all(|v| v.is_finite()));
        }
    }
}
