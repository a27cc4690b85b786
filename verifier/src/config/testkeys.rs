//! Test site keys (like Turnstile's dummy keys): fixed sitekey/secret pairs whose siteverify
//! always gives the same answer for any non-empty `response`, so a backend's own CI needs no
//! browser. Only available in development mode (no `--config`) or with `test_keys = true`.

use super::sites::secret_digest;

/// Sitekeys starting with this are reserved for the test keys (refused in `[[sites]]`).
pub const TEST_KEY_PREFIX: &str = "tgtest-";

/// A dummy `response` a test page can send (any non-empty string works), like Turnstile's
/// `XXXX.DUMMY.TOKEN.XXXX`.
pub const TEST_DUMMY_TOKEN: &str = "XXXX.DUMMY.TOKEN.XXXX";

/// What a test key always answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestAnswer {
    Allow,
    Challenge,
    Block,
    /// `timeout-or-duplicate`, as for a token already redeemed.
    Duplicate,
}

/// One test sitekey/secret pair.
#[derive(Debug, Clone, Copy)]
pub struct TestKey {
    pub sitekey: &'static str,
    pub secret: &'static str,
    pub answer: TestAnswer,
}

/// The test keys (documented in README.md "Development keys").
pub const TEST_KEYS: [TestKey; 4] = [
    TestKey {
        sitekey: "tgtest-always-allow",
        secret: "tgtest-secret-always-allow",
        answer: TestAnswer::Allow,
    },
    TestKey {
        sitekey: "tgtest-always-challenge",
        secret: "tgtest-secret-always-challenge",
        answer: TestAnswer::Challenge,
    },
    TestKey {
        sitekey: "tgtest-always-block",
        secret: "tgtest-secret-always-block",
        answer: TestAnswer::Block,
    },
    TestKey {
        sitekey: "tgtest-always-duplicate",
        secret: "tgtest-secret-always-duplicate",
        answer: TestAnswer::Duplicate,
    },
];

/// The test key whose secret is `secret`: digests compared in constant time against every key,
/// without stopping early (as for site secrets).
pub fn test_key_by_secret(secret: &str) -> Option<&'static TestKey> {
    let d = secret_digest(b"site", secret.as_bytes());
    let mut found = None;
    for k in &TEST_KEYS {
        if tollgate_protocol::ct_eq(&secret_digest(b"site", k.secret.as_bytes()), &d)
            && found.is_none()
        {
            found = Some(k);
        }
    }
    found
}

/// The test key whose sitekey is `sitekey` (public values: no constant-time compare needed).
pub fn test_key_by_sitekey(sitekey: &str) -> Option<&'static TestKey> {
    TEST_KEYS.iter().find(|k| k.sitekey == sitekey)
}

/// Whether `secret` is one of the (public) test secrets: a real site must never use one.
pub fn is_test_secret(secret: &[u8]) -> bool {
    TEST_KEYS.iter().any(|k| k.secret.as_bytes() == secret)
}
