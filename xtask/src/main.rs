//! Project tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `gen-js`: write the loader's contract with the Rust side, `js/src/generated/contract.js`:
//!   every constant the JavaScript shares with Rust (probe ids, record kinds and flags, the
//!   `LIE_TARGETS` and `ENGINE_FEATURES` orders, the challenge layout, the token key length, the
//!   collector's log layout), generated from the
//!   Rust definitions so that the two cannot drift.
//! - `gen-js --check`: exit non-zero when the committed file differs from what `gen-js` writes
//!   (`scripts/test.sh` runs it).
//!
//! The protocol groups come from the `ALL` tables that `tollgate_protocol::const_table!` defines
//! next to the constants; the collector's log layout (`collector-wasm/src/ingest.rs`) is listed
//! here by path, so a renamed or removed constant fails this build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use tollgate_collector::{ingest, state};
use tollgate_protocol::{challenge, telemetry, token};

/// The generated file, relative to the repository root.
const OUT: &str = "js/src/generated/contract.js";

fn main() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["gen-js"] => {
            let path = root().join(OUT);
            std::fs::write(&path, contract())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("gen-js: wrote {OUT}");
            Ok(ExitCode::SUCCESS)
        }
        ["gen-js", "--check"] => {
            let path = root().join(OUT);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have == contract() {
                println!("gen-js: {OUT} is up to date");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "gen-js: {OUT} is stale (it does not match the Rust definitions): \
                     run `cargo xtask gen-js` and commit the result"
                );
                Ok(ExitCode::FAILURE)
            }
        }
        _ => bail!("usage: cargo xtask gen-js [--check]"),
    }
}

/// The repository root (this crate's parent directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// One group of constants: JS name prefix, where it is defined, its `(name, value)` pairs.
struct Group {
    prefix: &'static str,
    source: &'static str,
    items: Vec<(&'static str, u64)>,
}

fn group<T: Copy + Into<u64>>(
    prefix: &'static str,
    source: &'static str,
    items: &[(&'static str, T)],
) -> Group {
    Group {
        prefix,
        source,
        items: items.iter().map(|&(n, v)| (n, v.into())).collect(),
    }
}

fn usize_group(
    prefix: &'static str,
    source: &'static str,
    items: &[(&'static str, usize)],
) -> Group {
    Group {
        prefix,
        source,
        items: items.iter().map(|&(n, v)| (n, v as u64)).collect(),
    }
}

/// Every shared group, in output order.
fn groups() -> Vec<Group> {
    use telemetry as t;
    const TEL: &str = "protocol `telemetry`";
    vec![
        usize_group(
            "",
            TEL,
            &[
                ("SCHEMA", usize::from(t::SCHEMA)),
                ("PROBE_SCHEMA", usize::from(t::PROBE_SCHEMA)),
                ("MAX_TARGETS", t::MAX_TARGETS),
                ("MAX_POINTER", t::MAX_POINTER),
            ],
        ),
        group(
            "POINTER_KIND_",
            "protocol `telemetry::pointer_kind`",
            t::pointer_kind::ALL,
        ),
        group(
            "POINTER_TYPE_",
            "protocol `telemetry::pointer_type`",
            t::pointer_type::ALL,
        ),
        group(
            "POINTER_FLAGS_",
            "protocol `telemetry::pointer_flags`",
            t::pointer_flags::ALL,
        ),
        group(
            "KEY_CLASS_",
            "protocol `telemetry::key_class`",
            t::key_class::ALL,
        ),
        group(
            "KEY_FLAGS_",
            "protocol `telemetry::key_flags`",
            t::key_flags::ALL,
        ),
        group(
            "FIELD_KIND_",
            "protocol `telemetry::field_kind`",
            t::field_kind::ALL,
        ),
        group(
            "SCROLL_KIND_",
            "protocol `telemetry::scroll_kind`",
            t::scroll_kind::ALL,
        ),
        group("ROLE_", "protocol `telemetry::role`", t::role::ALL),
        group(
            "PROBE_",
            "protocol `telemetry::probe` (probe ids)",
            t::probe::ALL,
        ),
        group(
            "LIE_CHECK_",
            "protocol `telemetry::lie_check`",
            t::lie_check::ALL,
        ),
        group(
            "OWN_PROP_",
            "protocol `telemetry::own_prop`",
            t::own_prop::ALL,
        ),
        group(
            "IDENTITY_",
            "protocol `telemetry::identity`",
            t::identity::ALL,
        ),
        group(
            "FP_FLAGS_",
            "protocol `telemetry::fp_flags`",
            t::fp_flags::ALL,
        ),
        group(
            "DISPLAY_MODE_",
            "protocol `telemetry::display_mode`",
            t::display_mode::ALL,
        ),
        group(
            "AUTOMATION_STACK_",
            "protocol `telemetry::automation_stack`",
            t::automation_stack::ALL,
        ),
        usize_group(
            "CHALLENGE_",
            "protocol `challenge` (wire length and the offsets the loader reads)",
            &[("WIRE_LEN", challenge::WIRE_LEN)],
        ),
        usize_group(
            "CHALLENGE_OFFSET_",
            "protocol `challenge::offset`",
            challenge::offset::ALL,
        ),
        usize_group(
            "TOKEN_",
            "protocol `token` (the per-challenge MAC key, passed to the collector's `seal()`)",
            &[("KEY_LEN", token::TOKEN_KEY_LEN)],
        ),
        usize_group(
            "",
            "collector `ingest` (strides of the loader's logs)",
            &[
                ("PTR_STRIDE", ingest::PTR_STRIDE),
                ("EV_STRIDE", ingest::EV_STRIDE),
                ("TARGET_STRIDE", ingest::TARGET_STRIDE),
                ("PROBE_STRIDE", ingest::PROBE_STRIDE),
            ],
        ),
        group(
            "",
            "collector `ingest` (bit layout of the packed pointer and key words)",
            &[
                ("PTR_TYPE_SHIFT", ingest::PTR_TYPE_SHIFT),
                ("PTR_FLAGS_SHIFT", ingest::PTR_FLAGS_SHIFT),
                ("PTR_BUTTONS_SHIFT", ingest::PTR_BUTTONS_SHIFT),
                ("KEY_HI_SHIFT", ingest::KEY_HI_SHIFT),
            ],
        ),
        group(
            "EV_",
            "collector `ingest::ev` (event log types)",
            &[
                ("KEY_DOWN", ingest::ev::KEY_DOWN),
                ("KEY_UP", ingest::ev::KEY_UP),
                ("RELEASE", ingest::ev::RELEASE),
                ("FIELD", ingest::ev::FIELD),
                ("INPUT", ingest::ev::INPUT),
                ("SCROLL", ingest::ev::SCROLL),
                ("WHEEL", ingest::ev::WHEEL),
            ],
        ),
        group(
            "INPUT_",
            "collector `ingest::input_how` (what an `input` event was)",
            &[
                ("OTHER", ingest::input_how::OTHER),
                ("EXPLAINED", ingest::input_how::EXPLAINED),
                ("INSERT_TEXT", ingest::input_how::INSERT_TEXT),
            ],
        ),
        group(
            "PROBE_KIND_",
            "collector `ingest::probe_kind` (probe log value kinds)",
            &[
                ("BOOL", ingest::probe_kind::BOOL),
                ("INT", ingest::probe_kind::INT),
                ("NUM", ingest::probe_kind::NUM),
                ("STR", ingest::probe_kind::STR),
                ("ERROR", ingest::probe_kind::ERROR),
                ("ABSENT", ingest::probe_kind::ABSENT),
            ],
        ),
        group(
            "",
            "collector `state` (field index of events outside the registered fields)",
            &[("NO_FIELD", state::NO_FIELD)],
        ),
    ]
}

/// The text of `js/src/generated/contract.js` (deterministic: only the Rust constants go in).
fn contract() -> String {
    let mut s = String::new();
    s.push_str(
        "// @ts-check\n\
         // GENERATED by `cargo xtask gen-js` from the Rust definitions: DO NOT EDIT.\n\
         // Change the Rust side (protocol/src/{telemetry,challenge,token}.rs,\n\
         // collector-wasm/src/{ingest,state,solver}.rs), then run `cargo xtask gen-js`;\n\
         // `cargo xtask gen-js --check` (scripts/test.sh) fails while this file is stale.\n",
    );
    for g in groups() {
        let _ = write!(s, "\n// {}\n", g.source);
        for (name, value) in &g.items {
            let _ = writeln!(s, "export const {}{name} = {value};", g.prefix);
        }
    }
    let _ = write!(
        s,
        "\n// collector `solver::NOT_FOUND` (a chunk without a passing nonce; u64, so a BigInt)\n\
         export const NOT_FOUND = {:#x}n;\n",
        tollgate_collector::NOT_FOUND
    );
    s.push_str(
        "\n// protocol `telemetry::LIE_TARGETS`: the B1 lie-probe targets, by index\n\
         export const LIE_TARGETS = [\n",
    );
    for name in telemetry::LIE_TARGETS {
        let _ = writeln!(s, "  {name:?},");
    }
    s.push_str("];\n");
    s.push_str(
        "\n// protocol `telemetry::ENGINE_FEATURES`: the C3 version-gated features, as property paths\n\
         // from the global object; bit i of the engine probe's feature set = feature i present\n\
         export const ENGINE_FEATURES = [\n",
    );
    for f in telemetry::ENGINE_FEATURES {
        let _ = writeln!(s, "  {:?},", f.path);
    }
    s.push_str("];\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_is_deterministic_and_complete() {
        let a = contract();
        assert_eq!(a, contract());
        assert!(a.contains("export const PROBE_WEBDRIVER = 1;\n"));
        assert!(a.contains("export const PROBE_AUTOMATION_STACK = 52;\n"));
        assert!(a.contains("export const EV_WHEEL = 7;\n"));
        assert!(a.contains("  \"AudioBuffer.getChannelData\",\n];\n"));
        assert!(a.contains("export const TOKEN_KEY_LEN = 32;\n"));
        assert!(a.contains("  \"Array.prototype.at\",\n"));
        assert!(a.ends_with("  \"Math.sumPrecise\",\n];\n"));
        assert_eq!(
            a.matches("export const PROBE_").count(),
            telemetry::probe::ALL.len() + 8,
            "probe ids, the six probe kinds, PROBE_SCHEMA and PROBE_STRIDE"
        );
    }

    #[test]
    fn js_names_are_unique() {
        let mut names: Vec<String> = groups()
            .iter()
            .flat_map(|g| g.items.iter().map(|(n, _)| format!("{}{n}", g.prefix)))
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn committed_file_is_fresh() {
        let have = std::fs::read_to_string(root().join(OUT)).unwrap_or_default();
        assert!(
            have == contract(),
            "{OUT} is stale: run `cargo xtask gen-js`"
        );
    }
}
