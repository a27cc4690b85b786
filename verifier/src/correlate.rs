//! Attack correlation: sliding-window counters across a site's whole user base, keyed by client
//! address, address prefix (/24, /48), ASN, device fingerprint, account and pointer-trace shape
//! hash, feeding the score (siteverify reasons) and the adaptive proof of work (`/v1/challenge`).
//!
//! **Privacy.** No raw address, username or fingerprint is stored: every key and set member is
//! `HMAC(day_key, kind ‖ site ‖ value)` truncated to 128 bits, where
//! `day_key = HMAC(base, "tollgate/correlation-day/v1" ‖ day number)` rotates every UTC day and
//! `base` is derived from the signing key's MAC secret (or `[correlation] secret`). Yesterday's
//! key is used only to read the sets it wrote while they are still inside the window, so counts
//! carry across midnight; after that nothing links a stored hash to a value.
//!
//! **Counters.** Event rates are two fixed buckets per window (`INCRBY` + expiry) combined into a
//! sliding estimate `cur + prev × (1 − elapsed/window)`; "how many different X per Y" are sets of
//! member hashes with last-seen times (sorted sets in Redis), trimmed to the window and capped.
//!
//! **Signals** (reason codes; see README "Attack correlation" for the thresholds and the curve):
//! - `campaign-fingerprint`: one device fingerprint used for ≥ `fingerprint_accounts` accounts
//!   within the window (needs the `account` siteverify field).
//! - `campaign-trace`: one pointer stroke seen in ≥ `trace_sources` sessions (in at least two
//!   of its band hashes, see `replay::stroke_sessions`) or from ≥ `trace_sources` addresses
//!   (band 0) — a replayed recording.
//! - `campaign-account`: failed logins for the account (reported to `/v1/outcome`) from
//!   ≥ `account_failure_ips` addresses within the window.
//! - `campaign-prefix`: the prefix or ASN issued a surge of challenges, or it is risk-marked
//!   (earlier campaign signals or ≥ `prefix_failures` failed logins from it).
//! - `ip-rate`: one address requesting challenges faster than `ip_challenges` per surge window.
//! - `proxy-ip`, `hosting-ip`, `tor-exit` (`listed-ip` when only the challenge-time flag is known).

use std::net::IpAddr;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use serde::{Deserialize, Serialize};

use crate::config::CorrelationSettings;
use crate::iplists::IpLists;
use crate::keys::hmac_sha256;
use crate::netinfo::{canonical, prefix_key};
use crate::store::{CounterOp, CounterValue, Store, StoreError};
use tollgate_model::features::replay::{self, StrokeHash};

const DAY_MS: u64 = 86_400_000;
/// Bytes of an `account` value that are hashed (after trimming; longer values are cut at a
/// character boundary, so any length is accepted and two accounts differing only after the
/// first 4 KiB share a hash). The request body limits bound what arrives.
pub const ACCOUNT_HASH_LIMIT: usize = 4096;
/// Risk marks on a prefix for the maximal PoW tier contribution.
pub const MARKS_HIGH: u64 = 10;

/// Bits of the challenge's `risk_tier` byte.
pub mod risk {
    /// Tier 0..=3 in the two low bits.
    pub const TIER_MASK: u8 = 0b11;
    /// The address is on a proxy / hosting / Tor list.
    pub const LISTED: u8 = 1 << 2;
    /// The prefix or ASN had a challenge surge.
    pub const SURGE: u8 = 1 << 3;
    /// The prefix is risk-marked (earlier campaign signals or failed logins).
    pub const MARKED: u8 = 1 << 4;
    /// The address itself requested challenges too fast.
    pub const IP_RATE: u8 = 1 << 5;
    /// Issued to allowlisted automation (skips behaviour scoring at siteverify).
    pub const AUTOMATION: u8 = 1 << 6;
    /// Counters were unavailable when the challenge was issued.
    pub const DEGRADED: u8 = 1 << 7;
}

/// Score penalties of the signals (subtracted from the behaviour score, then clamped).
pub fn penalty(reason: &str) -> f64 {
    match reason {
        "campaign-trace" => 0.5,
        "campaign-fingerprint" => 0.4,
        "campaign-account" => 0.3,
        "campaign-prefix" => 0.2,
        "ip-rate" => 0.1,
        "proxy-ip" | "hosting-ip" | "tor-exit" | "listed-ip" => 0.1,
        _ => 0.0,
    }
}

/// Hashing of correlation keys with the daily rotating key.
pub struct KeyHasher {
    base: [u8; 32],
    /// Keyed HMAC states of the last days used (today and yesterday, in practice): the day key
    /// and its HMAC key schedule are derived once per day instead of on every hash (a siteverify
    /// hashes ~20 values). Same output as deriving them each time.
    days: Mutex<[Option<DayMac>; 2]>,
    /// Keys the choice of the strokes a session is counted with (`replay::select`), so a sender
    /// cannot pick which strokes count: `HMAC(base, "tollgate/replay-select/v1")`. Not rotated
    /// daily: the same stroke must rank the same in every session of the window.
    replay_key: replay::SelectKey,
}

/// A day number and the HMAC keyed with that day's key.
type DayMac = (u64, Hmac<Sha256>);

impl Clone for KeyHasher {
    fn clone(&self) -> Self {
        Self::new(self.base)
    }
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher([redacted])")
    }
}

/// Day number of a time (UTC days since the epoch).
pub fn day_of(ms: u64) -> u64 {
    ms / DAY_MS
}

impl KeyHasher {
    pub fn new(base: [u8; 32]) -> Self {
        Self {
            base,
            days: Mutex::new([None, None]),
            replay_key: replay::SelectKey::new(&hmac_sha256(
                &base,
                &[b"tollgate/replay-select/v1"],
            )),
        }
    }

    /// The key of the replay stroke selection (see the field).
    pub fn replay_key(&self) -> &replay::SelectKey {
        &self.replay_key
    }

    fn day_key(&self, day: u64) -> [u8; 32] {
        hmac_sha256(
            &self.base,
            &[b"tollgate/correlation-day/v1\0", &day.to_be_bytes()],
        )
    }

    /// `HMAC(day_key, ·)` ready for input, `day_key = HMAC(base, label ‖ day)`.
    fn day_mac(&self, day: u64) -> Option<Hmac<Sha256>> {
        let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, mac)) = days.iter().flatten().find(|(d, _)| *d == day) {
            return Some(mac.clone());
        }
        // HMAC takes keys of any length: the error branch cannot happen.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.day_key(day)).ok()?;
        // Replace the empty slot, else the older day.
        let slot = match &*days {
            [None, _] => 0,
            [_, None] => 1,
            [Some((a, _)), Some((b, _))] => usize::from(b < a),
        };
        days[slot] = Some((day, mac.clone()));
        Some(mac)
    }

    /// 128-bit keyed hash of `value` for `kind` on `site`, under day `day`'s key.
    pub fn hash(&self, day: u64, kind: &str, site: &[u8; 16], value: &[u8]) -> [u8; 16] {
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes();
        let parts: [&[u8]; 5] = [kind.as_bytes(), b"\0", site, &len, value];
        let h: [u8; 32] = match self.day_mac(day) {
            Some(mut mac) => {
                for p in parts {
                    mac.update(p);
                }
                mac.finalize().into_bytes().into()
            }
            None => hmac_sha256(&self.day_key(day), &parts),
        };
        let mut out = [0u8; 16];
        out.copy_from_slice(&h[..16]);
        out
    }
}

/// A value correlated on, in a form that can be hashed.
#[derive(Debug, Clone, Copy)]
pub enum Entity<'a> {
    Ip(IpAddr),
    Prefix(IpAddr),
    Asn(u32),
    Fingerprint(&'a [u8]),
    /// Normalised account name.
    Account(&'a str),
    Trace(u64),
    Site,
}

impl Entity<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Ip(_) => "ip",
            Self::Prefix(_) => "px",
            Self::Asn(_) => "asn",
            Self::Fingerprint(_) => "fp",
            Self::Account(_) => "acct",
            Self::Trace(_) => "tr",
            Self::Site => "site",
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Ip(ip) => match canonical(*ip) {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            },
            Self::Prefix(ip) => prefix_key(*ip).into_bytes(),
            Self::Asn(n) => n.to_be_bytes().to_vec(),
            Self::Fingerprint(b) => b.to_vec(),
            Self::Account(a) => a.as_bytes().to_vec(),
            Self::Trace(h) => h.to_be_bytes().to_vec(),
            Self::Site => Vec::new(),
        }
    }
}

/// Normalise an account name for hashing: trimmed, cut to [`ACCOUNT_HASH_LIMIT`] bytes and
/// lower-cased (user names and e-mail addresses are case-insensitive in practice). `None` only
/// for an empty (or all-whitespace) value: no length is refused.
pub fn normalize_account(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let mut end = t.len().min(ACCOUNT_HASH_LIMIT);
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    Some(t[..end].to_lowercase())
}

/// Everything known about a siteverify (or outcome) for correlation. Hashes only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footprint {
    /// Day the hashes were made with.
    pub day: u64,
    pub ip: Option<[u8; 16]>,
    pub prefix: Option<[u8; 16]>,
    pub account: Option<[u8; 16]>,
    pub fingerprint: Option<[u8; 16]>,
    pub challenge: [u8; 16],
}

/// Store key of the outcome record (a [`Footprint`]) of challenge `id` on the site with
/// `site_id`: kept by siteverify, read by `/v1/outcome`.
pub fn footprint_key(site_id: &[u8; 16], id: &[u8; 16]) -> String {
    format!("r:{}:{}", hex::encode(&site_id[..8]), hex::encode(id))
}

/// Counter keys for one site.
#[derive(Debug)]
pub struct Correlator<'a> {
    pub settings: &'a CorrelationSettings,
    pub hasher: &'a KeyHasher,
    pub site: [u8; 16],
}

/// Outcome of a correlation step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    pub reasons: Vec<&'static str>,
    /// Counters could not be read (fail-open): the verdict lacks campaign signals.
    pub degraded: bool,
    /// Shape hashes looked up and how many were seen from other sources (replay evidence for
    /// the behaviour model: `hashed`, `seen_elsewhere`).
    pub traces_hashed: usize,
    pub traces_seen_elsewhere: usize,
}

impl Signals {
    fn push(&mut self, r: &'static str) {
        if !self.reasons.contains(&r) {
            self.reasons.push(r);
        }
    }
}

/// Challenge-time risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChallengeRisk {
    /// The `risk_tier` byte: tier in the low two bits plus [`risk`] flags.
    pub byte: u8,
}

impl ChallengeRisk {
    pub fn tier(self) -> u8 {
        self.byte & risk::TIER_MASK
    }
}

/// Store key `{kind}{counter}:{hex(hash)}[:{bucket}]` (e.g. `c:ipch:…:123`, `d:trses:…`), built
/// in one allocation (keys are made ~20 times per siteverify).
fn counter_key(kind: &str, counter: &str, hash: &[u8; 16], bucket: Option<u64>) -> String {
    use std::fmt::Write as _;
    let mut k = String::with_capacity(kind.len() + counter.len() + 1 + 32 + 21);
    k.push_str(kind);
    k.push_str(counter);
    k.push(':');
    let mut hex = [0u8; 32];
    // 16 bytes always fit 32 hex digits, and hex digits are ASCII.
    if hex::encode_to_slice(hash, &mut hex).is_ok() {
        k.push_str(std::str::from_utf8(&hex).unwrap_or_default());
    }
    if let Some(i) = bucket {
        // Writing to a String cannot fail.
        let _ = write!(k, ":{i}");
    }
    k
}

fn estimate(v: CounterValue, now: u64, window: u64) -> u64 {
    let elapsed = now % window;
    let carried =
        (u128::from(v.carried) * u128::from(window - elapsed) / u128::from(window)) as u64;
    v.current.saturating_add(carried)
}

impl<'a> Correlator<'a> {
    pub fn hash(&self, day: u64, e: Entity<'_>) -> [u8; 16] {
        self.hasher.hash(day, e.kind(), &self.site, &e.bytes())
    }

    /// Sliding-window bucket op for `counter` on `entity` (`add` = 0 reads).
    fn bucket(&self, counter: &str, e: Entity<'_>, now: u64, window: u64, add: u64) -> CounterOp {
        let idx = now / window;
        let cur_day = day_of(idx * window);
        let prev_day = day_of(idx.saturating_sub(1) * window);
        CounterOp::Bucket {
            key: counter_key("c:", counter, &self.hash(cur_day, e), Some(idx)),
            prev_key: counter_key(
                "c:",
                counter,
                &self.hash(prev_day, e),
                Some(idx.saturating_sub(1)),
            ),
            add,
            // The bucket is read as "previous" during the next window.
            ttl_ms: (idx + 2) * window - now,
        }
    }

    /// Bucket op on an already hashed entity (outcome reports: the hashes come from siteverify).
    fn bucket_hashed(
        &self,
        counter: &str,
        hash: [u8; 16],
        now: u64,
        window: u64,
        add: u64,
    ) -> CounterOp {
        let idx = now / window;
        CounterOp::Bucket {
            key: counter_key("c:", counter, &hash, Some(idx)),
            prev_key: counter_key("c:", counter, &hash, Some(idx.saturating_sub(1))),
            add,
            ttl_ms: (idx + 2) * window - now,
        }
    }

    /// Distinct-set op for `counter` on `entity`: today's key, and yesterday's as carry while
    /// yesterday is still inside the window.
    fn distinct(
        &self,
        counter: &str,
        e: Entity<'_>,
        member: Option<[u8; 16]>,
        now: u64,
    ) -> CounterOp {
        let day = day_of(now);
        let w = self.settings.window_ms;
        let carry = (now % DAY_MS < w && day > 0)
            .then(|| counter_key("d:", counter, &self.hash(day - 1, e), None));
        CounterOp::Distinct {
            key: counter_key("d:", counter, &self.hash(day, e), None),
            carry_key: carry,
            member,
            window_ms: w,
            cap: crate::store::MAX_DISTINCT_CAP,
        }
    }

    fn distinct_hashed(
        &self,
        counter: &str,
        hash: [u8; 16],
        member: Option<[u8; 16]>,
    ) -> CounterOp {
        CounterOp::Distinct {
            key: counter_key("d:", counter, &hash, None),
            carry_key: None,
            member,
            window_ms: self.settings.window_ms,
            cap: crate::store::MAX_DISTINCT_CAP,
        }
    }

    /// Count a challenge request and choose its risk tier.
    pub async fn on_challenge(
        &self,
        store: &dyn Store,
        now: u64,
        ip: Option<IpAddr>,
        lists: &IpLists,
    ) -> Result<ChallengeRisk, StoreError> {
        let Some(ip) = ip else {
            return Ok(ChallengeRisk::default());
        };
        let s = self.settings;
        let sw = s.surge_window_ms;
        let asn = lists.asn(ip).map(|a| a.asn);
        let mut ops = vec![
            self.bucket("ipch", Entity::Ip(ip), now, sw, 1),
            self.bucket("pxch", Entity::Prefix(ip), now, sw, 1),
            self.bucket("pxrisk", Entity::Prefix(ip), now, s.window_ms, 0),
        ];
        if let Some(a) = asn {
            ops.push(self.bucket("asnch", Entity::Asn(a), now, sw, 1));
        }
        let listed = !lists.lookup(ip).is_empty();
        let v = store.observe(now, &ops).await?;
        let get = |i: usize, w: u64| v.get(i).map_or(0, |c| estimate(*c, now, w));
        let (ip_rate, px_rate, marks) = (get(0, sw), get(1, sw), get(2, s.window_ms));
        let asn_rate = if asn.is_some() { get(3, sw) } else { 0 };
        let mut points = 0u8;
        let mut flags = 0u8;
        if ip_rate >= u64::from(s.ip_challenges) {
            points += 1;
            flags |= risk::IP_RATE;
        }
        if px_rate >= u64::from(s.prefix_challenges) {
            points += if px_rate >= 4 * u64::from(s.prefix_challenges) {
                2
            } else {
                1
            };
            flags |= risk::SURGE;
        }
        if asn_rate >= u64::from(s.asn_challenges) {
            points += 1;
            flags |= risk::SURGE;
        }
        if listed {
            points += 1;
            flags |= risk::LISTED;
        }
        if marks >= 1 {
            points += if marks >= MARKS_HIGH { 2 } else { 1 };
            flags |= risk::MARKED;
        }
        Ok(ChallengeRisk {
            byte: points.min(3) | flags,
        })
    }

    /// Correlate a valid token at siteverify. `trace_hashes` are the token's stroke shape hashes
    /// (band hashes per stroke; counted with [`replay::select`] keyed by the server secret
    /// ([`KeyHasher::replay_key`]) and [`replay::stroke_seen`], the
    /// rule the offline evaluation simulates).
    /// Returns the signals and the footprint to keep for `/v1/outcome`.
    #[allow(clippy::too_many_arguments)]
    pub async fn on_verify(
        &self,
        store: &dyn Store,
        now: u64,
        challenge_id: [u8; 16],
        risk_byte: u8,
        ip: Option<IpAddr>,
        account: Option<&str>,
        fingerprint: &[u8],
        trace_hashes: &[StrokeHash],
        lists: &IpLists,
    ) -> Result<(Signals, Footprint), StoreError> {
        let s = self.settings;
        let day = day_of(now);
        let mut sig = Signals::default();
        let fp = Some(fingerprint).filter(|f| !f.is_empty() && f.iter().any(|b| *b != 0));
        let foot = Footprint {
            day,
            ip: ip.map(|ip| self.hash(day, Entity::Ip(ip))),
            prefix: ip.map(|ip| self.hash(day, Entity::Prefix(ip))),
            account: account.map(|a| self.hash(day, Entity::Account(a))),
            fingerprint: fp.map(|f| self.hash(day, Entity::Fingerprint(f))),
            challenge: challenge_id,
        };

        // Challenge-time flags (signed into the challenge).
        if risk_byte & (risk::SURGE | risk::MARKED) != 0 {
            sig.push("campaign-prefix");
        }
        if risk_byte & risk::IP_RATE != 0 {
            sig.push("ip-rate");
        }
        let listed_now = ip.map(|ip| lists.lookup(ip)).unwrap_or_default();
        for l in &listed_now {
            sig.push(l.reason());
        }
        if listed_now.is_empty() && risk_byte & risk::LISTED != 0 {
            sig.push("listed-ip");
        }

        let mut ops = Vec::new();
        let mut idx_fp = None;
        if let (Some(f), Some(a)) = (fp, foot.account) {
            idx_fp = Some(ops.len());
            ops.push(self.distinct("fpacct", Entity::Fingerprint(f), Some(a), now));
        }
        let uniq = replay::select(trace_hashes, self.hasher.replay_key());
        // Per stroke: distinct sessions of every distinct band hash (`replay::distinct_bands`: a
        // value both views carry is one op), then distinct addresses of band 0 when the address
        // is known. A stroke's band ops are contiguous, so its range is all that is kept.
        let mut idx_tr: Vec<(std::ops::Range<usize>, Option<usize>)> = Vec::new();
        for st in &uniq {
            let start = ops.len();
            for h in replay::distinct_bands(st) {
                ops.push(self.distinct("trses", Entity::Trace(h), Some(challenge_id), now));
            }
            let bands = start..ops.len();
            let ip_op = foot.ip.map(|iph| {
                ops.push(self.distinct("trip", Entity::Trace(st[0]), Some(iph), now));
                ops.len() - 1
            });
            idx_tr.push((bands, ip_op));
        }
        let mut idx_acct = None;
        if let Some(a) = account {
            idx_acct = Some(ops.len());
            ops.push(self.distinct("acctfail", Entity::Account(a), None, now));
        }
        let mut idx_px = None;
        if let Some(ip) = ip {
            idx_px = Some(ops.len());
            ops.push(self.bucket("pxrisk", Entity::Prefix(ip), now, s.window_ms, 0));
            ops.push(self.bucket("pxfail", Entity::Prefix(ip), now, s.window_ms, 0));
        }
        let v = store.observe(now, &ops).await?;
        let total = |i: usize| v.get(i).map_or(0, |c| c.current + c.carried);

        if let Some(i) = idx_fp
            && total(i) >= u64::from(s.fingerprint_accounts)
        {
            sig.push("campaign-fingerprint");
        }
        sig.traces_hashed = uniq.len();
        let mut max_sources = 0;
        for (band_ops, ip_op) in &idx_tr {
            let bands: Vec<u64> = band_ops.clone().map(total).collect();
            if replay::stroke_seen(&bands) {
                sig.traces_seen_elsewhere += 1;
            }
            let ips = ip_op.map_or(0, total);
            max_sources = max_sources.max(replay::stroke_sessions(&bands)).max(ips);
        }
        if max_sources >= u64::from(s.trace_sources) {
            sig.push("campaign-trace");
        }
        if let Some(i) = idx_acct
            && total(i) >= u64::from(s.account_failure_ips)
        {
            sig.push("campaign-account");
        }
        if let Some(i) = idx_px {
            let marks = v.get(i).map_or(0, |c| estimate(*c, now, s.window_ms));
            let fails = v.get(i + 1).map_or(0, |c| estimate(*c, now, s.window_ms));
            if marks >= 1 || fails >= u64::from(s.prefix_failures) {
                sig.push("campaign-prefix");
            }
        }

        // Campaign evidence marks the prefix: its next challenges get a higher PoW tier.
        let campaign = sig.reasons.iter().any(|r| {
            matches!(
                *r,
                "campaign-fingerprint" | "campaign-trace" | "campaign-account"
            )
        });
        if campaign && let Some(ip) = ip {
            let op = [self.bucket("pxrisk", Entity::Prefix(ip), now, s.window_ms, 1)];
            store.observe(now, &op).await?;
        }
        for r in &sig.reasons {
            metrics::counter!("tollgate_campaign_signals_total", "signal" => *r).increment(1);
        }
        Ok((sig, foot))
    }

    /// Record a login outcome reported by the site for a siteverify footprint. `account` (hashed
    /// with the footprint's day) overrides the footprint's account when given.
    pub async fn on_outcome(
        &self,
        store: &dyn Store,
        now: u64,
        foot: &Footprint,
        success: bool,
        account: Option<&str>,
    ) -> Result<Vec<&'static str>, StoreError> {
        let s = self.settings;
        let account = account
            .map(|a| self.hash(foot.day, Entity::Account(a)))
            .or(foot.account);
        let mut signals = Vec::new();
        if success {
            return Ok(signals);
        }
        let mut ops = Vec::new();
        let mut idx_acct = None;
        if let Some(a) = account {
            idx_acct = Some(ops.len());
            // Member: the address, or the session when the address is unknown.
            let member = foot.ip.unwrap_or(foot.challenge);
            ops.push(self.distinct_hashed("acctfail", a, Some(member)));
        }
        let mut idx_px = None;
        if let Some(p) = foot.prefix {
            idx_px = Some(ops.len());
            ops.push(self.bucket_hashed("pxfail", p, now, s.window_ms, 1));
        }
        if ops.is_empty() {
            return Ok(signals);
        }
        let v = store.observe(now, &ops).await?;
        if let Some(i) = idx_acct
            && v.get(i).map_or(0, |c| c.current + c.carried) >= u64::from(s.account_failure_ips)
        {
            signals.push("campaign-account");
        }
        if let Some(i) = idx_px
            && v.get(i).map_or(0, |c| estimate(*c, now, s.window_ms))
                >= u64::from(s.prefix_failures)
        {
            signals.push("campaign-prefix");
        }
        if !signals.is_empty()
            && let Some(p) = foot.prefix
        {
            let op = [self.bucket_hashed("pxrisk", p, now, s.window_ms, 1)];
            store.observe(now, &op).await?;
        }
        for r in &signals {
            metrics::counter!("tollgate_campaign_signals_total", "signal" => *r).increment(1);
        }
        Ok(signals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_rotate_daily_and_separate_kinds_and_sites() {
        let h = KeyHasher::new([7; 32]);
        let a = h.hash(100, "ip", &[1; 16], b"\x01\x02\x03\x04");
        assert_eq!(a, h.hash(100, "ip", &[1; 16], b"\x01\x02\x03\x04"));
        assert_ne!(a, h.hash(101, "ip", &[1; 16], b"\x01\x02\x03\x04"));
        assert_ne!(a, h.hash(100, "px", &[1; 16], b"\x01\x02\x03\x04"));
        assert_ne!(a, h.hash(100, "ip", &[2; 16], b"\x01\x02\x03\x04"));
        assert_ne!(
            a,
            KeyHasher::new([8; 32]).hash(100, "ip", &[1; 16], b"\x01\x02\x03\x04")
        );
        assert!(!format!("{h:?}").contains('7'));
    }

    #[test]
    fn cached_day_keys_hash_like_fresh_derivation() {
        let base = [9u8; 32];
        let fresh = |day: u64, kind: &str, v: &[u8]| {
            let day_key = hmac_sha256(
                &base,
                &[b"tollgate/correlation-day/v1\0", &day.to_be_bytes()],
            );
            let len = u32::try_from(v.len()).unwrap().to_be_bytes();
            let h = hmac_sha256(&day_key, &[kind.as_bytes(), b"\0", &[3; 16], &len, v]);
            <[u8; 16]>::try_from(&h[..16]).unwrap()
        };
        let h = KeyHasher::new(base);
        // More days than cache slots, revisited in every order.
        for day in [100, 101, 100, 102, 99, 101, 101, 100, 103, 102] {
            for (kind, v) in [
                ("ip", &b"\x01\x02\x03\x04"[..]),
                ("tr", b""),
                ("acct", b"alice"),
            ] {
                assert_eq!(
                    h.hash(day, kind, &[3; 16], v),
                    fresh(day, kind, v),
                    "{day} {kind}"
                );
            }
        }
        assert_eq!(
            h.clone().hash(7, "ip", &[3; 16], b"x"),
            fresh(7, "ip", b"x")
        );
    }

    #[test]
    fn counter_keys_keep_their_format() {
        let h: [u8; 16] = core::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(
            counter_key("c:", "ipch", &h, Some(12_345)),
            format!("c:ipch:{}:12345", hex::encode(h))
        );
        assert_eq!(
            counter_key("c:", "pxrisk", &h, Some(0)),
            format!("c:pxrisk:{}:0", hex::encode(h))
        );
        assert_eq!(
            counter_key("d:", "trses", &h, None),
            format!("d:trses:{}", hex::encode(h))
        );
    }

    #[test]
    fn sliding_estimate() {
        let v = CounterValue {
            current: 10,
            carried: 100,
        };
        assert_eq!(estimate(v, 60_000, 60_000), 110);
        assert_eq!(estimate(v, 90_000, 60_000), 60);
        assert_eq!(estimate(v, 119_999, 60_000), 10);
    }

    #[test]
    fn accounts_are_normalised() {
        assert_eq!(
            normalize_account("  Alice@Example.COM "),
            Some("alice@example.com".into())
        );
        assert_eq!(normalize_account("   "), None);
        // Any length is accepted; only the first ACCOUNT_HASH_LIMIT bytes count.
        let long = "B".repeat(ACCOUNT_HASH_LIMIT + 100);
        assert_eq!(
            normalize_account(&long).as_deref(),
            Some("b".repeat(ACCOUNT_HASH_LIMIT).as_str())
        );
        // Cut at a character boundary (é is two bytes).
        let odd = format!("x{}", "é".repeat(ACCOUNT_HASH_LIMIT));
        let n = normalize_account(&odd).unwrap();
        assert!(n.len() <= ACCOUNT_HASH_LIMIT && n.len() >= ACCOUNT_HASH_LIMIT - 1);
    }

    /// Live counting of band hashes: a stroke whose copy shares two distinct band hashes with
    /// earlier sessions counts as seen elsewhere (the rule `tollgate_intel::ReplayStore`
    /// simulates); one shared band, or one value that both views of the stroke carry, does not;
    /// a stroke sharing nothing does not, and a session is never "elsewhere" to itself.
    #[tokio::test]
    async fn a_stroke_sharing_two_bands_was_seen_elsewhere() {
        use crate::clock::ManualClock;
        use crate::store::MemoryStore;
        use std::sync::Arc;

        let settings = CorrelationSettings::default();
        let hasher = KeyHasher::new([3; 32]);
        let c = Correlator {
            settings: &settings,
            hasher: &hasher,
            site: [9; 16],
        };
        let now = 1_000_000;
        let store = MemoryStore::new(10_000, Arc::new(ManualClock::new(now)));
        let lists = IpLists::default();
        let stroke = |seed: u64| -> StrokeHash { std::array::from_fn(|i| seed * 100 + i as u64) };
        let verify = |id: u8, hashes: Vec<StrokeHash>| {
            let (c, store, lists) = (&c, &store, &lists);
            async move {
                c.on_verify(store, now, [id; 16], 0, None, None, &[], &hashes, lists)
                    .await
                    .expect("memory store")
                    .0
            }
        };
        let first = verify(1, vec![stroke(1), stroke(2)]).await;
        assert_eq!((first.traces_hashed, first.traces_seen_elsewhere), (2, 0));
        // A near-copy of stroke 1 sharing one band (5), one sharing a value twice (band 4 and
        // its trimmed view, as when the first sample moved no grid cell), and one sharing two
        // bands (5, and band 3 of the other view: a copy that lost its first sample); a new
        // stroke twice in one token.
        let mut one = stroke(7);
        one[5] = stroke(1)[5];
        let mut twice = stroke(8);
        twice[4] = stroke(1)[4];
        twice[replay::VIEW_BANDS + 4] = stroke(1)[4];
        let mut two = stroke(9);
        two[5] = stroke(1)[5];
        two[replay::VIEW_BANDS + 3] = stroke(1)[3];
        let second = verify(2, vec![one, stroke(3), stroke(3)]).await;
        assert_eq!((second.traces_hashed, second.traces_seen_elsewhere), (2, 0));
        let second = verify(5, vec![twice]).await;
        assert_eq!((second.traces_hashed, second.traces_seen_elsewhere), (1, 0));
        let second = verify(6, vec![two, stroke(4)]).await;
        assert_eq!((second.traces_hashed, second.traces_seen_elsewhere), (2, 1));
        // Two shared bands are not a campaign; a stroke seen in all bands by 3 sessions is.
        assert!(!second.reasons.contains(&"campaign-trace"));
        let third = verify(3, vec![stroke(2)]).await;
        assert!(!third.reasons.contains(&"campaign-trace"));
        let fourth = verify(4, vec![stroke(2)]).await;
        assert_eq!(fourth.traces_seen_elsewhere, 1);
        assert!(fourth.reasons.contains(&"campaign-trace"));
    }

    /// Replay decoys: the strokes counted per session are chosen with the server's keyed
    /// selection. A replayer who mixes fresh strokes into a replayed session — choosing the ones
    /// an unkeyed, content-derived order would count first (smallest band-0 hash) — is still
    /// counted as a multi-stroke replay, and verifiers with different key material count
    /// different subsets of one session.
    #[tokio::test]
    async fn decoy_strokes_do_not_hide_a_replay() {
        use crate::clock::ManualClock;
        use crate::store::MemoryStore;
        use std::sync::Arc;
        use tollgate_model::model::ReplayEvidence;

        let settings = CorrelationSettings::default();
        let now = 1_000_000;
        let lists = IpLists::default();
        let stroke = |seed: u64| -> StrokeHash {
            std::array::from_fn(|i| {
                hmac_sha256(&seed.to_le_bytes(), &[&[i as u8]])[0] as u64 * 1_000_003
                    + seed * 31
                    + i as u64
            })
        };
        let library: Vec<StrokeHash> = (1..=4).map(stroke).collect();
        let mut fresh: Vec<StrokeHash> = (100..300).map(stroke).collect();
        fresh.sort_unstable_by_key(|h| h[0]);
        let decoys = &fresh[..2];
        let mut detected = 0;
        let mut selections = std::collections::HashSet::new();
        for k in 0..20u8 {
            let hasher = KeyHasher::new([k; 32]);
            let c = Correlator {
                settings: &settings,
                hasher: &hasher,
                site: [9; 16],
            };
            let store = MemoryStore::new(10_000, Arc::new(ManualClock::new(now)));
            let verify = |id: u8, hashes: Vec<StrokeHash>| {
                let (c, store, lists) = (&c, &store, &lists);
                async move {
                    c.on_verify(store, now, [id; 16], 0, None, None, &[], &hashes, lists)
                        .await
                        .expect("memory store")
                        .0
                }
            };
            let first = verify(1, library.clone()).await;
            assert_eq!(first.traces_seen_elsewhere, 0);
            let mut session = library.clone();
            session.extend_from_slice(decoys);
            let second = verify(2, session.clone()).await;
            let ev = ReplayEvidence {
                hashed: second.traces_hashed,
                seen_elsewhere: second.traces_seen_elsewhere,
            };
            detected += usize::from(ev.is_multi_stroke_replay());
            selections.insert(replay::select(&session, hasher.replay_key()));
        }
        // Two decoys among six strokes leave at least two replayed ones in any four counted.
        assert_eq!(detected, 20);
        assert!(selections.len() > 3, "{}", selections.len());
    }
}
