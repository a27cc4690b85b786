//! Fast proof-of-work search: a 4-lane SHA-256 kernel specialised to the sub-puzzle block layout
//! of [`crate::pow`].
//!
//! What makes it fast (see `../shared/notes/pow.md` in the workspace's parent for the background):
//! - exactly one 64-byte block per candidate, binary nonce in message words 11–12;
//! - rounds 0–11 depend only on the prefix and the nonce's high word, so they are computed once
//!   per call ([`Midstate`]); message-schedule words 16, 17, 18, 20, 22 and 24 are constant too;
//! - only state word 0 is finalised and compared (difficulty ≤ 32 bits);
//! - four nonces per step through the [`Lanes`] abstraction: `v128` (wasm simd128) when compiled
//!   with `-C target-feature=+simd128`, otherwise a `[u32; 4]` array (the scalar build).
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

/// A vector of `WIDTH` u32 lanes: `u32` (one lane, the scalar build), `[u32; 4]` (portable) and
/// `v128` (wasm simd128).
pub trait Lanes: Copy {
    const WIDTH: usize;
    fn splat(v: u32) -> Self;
    /// Lanes `base, base+1, …` (wrapping).
    fn counting(base: u32) -> Self;
    fn lane(self, i: usize) -> u32;
    fn add(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn rotr(self, n: u32) -> Self;
    fn shr(self, n: u32) -> Self;
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
    fn and(self, o: Self) -> Self {
        self & o
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        self | o
    }
    #[inline(always)]
    fn rotr(self, n: u32) -> Self {
        self.rotate_right(n)
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        self >> n
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
    fn and(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i] & o[i])
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i] | o[i])
    }
    #[inline(always)]
    fn rotr(self, n: u32) -> Self {
        core::array::from_fn(|i| self[i].rotate_right(n))
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        core::array::from_fn(|i| self[i] >> n)
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
        fn and(self, o: Self) -> Self {
            v128_and(self, o)
        }
        #[inline(always)]
        fn or(self, o: Self) -> Self {
            v128_or(self, o)
        }
        #[inline(always)]
        fn rotr(self, n: u32) -> Self {
            v128_or(u32x4_shr(self, n), u32x4_shl(self, 32 - n))
        }
        #[inline(always)]
        fn shr(self, n: u32) -> Self {
            u32x4_shr(self, n)
        }
    }
}

/// The lane type this build uses for searching.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type NativeLanes = core::arch::wasm32::v128;
/// The lane type this build uses for searching (scalar: one lane).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type NativeLanes = u32;

/// Whether this build uses wasm simd128.
pub const SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// Everything about a sub-puzzle that does not depend on the nonce's low word.
#[derive(Debug, Clone)]
pub struct Midstate {
    /// State (a..h) after rounds 0–11.
    state: [u32; 8],
    /// Message words 0–15 (word 12 is a placeholder) and the constant schedule words.
    w: [u32; 16],
    w16: u32,
    w17: u32,
    w18: u32,
    w20: u32,
    w22: u32,
    w24: u32,
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
        let mut w = [0u32; 16];
        for (i, chunk) in prefix.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        w[11] = nonce_hi;
        w[13] = W13;
        w[14] = 0;
        w[15] = W15;
        let mut state = H0;
        for i in 0..12 {
            round(&mut state, K[i], w[i]);
        }
        let w16 = s1(w[14])
            .wrapping_add(w[9])
            .wrapping_add(s0(w[1]))
            .wrapping_add(w[0]);
        let w17 = s1(w[15])
            .wrapping_add(w[10])
            .wrapping_add(s0(w[2]))
            .wrapping_add(w[1]);
        let w18 = s1(w16)
            .wrapping_add(w[11])
            .wrapping_add(s0(w[3]))
            .wrapping_add(w[2]);
        let w20 = s1(w18)
            .wrapping_add(w[13])
            .wrapping_add(s0(w[5]))
            .wrapping_add(w[4]);
        let w22 = s1(w20)
            .wrapping_add(w[15])
            .wrapping_add(s0(w[7]))
            .wrapping_add(w[6]);
        let w24 = s1(w22)
            .wrapping_add(w17)
            .wrapping_add(s0(w[9]))
            .wrapping_add(w[8]);
        Self {
            state,
            w,
            w16,
            w17,
            w18,
            w20,
            w22,
            w24,
        }
    }

    /// First hash word (H0[0] + final a) for four nonce low words at once.
    #[inline(always)]
    pub fn first_words<L: Lanes>(&self, lo: L) -> L {
        let sp = L::splat;
        let bs0 = |x: L| x.rotr(7).xor(x.rotr(18)).xor(x.shr(3));
        let bs1 = |x: L| x.rotr(17).xor(x.rotr(19)).xor(x.shr(10));
        let mut a = sp(self.state[0]);
        let mut b = sp(self.state[1]);
        let mut c = sp(self.state[2]);
        let mut d = sp(self.state[3]);
        let mut e = sp(self.state[4]);
        let mut f = sp(self.state[5]);
        let mut g = sp(self.state[6]);
        let mut h = sp(self.state[7]);
        // Message schedule in a rolling 16-word window; words 12.. vary with the nonce, the
        // constant ones (16, 17, 18, 20, 22, 24) come precomputed.
        let mut w: [L; 16] = core::array::from_fn(|i| sp(self.w[i]));
        w[12] = lo;
        for i in 12..64 {
            let wi = match i {
                0..16 => w[i],
                16 => sp(self.w16),
                17 => sp(self.w17),
                18 => sp(self.w18),
                20 => sp(self.w20),
                22 => sp(self.w22),
                24 => sp(self.w24),
                _ => bs1(w[(i - 2) & 15])
                    .add(w[(i - 7) & 15])
                    .add(bs0(w[(i - 15) & 15]))
                    .add(w[i & 15]),
            };
            w[i & 15] = wi;
            let ch = e.and(f).xor(e.xor(sp(u32::MAX)).and(g));
            let t1 = h
                .add(e.rotr(6).xor(e.rotr(11)).xor(e.rotr(25)))
                .add(ch)
                .add(sp(K[i]))
                .add(wi);
            let maj = a.and(b).or(c.and(a.or(b)));
            let t2 = a.rotr(2).xor(a.rotr(13)).xor(a.rotr(22)).add(maj);
            h = g;
            g = f;
            f = e;
            e = d.add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.add(t2);
        }
        a.add(sp(H0[0]))
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
            for j in 0..L::WIDTH {
                let cand = n + j as u64;
                if cand < block_end && meets(words.lane(j), bits) {
                    done += j as u64 + 1;
                    return (Some(cand), done);
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
            for (j, &l) in lanes.iter().enumerate() {
                let nonce = (base & 0xffff_ffff_0000_0000) | u64::from(l);
                assert_eq!(got[j], first_word(&p, nonce));
                assert_eq!(mid.first_words(l), first_word(&p, nonce));
            }
        }
    }

    #[test]
    fn search_agrees_with_reference_solver() {
        let p = prefix(&[3; 32], 1, 10);
        let (found, hashed) = search(&p, 10, 0, 1 << 20);
        assert_eq!(search_with::<[u32; 4]>(&p, 10, 0, 1 << 20).0, found);
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
    }
}
