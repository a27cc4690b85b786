//! A throwaway PostgreSQL server for the audit-trail tests: `initdb` into a temporary
//! directory, `postgres` on a free loopback port (socket in the same directory), trust
//! authentication for user `tollgate`, no persistence worth keeping. Stopped (and its directory
//! removed) on drop.
//!
//! The binaries come from `$TOLLGATE_PG_BIN` (a directory) if set, else the highest
//! `/usr/lib/postgresql/N/bin` (Debian's `postgresql` package, installed by
//! `scripts/setup.sh --test`). PostgreSQL refuses to run as root: as root, the server runs as
//! user `nobody` through `runuser`. When the binaries are missing, [`PostgresServer::start`]
//! follows [`crate::require`] (skip loudly, or fail under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, temp_dir};

/// Environment variable naming the directory with `initdb`, `postgres` and `pg_isready`.
pub const BIN_ENV: &str = "TOLLGATE_PG_BIN";

/// The PostgreSQL binary directory, if there is one.
pub fn bin_dir() -> Option<PathBuf> {
    let ok = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(p) = std::env::var_os(BIN_ENV) {
        let p = PathBuf::from(p);
        return ok(&p).then_some(p);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, p)| ok(p))
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// A running server.
#[derive(Debug)]
pub struct PostgresServer {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    as_nobody: bool,
}

fn is_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).is_ok_and(|m| m.uid() == 0)
}

impl PostgresServer {
    /// Start one; `None` when PostgreSQL is missing outside CI (see [`crate::require`]).
    ///
    /// # Panics
    /// Under `CI=true` when PostgreSQL is missing, and when it does not start.
    #[track_caller]
    pub fn start() -> Option<Self> {
        let bin = crate::require(
            bin_dir(),
            "PostgreSQL (initdb, postgres)",
            "install the postgresql package (scripts/setup.sh --test) or set TOLLGATE_PG_BIN",
        )?;
        let dir = temp_dir("postgres");
        let as_nobody = is_root(&dir);
        if as_nobody {
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown to nobody");
        }
        let mut s = Self {
            port: 0,
            bin,
            dir,
            child: None,
            as_nobody,
        };
        let data = s.dir.join("data");
        let status = s
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "tollgate", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(status.success(), "initdb failed in {}", s.dir.display());
        for _ in 0..5 {
            s.port = free_port();
            if s.spawn() {
                return Some(s);
            }
        }
        panic!("could not start postgres from {}", s.bin.display());
    }

    fn command(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn spawn(&mut self) -> bool {
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                self.child = None;
                return false;
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "tollgate",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// A `tokio-postgres` connection string for database `postgres`.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=tollgate dbname=postgres",
            self.port
        )
    }

    /// Stop the server (fast shutdown; SIGKILL when it does not exit).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // runuser forwards SIGTERM to postgres (fast shutdown).
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
