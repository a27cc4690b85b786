//! Tests of the configuration: accepted TOML, defaults and every error message.

use super::*;
use crate::scoring::SitePolicy;

fn no_env(_: &str) -> Option<String> {
    None
}

const MAC: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; // 32 zero bytes

fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    Settings::from_toml(text, Path::new("test.toml"), Path::new("."), env)
}

#[test]
fn full_config_parses_with_defaults_and_env() {
    let text = format!(
        r#"
        [[keys]]
        id = 1
        seed = "{MAC}"
        mac_secret = "{MAC}"

        [[keys]]
        id = 2
        seed_env = "SEED2"
        mac_secret_env = "MAC2"

        [[sites]]
        sitekey = "site-a"
        secret_env = "SECRET_A"
        allowed_origins = ["https://a.example", "http://localhost:*"]
        pow = {{ k = 4, bits = 4 }}
        policy = {{ allow = 0.7, block = 0.1 }}
        token_lifetime_secs = 60
        store_capacity = 10

        [[sites]]
        sitekey = "site-b"
        secret = "0123456789abcdef-b"
        allowed_origins = ["https://b.example"]
        "#
    );
    let env = |n: &str| match n {
        "SEED2" | "MAC2" => Some(MAC.to_string()),
        "SECRET_A" => Some("0123456789abcdef-a".to_string()),
        _ => None,
    };
    let s = parse(&text, &env).unwrap();
    assert_eq!(s.keys.iter().count(), 2);
    assert_eq!(s.keys.signer().kid, 2);
    let a = &s.sites[0];
    assert_eq!(a.pow, PowParams { k: 4, bits: 4 });
    assert_eq!(a.token_lifetime_ms, 60_000);
    assert_eq!(a.store_capacity, 10);
    assert!((a.policy.allow - 0.7).abs() < 1e-9);
    assert!(a.secret.ct_eq(b"0123456789abcdef-a"));
    let b = &s.sites[1];
    assert_eq!(b.pow, DEFAULT_POW);
    assert_eq!(b.token_lifetime_ms, 300_000);
    assert_eq!(b.policy, SitePolicy::default());
    // Debug output never shows secrets.
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
}

#[test]
fn invalid_configs_are_rejected() {
    let key = format!("[[keys]]\nid = 1\nseed = \"{MAC}\"\nmac_secret = \"{MAC}\"\n");
    let site = "[[sites]]\nsitekey = \"s\"\nsecret = \"0123456789abcdef\"\nallowed_origins = [\"https://a.example\"]\n";
    assert!(parse(&format!("{key}{site}"), &no_env).is_ok());
    for (bad, why) in [
        (site.to_string(), "no keys"),
        (key.clone(), "no sites"),
        (format!("{key}{site}{site}"), "duplicate sitekey"),
        (
            format!("{key}{}", site.replace("0123456789abcdef", "short")),
            "short secret",
        ),
        (
            format!("{key}{}", site.replace("https://a.example", "a.example")),
            "bad origin",
        ),
        (
            format!("{key}{site}pow = {{ k = 0, bits = 4 }}\n"),
            "bad pow",
        ),
        (
            format!("{key}{site}policy = {{ allow = 0.1, block = 0.5 }}\n"),
            "bad policy",
        ),
        (
            format!("{key}{site}token_lifetime_secs = 0\n"),
            "zero lifetime",
        ),
        (format!("{key}{site}store_capacity = 0\n"), "zero capacity"),
        (format!("{key}{site}unknown = 1\n"), "unknown key"),
        (
            format!(
                "{}{site}",
                key.replace("seed =", "seed_env = \"NOPE\"\nxseed =")
            ),
            "typo",
        ),
        (
            format!("[[keys]]\nid = 1\nseed_env = \"NOPE\"\nmac_secret = \"{MAC}\"\n{site}"),
            "missing env",
        ),
        (
            format!("[[keys]]\nid = 1\nseed = \"{MAC}\"\nmac_secret = \"AAAA\"\n{site}"),
            "short mac",
        ),
        (
            format!("[[keys]]\nid = 1\nmac_secret = \"{MAC}\"\n{site}"),
            "no key source",
        ),
    ] {
        assert!(parse(&bad, &no_env).is_err(), "{why} accepted");
    }
}

#[test]
fn key_file_is_loaded_relative_to_config() {
    let dir = std::env::temp_dir().join(format!("tollgate-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let k = KeyEntry::generate(5).unwrap();
    std::fs::write(dir.join("k5.toml"), k.to_key_file().unwrap()).unwrap();
    let text = "[[keys]]\nfile = \"k5.toml\"\n[[sites]]\nsitekey = \"s\"\nsecret = \"0123456789abcdef\"\nallowed_origins = [\"https://a.example\"]\n";
    let s = Settings::from_toml(text, &dir.join("c.toml"), &dir, &no_env).unwrap();
    assert_eq!(s.keys.signer().kid, 5);
    assert_eq!(s.keys.signer().verifying, k.verifying);
    let mismatched = text.replace("[[keys]]\n", "[[keys]]\nid = 6\n");
    assert!(Settings::from_toml(&mismatched, &dir.join("c.toml"), &dir, &no_env).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dev_settings() {
    let s = Settings::dev().unwrap();
    assert_eq!(s.sites[0].sitekey, DEV_SITE_KEY);
    assert!(
        s.sites[0]
            .allowed_origins
            .iter()
            .any(|p| p.matches_str("http://localhost:5173"))
    );
    assert!(
        s.sites[0]
            .allowed_origins
            .iter()
            .any(|p| p.matches_str("http://127.0.0.1:8080"))
    );
    assert!(
        !s.sites[0]
            .allowed_origins
            .iter()
            .any(|p| p.matches_str("https://evil.example"))
    );
}

/// The defaults of every table, as the file-level structs give them (each from its `impl
/// Default` through `#[serde(default)]`), both for an absent table and for a table with only
/// one key.
#[test]
fn table_defaults_are_pinned() {
    let file: ConfigFile = toml::from_str(
        "[store]\nbackend = \"memory\"\n[server]\ntrusted_proxies = []\n\
         [server.rate_limit]\nenabled = true\n[correlation]\nenabled = true\n\
         [[sites]]\nsitekey = \"s\"\nallowed_origins = []\npolicy = {}\n",
    )
    .unwrap();
    for (st, sv, co) in [
        (&file.store, &file.server, &file.correlation),
        (
            &StoreConfig::default(),
            &ServerConfig::default(),
            &CorrelationConfig::default(),
        ),
    ] {
        assert_eq!(
            (
                st.backend.as_str(),
                st.key_prefix.as_str(),
                st.connect_timeout_ms,
                st.command_timeout_ms,
                st.used_margin_ms,
                st.single_use_on_error,
                st.counters_on_error,
                st.memory_aux_capacity,
            ),
            (
                "memory",
                "tollgate:",
                1000,
                500,
                60_000,
                FailMode::FailClosed,
                FailMode::FailOpen,
                crate::store::DEFAULT_AUX_CAPACITY,
            )
        );
        assert_eq!(
            (
                sv.request_timeout_ms,
                sv.header_read_timeout_ms,
                sv.max_connections,
                sv.config_poll_secs,
                sv.rate_limit.enabled,
                sv.rate_limit.challenge,
                sv.rate_limit.siteverify,
                sv.rate_limit.max_tracked,
            ),
            (
                15_000,
                10_000,
                10_000,
                2,
                true,
                RateConfig {
                    per_second: 5.0,
                    burst: 50
                },
                RateConfig {
                    per_second: 500.0,
                    burst: 1000
                },
                100_000,
            )
        );
        assert_eq!(
            (
                co.enabled,
                co.window_secs,
                co.surge_window_secs,
                co.fingerprint_accounts,
                co.trace_sources,
                co.account_failure_ips,
                co.ip_challenges,
                co.prefix_challenges,
                co.asn_challenges,
                co.prefix_failures,
                co.tier_extra_bits,
                co.lists_poll_secs,
            ),
            (true, 3600, 60, 5, 3, 5, 30, 120, 1200, 20, [1, 2, 4], 5)
        );
    }
    let policy = file.sites[0].policy.unwrap();
    assert_eq!(
        SitePolicy {
            allow: policy.allow,
            block: policy.block
        },
        SitePolicy::default()
    );
}
