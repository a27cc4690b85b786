//! A throwaway `redis-server` for the Redis tests and the load test.
//!
//! The binary is `$TOLLGATE_REDIS_BIN` if set, else `redis-server` on `PATH`
//! (`scripts/setup.sh` installs the Debian package). When it is missing, [`RedisServer::start`]
//! follows [`crate::require`]: the test is skipped loudly, or fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, temp_dir};

/// Environment variable naming the `redis-server` binary (overrides the `PATH` lookup).
pub const BIN_ENV: &str = "TOLLGATE_REDIS_BIN";

/// The `redis-server` binary to run, if there is one: [`BIN_ENV`], else `redis-server` on
/// `PATH`.
pub fn server_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(BIN_ENV) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

/// A `redis-server` on a free loopback port with a temporary directory and no persistence.
/// Stopped (and its directory removed) on drop.
#[derive(Debug)]
pub struct RedisServer {
    /// The loopback port it listens on.
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Start one; `None` when redis-server is missing outside CI (see [`crate::require`]).
    ///
    /// # Panics
    /// Under `CI=true` when redis-server is missing, and when it does not start.
    #[track_caller]
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// [`RedisServer::start`] with extra server arguments (e.g. `--requirepass`).
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[track_caller]
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        let bin = crate::require(
            server_bin(),
            "redis-server",
            "install the redis-server package (scripts/setup.sh) or set TOLLGATE_REDIS_BIN",
        )?;
        for _ in 0..5 {
            let mut s = Self {
                port: free_port(),
                bin: bin.clone(),
                dir: temp_dir("redis"),
                child: None,
                extra: extra.iter().map(|s| s.to_string()).collect(),
            };
            if s.spawn() {
                return Some(s);
            }
        }
        panic!("could not start {}", bin.display());
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--protected-mode", "yes"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                self.child = None;
                return false; // exited: port taken?
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// PING over a raw socket: whether the server answers (`+PONG`, or `-NOAUTH` when a
    /// password is required).
    pub fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).is_ok() && (buf[0] == b'+' || buf[0] == b'-')
    }

    /// SIGKILL the server (its data is gone: `--save ''`).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Send a signal with `kill` (e.g. `-STOP` / `-CONT`: a server that accepts connections
    /// but never answers).
    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
        }
    }

    /// Start again on the same port.
    ///
    /// # Panics
    /// When it does not come back within 10 s.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not restart on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
