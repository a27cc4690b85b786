//! Hand-written postcard encoder for [`TokenBody`], for the browser build.
//!
//! The verifier decodes tokens with serde + postcard ([`crate::token::DecodedToken`]); the
//! collector writes the same bytes with this module instead, so no serde/postcard code reaches
//! the WebAssembly build (≈ 10 KB of wasm). The format is postcard's: unsigned integers wider
//! than a byte as LEB128 varints, signed ones zig-zag encoded first, `u8`/`bool` as one byte,
//! `f64` as 8 little-endian bytes, sequences and strings prefixed with their length (varint),
//! structs as their fields in order, enums as the variant index (varint) then the payload, fixed
//! arrays without a length. The property test below checks byte equality with `postcard`.

use alloc::vec::Vec;

use crate::telemetry::{
    FieldRec, KeyRec, PageTimes, PointerAux, PointerRec, Probe, ProbeValue, ScrollRec, TargetBox,
    Telemetry,
};
use crate::token::{ClientContext, MAC_DOMAIN, MAC_LEN, SolveStats, TOKEN_KEY_LEN, TokenBody};

/// A postcard writer.
#[derive(Debug, Default)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    // Not inlined: one copy of the LEB128 loop instead of one per field (the browser build is
    // size-bound; encoding speed is irrelevant at a few KB per token).
    #[inline(never)]
    pub fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(b);
                return;
            }
            self.out.push(b | 0x80);
        }
    }
    pub fn u16(&mut self, v: u16) {
        self.varint(u64::from(v));
    }
    pub fn u32(&mut self, v: u32) {
        self.varint(u64::from(v));
    }
    pub fn u64(&mut self, v: u64) {
        self.varint(v);
    }
    #[inline(never)]
    pub fn i32(&mut self, v: i32) {
        self.varint(u64::from(((v << 1) ^ (v >> 31)) as u32));
    }
    pub fn i64(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    pub fn bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }
    pub fn f64(&mut self, v: f64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.varint(v.len() as u64);
        self.out.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    #[inline(never)]
    fn seq<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.varint(items.len() as u64);
        for i in items {
            each(self, i);
        }
    }

    pub fn page(&mut self, p: &PageTimes) {
        self.u32(p.start_since_nav);
        self.u32(p.first_input);
        self.u32(p.submit);
        self.u16(p.visibility_changes);
    }
    #[inline(never)]
    pub fn pointer(&mut self, r: &PointerRec) {
        self.u32(r.dt);
        self.u8(r.kind);
        self.i32(r.dx);
        self.i32(r.dy);
        self.u8(r.buttons);
        self.u8(r.ptype);
        self.u8(r.pressure);
        self.u8(r.flags);
    }
    #[inline(never)]
    pub fn key(&mut self, k: &KeyRec) {
        self.u32(k.dt);
        self.u32(k.hold);
        self.u8(k.class);
        self.u8(k.field);
        self.u8(k.flags);
    }
    #[inline(never)]
    pub fn field(&mut self, f: &FieldRec) {
        self.u32(f.dt);
        self.u8(f.kind);
        self.u8(f.field);
    }
    #[inline(never)]
    pub fn target(&mut self, b: &TargetBox) {
        self.u8(b.role);
        self.i32(b.x);
        self.i32(b.y);
        self.i32(b.w);
        self.i32(b.h);
    }
    #[inline(never)]
    pub fn probe(&mut self, p: &Probe) {
        self.u16(p.id);
        match &p.value {
            ProbeValue::Bool(b) => {
                self.u32(0);
                self.bool(*b);
            }
            ProbeValue::Int(i) => {
                self.u32(1);
                self.i64(*i);
            }
            ProbeValue::Num(n) => {
                self.u32(2);
                self.f64(*n);
            }
            ProbeValue::Str(s) => {
                self.u32(3);
                self.str(s);
            }
            ProbeValue::Error(s) => {
                self.u32(4);
                self.str(s);
            }
            ProbeValue::Absent => self.u32(5),
        }
    }
    #[inline(never)]
    pub fn aux(&mut self, a: &PointerAux) {
        self.u32(a.di);
        self.i32(a.sx);
        self.i32(a.sy);
        self.u32(a.w);
        self.u32(a.h);
    }
    #[inline(never)]
    pub fn scroll(&mut self, r: &ScrollRec) {
        self.u32(r.dt);
        self.u8(r.kind);
        self.i32(r.dx);
        self.i32(r.dy);
    }

    pub fn telemetry(&mut self, t: &Telemetry) {
        self.u16(t.schema);
        self.u16(t.probe_schema);
        self.page(&t.page);
        self.seq(&t.pointer, Self::pointer);
        self.seq(&t.keys, Self::key);
        self.seq(&t.fields, Self::field);
        self.seq(&t.targets, Self::target);
        self.seq(&t.probes, Self::probe);
        self.bytes(&t.fingerprint);
        for d in t.dropped {
            self.u32(d);
        }
        self.seq(&t.pointer_aux, Self::aux);
        self.seq(&t.scroll, Self::scroll);
    }

    pub fn solve(&mut self, s: &SolveStats) {
        self.u32(s.duration_ms);
        self.u8(s.workers);
        self.u8(s.solver);
        self.u64(s.hashes);
    }
    pub fn context(&mut self, c: &ClientContext) {
        self.str(&c.origin);
        self.str(&c.action);
        self.str(&c.cdata);
    }

    pub fn token_body(&mut self, b: &TokenBody) {
        self.u8(b.version);
        self.bytes(&b.challenge);
        self.seq(&b.solutions, |w, &n| w.u64(n));
        self.solve(&b.solve);
        self.context(&b.context);
        self.telemetry(&b.telemetry);
    }
}

/// `postcard::to_allocvec(body)`, by hand.
pub fn encode_token_body(body: &TokenBody) -> Vec<u8> {
    let mut w = Writer::default();
    w.token_body(body);
    w.out
}

/// The raw token (body ‖ HMAC tag, before base64url) as [`TokenBody::seal`] makes it.
pub fn seal_bytes(body: &TokenBody, token_key: &[u8; TOKEN_KEY_LEN]) -> Vec<u8> {
    let mut bytes = encode_token_body(body);
    let tag = crate::sha::hmac_sha256(token_key, &[MAC_DOMAIN, &bytes]);
    bytes.extend_from_slice(&tag[..MAC_LEN]);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::WIRE_LEN;
    use crate::telemetry::{MAX_PROBE_STR, TelemetryBuilder};
    use crate::token::DecodedToken;
    use alloc::string::String;
    use proptest::prelude::*;

    fn probe_value() -> impl Strategy<Value = ProbeValue> {
        prop_oneof![
            any::<bool>().prop_map(ProbeValue::Bool),
            any::<i64>().prop_map(ProbeValue::Int),
            any::<f64>().prop_map(ProbeValue::Num),
            ".{0,40}".prop_map(ProbeValue::Str),
            ".{0,20}".prop_map(ProbeValue::Error),
            Just(ProbeValue::Absent),
        ]
    }

    prop_compose! {
        fn telemetry()(
            ptr in proptest::collection::vec((any::<u32>(), 0u8..6, any::<i32>(), any::<i32>(), any::<u8>(), 0u8..4, any::<u8>(), any::<u8>()), 0..40),
            keys in proptest::collection::vec((any::<u32>(), any::<u32>(), 0u8..8, any::<u8>(), any::<u8>()), 0..20),
            fields in proptest::collection::vec((any::<u32>(), 0u8..9, any::<u8>()), 0..20),
            targets in proptest::collection::vec((any::<u8>(), any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()), 0..16),
            probes in proptest::collection::vec((any::<u16>(), probe_value()), 0..20),
            fingerprint in proptest::collection::vec(any::<u8>(), 0..32),
            dropped in any::<[u32; 3]>(),
            aux in proptest::collection::vec((any::<u32>(), any::<i32>(), any::<i32>(), any::<u32>(), any::<u32>()), 0..5),
            scroll in proptest::collection::vec((any::<u32>(), 0u8..4, any::<i32>(), any::<i32>()), 0..5),
            page in any::<(u32, u32, u32, u16)>(),
            schema in any::<(u16, u16)>(),
        ) -> Telemetry {
            Telemetry {
                schema: schema.0,
                probe_schema: schema.1,
                page: PageTimes { start_since_nav: page.0, first_input: page.1, submit: page.2, visibility_changes: page.3 },
                pointer: ptr.into_iter().map(|(dt, kind, dx, dy, buttons, ptype, pressure, flags)| PointerRec { dt, kind, dx, dy, buttons, ptype, pressure, flags }).collect(),
                keys: keys.into_iter().map(|(dt, hold, class, field, flags)| KeyRec { dt, hold, class, field, flags }).collect(),
                fields: fields.into_iter().map(|(dt, kind, field)| FieldRec { dt, kind, field }).collect(),
                targets: targets.into_iter().map(|(role, x, y, w, h)| TargetBox { role, x, y, w, h }).collect(),
                probes: probes.into_iter().map(|(id, value)| Probe { id, value }).collect(),
                fingerprint,
                dropped,
                pointer_aux: aux.into_iter().map(|(di, sx, sy, w, h)| PointerAux { di, sx, sy, w, h }).collect(),
                scroll: scroll.into_iter().map(|(dt, kind, dx, dy)| ScrollRec { dt, kind, dx, dy }).collect(),
            }
        }
    }

    prop_compose! {
        fn body()(
            version in any::<u8>(),
            challenge in proptest::collection::vec(any::<u8>(), 0..300),
            solutions in proptest::collection::vec(any::<u64>(), 0..40),
            solve in any::<(u32, u8, u8, u64)>(),
            origin in ".{0,30}", action in "[a-z_]{0,32}", cdata in ".{0,30}",
            telemetry in telemetry(),
        ) -> TokenBody {
            TokenBody {
                version,
                challenge,
                solutions,
                solve: SolveStats { duration_ms: solve.0, workers: solve.1, solver: solve.2, hashes: solve.3 },
                context: ClientContext { origin, action, cdata },
                telemetry,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn encoder_is_postcard(b in body()) {
            let want = postcard::to_allocvec(&b).unwrap();
            prop_assert_eq!(encode_token_body(&b), want.clone());
            // And it decodes back with serde.
            let back: TokenBody = postcard::from_bytes(&want).unwrap();
            prop_assert_eq!(format!("{back:?}"), format!("{b:?}")); // NaN-safe equality
        }
    }

    #[test]
    fn seal_bytes_matches_serde_seal() {
        let mut tb = TelemetryBuilder::new();
        tb.pointer(1.0, 0, 10.0, 10.0, 0, 1, 0.0, 1);
        tb.pointer_aux(8.0, 80.0, 1.0, 1.0);
        tb.scroll(5.0, 0.0, 120.0);
        tb.wheel(6.0, 0, 0.0, -100.0);
        let mut t = tb.finish();
        t.probes.push(Probe {
            id: 2,
            value: ProbeValue::Str("é".repeat(MAX_PROBE_STR / 2)),
        });
        let body = TokenBody {
            version: 1,
            challenge: {
                let mut c = alloc::vec![7; WIRE_LEN];
                c[0] = 1; // challenge version
                c[53..56].copy_from_slice(&[0, 1, 1]); // k = 1, bits = 1
                c
            },
            solutions: alloc::vec![1, u64::MAX - 1, 1 << 40],
            solve: SolveStats::default(),
            context: ClientContext {
                origin: String::from("http://127.0.0.1:8080"),
                action: String::from("login"),
                cdata: String::new(),
            },
            telemetry: t,
        };
        let key = [3u8; 32];
        let text = body.seal(&key).unwrap();
        assert_eq!(crate::b64_encode(&seal_bytes(&body, &key)), text);
        let d = DecodedToken::decode(&text).unwrap();
        d.verify_mac(&key).unwrap();
        assert_eq!(d.body, body);
    }
}
