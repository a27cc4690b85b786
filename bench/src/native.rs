//! Native single-core reference rates, measured on the same unit of work as the browser runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use blake2::Digest;
use tollgate_protocol::{pow, solver};

/// Run `f(batch)` repeatedly for about `secs`; return the median rate of 5 runs in items/s.
fn rate(secs: Duration, mut f: impl FnMut(u64) -> u64) -> f64 {
    // Calibrate a batch of ~10 ms.
    let mut batch = 1u64 << 12;
    loop {
        let t = Instant::now();
        black_box(f(batch));
        if t.elapsed() > Duration::from_millis(10) || batch > 1 << 30 {
            break;
        }
        batch *= 2;
    }
    let mut rates: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut n = 0u64;
            while t.elapsed() < secs / 5 {
                n += f(batch);
            }
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[2]
}

pub fn run(secs: Duration) {
    let p = pow::prefix(&[7; 32], 0, 32);
    // `sha2::compress256` on the padded PoW block, one compression per candidate: the physical
    // reference (SHA-NI when the CPU has it; this crate is built with target-cpu=native).
    let mut block = pow::block(&p, 0);
    let mut nonce = 0u64;
    let sha2_rate = rate(secs, |n| {
        let mut acc = 0u32;
        for _ in 0..n {
            nonce = nonce.wrapping_add(1);
            block[44..52].copy_from_slice(&nonce.to_be_bytes());
            let mut state = pow::H0;
            sha2::compress256(&mut state, core::slice::from_ref((&block).into()));
            acc ^= state[0];
        }
        black_box(acc);
        n
    });
    // Our kernel compiled natively (portable lanes; wasm uses v128).
    let mut start = 0u64;
    let kernel1 = rate(secs, |n| {
        let (_, done) = solver::search_with::<u32>(black_box(&p), 32, start, n);
        start += n;
        done
    });
    let kernel4 = rate(secs, |n| {
        let (_, done) = solver::search_with::<[u32; 4]>(black_box(&p), 32, start, n);
        start += n;
        done
    });
    // BLAKE2b-256 of a 128-byte buffer (Friendly Captcha's candidate: one BLAKE2b compression).
    let mut buf = [0u8; 128];
    let mut ctr = 0u32;
    let blake = rate(secs, |n| {
        let mut acc = 0u8;
        for _ in 0..n {
            ctr = ctr.wrapping_add(1);
            buf[124..].copy_from_slice(&ctr.to_le_bytes());
            let h = blake2::Blake2b::<blake2::digest::consts::U32>::digest(buf);
            acc ^= h[0];
        }
        black_box(acc);
        n
    });
    #[cfg(target_arch = "x86_64")]
    let sha_ni = std::arch::is_x86_feature_detected!("sha");
    #[cfg(not(target_arch = "x86_64"))]
    let sha_ni = false;
    println!(
        "{{\"bench\":\"native\",\"sha_ni\":{sha_ni},\"sha2_compress_hps\":{sha2_rate:.0},\"kernel_1lane_hps\":{kernel1:.0},\"kernel_4lane_array_hps\":{kernel4:.0},\"blake2b256_128B_hps\":{blake:.0}}}"
    );
}
