//! Sets `TOLLGATE_GIT_REV` (for `verifier --version`) to `git rev-parse --short HEAD`, or to
//! "unknown" outside a git checkout (a source tarball) or without git. Never fails the build
//! and never uses the network. `TOLLGATE_GIT_REV` in the environment overrides it (container
//! builds that copy the sources without `.git`).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TOLLGATE_GIT_REV");
    let rev = std::env::var("TOLLGATE_GIT_REV")
        .ok()
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .filter(|r| !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TOLLGATE_GIT_REV={rev}");
    // Rebuild when HEAD moves: HEAD itself and the branch it points to (paths that exist only).
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &r]));
    }
    watch.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for p in watch.into_iter().flatten() {
        if Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
