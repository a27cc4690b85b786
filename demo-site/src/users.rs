//! The demo's accounts in an embedded SQLite database (`rusqlite`, SQLite compiled in): argon2id
//! password hashes, the TOTP second factor (confirmed secret, the secret being enrolled, the last
//! accepted time step) and failed attempts with a temporary lockout. Created on first start with
//! the demo users ([`DEMO_USERS`], password [`crate::DEMO_PASSWORD`]).
//!
//! TOTP secrets are encrypted at rest with ChaCha20-Poly1305 when a [`TotpKey`] is given (the
//! username is the associated data, so a sealed secret cannot be moved to another account);
//! without one they are stored as they are (the file is then as sensitive as the secrets; it is
//! created owner-only). They are never logged, and [`UserDb`]'s `Debug` shows only the path.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{Connection, OptionalExtension, params};

use crate::totp::{self, Refusal};

/// Accounts created in a new database, all with the password [`crate::DEMO_PASSWORD`].
pub const DEMO_USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
/// Consecutive failures (wrong password or wrong code) that lock an account.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCK_MS: u64 = 15 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("user database {path}: {source}")]
    Sql {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("user database directory {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("no randomness available: {0}")]
    Random(#[from] getrandom::Error),
    #[error(transparent)]
    Totp(#[from] totp::TotpError),
    #[error("the TOTP key must be 64 hexadecimal characters (32 bytes)")]
    KeyFormat,
    #[error("a stored TOTP secret cannot be decrypted (no key, or not the key it was sealed with)")]
    Sealed,
}

/// Key that encrypts TOTP secrets at rest (32 bytes). `Debug` never shows it.
#[derive(Clone)]
pub struct TotpKey([u8; 32]);

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey(..)")
    }
}

impl TotpKey {
    /// From 64 hexadecimal characters (e.g. `openssl rand -hex 32`).
    pub fn from_hex(text: &str) -> Result<Self, DbError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DbError::KeyFormat);
        }
        let mut key = [0u8; 32];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| DbError::KeyFormat)?;
        }
        Ok(Self(key))
    }
}

/// Prefix of a sealed secret: magic, then a 12-byte nonce, then ciphertext and tag.
const SEALED_MAGIC: &[u8; 4] = b"TGS1";
const NONCE_LEN: usize = 12;

/// What the site knows about an account (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub totp_enrolled: bool,
    pub failed_attempts: u32,
    /// Unix ms until which the account is locked (0: not locked).
    pub locked_until_ms: u64,
}

impl Account {
    pub fn locked(&self, now_ms: u64) -> bool {
        self.locked_until_ms > now_ms
    }
}

/// Result of a second-factor check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorCheck {
    Passed,
    /// Wrong or malformed code; `locked` when this failure locked the account.
    Wrong {
        locked: bool,
    },
    /// The right code, already used (or older than the last one used).
    Replayed,
    /// The account is locked: no code is checked.
    Locked,
    /// No such account or no confirmed TOTP secret.
    NotEnrolled,
}

/// The user database. One connection behind a mutex: every statement is short.
pub struct UserDb {
    label: String,
    key: Option<TotpKey>,
    conn: Mutex<Connection>,
    /// A hash of a random password, verified for unknown usernames so that they take as long
    /// as known ones.
    dummy_hash: String,
}

impl std::fmt::Debug for UserDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDb")
            .field("path", &self.label)
            .field("encrypted", &self.key.is_some())
            .finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    username        TEXT PRIMARY KEY NOT NULL,
    password_hash   TEXT NOT NULL,
    totp_secret     BLOB,
    totp_pending    BLOB,
    totp_last_step  INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0
) STRICT;
";

fn hash_password(password: &str) -> Result<String, DbError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| DbError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DbError::Hash(e.to_string()))
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl UserDb {
    /// Open (or create) the database at `path`; `None` keeps it in memory (tests). A new
    /// database gets the demo users. `key` encrypts TOTP secrets at rest.
    pub fn open(path: Option<&Path>, key: Option<TotpKey>) -> Result<Self, DbError> {
        let label = path.map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        let sql = |source| DbError::Sql {
            path: label.clone(),
            source,
        };
        let conn = match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| DbError::Dir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let conn = Connection::open(p).map_err(sql)?;
                // It holds TOTP secrets: owner-only.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    if let Err(e) =
                        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))
                    {
                        tracing::warn!(db = %label, error = %e, "cannot make the user database owner-only");
                    }
                }
                conn
            }
            None => Connection::open_in_memory().map_err(sql)?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .map_err(sql)?;
        if count == 0 {
            for user in DEMO_USERS {
                let hash = hash_password(crate::DEMO_PASSWORD)?;
                conn.execute(
                    "INSERT OR IGNORE INTO users (username, password_hash) VALUES (?1, ?2)",
                    params![user, hash],
                )
                .map_err(sql)?;
            }
            tracing::info!(db = %label, users = DEMO_USERS.len(), "created the demo users");
        }
        let mut random = [0u8; 16];
        getrandom::getrandom(&mut random)?;
        let dummy_hash = hash_password(&format!("{random:?}"))?;
        Ok(Self {
            label,
            key,
            conn: Mutex::new(conn),
            dummy_hash,
        })
    }

    /// A secret as stored: sealed with the key (AAD: the username), else as it is.
    fn seal(&self, username: &str, secret: &[u8]) -> Result<Vec<u8>, DbError> {
        let Some(key) = &self.key else {
            return Ok(secret.to_vec());
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: username.as_bytes(),
                },
            )
            .map_err(|_| DbError::Sealed)?;
        let mut out = Vec::with_capacity(4 + NONCE_LEN + sealed.len());
        out.extend_from_slice(SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The secret of a stored value (sealed ones need the key they were sealed with).
    fn unseal(&self, username: &str, stored: &[u8]) -> Result<Vec<u8>, DbError> {
        let Some(body) = stored.strip_prefix(SEALED_MAGIC.as_slice()) else {
            return Ok(stored.to_vec());
        };
        let (Some(key), true) = (&self.key, body.len() > NONCE_LEN) else {
            return Err(DbError::Sealed);
        };
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        ChaCha20Poly1305::new(Key::from_slice(&key.0))
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: username.as_bytes(),
                },
            )
            .map_err(|_| DbError::Sealed)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn).map_err(|source| DbError::Sql {
            path: self.label.clone(),
            source,
        })
    }

    /// The account `username`, if it exists.
    pub fn account(&self, username: &str) -> Result<Option<Account>, DbError> {
        self.with(|c| {
            c.query_row(
                "SELECT username, totp_secret IS NOT NULL, failed_attempts, locked_until_ms
                 FROM users WHERE username = ?1",
                params![username],
                |r| {
                    Ok(Account {
                        username: r.get(0)?,
                        totp_enrolled: r.get(1)?,
                        failed_attempts: r.get(2)?,
                        locked_until_ms: to_u64(r.get(3)?),
                    })
                },
            )
            .optional()
        })
    }

    /// Whether `password` is the password of `username` (argon2id; slow on purpose, call it off
    /// the async runtime). Unknown users take as long as known ones.
    pub fn password_ok(&self, username: &str, password: &str) -> Result<bool, DbError> {
        let hash: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT password_hash FROM users WHERE username = ?1",
                params![username],
                |r| r.get(0),
            )
            .optional()
        })?;
        match hash {
            Some(h) => Ok(password_matches(&h, password)),
            None => {
                let _ = password_matches(&self.dummy_hash, password);
                Ok(false)
            }
        }
    }

    /// Count a failure (wrong password or code); locks the account at [`MAX_FAILURES`].
    /// Returns whether the account is now locked. Unknown users are ignored.
    pub fn record_failure(&self, username: &str, now_ms: u64) -> Result<bool, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let failures: Option<u32> = tx
                .query_row(
                    "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE username = ?1
                     RETURNING failed_attempts",
                    params![username],
                    |r| r.get(0),
                )
                .optional()?;
            let locked = failures.is_some_and(|n| n >= MAX_FAILURES);
            if locked {
                tx.execute(
                    "UPDATE users SET locked_until_ms = ?2, failed_attempts = 0 WHERE username = ?1",
                    params![username, to_i64(now_ms.saturating_add(LOCK_MS))],
                )?;
            }
            tx.commit()?;
            Ok(locked)
        })
    }

    /// A successful sign-in: the failure count starts again.
    pub fn record_success(&self, username: &str) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "UPDATE users SET failed_attempts = 0 WHERE username = ?1",
                params![username],
            )
            .map(drop)
        })
    }

    /// Check a TOTP code of an enrolled user at `now_ms`: accepted once per time step (the step
    /// is stored), a wrong code counts as a failure, a locked account checks nothing.
    pub fn check_totp(
        &self,
        username: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<FactorCheck, DbError> {
        let row: Option<(Option<Vec<u8>>, Option<i64>, i64)> = self.with(|c| {
            c.query_row(
                "SELECT totp_secret, totp_last_step, locked_until_ms FROM users WHERE username = ?1",
                params![username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })?;
        let Some((Some(stored), last_step, locked_until)) = row else {
            return Ok(FactorCheck::NotEnrolled);
        };
        let secret = self.unseal(username, &stored)?;
        if to_u64(locked_until) > now_ms {
            return Ok(FactorCheck::Locked);
        }
        let generator = totp::generator(&secret, username)?;
        match totp::verify(&generator, code, now_ms / 1000, last_step.map(to_u64)) {
            Ok(step) => {
                // Store the step only if no concurrent check stored this one or a later one.
                let updated = self.with(|c| {
                    c.execute(
                        "UPDATE users SET totp_last_step = ?2, failed_attempts = 0
                         WHERE username = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                        params![username, to_i64(step)],
                    )
                })?;
                Ok(if updated == 1 {
                    FactorCheck::Passed
                } else {
                    FactorCheck::Replayed
                })
            }
            Err(Refusal::Replayed) => Ok(FactorCheck::Replayed),
            Err(Refusal::Wrong | Refusal::Malformed) => Ok(FactorCheck::Wrong {
                locked: self.record_failure(username, now_ms)?,
            }),
        }
    }

    /// Start (or restart) TOTP enrolment: a new secret, kept as pending until confirmed.
    pub fn begin_enrolment(&self, username: &str) -> Result<Vec<u8>, DbError> {
        let secret = totp::new_secret()?;
        let stored = self.seal(username, &secret)?;
        self.with(|c| {
            c.execute(
                "UPDATE users SET totp_pending = ?2 WHERE username = ?1",
                params![username, stored],
            )
            .map(drop)
        })?;
        Ok(secret)
    }

    /// The secret being enrolled, if any.
    pub fn pending_secret(&self, username: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.pending_stored(username)?
            .map(|stored| self.unseal(username, &stored))
            .transpose()
    }

    fn pending_stored(&self, username: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.with(|c| {
            c.query_row(
                "SELECT totp_pending FROM users WHERE username = ?1",
                params![username],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// Confirm enrolment with a first code from the app: on success the pending secret becomes
    /// the user's second factor (and the code's step counts as used).
    pub fn confirm_enrolment(
        &self,
        username: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<bool, DbError> {
        let Some(stored) = self.pending_stored(username)? else {
            return Ok(false);
        };
        let secret = self.unseal(username, &stored)?;
        let generator = totp::generator(&secret, username)?;
        let Ok(step) = totp::verify(&generator, code, now_ms / 1000, None) else {
            return Ok(false);
        };
        self.with(|c| {
            c.execute(
                "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,
                 totp_last_step = ?2 WHERE username = ?1 AND totp_pending = ?3",
                params![username, to_i64(step), stored],
            )
            .map(|n| n == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000_000;

    fn enrolled(db: &UserDb, user: &str) -> totp_rs::TOTP {
        let secret = db.begin_enrolment(user).expect("begin");
        let g = totp::generator(&secret, user).expect("totp");
        assert!(!db.confirm_enrolment(user, "000000x", T0).expect("confirm"));
        let code = g.generate(T0 / 1000);
        assert!(db.confirm_enrolment(user, &code, T0).expect("confirm"));
        assert!(db.account(user).expect("db").expect("exists").totp_enrolled);
        assert_eq!(db.pending_secret(user).expect("db"), None);
        g
    }

    #[test]
    fn demo_users_and_passwords() {
        let db = UserDb::open(None, None).expect("open");
        for u in DEMO_USERS {
            assert!(db.password_ok(u, crate::DEMO_PASSWORD).expect("db"), "{u}");
        }
        assert!(!db.password_ok("alice", "correct horse ").expect("db"));
        assert!(!db.password_ok("mallory", crate::DEMO_PASSWORD).expect("db"));
        assert_eq!(db.account("mallory").expect("db"), None);
        let alice = db.account("alice").expect("db").expect("exists");
        assert!(!alice.totp_enrolled && !alice.locked(T0));
        assert!(!format!("{db:?}").contains("argon2"));
    }

    #[test]
    fn database_file_is_created_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("demo-users-{}-{}", std::process::id(), T0));
        let path = dir.join("sub").join("users.sqlite3");
        let db = UserDb::open(Some(&path), None).expect("create");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let g = enrolled(&db, "bob");
        drop(db);
        let db = UserDb::open(Some(&path), None).expect("reopen");
        assert!(db.account("bob").expect("db").expect("bob").totp_enrolled);
        // The step used at enrolment is remembered across restarts.
        let code = g.generate(T0 / 1000);
        assert_eq!(
            db.check_totp("bob", &code, T0).expect("db"),
            FactorCheck::Replayed
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn totp_check_replay_and_lockout() {
        let db = UserDb::open(None, None).expect("open");
        assert_eq!(
            db.check_totp("alice", "123456", T0).expect("db"),
            FactorCheck::NotEnrolled
        );
        assert_eq!(
            db.check_totp("nobody", "123456", T0).expect("db"),
            FactorCheck::NotEnrolled
        );
        let g = enrolled(&db, "alice");
        let later = T0 + 60_000;
        let code = g.generate(later / 1000);
        assert_eq!(
            db.check_totp("alice", &code, later).expect("db"),
            FactorCheck::Passed
        );
        assert_eq!(
            db.check_totp("alice", &code, later + 1_000).expect("db"),
            FactorCheck::Replayed
        );

        // Wrong codes count; the fifth locks the account, which then checks nothing.
        let t = T0 + 120_000;
        let right = g.generate(t / 1000);
        let wrong = if right == "000000" {
            "000001"
        } else {
            "000000"
        };
        for n in 1..MAX_FAILURES {
            assert_eq!(
                db.check_totp("alice", wrong, t).expect("db"),
                FactorCheck::Wrong { locked: false },
                "{n}"
            );
        }
        assert_eq!(
            db.check_totp("alice", wrong, t).expect("db"),
            FactorCheck::Wrong { locked: true }
        );
        assert!(db.account("alice").expect("db").expect("alice").locked(t));
        assert_eq!(
            db.check_totp("alice", &right, t).expect("db"),
            FactorCheck::Locked
        );
        // After the lock expires the right code works again.
        let after = t + LOCK_MS + 30_000;
        let code = g.generate(after / 1000);
        assert_eq!(
            db.check_totp("alice", &code, after).expect("db"),
            FactorCheck::Passed
        );
    }

    #[test]
    fn password_failures_lock_and_success_resets() {
        let db = UserDb::open(None, None).expect("open");
        for _ in 1..MAX_FAILURES {
            assert!(!db.record_failure("carol", T0).expect("db"));
        }
        db.record_success("carol").expect("db");
        assert_eq!(
            db.account("carol")
                .expect("db")
                .expect("carol")
                .failed_attempts,
            0
        );
        for _ in 1..MAX_FAILURES {
            assert!(!db.record_failure("carol", T0).expect("db"));
        }
        assert!(db.record_failure("carol", T0).expect("db"));
        let carol = db.account("carol").expect("db").expect("carol");
        assert!(carol.locked(T0 + LOCK_MS - 1) && !carol.locked(T0 + LOCK_MS));
        assert!(!db.record_failure("nobody", T0).expect("db"));
    }

    #[test]
    fn totp_secrets_are_sealed_with_the_key() {
        let key = TotpKey::from_hex(&"7f".repeat(32)).expect("key");
        assert!(!format!("{key:?}").contains("7f"));
        for bad in ["", "7f", &"zz".repeat(32), &"7f".repeat(33)] {
            assert!(
                matches!(TotpKey::from_hex(bad), Err(DbError::KeyFormat)),
                "{bad}"
            );
        }
        let dir =
            std::env::temp_dir().join(format!("demo-users-key-{}-{}", std::process::id(), T0));
        let path = dir.join("users.sqlite3");
        let db = UserDb::open(Some(&path), Some(key.clone())).expect("create");
        let g = enrolled(&db, "erin");
        let stored: Vec<u8> = db
            .with(|c| {
                c.query_row(
                    "SELECT totp_secret FROM users WHERE username = 'erin'",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("row");
        assert!(stored.starts_with(SEALED_MAGIC));
        assert_eq!(stored.len(), 4 + NONCE_LEN + totp::SECRET_LEN + 16);
        let later = T0 + 60_000;
        assert_eq!(
            db.check_totp("erin", &g.generate(later / 1000), later)
                .expect("db"),
            FactorCheck::Passed
        );
        // Moved to another account, the sealed secret does not open (the username is bound).
        db.with(|c| {
            c.execute(
                "UPDATE users SET totp_secret = ?1 WHERE username = 'dave'",
                params![stored],
            )
        })
        .expect("copy");
        assert!(matches!(
            db.check_totp("dave", "123456", later),
            Err(DbError::Sealed)
        ));
        drop(db);
        // Without the key (or with another one) the secret cannot be used.
        let db = UserDb::open(Some(&path), None).expect("reopen");
        assert!(matches!(
            db.check_totp("erin", "123456", later),
            Err(DbError::Sealed)
        ));
        let other = TotpKey::from_hex(&"01".repeat(32)).expect("key");
        let db = UserDb::open(Some(&path), Some(other)).expect("reopen");
        assert!(matches!(
            db.check_totp("erin", "123456", later),
            Err(DbError::Sealed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
