//! Optional TLS termination (rustls, `ring` provider): a listener with `[server.tls]` (or
//! `[server.internal_tls]`) answers only TLS, HTTP/2 or HTTP/1.1 by ALPN.
//!
//! The certificate and key are read from PEM files and held in a [`CertStore`], which rustls
//! asks for the certificate on every handshake: swapping its contents (a renewed certificate)
//! applies to the next handshake without dropping open connections. [`spawn_reload_task`]
//! re-reads the files when they change (modification time and size, polled) and on SIGHUP; a
//! pair that does not load — missing file, no certificate, a key that does not match the
//! certificate — is logged and counted (`tollgate_tls_reloads_total{result="error"}`) and the
//! running certificate stays.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;
use crate::reload::FileWatch;

/// Why a certificate/key pair could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {source}")]
    Cert {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("TLS certificate {0}: no CERTIFICATE block in the file")]
    NoCert(String),
    /// Never carries key material: only the file name and rustls' or the PEM parser's reason.
    #[error("TLS private key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("TLS certificate {cert} and key {key} do not belong together: {reason}")]
    Mismatch {
        cert: String,
        key: String,
        reason: String,
    },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The crypto provider of every TLS listener: `ring`. Deliberate: the `aws-lc-rs` provider needs
/// a large C build (cmake) that `setup.sh` does not install; its one advantage here, the
/// post-quantum hybrid key exchange (X25519MLKEM768), is why rustls 0.23.48 marks this function
/// deprecated. A reverse proxy in front can offer it (README, "Production").
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Install [`provider`] as the process default (for rustls clients that use the default: the
/// Redis client with `rediss://`). `false` when one was installed already.
pub fn install_default_provider() -> bool {
    Arc::unwrap_or_clone(provider()).install_default().is_ok()
}

/// Read a PEM certificate chain and private key and check that the key is the certificate's.
pub fn load_certified_key(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let cert_path = files.cert.display().to_string();
    let key_path = files.key.display().to_string();
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Cert {
            path: cert_path.clone(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert(cert_path));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: key_path.clone(),
        reason: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
            cert: cert_path,
            key: key_path,
            reason: e.to_string(),
        },
        other => TlsError::Key {
            path: key_path,
            reason: other.to_string(),
        },
    })
}

/// The certificate of one listener, swappable while it serves.
#[derive(Debug)]
pub struct CertStore {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    /// Load the pair; fails when it does not load (a listener never starts without a
    /// certificate).
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let key = load_certified_key(&files)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(Arc::new(key)),
        }))
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// Re-read the files and swap them in; on error the running certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_certified_key(&self.files)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The certificate chain served now (leaf first).
    pub fn current_chain(&self) -> Vec<CertificateDer<'static>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .cert
            .clone()
    }

    /// A rustls acceptor resolving to this store (TLS 1.2 and 1.3, ALPN `h2`, `http/1.1`).
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

/// Reload `store` now: logged and counted either way.
pub fn reload_logged(store: &CertStore) -> bool {
    match store.reload() {
        Ok(()) => {
            metrics::counter!("tollgate_tls_reloads_total", "result" => "ok").increment(1);
            tracing::info!(cert = %store.files.cert.display(), "TLS certificate reloaded");
            true
        }
        Err(e) => {
            metrics::counter!("tollgate_tls_reloads_total", "result" => "error").increment(1);
            tracing::error!(error = %e, "TLS certificate reload failed: keeping the running certificate");
            false
        }
    }
}

fn watch_of(store: &CertStore) -> FileWatch {
    FileWatch::new(&[store.files.cert.clone(), store.files.key.clone()])
}

/// Re-read each store's files every `poll` when they changed (`None`: never polled, like the
/// config with `config_poll_secs = 0`), and all of them on SIGHUP (the verifier's reload
/// signal). Needs a Tokio runtime; the SIGHUP handler is installed before this returns.
pub fn spawn_reload_task(stores: Vec<Arc<CertStore>>, poll: Option<Duration>) {
    if stores.is_empty() {
        return;
    }
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP: TLS files polled only");
            None
        }
    };
    tokio::spawn(async move {
        let mut watches: Vec<FileWatch> = stores.iter().map(|s| watch_of(s)).collect();
        loop {
            #[cfg(unix)]
            let by_signal = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let by_signal = std::future::pending::<()>();
            let tick = async {
                match poll {
                    Some(p) => tokio::time::sleep(p).await,
                    None => std::future::pending::<()>().await,
                }
            };
            let all = tokio::select! {
                () = tick => false,
                () = by_signal => true,
            };
            for (store, watch) in stores.iter().zip(&mut watches) {
                // A renewal writes the certificate and the key one after the other: a poll
                // between the two sees a mismatch and fails (the old pair stays); the second
                // write is a change again, and the next poll loads the pair.
                // Always read the stamps, so a SIGHUP reload is not repeated by the next poll.
                let changed = watch.changed();
                if all || changed {
                    let s = store.clone();
                    let _ = tokio::task::spawn_blocking(move || reload_logged(&s)).await;
                }
            }
        }
    });
}
