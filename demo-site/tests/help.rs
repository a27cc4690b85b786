//! `demo-site --help` never shows the value of a secret-bearing environment variable (clap's
//! `env` prints `[env: NAME=value]` unless `hide_env_values` is set). Every variable named in the
//! help is set to a recognisable value; those whose name says they hold a secret must not appear.

use std::process::Command;

fn help(envs: &[(String, String)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo-site"));
    cmd.arg("--help");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run demo-site --help");
    assert!(out.status.success(), "--help failed");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Names in `[env: NAME…]` of a help text.
fn env_names(text: &str) -> Vec<String> {
    text.split("[env: ")
        .skip(1)
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn help_hides_secret_env_values() {
    let names = env_names(&help(&[]));
    assert!(names.iter().any(|n| n == "TOLLGATE_SECRET"), "{names:?}");
    let envs: Vec<(String, String)> = names
        .iter()
        .map(|n| (n.clone(), format!("VALUE-OF-{n}-Zq8w")))
        .collect();
    let text = help(&envs);
    for (name, value) in &envs {
        let secret = ["SECRET", "TOKEN", "PASSWORD", "KEY", "STORE"]
            .iter()
            .any(|w| name.contains(w) && name != "TOLLGATE_SITEKEY");
        if secret {
            assert!(
                !text.contains(value),
                "{name}'s value shown by --help:\n{text}"
            );
        }
    }
}
