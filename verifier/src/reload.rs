//! Configuration reload without restart: on SIGHUP, and when the config file or one of its key
//! files changes (modification time / size polled every `[server] config_poll_secs`).
//!
//! A reload swaps keys, sites, server and correlation settings atomically: new challenges are
//! signed by the new signing key at once, every key still listed keeps verifying, and a key
//! that was *removed* from the config stays verify-only until the longest token lifetime has
//! passed, so tokens already handed out keep working. A config that fails to load changes
//! nothing (logged, `tollgate_config_reloads_total{result="error"}`). `[store]` is fixed at start.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::{ConfigError, Settings};
use crate::state::AppState;

type Stamp = Option<(SystemTime, u64)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Change detector for a set of files.
#[derive(Debug, Default)]
pub struct FileWatch {
    files: Vec<(PathBuf, Stamp)>,
}

impl FileWatch {
    pub fn new(files: &[PathBuf]) -> Self {
        Self {
            files: files.iter().map(|f| (f.clone(), stamp(f))).collect(),
        }
    }

    /// Whether any file changed since the last call (or construction).
    pub fn changed(&mut self) -> bool {
        let mut changed = false;
        for (f, s) in &mut self.files {
            let now = stamp(f);
            if now != *s {
                *s = now;
                changed = true;
            }
        }
        changed
    }
}

/// Load `path` and swap it in. Returns the files the new config was read from.
pub fn reload_from(state: &AppState, path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    match Settings::load(path) {
        Ok(s) => {
            let files = s.files.clone();
            if s.test_keys {
                tracing::warn!(
                    "test_keys = true: the public tgtest-* secrets answer siteverify with fixed verdicts; never enable this in production"
                );
            }
            state.reload(s);
            Ok(files)
        }
        Err(e) => {
            metrics::counter!("tollgate_config_reloads_total", "result" => "error").increment(1);
            tracing::error!(error = %e, path = %path.display(), "config reload failed: keeping the running configuration");
            Err(e)
        }
    }
}

/// Reload on SIGHUP and on file changes until the state is dropped. Needs a Tokio runtime. The
/// SIGHUP handler is installed before this returns (not in the spawned task), so a SIGHUP sent
/// once the server announced itself reloads instead of killing the process (default action).
pub fn spawn_reload_task(state: &AppState, path: PathBuf, files: Vec<PathBuf>) {
    let weak = state.clone();
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP: file polling only");
            None
        }
    };
    tokio::spawn(async move {
        let state = weak;
        let mut watch = FileWatch::new(&files);
        loop {
            let poll = state.runtime().server.config_poll;
            let tick = tokio::time::sleep(poll.unwrap_or(Duration::from_secs(3600)));
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
            let reload = tokio::select! {
                () = tick => poll.is_some() && watch.changed(),
                () = by_signal => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    true
                }
            };
            if reload {
                let p = path.clone();
                let st = state.clone();
                // File reads off the async workers.
                if let Ok(Ok(files)) =
                    tokio::task::spawn_blocking(move || reload_from(&st, &p)).await
                {
                    watch = FileWatch::new(&files);
                }
            }
        }
    });
}
