//! Secrets never echoed by configuration errors: `verifier check-config` (a real process) on
//! broken configs and key files that carry recognisable inline secrets, and a running
//! `verifier serve --config` whose file is broken on reload. stdout, stderr and the server's log
//! are grepped for every secret; each error must still say which file, line and key.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tollgate_protocol::b64_encode;

/// Recognisable secrets: each case uses some of them inline.
const SITE: &str = "SITE-SECRET-Qz81Vx5oLm3Kd7pW";
const SITE2: &str = "SITE-SECRET-Second-9hTr4Ue2";
const CORR: &str = "CORR-SECRET-aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH";
const AUTO: &str = "AUTO-KEY-SECRET-r7Yt2Wq9Lk4";
const DIGITS: &str = "86753098675309";

/// Base64 of 32 bytes of `b` (a valid MAC secret / seed whose text is recognisable).
fn b64_32(b: u8) -> String {
    b64_encode(&[b; 32])
}

/// Every secret a case could contain (grepped in every output).
fn secrets() -> Vec<String> {
    let mut v: Vec<String> = [SITE, SITE2, CORR, AUTO, DIGITS]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for b in [0x5a, 0xa7, 0x3c, 0xc3] {
        v.push(b64_32(b));
    }
    v.push(b64_encode(&[0xa7; 8]));
    v.push("MAC!!not*base64!!secret-Zx9".into());
    v.push("SEED-NOT-B64-%%-Hp2Mq7Rw".into());
    v
}

fn keys_block() -> String {
    format!(
        "[[keys]]\nid = 1\nseed = \"{}\"\nmac_secret = \"{}\"\n",
        b64_32(0x5a),
        b64_32(0xa7)
    )
}

fn site_block(secret_line: &str) -> String {
    format!(
        "[[sites]]\nsitekey = \"site-a\"\n{secret_line}\nallowed_origins = [\"https://a.example\"]\n"
    )
}

struct Case {
    name: &'static str,
    config: String,
    key_file: Option<String>,
    /// Text the error must contain (file, line, key name …).
    expect: Vec<String>,
}

fn cases() -> Vec<Case> {
    let good_site = site_block(&format!("secret = \"{SITE}\""));
    let key_file = |body: &str| Some(body.to_string());
    let file_keys = "[[keys]]\nid = 7\nfile = \"key.toml\"\n".to_string();
    vec![
        Case {
            name: "unterminated string on the secret's line",
            config: format!(
                "{}{}",
                keys_block(),
                site_block(&format!("secret = \"{SITE}"))
            ),
            key_file: None,
            expect: vec!["config.toml:7:".into(), "`secret`".into()],
        },
        Case {
            name: "bare (unquoted) secret",
            config: format!(
                "{}{}",
                keys_block(),
                site_block(&format!("secret = {SITE}"))
            ),
            key_file: None,
            expect: vec!["config.toml:7:".into(), "`secret`".into()],
        },
        Case {
            name: "secret of the wrong type (integer)",
            config: format!(
                "{}{}",
                keys_block(),
                site_block(&format!("secret = {DIGITS}"))
            ),
            key_file: None,
            expect: vec![
                "config.toml:7:".into(),
                "`secret`".into(),
                "[[sites]]".into(),
            ],
        },
        Case {
            name: "mac_secret of the wrong type (array)",
            config: format!(
                "[[keys]]\nid = 1\nseed = \"{}\"\nmac_secret = [\"{}\"]\n{good_site}",
                b64_32(0x5a),
                b64_32(0xa7)
            ),
            key_file: None,
            expect: vec!["config.toml:4:".into(), "`mac_secret`".into()],
        },
        Case {
            name: "misspelt key holding a secret",
            config: format!(
                "{}{}",
                keys_block(),
                site_block(&format!("secrte = \"{SITE}\""))
            ),
            key_file: None,
            expect: vec!["config.toml:7:".into(), "secrte".into()],
        },
        Case {
            name: "unknown key next to a secret",
            config: format!(
                "{}{}",
                keys_block(),
                site_block(&format!("secret = \"{SITE}\"\npow_bitz = \"{SITE2}\""))
            ),
            key_file: None,
            expect: vec!["config.toml:8:".into(), "pow_bitz".into()],
        },
        Case {
            name: "mac_secret not base64",
            config: format!(
                "[[keys]]\nid = 1\nseed = \"{}\"\nmac_secret = \"MAC!!not*base64!!secret-Zx9\"\n{good_site}",
                b64_32(0x5a)
            ),
            key_file: None,
            expect: vec!["mac_secret".into()],
        },
        Case {
            name: "short mac_secret",
            config: format!(
                "[[keys]]\nid = 1\nseed = \"{}\"\nmac_secret = \"{}\"\n{good_site}",
                b64_32(0x5a),
                b64_encode(&[0xa7; 8])
            ),
            key_file: None,
            expect: vec!["key 1".into()],
        },
        Case {
            name: "short site secret",
            config: format!("{}{}", keys_block(), site_block("secret = \"SITE-SHORT\"")),
            key_file: None,
            expect: vec!["secret must be at least".into()],
        },
        Case {
            name: "duplicate secret key",
            config: format!(
                "{}{}",
                keys_block(),
                site_block(&format!("secret = \"{SITE}\"\nsecret = \"{SITE2}\""))
            ),
            key_file: None,
            expect: vec!["config.toml:8:".into(), "`secret`".into()],
        },
        Case {
            name: "two sites share a secret",
            config: format!(
                "{}{good_site}[[sites]]\nsitekey = \"site-b\"\nsecret = \"{SITE}\"\nallowed_origins = [\"https://b.example\"]\n",
                keys_block()
            ),
            key_file: None,
            expect: vec!["site-b".into()],
        },
        Case {
            name: "automation key in an inline table with an unknown field",
            config: format!(
                "{}{good_site}automation_keys = [{{ name = \"ci\", key = \"{AUTO}\", kee = \"{SITE2}\" }}]\n",
                keys_block()
            ),
            key_file: None,
            expect: vec!["config.toml:9:".into(), "kee".into()],
        },
        Case {
            name: "short correlation secret of the wrong type",
            config: format!(
                "{}{good_site}[correlation]\nsecret = {DIGITS}\n",
                keys_block()
            ),
            key_file: None,
            expect: vec!["config.toml:10:".into(), "[correlation]".into()],
        },
        Case {
            name: "key file: unterminated mac_secret",
            config: format!("{file_keys}{good_site}"),
            key_file: key_file(&format!(
                "kid = 7\ned25519_seed = \"{}\"\nmac_secret = \"{}\n",
                b64_32(0x3c),
                b64_32(0xc3)
            )),
            expect: vec!["key.toml:3:".into(), "`mac_secret`".into()],
        },
        Case {
            name: "key file: mac_secret of the wrong type",
            config: format!("{file_keys}{good_site}"),
            key_file: key_file(&format!(
                "kid = 7\ned25519_seed = \"{}\"\nmac_secret = {DIGITS}\n",
                b64_32(0x3c)
            )),
            expect: vec!["key.toml:3:".into(), "`mac_secret`".into()],
        },
        Case {
            name: "key file: seed not base64, unknown field",
            config: format!("{file_keys}{good_site}"),
            key_file: key_file(&format!(
                "kid = 7\ned25519_seed = \"SEED-NOT-B64-%%-Hp2Mq7Rw\"\nmac_secret = \"{}\"\n",
                b64_32(0xc3)
            )),
            expect: vec!["ed25519_seed".into()],
        },
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for s in secrets() {
        assert!(
            !text.contains(&s),
            "{what}: secret {s:?} echoed in output:\n{text}"
        );
    }
}

fn check_config(path: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args([
            "check-config",
            "--config",
            path.to_str().expect("utf-8 path"),
        ])
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("run verifier check-config");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn check_config_never_echoes_a_secret() {
    let cases = cases();
    assert!(cases.len() >= 12, "the issue asks for 12 broken configs");
    for case in cases {
        let dir = common::temp_dir("cfgsecret");
        let path = dir.join("config.toml");
        std::fs::write(&path, &case.config).expect("write config");
        if let Some(k) = &case.key_file {
            std::fs::write(dir.join("key.toml"), k).expect("write key file");
        }
        let (ok, text) = check_config(&path);
        assert!(!ok, "{}: check-config accepted a broken config", case.name);
        assert_no_secret(case.name, &text);
        for e in &case.expect {
            assert!(
                text.contains(e.as_str()),
                "{}: error should mention {e:?}:\n{text}",
                case.name
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn live_reload_errors_never_echo_a_secret() {
    let dir = common::temp_dir("reloadsecret");
    let path = dir.join("config.toml");
    let good = format!(
        "{}{}",
        keys_block(),
        site_block(&format!("secret = \"{SITE}\""))
    );
    std::fs::write(&path, &good).expect("write config");
    let v = common::VerifierProcess::spawn(
        &["--config", path.to_str().expect("utf-8 path")],
        &[],
        dir.join("log"),
    );
    let broken = [
        format!(
            "{}{}",
            keys_block(),
            site_block(&format!("secret = \"{SITE2}"))
        ),
        format!(
            "{}{}",
            keys_block(),
            site_block(&format!("secret = {DIGITS}"))
        ),
        format!(
            "{}{}",
            keys_block(),
            site_block(&format!("secret = \"{SITE}\"\nsecret = \"{SITE2}\""))
        ),
    ];
    for (i, text) in broken.iter().enumerate() {
        std::fs::write(&path, text).expect("break config");
        v.signal("-HUP");
        // Generous bound: a reload is milliseconds, but the machine may be loaded.
        let deadline = Instant::now() + Duration::from_secs(20);
        while v.log_text().matches("config reload failed").count() <= i && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = v.log_text();
        assert!(
            log.matches("config reload failed").count() > i,
            "reload {i} not reported:\n{log}"
        );
    }
    let log = v.log_text();
    assert!(
        log.contains("config.toml:7:"),
        "file and line shown:\n{log}"
    );
    assert!(log.contains("`secret`"), "key name shown:\n{log}");
    assert_no_secret("live reload", &log);
    drop(v);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn serve_help_hides_the_store_url() {
    let url = "redis://:STORE-PASSWORD-Kw9x@127.0.0.1:6379";
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(["serve", "--help"])
        .env("TOLLGATE_STORE", url)
        .output()
        .expect("run verifier serve --help");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("TOLLGATE_STORE"), "{text}");
    assert!(!text.contains("STORE-PASSWORD-Kw9x"), "{text}");
}
