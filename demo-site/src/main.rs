//! `demo-site`: the Northwind Bank demo login page protected by Tollgate.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use demo_site::{AppState, Config, DEFAULT_VERIFIER_URL, DEV_SECRET, DEV_SITEKEY};

/// Demo login site protected by Tollgate.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "DEMO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Base URL of the Tollgate verifier as the browser reaches it (also the backend's, unless
    /// --verifier-backend-url is given).
    #[arg(long, env = "TOLLGATE_VERIFIER_URL", default_value = DEFAULT_VERIFIER_URL)]
    verifier_url: String,
    /// Base URL of the verifier's internal listener for siteverify and outcome (http or https)
    /// [default: --verifier-url].
    #[arg(long, env = "TOLLGATE_VERIFIER_BACKEND_URL")]
    verifier_backend_url: Option<String>,
    /// Extra PEM CA certificate(s) to trust for an https verifier (private CA, self-signed
    /// certificate), besides the built-in web roots.
    #[arg(long, env = "TOLLGATE_VERIFIER_CA")]
    verifier_ca: Option<PathBuf>,
    /// Public site key put on the page.
    #[arg(long, env = "TOLLGATE_SITEKEY", default_value = DEV_SITEKEY)]
    sitekey: String,
    /// Secret key used for siteverify.
    #[arg(
        long,
        env = "TOLLGATE_SECRET",
        default_value = DEV_SECRET,
        hide_default_value = true,
        hide_env_values = true
    )]
    secret: String,
    /// Directory with the built browser assets, served under /tollgate/.
    #[arg(long, env = "TOLLGATE_ASSETS", default_value = "js/dist")]
    assets: PathBuf,
    /// Let sign-ins through unchecked when the verifier is unreachable (default: fail closed).
    #[arg(long, env = "DEMO_FAIL_OPEN")]
    fail_open: bool,
    /// Timeout of the siteverify call, in milliseconds.
    #[arg(long, env = "DEMO_VERIFY_TIMEOUT_MS", default_value_t = 5000)]
    verify_timeout_ms: u64,
    /// Bearer token for GET /api/verdicts. Without one, that route answers loopback peers only.
    /// Prefer the environment variable (a command line is visible to local users).
    #[arg(long, env = "DEMO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// SQLite database of the demo users (created with the demo users on first start).
    #[arg(long, env = "DEMO_DB", default_value = "data/demo-site.sqlite3")]
    db: PathBuf,
    /// Key that encrypts TOTP secrets in the user database: 64 hex characters (e.g. `openssl rand
    /// -hex 32`). Without one they are stored unencrypted. Prefer the environment variable.
    #[arg(long, env = "DEMO_TOTP_KEY", hide_env_values = true)]
    totp_key: Option<String>,
    /// Also ask users with an authenticator app for its code when Tollgate allows the attempt
    /// (default: only on a challenge).
    #[arg(long, env = "DEMO_STEP_UP_ENROLLED")]
    step_up_enrolled: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if !args.assets.join("tollgate.js").is_file() {
        tracing::warn!(
            assets = %args.assets.display(),
            "tollgate.js not found in the assets directory; run scripts/build-assets.sh"
        );
    }
    let totp_key = args
        .totp_key
        .as_deref()
        .map(demo_site::users::TotpKey::from_hex)
        .transpose()
        .context("--totp-key / DEMO_TOTP_KEY")?;
    if totp_key.is_none() {
        tracing::warn!("no --totp-key: TOTP secrets are stored unencrypted in the user database");
    }
    let state = AppState::new(Config {
        verifier_url: args.verifier_url,
        verifier_backend_url: args.verifier_backend_url,
        verifier_ca: args.verifier_ca,
        sitekey: args.sitekey,
        secret: args.secret,
        assets_dir: args.assets,
        fail_open: args.fail_open,
        verify_timeout: Duration::from_millis(args.verify_timeout_ms.max(1)),
        admin_token: args.admin_token,
        db_path: Some(args.db),
        totp_key,
        step_up_enrolled: args.step_up_enrolled,
    })
    .context("invalid configuration")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr().context("no local address")?;
    println!("listening on http://{addr}");
    tracing::info!(
        verifier = %state.config().verifier_url,
        fail_open = state.config().fail_open,
        "demo site up"
    );
    demo_site::serve(listener, Arc::new(state), shutdown_signal())
        .await
        .context("server error")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
