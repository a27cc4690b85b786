//! Tollgate benchmark tool (not a test: it prints numbers, it never fails on them).
//!
//! Subcommands:
//! - `native [--secs S]`: single-core native SHA-256 (the `sha2` crate, SHA-NI with
//!   `target-cpu=native`) on exactly the PoW block, our kernel natively, and BLAKE2b-512 (Friendly
//!   Captcha's primitive) — one JSON line.
//! - `fixture`: a challenge (k = 1, bits = 32) for the browser hash-rate runs, as hex (one line).
//! - `verifier-config DIR`: writes `DIR/verifier.toml`, the bench site (known keys, rate limits
//!   off, PoW k = 32 / bits = 4, 1 h tokens) that `load --tokens` signs for.
//! - `load --url URL --endpoint siteverify|challenge|bodies ...`: closed-loop sweep over
//!   concurrencies, then a fixed-rate run at a fraction of the best closed-loop rate; prints
//!   req/s, p50/p99 per step and one JSON line per step.

mod load;
mod native;
mod tokens;

use std::time::Duration;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn arg_or<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    arg(args, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn usage() -> ! {
    eprintln!(
        "usage: tollgate-bench native [--secs S]\n       tollgate-bench fixture\n       tollgate-bench verifier-config DIR\n       tollgate-bench load --url URL --endpoint siteverify|challenge|bodies [--bodies FILE] [--tokens N] [--conc 1,8,32] [--secs S] [--rate-fraction F] [--threads T] [--label L]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("native") => native::run(Duration::from_secs_f64(arg_or(&args, "--secs", 1.0))),
        Some("fixture") => println!("{}", tokens::hashrate_fixture_hex()),
        Some("verifier-config") => {
            let dir = args.get(1).unwrap_or_else(|| usage());
            tokens::write_verifier_config(std::path::Path::new(dir));
        }
        Some("load") => load::run(&args),
        _ => usage(),
    }
}
