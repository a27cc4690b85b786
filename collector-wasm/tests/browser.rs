//! The collector in a real browser page (headless Chromium via wasm-bindgen-test-runner):
//! solver, token round trip, probes, golden vectors.
#![cfg(target_arch = "wasm32")]

mod common;

use tollgate_collector::{Collector, parse_challenge};
use tollgate_protocol::challenge::PowParams;
use tollgate_protocol::telemetry::{
    ProbeValue, field_kind, key_class, key_flags, pointer_flags, pointer_kind, pointer_type, probe,
    role,
};
use tollgate_protocol::token::DecodedToken;
use tollgate_protocol::{b64_encode, pow};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn solver_finds_valid_nonces() {
    let wire = common::challenge(16, 10, 1);
    let (sols, hashes) = common::solve_in_chunks(&wire, 16, 4096);
    pow::verify(&wire, PowParams { k: 16, bits: 10 }, &sols).expect("valid solutions");
    assert!(hashes >= 16);
    // The chunked search finds the same (first) nonces as the reference solver.
    assert_eq!(
        sols,
        pow::solve_all(&wire, PowParams { k: 16, bits: 10 }).unwrap()
    );
    // The build reports which kernel it runs (the loader ships a simd128 and a scalar build).
    assert_eq!(
        tollgate_collector::solver_kind(),
        u8::from(cfg!(target_feature = "simd128"))
    );
}

#[wasm_bindgen_test]
fn token_built_in_wasm_decodes_and_verifies() {
    let wire = common::challenge(8, 8, 2);
    let (sols, hashes) = common::solve_in_chunks(&wire, 8, 32768);
    let key = [0x5au8; 32];
    let (cb, kb) = (b64_encode(&wire), b64_encode(&key));

    let info = parse_challenge(&cb).map_err(|_| "parse").unwrap();
    assert_eq!((info.k(), info.bits()), (8, 8));
    assert_eq!(info.bytes(), wire);

    let mut c = Collector::new(1000.0);
    let user = c.register_target(role::USERNAME);
    let pass = c.register_target(role::PASSWORD);
    let submit = c.register_target(role::SUBMIT);
    let tr = pointer_flags::TRUSTED;
    c.pointer(
        1100.0,
        pointer_kind::MOVE,
        10.0,
        20.0,
        0,
        pointer_type::MOUSE,
        0.0,
        tr,
        true,
    );
    c.pointer(
        1116.0,
        pointer_kind::MOVE,
        40.5,
        30.25,
        0,
        pointer_type::MOUSE,
        0.0,
        tr,
        true,
    );
    c.field_event(1200.0, field_kind::FOCUS, user);
    c.key_down(
        1300.0,
        tollgate_collector::key_class("s"),
        user,
        true,
        false,
    );
    c.input(1301.0, user, "insertText");
    c.key_up(1380.0, tollgate_collector::key_class("S"));
    c.input(1500.0, pass, "insertReplacementText");
    c.pointer(
        1600.0,
        pointer_kind::DOWN,
        50.0,
        60.0,
        1,
        pointer_type::MOUSE,
        0.5,
        tr,
        true,
    );
    c.pointer(
        1690.0,
        pointer_kind::UP,
        50.0,
        60.0,
        0,
        pointer_type::MOUSE,
        0.0,
        tr,
        true,
    );
    c.field_event(1691.0, field_kind::SUBMIT, submit);
    c.set_target_box(user, 10.0, 10.0, 200.0, 30.0, true);
    c.set_target_box(pass, 10.0, 50.0, 200.0, 30.0, true);
    c.set_target_box(submit, 10.0, 90.0, 80.0, 30.0, false);
    c.set_worker_user_agent(Some("worker UA".into()));

    let text = c
        .build_token(
            &cb,
            &kb,
            sols.clone(),
            123.0,
            2,
            0,
            hashes as f64,
            "http://127.0.0.1",
            "login",
            "",
            1700.0,
        )
        .map_err(|_| "build_token failed")
        .unwrap();
    let d = DecodedToken::decode(&text).expect("decodes");
    d.verify_mac(&key).expect("MAC verifies");
    assert!(d.verify_mac(&[0u8; 32]).is_err());
    let b = &d.body;
    assert_eq!(b.challenge, wire);
    assert_eq!(b.solutions, sols);
    assert_eq!(
        (b.solve.duration_ms, b.solve.workers, b.solve.hashes),
        (123, 2, hashes)
    );
    assert_eq!(b.context.origin, "http://127.0.0.1");
    assert_eq!(b.context.action, "login");
    pow::verify(&b.challenge, d.challenge.body.pow, &b.solutions).unwrap();

    let t = &b.telemetry;
    let ps = t.pointer_samples();
    assert_eq!(ps.len(), 4);
    assert!((ps[1].x - 40.5).abs() < 1e-9 && (ps[1].t_ms - 116.0).abs() < 1e-9);
    let ks = t.key_samples();
    assert_eq!(ks.len(), 1);
    assert_eq!(ks[0].class, key_class::CHAR);
    assert!((ks[0].t_up_ms - ks[0].t_down_ms - 80.0).abs() < 1e-9);
    assert_eq!(ks[0].flags & key_flags::UNRELEASED, 0);
    let kinds: Vec<u8> = t.fields.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            field_kind::FOCUS,
            field_kind::INPUT,
            field_kind::AUTOFILL,
            field_kind::INPUT,
            field_kind::SUBMIT
        ]
    );
    assert_eq!(t.targets.len(), 3);
    assert_eq!(t.targets[1].role, role::PASSWORD);
    assert_eq!(t.targets[1].y, 400); // 50 px in 1/8 px units
    assert_eq!(
        t.probe(probe::WORKER_USER_AGENT),
        Some(&ProbeValue::Str("worker UA".into()))
    );

    // Garbage in gives an error, not a panic.
    assert!(
        c.build_token("!!", &kb, sols.clone(), 0.0, 1, 0, 0.0, "", "", "", 0.0)
            .is_err()
    );
    assert!(
        c.build_token(&cb, &kb, vec![0; 3], 0.0, 1, 0, 0.0, "", "", "", 0.0)
            .is_err()
    );
}

#[wasm_bindgen_test]
fn probes_run_in_the_page() {
    let mut c = Collector::new(0.0);
    assert!(!c.probes_done());
    c.run_probes();
    assert!(c.probes_done());
    let t = c.telemetry_snapshot(10.0);
    // chromedriver sets navigator.webdriver; the getter lives on Navigator.prototype.
    assert_eq!(t.probe(probe::WEBDRIVER), Some(&ProbeValue::Bool(true)));
    assert_eq!(
        t.probe(probe::WEBDRIVER_IN_NAVIGATOR),
        Some(&ProbeValue::Bool(true))
    );
    match t.probe(probe::USER_AGENT) {
        Some(ProbeValue::Str(ua)) => assert!(ua.contains("Chrome"), "{ua}"),
        other => panic!("user agent: {other:?}"),
    }
    assert!(matches!(t.probe(probe::HARDWARE_CONCURRENCY), Some(ProbeValue::Int(n)) if *n >= 1));
    match t.probe(probe::SCREEN) {
        Some(ProbeValue::Str(s)) => assert!(s.contains('×') && s.contains(" avail "), "{s}"),
        other => panic!("screen: {other:?}"),
    }
    match t.probe(probe::WINDOW_GEOMETRY) {
        Some(ProbeValue::Str(s)) => assert!(s.starts_with("inner ") && s.contains(" dpr "), "{s}"),
        other => panic!("window: {other:?}"),
    }
    assert!(matches!(t.probe(probe::TIMEZONE), Some(ProbeValue::Str(s)) if !s.is_empty()));
    assert!(matches!(
        t.probe(probe::LANGUAGES),
        Some(ProbeValue::Str(_))
    ));
    assert!(matches!(t.probe(probe::PLATFORM), Some(ProbeValue::Str(_))));
    // Whatever it finds here (chromedriver may have left its cdc_ helpers), the probe is a string.
    assert!(matches!(
        t.probe(probe::AUTOMATION_GLOBALS),
        Some(ProbeValue::Str(_))
    ));
    t.check_limits().unwrap();
}

#[wasm_bindgen_test]
fn automation_globals_and_throwing_probes() {
    let win: wasm_bindgen::JsValue = js_sys::global().into();
    let set = |k: &str, v: wasm_bindgen::JsValue| {
        js_sys::Reflect::set(&win, &k.into(), &v).unwrap();
    };
    // (Not a real chromedriver name: chromedriver keeps its own JS helpers under those.)
    set("cdc_tollgateTestMarker", js_sys::Array::new().into());
    set("__nightmare", true.into());
    let html = js_sys::Reflect::get(
        &js_sys::Reflect::get(&win, &"document".into()).unwrap(),
        &"documentElement".into(),
    )
    .unwrap();
    let set_attr: js_sys::Function = js_sys::Reflect::get(&html, &"setAttribute".into())
        .unwrap()
        .into();
    set_attr
        .call2(&html, &"webdriver".into(), &"".into())
        .unwrap();

    // A getter that throws (what a clumsy spoofing extension does) is recorded as an Error probe.
    let nav = js_sys::Reflect::get(&win, &"navigator".into()).unwrap();
    let desc = js_sys::Object::new();
    let thrower = js_sys::Function::new_no_args("throw new TypeError('nope')");
    js_sys::Reflect::set(&desc, &"get".into(), &thrower).unwrap();
    js_sys::Reflect::set(&desc, &"configurable".into(), &true.into()).unwrap();
    let nav_obj: &js_sys::Object = nav.unchecked_ref();
    js_sys::Reflect::define_property(nav_obj, &"platform".into(), &desc).unwrap();

    let mut c = Collector::new(0.0);
    c.run_probes();
    let t = c.telemetry_snapshot(1.0);
    match t.probe(probe::AUTOMATION_GLOBALS) {
        Some(ProbeValue::Str(s)) => {
            assert!(s.contains("cdc_tollgateTestMarker"), "{s}");
            assert!(s.contains("__nightmare"), "{s}");
            assert!(s.contains("html@webdriver"), "{s}");
        }
        other => panic!("automation globals: {other:?}"),
    }
    assert_eq!(
        t.probe(probe::PLATFORM),
        Some(&ProbeValue::Error("TypeError: nope".into()))
    );
    // Other probes are unaffected.
    assert!(matches!(
        t.probe(probe::USER_AGENT),
        Some(ProbeValue::Str(_))
    ));

    js_sys::Reflect::delete_property(nav_obj, &"platform".into()).unwrap();
    let remove_attr: js_sys::Function = js_sys::Reflect::get(&html, &"removeAttribute".into())
        .unwrap()
        .into();
    remove_attr.call1(&html, &"webdriver".into()).unwrap();
}

use wasm_bindgen::JsCast;

/// `protocol/testdata/vectors.json`: the browser build reproduces the golden PoW solutions and
/// accepts the golden token (decode + MAC with the golden per-challenge key).
#[wasm_bindgen_test]
fn golden_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../protocol/testdata/vectors.json")).unwrap();
    let wire = common::hex(v["challenge_wire_hex"].as_str().unwrap());
    let k = v["pow_k"].as_u64().unwrap() as u16;
    let bits = v["pow_bits"].as_u64().unwrap() as u8;
    let want: Vec<u64> = v["solutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(
        pow::seed(&wire).to_vec(),
        common::hex(v["pow_seed_hex"].as_str().unwrap())
    );
    let (sols, _) = common::solve_in_chunks(&wire, k, 100);
    assert_eq!(sols, want);
    let info = parse_challenge(&b64_encode(&wire))
        .map_err(|_| "parse")
        .unwrap();
    assert_eq!((info.k(), info.bits()), (k, bits));

    let key: [u8; 32] = common::hex(v["token_key_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let d = DecodedToken::decode(v["token_text"].as_str().unwrap()).unwrap();
    d.verify_mac(&key).unwrap();
    assert_eq!(d.body.solutions, want);
    assert_eq!(d.body.context.action, v["action"].as_str().unwrap());
}
