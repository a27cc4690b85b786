//! Fast proof-of-work search: a 4-lane SHA-256 kernel specialised to the sub-puzzle block layout
//! of [`crate::pow`].
//!
//! What makes it fast (see `../shared/notes/pow.md` in the workspace's parent for the background):
//! - exactly one 64-byte block per candidate, binary nonce in message words 11–12;
//! - rounds 0–11 and the nonce-free half of round 12 depend only on the prefix and the nonce's
//!   high word, so they are computed once per call ([`Midstate`]); message-schedule words 16, 17,
//!   18, 20, 22 and 24 are constant, and words 19–40 have constant parts folded in, as are the
//!   `K + W` sums of the constant words and `H0[0]` (into the last round);
//! - straight-line, fully unrolled rounds with the schedule in locals (no linear-memory traffic),
//!   `ch`/`maj` as bit selects (`maj` reuses the previous round's `a ^ b`), the last round computes
//!   only `a`;
//! - only state word 0 is finalised and compared (difficulty ≤ 32 bits), by one vector compare
//!   and one branch per step;
//! - several nonces per step through the [`Lanes`] abstraction: two interleaved `v128` (8 lanes,
//!   [`X2`]) with `-C target-feature=+simd128`, one `u32` lane in the scalar build.
//!
//! Correctness is checked against `sha2` on random inputs (unit tests here, and in the browser by
//! the collector's wasm tests).

use crate::pow::{H0, PREFIX_LEN, meets};

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Word 13: bytes 52..55 are zero, byte 55 is the 0x80 padding marker.
const W13: u32 = 0x0000_0080;
/// Word 15: message length in bits (55 · 8).
const W15: u32 = 440;

#[inline(always)]
fn s0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
#[inline(always)]
fn s1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// A vector of `WIDTH` u32 lanes: `u32` (one lane, the scalar build), `[u32; 4]` (portable),
/// `v128` (wasm simd128) and [`X2`] (two vectors interleaved).
pub trait Lanes: Copy {
    const WIDTH: usize;
    fn splat(v: u32) -> Self;
    /// Lanes `base, base+1, …` (wrapping).
    fn counting(base: u32) -> Self;
    fn lane(self, i: usize) -> u32;
    fn add(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn rotr(self, n: u32) -> Self;
    fn shr(self, n: u32) -> Self;
    /// Bits of `a` where `mask` is set, bits of `b` elsewhere (`v128.bitselect`).
    fn select(mask: Self, a: Self, b: Self) -> Self;
    /// Whether any lane is below `limit` (unsigned): one branch per step in the common case.
    fn any_below(self, limit: u32) -> bool;
}

impl Lanes for u32 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn splat(v: u32) -> Self {
        v
    }
    #[inline(always)]
    fn counting(base: u32) -> Self {
        base
    }
    #[inline(always)]
    fn lane(self, _i: usize) -> u32 {
        self
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn rotr(self, n: u32) -> Self {
        self.rotate_right(n)
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        self >> n
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        b ^ ((a ^ b) & mask)
    }
    #[inline(always)]
    fn any_below(self, limit: u32) -> bool {
        self < limit
    }
}

impl Lanes for [u32; 4] {
    const WIDTH: usize = 4;
    #[inline(always)]
    fn splat(v: u32) -> Self {
        [v; 4]
    }
    #[inline(always)]
    fn counting(base: u32) -> Self {
        core::array::from_fn(|i| base.wrapping_add(i as u32))
    }
    #[inline(always)]
    fn lane(self, i: usize) -> u32 {
        self[i]
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i].wrapping_add(o[i]))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i] ^ o[i])
    }
    #[inline(always)]
    fn rotr(self, n: u32) -> Self {
        core::array::from_fn(|i| self[i].rotate_right(n))
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        core::array::from_fn(|i| self[i] >> n)
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        core::array::from_fn(|i| b[i] ^ ((a[i] ^ b[i]) & mask[i]))
    }
    #[inline(always)]
    fn any_below(self, limit: u32) -> bool {
        self.iter().fold(false, |acc, &x| acc | (x < limit))
    }
}

/// Two lane vectors advanced in lock step: twice the lanes and two independent dependency
/// chains per operation, which hides instruction latency (the engine's code generator keeps the
/// source order within the straight-line kernel).
#[derive(Debug, Clone, Copy)]
pub struct X2<L>(pub L, pub L);

impl<L: Lanes> Lanes for X2<L> {
    const WIDTH: usize = 2 * L::WIDTH;
    #[inline(always)]
    fn splat(v: u32) -> Self {
        let s = L::splat(v);
        X2(s, s)
    }
    #[inline(always)]
    fn counting(base: u32) -> Self {
        X2(
            L::counting(base),
            L::counting(base.wrapping_add(L::WIDTH as u32)),
        )
    }
    #[inline(always)]
    fn lane(self, i: usize) -> u32 {
        if i < L::WIDTH {
            self.0.lane(i)
        } else {
            self.1.lane(i - L::WIDTH)
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        X2(self.0.add(o.0), self.1.add(o.1))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        X2(self.0.xor(o.0), self.1.xor(o.1))
    }
    #[inline(always)]
    fn rotr(self, n: u32) -> Self {
        X2(self.0.rotr(n), self.1.rotr(n))
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        X2(self.0.shr(n), self.1.shr(n))
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        X2(L::select(mask.0, a.0, b.0), L::select(mask.1, a.1, b.1))
    }
    #[inline(always)]
    fn any_below(self, limit: u32) -> bool {
        self.0.any_below(limit) | self.1.any_below(limit)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;

    impl Lanes for v128 {
        const WIDTH: usize = 4;
        #[inline(always)]
        fn splat(v: u32) -> Self {
            u32x4_splat(v)
        }
        #[inline(always)]
        fn counting(base: u32) -> Self {
            i32x4_add(u32x4_splat(base), u32x4(0, 1, 2, 3))
        }
        #[inline(always)]
        fn lane(self, i: usize) -> u32 {
            match i {
                0 => u32x4_extract_lane::<0>(self),
                1 => u32x4_extract_lane::<1>(self),
                2 => u32x4_extract_lane::<2>(self),
                _ => u32x4_extract_lane::<3>(self),
            }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            i32x4_add(self, o)
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            v128_xor(self, o)
        }
        #[inline(always)]
        fn rotr(self, n: u32) -> Self {
            v128_or(u32x4_shr(self, n), u32x4_shl(self, 32 - n))
        }
        #[inline(always)]
        fn shr(self, n: u32) -> Self {
            u32x4_shr(self, n)
        }
        #[inline(always)]
        fn select(mask: Self, a: Self, b: Self) -> Self {
            v128_bitselect(a, b, mask)
        }
        #[inline(always)]
        fn any_below(self, limit: u32) -> bool {
            v128_any_true(u32x4_lt(self, u32x4_splat(limit)))
        }
    }
}

/// The lane type this build searches with: two interleaved `v128` (8 nonces per step) with
/// simd128 (measured faster than one `v128`: bench/README.md).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type NativeLanes = X2<core::arch::wasm32::v128>;
/// The lane type this build searches with (scalar: one lane).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type NativeLanes = u32;

/// Whether this build uses wasm simd128.
pub const SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

#[inline(always)]
fn bs0<L: Lanes>(x: L) -> L {
    x.rotr(2).xor(x.rotr(13)).xor(x.rotr(22))
}
#[inline(always)]
fn bs1<L: Lanes>(x: L) -> L {
    x.rotr(6).xor(x.rotr(11)).xor(x.rotr(25))
}
#[inline(always)]
fn ss0<L: Lanes>(x: L) -> L {
    x.rotr(7).xor(x.rotr(18)).xor(x.shr(3))
}
#[inline(always)]
fn ss1<L: Lanes>(x: L) -> L {
    x.rotr(17).xor(x.rotr(19)).xor(x.shr(10))
}

/// Working state of the vector rounds; `bc` carries `b ^ c` (the previous round's `a ^ b`), so
/// `maj` costs one select and one xor off the critical path.
#[derive(Clone, Copy)]
struct St<L> {
    a: L,
    b: L,
    c: L,
    d: L,
    e: L,
    f: L,
    g: L,
    h: L,
    bc: L,
}

/// One SHA-256 round; `kw` is `K[i] + W[i]`.
#[inline(always)]
fn rnd<L: Lanes>(s: &mut St<L>, kw: L) {
    let t1 = s.h.add(bs1(s.e)).add(L::select(s.e, s.f, s.g)).add(kw);
    let t2 = bs0(s.a).add(L::select(s.bc, s.a, s.b));
    let ab = s.a.xor(s.b);
    s.h = s.g;
    s.g = s.f;
    s.f = s.e;
    s.e = s.d.add(t1);
    s.d = s.c;
    s.c = s.b;
    s.b = s.a;
    s.a = t1.add(t2);
    s.bc = ab;
}

/// Everything about a sub-puzzle that does not depend on the nonce's low word (message word 12):
/// the state after rounds 0–11, the nonce-free part of round 12, the constant schedule words
/// (16, 17, 18, 20, 22, 24) and the constant parts of words 19–40.
#[derive(Debug, Clone)]
pub struct Midstate {
    /// a and e after round 12 are these plus the nonce word.
    a13: u32,
    e13: u32,
    /// b, c, d, f, g, h after round 12 and b ^ c for round 13.
    b13: u32,
    c13: u32,
    d13: u32,
    f13: u32,
    g13: u32,
    h13: u32,
    bc13: u32,
    /// `K[i] + W[i]` of the rounds whose message word is constant.
    kw: [u32; 25],
    /// Constant addends of schedule words 19..=40 (index i − 19).
    c: [u32; 22],
}

#[inline(always)]
fn round(s: &mut [u32; 8], k: u32, w: u32) {
    let [a, b, c, d, e, f, g, h] = *s;
    let t1 = h
        .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
        .wrapping_add((e & f) ^ (!e & g))
        .wrapping_add(k)
        .wrapping_add(w);
    let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
        .wrapping_add((a & b) ^ (a & c) ^ (b & c));
    *s = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
}

impl Midstate {
    /// Precompute for `prefix` with the nonce's high 32 bits fixed to `nonce_hi`.
    pub fn new(prefix: &[u8; PREFIX_LEN], nonce_hi: u32) -> Self {
        let mut w = [0u32; 41];
        for (i, chunk) in prefix.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        w[11] = nonce_hi;
        w[12] = 0; // the nonce's low word: the only variable input
        w[13] = W13;
        w[14] = 0;
        w[15] = W15;
        let mut state = H0;
        for i in 0..12 {
            round(&mut state, K[i], w[i]);
        }
        // Schedule words that do not depend on w[12].
        for i in [16, 17, 18, 20, 22, 24] {
            w[i] = s1(w[i - 2])
                .wrapping_add(w[i - 7])
                .wrapping_add(s0(w[i - 15]))
                .wrapping_add(w[i - 16]);
        }
        let [a, b, c, d, e, f, g, h] = state;
        let t1 = h
            .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
            .wrapping_add((e & f) ^ (!e & g))
            .wrapping_add(K[12]);
        let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
            .wrapping_add((a & b) ^ (a & c) ^ (b & c));
        let mut kw = [0u32; 25];
        for i in [13, 14, 15, 16, 17, 18, 20, 22, 24] {
            kw[i] = K[i].wrapping_add(w[i]);
        }
        let add = |xs: &[u32]| xs.iter().fold(0u32, |acc, &x| acc.wrapping_add(x));
        let mut cc = [0u32; 22];
        let mut set = |i: usize, v: u32| cc[i - 19] = v;
        set(19, add(&[s1(w[17]), s0(w[4]), w[3]]));
        set(21, add(&[s0(w[6]), w[5]]));
        set(23, add(&[w[16], s0(w[8]), w[7]]));
        set(25, add(&[w[18], s0(w[10]), w[9]]));
        set(26, add(&[s1(w[24]), s0(w[11]), w[10]]));
        set(27, add(&[w[20], w[11]]));
        set(28, s0(w[13]));
        set(29, add(&[w[22], w[13]]));
        set(30, s0(w[15]));
        set(31, add(&[w[24], s0(w[16]), w[15]]));
        set(32, add(&[s0(w[17]), w[16]]));
        set(33, add(&[s0(w[18]), w[17]]));
        set(34, w[18]);
        set(35, s0(w[20]));
        set(36, w[20]);
        set(37, s0(w[22]));
        set(38, w[22]);
        set(39, s0(w[24]));
        set(40, w[24]);
        Self {
            a13: t1.wrapping_add(t2),
            e13: d.wrapping_add(t1),
            b13: a,
            c13: b,
            d13: c,
            f13: e,
            g13: f,
            h13: g,
            bc13: a ^ b,
            kw,
            c: cc,
        }
    }

    /// First hash word (`H0[0]` + final a) for `L::WIDTH` nonce low words at once. Fully
    /// unrolled straight-line code: the schedule lives in locals (registers or engine stack
    /// slots), never in linear memory.
    #[inline(always)]
    pub fn first_words<L: Lanes>(&self, lo: L) -> L {
        let sp = L::splat;
        let c = |i: usize| sp(self.c[i - 19]);
        let kc = |i: usize| sp(self.kw[i]);
        let k = |i: usize| sp(K[i]);
        let mut s = St {
            a: sp(self.a13).add(lo),
            b: sp(self.b13),
            c: sp(self.c13),
            d: sp(self.d13),
            e: sp(self.e13).add(lo),
            f: sp(self.f13),
            g: sp(self.g13),
            h: sp(self.h13),
            bc: sp(self.bc13),
        };
        rnd(&mut s, kc(13));
        rnd(&mut s, kc(14));
        rnd(&mut s, kc(15));
        rnd(&mut s, kc(16));
        rnd(&mut s, kc(17));
        rnd(&mut s, kc(18));
        let w19 = c(19).add(lo);
        rnd(&mut s, w19.add(k(19)));
        rnd(&mut s, kc(20));
        let w21 = ss1(w19).add(c(21));
        rnd(&mut s, w21.add(k(21)));
        rnd(&mut s, kc(22));
        let w23 = ss1(w21).add(c(23));
        rnd(&mut s, w23.add(k(23)));
        rnd(&mut s, kc(24));
        let w25 = ss1(w23).add(c(25));
        rnd(&mut s, w25.add(k(25)));
        let w26 = w19.add(c(26));
        rnd(&mut s, w26.add(k(26)));
        let w27 = ss1(w25).add(ss0(lo)).add(c(27));
        rnd(&mut s, w27.add(k(27)));
        let w28 = ss1(w26).add(w21).add(lo).add(c(28));
        rnd(&mut s, w28.add(k(28)));
        let w29 = ss1(w27).add(c(29));
        rnd(&mut s, w29.add(k(29)));
        let w30 = ss1(w28).add(w23).add(c(30));
        rnd(&mut s, w30.add(k(30)));
        let w31 = ss1(w29).add(c(31));
        rnd(&mut s, w31.add(k(31)));
        let w32 = ss1(w30).add(w25).add(c(32));
        rnd(&mut s, w32.add(k(32)));
        let w33 = ss1(w31).add(w26).add(c(33));
        rnd(&mut s, w33.add(k(33)));
        let w34 = ss1(w32).add(w27).add(ss0(w19)).add(c(34));
        rnd(&mut s, w34.add(k(34)));
        let w35 = ss1(w33).add(w28).add(w19).add(c(35));
        rnd(&mut s, w35.add(k(35)));
        let w36 = ss1(w34).add(w29).add(ss0(w21)).add(c(36));
        rnd(&mut s, w36.add(k(36)));
        let w37 = ss1(w35).add(w30).add(w21).add(c(37));
        rnd(&mut s, w37.add(k(37)));
        let w38 = ss1(w36).add(w31).add(ss0(w23)).add(c(38));
        rnd(&mut s, w38.add(k(38)));
        let w39 = ss1(w37).add(w32).add(w23).add(c(39));
        rnd(&mut s, w39.add(k(39)));
        let w40 = ss1(w38).add(w33).add(ss0(w25)).add(c(40));
        rnd(&mut s, w40.add(k(40)));
        // From here every schedule word depends on the nonce: W[i] = σ1(W[i−2]) + W[i−7] +
        // σ0(W[i−15]) + W[i−16].
        macro_rules! sched {
            ($i:literal, $w:ident = $m2:ident, $m7:ident, $m15:ident, $m16:ident) => {
                let $w = ss1($m2).add($m7).add(ss0($m15)).add($m16);
                rnd(&mut s, $w.add(k($i)));
            };
        }
        sched!(41, w41 = w39, w34, w26, w25);
        sched!(42, w42 = w40, w35, w27, w26);
        sched!(43, w43 = w41, w36, w28, w27);
        sched!(44, w44 = w42, w37, w29, w28);
        sched!(45, w45 = w43, w38, w30, w29);
        sched!(46, w46 = w44, w39, w31, w30);
        sched!(47, w47 = w45, w40, w32, w31);
        sched!(48, w48 = w46, w41, w33, w32);
        sched!(49, w49 = w47, w42, w34, w33);
        sched!(50, w50 = w48, w43, w35, w34);
        sched!(51, w51 = w49, w44, w36, w35);
        sched!(52, w52 = w50, w45, w37, w36);
        sched!(53, w53 = w51, w46, w38, w37);
        sched!(54, w54 = w52, w47, w39, w38);
        sched!(55, w55 = w53, w48, w40, w39);
        sched!(56, w56 = w54, w49, w41, w40);
        sched!(57, w57 = w55, w50, w42, w41);
        sched!(58, w58 = w56, w51, w43, w42);
        sched!(59, w59 = w57, w52, w44, w43);
        sched!(60, w60 = w58, w53, w45, w44);
        sched!(61, w61 = w59, w54, w46, w45);
        sched!(62, w62 = w60, w55, w47, w46);
        // Round 63: only the new `a` is needed, and H0[0] is folded into its K + W.
        let w63 = ss1(w61).add(w56).add(ss0(w48)).add(w47);
        let kw = w63.add(sp(K[63].wrapping_add(H0[0])));
        let t1 = s.h.add(bs1(s.e)).add(L::select(s.e, s.f, s.g)).add(kw);
        let t2 = bs0(s.a).add(L::select(s.bc, s.a, s.b));
        t1.add(t2)
    }
}

/// Largest first word that passes `bits` (first_word < limit ⇔ leading zeros ≥ bits), as a
/// vector prefilter; lanes are then checked exactly with [`meets`].
fn limit(bits: u8) -> u32 {
    match bits {
        0 => u32::MAX,
        1..=31 => 1u32 << (32 - u32::from(bits)),
        _ => 1,
    }
}

/// Search `count` nonces from `start` (inclusive) for sub-puzzle `prefix`. Returns the first
/// passing nonce found (if any) and the number of candidates hashed.
pub fn search(prefix: &[u8; PREFIX_LEN], bits: u8, start: u64, count: u64) -> (Option<u64>, u64) {
    search_with::<NativeLanes>(prefix, bits, start, count)
}

/// [`search`] with an explicit lane type (tests compare the implementations).
pub fn search_with<L: Lanes>(
    prefix: &[u8; PREFIX_LEN],
    bits: u8,
    start: u64,
    count: u64,
) -> (Option<u64>, u64) {
    let end = start.saturating_add(count);
    if bits == 0 {
        return if count > 0 {
            (Some(start), 1)
        } else {
            (None, 0)
        };
    }
    let lim = limit(bits);
    let mut n = start;
    let mut done = 0u64;
    while n < end {
        let hi = (n >> 32) as u32;
        // Stay within one high word per midstate.
        let block_end = match hi.checked_add(1) {
            Some(next) => end.min(u64::from(next) << 32),
            None => end,
        };
        let mid = Midstate::new(prefix, hi);
        while n < block_end {
            let words = mid.first_words(L::counting(n as u32));
            if words.any_below(lim) {
                for j in 0..L::WIDTH {
                    let cand = n + j as u64;
                    if cand < block_end && meets(words.lane(j), bits) {
                        done += j as u64 + 1;
                        return (Some(cand), done);
                    }
                }
            }
            let step = (block_end - n).min(L::WIDTH as u64);
            n += step;
            done += step;
        }
    }
    (None, done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::{first_word, prefix};

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn kernel_matches_sha2_on_random_inputs() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            let mut seed = [0u8; 32];
            for b in seed.iter_mut() {
                *b = xorshift(&mut rng) as u8;
            }
            let p = prefix(
                &seed,
                xorshift(&mut rng) as u16,
                (xorshift(&mut rng) % 32) as u8 + 1,
            );
            let base = xorshift(&mut rng);
            let mid = Midstate::new(&p, (base >> 32) as u32);
            let lo = base as u32;
            let lanes = [lo, lo.wrapping_add(7), lo ^ 0xffff, 0];
            let got = mid.first_words(lanes);
            let got8 = mid.first_words(X2(lanes, [lo ^ 1, lo.wrapping_sub(1), !lo, 1]));
            for (j, &l) in lanes.iter().enumerate() {
                let nonce = (base & 0xffff_ffff_0000_0000) | u64::from(l);
                assert_eq!(got[j], first_word(&p, nonce));
                assert_eq!(got8.lane(j), first_word(&p, nonce));
                assert_eq!(mid.first_words(l), first_word(&p, nonce));
            }
            for (j, &l) in [lo ^ 1, lo.wrapping_sub(1), !lo, 1].iter().enumerate() {
                let nonce = (base & 0xffff_ffff_0000_0000) | u64::from(l);
                assert_eq!(got8.lane(4 + j), first_word(&p, nonce));
            }
        }
    }

    #[test]
    fn search_agrees_with_reference_solver() {
        let p = prefix(&[3; 32], 1, 10);
        let (found, hashed) = search(&p, 10, 0, 1 << 20);
        assert_eq!(search_with::<[u32; 4]>(&p, 10, 0, 1 << 20).0, found);
        assert_eq!(
            search_with::<X2<[u32; 4]>>(&p, 10, 0, 1 << 20),
            (found, hashed)
        );
        assert_eq!(search_with::<X2<u32>>(&p, 10, 0, 1 << 20), (found, hashed));
        let want = crate::pow::solve_range(&p, 10, 0, 1 << 20);
        assert_eq!(found, want);
        assert_eq!(hashed, want.unwrap() + 1);
        // Exhausting a range reports every candidate, and crossing a high-word boundary works.
        let start = (1u64 << 32) - 6;
        let (f, h) = search(&p, 32, start, 10);
        assert_eq!((f, h), (None, 10));
        // The last high word must not wrap (regression: it used to loop forever).
        assert_eq!(search(&p, 32, u64::MAX - 9, 100), (None, 9));
        let target = crate::pow::solve_range(&p, 6, start, 1 << 16).unwrap();
        assert_eq!(search(&p, 6, start, 1 << 16).0, Some(target));
        assert_eq!(
            search_with::<X2<[u32; 4]>>(&p, 6, start, 1 << 16).0,
            Some(target)
        );
    }

    #[test]
    fn every_difficulty_agrees_with_meets() {
        // The vector prefilter (first word < 2^(32−bits)) must never hide a passing lane.
        let p = prefix(&[9; 32], 4, 1);
        for bits in 0..=33u8 {
            let want = crate::pow::solve_range(&p, bits, 77, 1 << 12);
            let (got, _) = search_with::<X2<[u32; 4]>>(&p, bits, 77, 1 << 12);
            assert_eq!(got, want, "bits {bits}");
            assert_eq!(
                search_with::<u32>(&p, bits, 77, 1 << 12).0,
                want,
                "bits {bits}"
            );
        }
    }
}
