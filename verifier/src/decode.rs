//! `verifier decode-token`: a token's decoded contents as JSON, for tests and debugging.
//!
//! Decodes structurally (size, base64url, postcard, limits) without the MAC or signature (no
//! keys needed) and never marks anything used: it cannot redeem or burn a token. The e2e
//! faithfulness test (`tests/e2e/collector.test.mjs`, part (a)) compares the events a browser dispatched
//! with what this prints; the adversary tests print the environment findings.

use serde_json::{Value, json};
use tollgate_protocol::telemetry::{LIE_TARGETS, ProbeValue};
use tollgate_protocol::token::DecodedToken;

fn probe_json(v: &ProbeValue) -> Value {
    match v {
        ProbeValue::Bool(b) => json!(b),
        ProbeValue::Int(i) => json!(i),
        ProbeValue::Num(n) => json!(n),
        ProbeValue::Str(s) => json!(s),
        ProbeValue::Error(e) => json!({ "error": e }),
        ProbeValue::Absent => Value::Null,
    }
}

/// The token text → JSON: challenge parameters, solve stats, context, raw telemetry, resolved
/// samples (absolute times in ms since the collector started, positions in px), probes by id and
/// the environment rules' findings.
pub fn token_json(text: &str) -> Result<Value, tollgate_protocol::ProtocolError> {
    let d = DecodedToken::decode(text.trim())?;
    let t = &d.body.telemetry;
    let c = &d.challenge.body;
    let env = crate::envrules::evaluate(t);
    let aux = t.pointer_aux_per_record();
    let pointer: Vec<Value> = t
        .pointer_samples()
        .iter()
        .zip(aux)
        .map(|(p, a)| {
            json!({
                "t": p.t_ms, "kind": p.kind, "x": p.x, "y": p.y, "buttons": p.buttons,
                "ptype": p.ptype, "pressure": p.pressure, "trusted": p.trusted,
                "coalesced": p.coalesced,
                "screen_offset": a.map(|a| [a.0, a.1]), "size": a.map(|a| [a.2, a.3]),
            })
        })
        .collect();
    let keys: Vec<Value> = t
        .key_samples()
        .iter()
        .map(|k| json!({"down": k.t_down_ms, "up": k.t_up_ms, "class": k.class, "field": k.field, "flags": k.flags}))
        .collect();
    let fields: Vec<Value> = t
        .field_samples()
        .iter()
        .map(|(ts, f)| json!({"t": ts, "kind": f.kind, "field": f.field}))
        .collect();
    let scroll: Vec<Value> = t
        .scroll_samples()
        .iter()
        .map(|(ts, kind, x, y)| json!({"t": ts, "kind": kind, "x": x, "y": y}))
        .collect();
    let probes: serde_json::Map<String, Value> = t
        .probes
        .iter()
        .map(|p| (p.id.to_string(), probe_json(&p.value)))
        .collect();
    Ok(json!({
        "version": d.body.version,
        "challenge": {
            "issued_at_ms": c.issued_at_ms, "expires_at_ms": c.expires_at_ms,
            "k": c.pow.k, "bits": c.pow.bits, "risk_tier": c.risk_tier,
        },
        "solutions": d.body.solutions.len(),
        "solve": d.body.solve,
        "context": d.body.context,
        "token_bytes": d.body_len() + tollgate_protocol::token::MAC_LEN,
        "telemetry": t,
        "decoded": {
            "start_since_nav_ms": f64::from(t.page.start_since_nav) * tollgate_protocol::telemetry::TICK_MS,
            "pointer": pointer, "keys": keys, "fields": fields, "scroll": scroll, "probes": probes,
        },
        "env": {
            "reasons": env.reasons(),
            "automation": env.automation, "tampered": env.tampered,
            "inconsistent": env.inconsistent, "environment": env.environment,
            "lies": env.lies.iter().map(|(n, m)| json!({"target": n, "mask": m})).collect::<Vec<_>>(),
            "lie_target_names": LIE_TARGETS,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(token_json("").is_err());
        assert!(token_json("!!!").is_err());
    }
}
