//! Trace files (JSON Lines) → the intel trace adapter (`tollgate_intel::traces::read_records`)
//! → feature extraction of every record it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (records, report) = tollgate_intel::traces::read_records(data);
    assert_eq!(records.len(), report.records);
    for r in &records {
        let _ = tollgate_model::features::extract(&r.session);
    }
});
