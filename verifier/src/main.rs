//! `verifier` CLI: `serve` and `keygen`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use verifier::config::Settings;
use verifier::keys::KeyEntry;
use verifier::server::Listener;
use verifier::{AppState, SystemClock};

/// mimalloc instead of glibc malloc: siteverify is allocation-heavy (decoded telemetry, feature
/// vectors, the JSON answer) and runs on every core; see bench/README.md for the measurement.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `CARGO_PKG_VERSION (git revision)`; the revision comes from `build.rs` ("unknown" outside a
/// git checkout).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TOLLGATE_GIT_REV"),
    ")"
);

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "verifier",
    version = VERSION,
    about = "Tollgate verifier: challenges and siteverify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (and the collector assets under /tollgate/).
    Serve {
        /// TOML config file. Without one, the development site runs with a random key.
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
        /// Address of the public listener (port 0 picks a free port) [default: [server] listen,
        /// else 127.0.0.1:8787]. Without an internal listener it serves every route.
        #[arg(long, env = "TOLLGATE_LISTEN")]
        listen: Option<String>,
        /// Address of the internal listener (siteverify, outcome, metrics) [default: [server]
        /// internal_listen; unset: those routes are on the public listener].
        #[arg(long, env = "TOLLGATE_INTERNAL_LISTEN")]
        internal_listen: Option<String>,
        /// Directory with tollgate.js & co. [default: js/dist if it exists]
        #[arg(long)]
        assets: Option<PathBuf>,
        /// Store backend: `memory` or `redis://host:port[/db]` (overrides [store]). Pass a URL
        /// with a password only through the environment variable or the config file.
        #[arg(long, env = "TOLLGATE_STORE", hide_env_values = true)]
        store: Option<String>,
        /// Log format on stderr.
        #[arg(long, env = "TOLLGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Write a new key file (Ed25519 seed + MAC secret) for the config's [[keys]].
    Keygen {
        /// Output file (created with mode 0600; refuses to overwrite without --force).
        #[arg(long)]
        out: PathBuf,
        /// Key id [default: current Unix time in seconds, so newer keys get higher ids].
        #[arg(long)]
        kid: Option<u32>,
        #[arg(long)]
        force: bool,
    },
    /// Decode a token (read from stdin) without keys and print it as JSON: telemetry, resolved
    /// samples, probes and the environment rules' findings. Never redeems or burns the token.
    DecodeToken,
    /// Load and validate a config file, print a summary (no secrets), and exit.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (as served at GET /openapi.json).
    Openapi,
    /// Write labelled audit records with stored telemetry as trace JSON Lines
    /// (docs/trace-format.md), for `tollgate-intel train`.
    Export {
        #[arg(long)]
        config: PathBuf,
        /// Output file [default: stdout].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        range: RangeArgs,
        /// Also export records whose best label is weak (a password outcome).
        #[arg(long)]
        include_weak: bool,
    },
    /// Compare the answering and shadow models over the audit trail (agreement; humans
    /// challenged/blocked and bots allowed on labelled records at the site's thresholds).
    CompareModels {
        #[arg(long)]
        config: PathBuf,
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Propose a site's thresholds from its labelled traffic; prints a config snippet to review
    /// (never applied automatically).
    Calibrate {
        #[arg(long)]
        config: PathBuf,
        #[command(flatten)]
        range: RangeArgs,
        /// Largest share of labelled humans below `allow` (challenged or blocked).
        #[arg(long, default_value_t = 0.05)]
        humans_challenged: f64,
        /// Largest share of labelled humans below `block`.
        #[arg(long, default_value_t = 0.01)]
        humans_blocked: f64,
        /// Fewest labelled humans to calibrate on.
        #[arg(long, default_value_t = 50)]
        min_humans: usize,
        /// Calibrate the shadow model's scores instead of the answering model's.
        #[arg(long)]
        shadow: bool,
    },
}

/// Which audit records a command reads.
#[derive(Debug, clap::Args)]
struct RangeArgs {
    /// Site key (export, compare-models: all sites when absent; calibrate: required).
    #[arg(long)]
    site: Option<String>,
    /// Only records of the last N days.
    #[arg(long)]
    days: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    // Secrets only from the config file or the environment: a Redis password on the command
    // line would be visible to every local user (ps, /proc).
    if let Some(("serve", sub)) = matches.subcommand()
        && sub.value_source("store") == Some(ValueSource::CommandLine)
        && sub
            .get_one::<String>("store")
            .is_some_and(|u| u.contains('@'))
    {
        bail!(
            "--store: pass a URL with credentials via TOLLGATE_STORE or [store] url_env, not on the command line"
        );
    }
    let cli = Cli::from_arg_matches(&matches)?;
    let log_format = match &cli.command {
        Command::Serve { log_format, .. } => *log_format,
        _ => LogFormat::Text,
    };
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn")),
        );
    match log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    match cli.command {
        Command::Serve {
            config,
            listen,
            internal_listen,
            assets,
            store,
            log_format: _,
        } => {
            // The process-wide rustls provider (ring), for clients that take the default: the
            // Redis client with a `rediss://` URL. The listeners pass theirs explicitly.
            let _ = verifier::tls::install_default_provider();
            let rt = tokio::runtime::Runtime::new().context("starting the Tokio runtime")?;
            rt.block_on(serve(config, listen, internal_listen, assets, store))
        }
        Command::Keygen { out, kid, force } => keygen(out, kid, force),
        Command::DecodeToken => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            let json = verifier::decode::token_json(&text).context("decoding the token")?;
            println!("{json}");
            Ok(())
        }
        Command::Openapi => {
            let json = verifier::openapi::to_json().context("serializing the OpenAPI document")?;
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, json.as_bytes())?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        Command::CheckConfig { config } => {
            let s =
                Settings::load(&config).with_context(|| format!("loading {}", config.display()))?;
            println!(
                "ok: {} key(s), signing key id {}",
                s.keys.iter().count(),
                s.keys.signer().kid
            );
            match &s.store.backend {
                verifier::config::StoreBackend::Memory { .. } => println!("store: memory"),
                verifier::config::StoreBackend::Redis(o) => println!(
                    "store: redis {}",
                    verifier::store::redact_url(&String::from_utf8_lossy(o.url.expose()))
                ),
            }
            match &s.audit {
                None => println!("audit: off"),
                Some(a) => println!(
                    "audit: {} (retention {} days, queue {})",
                    match &a.backend {
                        verifier::config::AuditBackend::Sqlite(p) =>
                            format!("sqlite {}", p.display()),
                        verifier::config::AuditBackend::Postgres(_) => "postgres".to_string(),
                    },
                    a.retention_ms / 86_400_000,
                    a.queue
                ),
            }
            for site in &s.sites {
                let l = &site.learning;
                println!(
                    "site {}: model {}{}, telemetry {}",
                    site.sitekey,
                    l.model.as_ref().map_or_else(
                        || verifier::config::SiteModel::builtin().id.clone(),
                        |m| format!("{} ({})", m.id, m.path.display())
                    ),
                    l.shadow_model.as_ref().map_or(String::new(), |m| format!(
                        ", shadow {} ({})",
                        m.id,
                        m.path.display()
                    )),
                    if l.store_telemetry {
                        format!("kept {} days", l.telemetry_retention_ms / 86_400_000)
                    } else {
                        "not kept".into()
                    }
                );
            }
            for site in &s.sites {
                println!(
                    "site {}: origins [{}], pow k={} bits={}, lifetime {} s, store capacity {}, success_when {}{}",
                    site.sitekey,
                    site.allowed_origins
                        .iter()
                        .map(|o| o.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    site.pow.k,
                    site.pow.bits,
                    site.token_lifetime_ms / 1000,
                    site.store_capacity,
                    site.success_when.as_str(),
                    if site.field_event_rules {
                        ""
                    } else {
                        ", field_event_rules off"
                    }
                );
            }
            let l = &s.server.listeners;
            let tls = |t: &Option<verifier::config::TlsFiles>| match t {
                Some(t) => format!("https (cert {}, key {})", t.cert.display(), t.key.display()),
                None => "http".to_owned(),
            };
            let addr = |a: Option<std::net::SocketAddr>, d: &str| {
                a.map_or_else(|| d.to_owned(), |a| a.to_string())
            };
            match l.internal_listen {
                None => println!(
                    "listener: {} {} (public and internal routes)",
                    addr(l.listen, "127.0.0.1:8787 (default)"),
                    tls(&l.tls)
                ),
                Some(i) => {
                    println!(
                        "public listener: {} {}",
                        addr(l.listen, "127.0.0.1:8787 (default)"),
                        tls(&l.tls)
                    );
                    println!("internal listener: {i} {}", tls(&l.internal_tls));
                }
            }
            for t in [&l.tls, &l.internal_tls].into_iter().flatten() {
                verifier::tls::load_certified_key(t)?;
            }
            if s.test_keys {
                println!(
                    "WARNING: test_keys = true: the public tgtest-* secrets answer siteverify; never in production"
                );
            }
            Ok(())
        }
        Command::Export {
            config,
            out,
            range,
            include_weak,
        } => audit_command(&config, |sink, settings| async move {
            let opts = verifier::audit::export::ExportOptions {
                query: query(&range, &settings)?,
                min_strength: if include_weak {
                    verifier::audit::Strength::Weak
                } else {
                    verifier::audit::Strength::Strong
                },
            };
            let mut w: Box<dyn std::io::Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            let rep = verifier::audit::export::export(sink.as_ref(), &opts, &mut w).await?;
            w.flush()?;
            eprintln!(
                "exported {} of {} records ({} labelled, {} without stored telemetry, {} conflicting or weak): {:?}",
                rep.exported,
                rep.records,
                rep.labelled,
                rep.without_telemetry,
                rep.conflicting_or_weak,
                rep.by_class
            );
            Ok(())
        }),
        Command::CompareModels { config, range } => {
            audit_command(&config, |sink, settings| async move {
                let q = query(&range, &settings)?;
                let t = thresholds(&range, &settings)?;
                let recs = verifier::audit::labelled(sink.as_ref(), &q).await?;
                let cs = verifier::audit::analysis::compare(&recs, &t);
                print!("{}", verifier::audit::analysis::comparison_report(&cs, &t));
                print!("{}", verifier::audit::analysis::labels_report(&recs));
                print!("{}", verifier::audit::analysis::drift_report(&recs));
                Ok(())
            })
        }
        Command::Calibrate {
            config,
            range,
            humans_challenged,
            humans_blocked,
            min_humans,
            shadow,
        } => audit_command(&config, |sink, settings| async move {
            let Some(site) = range.site.clone() else {
                bail!("calibrate needs --site");
            };
            let q = query(&range, &settings)?;
            let t = thresholds(&range, &settings)?;
            let recs = verifier::audit::labelled(sink.as_ref(), &q).await?;
            let which = if shadow {
                verifier::audit::analysis::Which::Shadow
            } else {
                verifier::audit::analysis::Which::Answer
            };
            let c = verifier::audit::analysis::calibrate(
                &recs,
                &t,
                which,
                verifier::audit::analysis::Targets {
                    humans_challenged,
                    humans_blocked,
                    min_humans,
                },
            )?;
            print!(
                "{}",
                verifier::audit::analysis::calibration_report(&site, &t, &c)
            );
            Ok(())
        }),
    }
}

/// Run an offline audit command: load the config, open its `[audit]` trail.
fn audit_command<F, Fut>(config: &std::path::Path, f: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<dyn verifier::audit::AuditSink>, Arc<Settings>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let settings =
        Settings::load(config).with_context(|| format!("loading {}", config.display()))?;
    let Some(a) = &settings.audit else {
        bail!("{}: no [audit] trail configured", config.display());
    };
    let sink = verifier::audit::open(a).context("opening the audit trail")?;
    let rt = tokio::runtime::Runtime::new().context("starting the Tokio runtime")?;
    rt.block_on(f(sink, Arc::new(settings)))
}

fn query(range: &RangeArgs, settings: &Settings) -> anyhow::Result<verifier::audit::Query> {
    if let Some(site) = &range.site
        && !settings.sites.iter().any(|s| &s.sitekey == site)
    {
        bail!("--site {site}: not in the configuration");
    }
    let mut q = verifier::audit::Query::all();
    q.site = range.site.clone();
    if let Some(days) = range.days {
        let now = verifier::Clock::now_ms(&SystemClock);
        q.from_ms = now.saturating_sub(days.saturating_mul(86_400_000));
    }
    Ok(q)
}

/// The site's current thresholds (the default policy without --site).
fn thresholds(
    range: &RangeArgs,
    settings: &Settings,
) -> anyhow::Result<tollgate_model::Thresholds> {
    Ok(match &range.site {
        Some(site) => {
            settings
                .sites
                .iter()
                .find(|s| &s.sitekey == site)
                .context("site not configured")?
                .policy
        }
        None => tollgate_model::Thresholds::default(),
    })
}

async fn serve(
    config: Option<PathBuf>,
    listen: Option<String>,
    internal_listen: Option<String>,
    assets: Option<PathBuf>,
    store: Option<String>,
) -> anyhow::Result<()> {
    let mut settings = match &config {
        Some(path) => {
            Settings::load(path).with_context(|| format!("loading config {}", path.display()))?
        }
        None => {
            tracing::warn!(
                sitekey = verifier::config::DEV_SITE_KEY,
                "no --config: development mode (dev site, random signing key; tokens do not survive a restart)"
            );
            Settings::dev()?
        }
    };
    if let Some(url) = &store {
        settings.store = settings.store.clone().with_url(url)?;
    }
    if config.is_some() && settings.test_keys {
        tracing::warn!(
            "test_keys = true: the public tgtest-* secrets answer siteverify with fixed verdicts; never enable this in production"
        );
    }
    let files = settings.files.clone();
    let state =
        AppState::try_new(settings, Arc::new(SystemClock)).context("setting up the store")?;
    match verifier::observability::prometheus_builder().and_then(|b| b.install_recorder()) {
        Ok(handle) => {
            state.set_prometheus(handle.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    handle.run_upkeep();
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "metrics recorder not installed"),
    }
    if !state.check_store().await {
        tracing::warn!(
            backend = state.store_backend(),
            "store unreachable at start: serving, failing closed and not ready until it answers"
        );
    }
    if state.store_settings().require_persistence {
        match state.store_persistence() {
            Some(p) if !p.keeps_marks() => bail!(
                "[store] require_persistence = true, but redis does not keep used marks across a restart ({p:?}): enable appendonly yes (appendfsync everysec)"
            ),
            Some(_) => {}
            None => tracing::warn!(
                "[store] require_persistence = true and redis persistence is not known yet: not ready until it is read"
            ),
        }
    }
    state.spawn_background_tasks();
    if let Some(path) = &config {
        verifier::reload::spawn_reload_task(&state, path.clone(), files);
    }
    let server = state.runtime().server.clone();

    let assets = match assets {
        Some(dir) if dir.is_dir() => Some(dir),
        Some(dir) => bail!("--assets {}: not a directory", dir.display()),
        None => Some(PathBuf::from("js/dist")).filter(|d| d.is_dir()),
    };
    // Addresses: the command line (or its environment variable), else [server], else the default.
    let listeners = server.listeners.clone();
    let listen = listen
        .or_else(|| listeners.listen.map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1:8787".to_owned());
    let internal_listen =
        internal_listen.or_else(|| listeners.internal_listen.map(|a| a.to_string()));
    if listeners.internal_tls.is_some() && internal_listen.is_none() {
        bail!("[server.internal_tls] needs an internal listener");
    }
    let load_tls = |t: &Option<verifier::config::TlsFiles>| -> anyhow::Result<_> {
        t.clone()
            .map(verifier::tls::CertStore::load)
            .transpose()
            .context("loading the TLS certificate")
    };
    let public_tls = load_tls(&listeners.tls)?;
    let internal_tls = match &internal_listen {
        Some(_) => load_tls(&listeners.internal_tls)?,
        None => None,
    };
    verifier::tls::spawn_reload_task(
        public_tls
            .iter()
            .chain(internal_tls.iter())
            .cloned()
            .collect(),
        server.config_poll,
    );

    let with_assets = |router: axum::Router| match &assets {
        Some(dir) => verifier::with_assets(router, &state, dir),
        None => router,
    };
    match &assets {
        Some(dir) => tracing::info!(dir = %dir.display(), "serving assets under /tollgate/"),
        None => tracing::info!("no assets directory: /tollgate/ not served"),
    }
    let mut halves = Vec::new();
    match internal_listen {
        None => halves.push((
            Listener::Combined,
            listen,
            with_assets(verifier::app(state.clone())),
            public_tls,
        )),
        Some(internal) => {
            halves.push((
                Listener::Public,
                listen,
                with_assets(verifier::public_router(state.clone())),
                public_tls,
            ));
            halves.push((
                Listener::Internal,
                internal,
                verifier::internal_router(state.clone()),
                internal_tls,
            ));
        }
    }

    // Before the listening lines: the open-file limit is settled (and logged) by then.
    let max_connections = connection_cap(server.max_connections);
    let mut bound = Vec::new();
    for (which, addr, router, tls) in halves {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding the {} listener {addr}", which.as_str()))?;
        bound.push((which, listener, router, tls));
    }
    // One line per listener, public (or combined) first: `listening on http(s)://IP:PORT`, then
    // `internal listening on http(s)://IP:PORT`.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for (which, listener, _, tls) in &bound {
            let addr = listener.local_addr().context("reading the bound address")?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            let prefix = if *which == Listener::Internal {
                "internal "
            } else {
                ""
            };
            writeln!(out, "{prefix}listening on {scheme}://{addr}")?;
        }
        out.flush()?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (which, listener, router, tls) in bound {
        let proxies = state.clone();
        let opts = verifier::server::ServeOptions {
            header_read_timeout: server.header_read_timeout,
            first_byte_timeout: server.first_byte_timeout,
            idle_timeout: server.idle_timeout,
            max_connections,
            max_connections_per_address: server.max_connections_per_address,
            // Read per connection: a reload that changes trusted_proxies applies at once.
            exempt: verifier::server::PeerExemption::new(move |ip| {
                proxies.runtime().server.trusted_proxies.contains(ip)
            }),
            drain_timeout: server.request_timeout + Duration::from_secs(5),
            tls,
        };
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let r = verifier::server::serve(listener, router, shutdown, opts).await;
            (which, r)
        });
    }
    let mut clean = true;
    while let Some(done) = tasks.join_next().await {
        let (which, r) = done.context("listener task")?;
        clean &= r.with_context(|| format!("{} listener", which.as_str()))?;
    }
    tracing::info!(clean, "shut down");
    Ok(())
}

/// `max_connections`, lowered (and logged) to the open-file limit less a reserve: past it
/// `accept` fails with EMFILE and every new client waits, whereas a connection over the cap is
/// closed at once and counted.
fn connection_cap(configured: usize) -> usize {
    // Like Go's runtime: take the soft open-file limit up to what is needed (at most the hard
    // limit), since the common default soft limit (1024) is far below `max_connections`.
    let want = u64::try_from(configured)
        .unwrap_or(u64::MAX)
        .saturating_add(verifier::server::FD_RESERVE);
    if let Err(e) = rlimit::increase_nofile_limit(want) {
        tracing::debug!(error = %e, "cannot raise the open-file limit");
    }
    let limit = verifier::server::open_file_limit();
    let effective = verifier::server::cap_to_fd_limit(configured, limit);
    if effective < configured {
        tracing::warn!(
            configured,
            open_file_limit = limit,
            effective,
            "[server] max_connections is above the open-file limit (ulimit -n): lowered; raise the limit to allow more"
        );
    }
    effective
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, draining connections");
}

fn keygen(out: PathBuf, kid: Option<u32>, force: bool) -> anyhow::Result<()> {
    let kid = match kid {
        Some(k) => k,
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            u32::try_from(secs).context("clock beyond 2106: pass --kid")?
        }
    };
    let key = KeyEntry::generate(kid)?;
    let text = key.to_key_file().context("encoding the key file")?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&out)
        .with_context(|| format!("creating {}", out.display()))?;
    std::io::Write::write_all(&mut f, text.as_bytes())?;
    println!(
        "wrote key id {kid} (public key {}) to {}",
        tollgate_protocol::b64_encode(key.verifying.as_bytes()),
        out.display()
    );
    Ok(())
}
