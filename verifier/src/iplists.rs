//! Optional IP lists (proxies, hosting ranges, Tor exits; plain CIDR files) and the optional
//! IP-to-ASN table, reloaded when their file's modification time or size changes (polled).
//! A file that fails to read or parse keeps the previous contents (a half-loaded list is worse
//! than a stale one) and is counted in `tollgate_iplist_reloads_total{result="error"}`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::config::CorrelationSettings;
use crate::netinfo::{AsnInfo, AsnTable, IpSet};

/// Which list an address is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Proxy,
    Hosting,
    Tor,
}

impl ListKind {
    /// Reason code reported by siteverify.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Proxy => "proxy-ip",
            Self::Hosting => "hosting-ip",
            Self::Tor => "tor-exit",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Hosting => "hosting",
            Self::Tor => "tor",
        }
    }
}

type Stamp = Option<(SystemTime, u64)>;

#[derive(Debug)]
struct Watched<T> {
    path: PathBuf,
    /// `None` until the first poll.
    stamp: RwLock<Option<Stamp>>,
    value: RwLock<Arc<T>>,
}

impl<T: Default> Watched<T> {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            stamp: RwLock::new(None),
            value: RwLock::new(Arc::new(T::default())),
        }
    }

    fn get(&self) -> Arc<T> {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reload if the file changed. Returns `Some(result)` when a load was attempted.
    fn poll<E: std::fmt::Display>(
        &self,
        parse: impl Fn(&str) -> Result<T, E>,
        what: &'static str,
    ) -> Option<bool> {
        let stamp = file_stamp(&self.path);
        if *self.stamp.read().unwrap_or_else(|e| e.into_inner()) == Some(stamp) {
            return None;
        }
        let result = std::fs::read_to_string(&self.path)
            .map_err(|e| e.to_string())
            .and_then(|text| parse(&text).map_err(|e| e.to_string()));
        // Remember the stamp even on failure: retry only when the file changes again.
        *self.stamp.write().unwrap_or_else(|e| e.into_inner()) = Some(stamp);
        match result {
            Ok(v) => {
                *self.value.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(v);
                metrics::counter!("tollgate_iplist_reloads_total", "list" => what, "result" => "ok")
                    .increment(1);
                tracing::info!(list = what, path = %self.path.display(), "loaded");
                Some(true)
            }
            Err(e) => {
                metrics::counter!("tollgate_iplist_reloads_total", "list" => what, "result" => "error")
                    .increment(1);
                tracing::error!(list = what, path = %self.path.display(), error = %e, "cannot load; keeping the previous contents");
                Some(false)
            }
        }
    }
}

fn file_stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// All configured lists.
#[derive(Debug, Default)]
pub struct IpLists {
    lists: Vec<(ListKind, Watched<IpSet>)>,
    asn: Option<Watched<AsnTable>>,
}

impl IpLists {
    /// Lists named in `c`, loaded once now (missing files just stay empty until they appear).
    pub fn new(c: &CorrelationSettings) -> Self {
        let mut lists = Vec::new();
        for (kind, path) in [
            (ListKind::Proxy, &c.proxy_list),
            (ListKind::Hosting, &c.hosting_list),
            (ListKind::Tor, &c.tor_list),
        ] {
            if let Some(p) = path {
                lists.push((kind, Watched::new(p.clone())));
            }
        }
        let me = Self {
            lists,
            asn: c.asn_table.clone().map(Watched::new),
        };
        me.poll();
        me
    }

    /// Reload changed files. Returns the number of files (re)loaded successfully.
    pub fn poll(&self) -> usize {
        let mut n = 0;
        for (kind, w) in &self.lists {
            if w.poll(IpSet::parse, kind.name()) == Some(true) {
                n += 1;
            }
        }
        if let Some(w) = &self.asn
            && w.poll(AsnTable::parse, "asn") == Some(true)
        {
            n += 1;
        }
        n
    }

    /// Lists containing `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Vec<ListKind> {
        self.lists
            .iter()
            .filter(|(_, w)| w.get().contains(ip))
            .map(|(k, _)| *k)
            .collect()
    }

    pub fn asn(&self, ip: IpAddr) -> Option<AsnInfo> {
        self.asn.as_ref()?.get().lookup(ip).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty() && self.asn.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_reload_on_change_and_keep_old_contents_on_errors() {
        let dir = std::env::temp_dir().join(format!("tollgate-lists-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tor = dir.join("tor.txt");
        let asn = dir.join("asn.tsv");
        std::fs::write(&tor, "192.0.2.0/24\n").unwrap();
        std::fs::write(&asn, "198.51.100.0\t198.51.100.255\t64500\tZZ\tEXAMPLE\n").unwrap();
        let c = CorrelationSettings {
            tor_list: Some(tor.clone()),
            proxy_list: Some(dir.join("missing.txt")),
            asn_table: Some(asn.clone()),
            ..CorrelationSettings::default()
        };
        let l = IpLists::new(&c);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(l.lookup(ip("192.0.2.9")), vec![ListKind::Tor]);
        assert!(l.lookup(ip("203.0.113.1")).is_empty());
        assert_eq!(l.asn(ip("198.51.100.7")).unwrap().asn, 64500);
        // Unchanged files are not re-read.
        assert_eq!(l.poll(), 0);
        // A changed file is (the size differs, so no mtime granularity issue).
        std::fs::write(&tor, "192.0.2.0/24\n203.0.113.0/24\n").unwrap();
        assert_eq!(l.poll(), 1);
        assert_eq!(l.lookup(ip("203.0.113.1")), vec![ListKind::Tor]);
        // A broken file keeps the previous contents.
        std::fs::write(&tor, "not a cidr at all\n").unwrap();
        assert_eq!(l.poll(), 0);
        assert_eq!(l.lookup(ip("203.0.113.1")), vec![ListKind::Tor]);
        // A file that appears later is picked up.
        std::fs::write(dir.join("missing.txt"), "203.0.113.0/24\n").unwrap();
        assert_eq!(l.poll(), 1);
        assert_eq!(
            l.lookup(ip("203.0.113.1")),
            vec![ListKind::Proxy, ListKind::Tor]
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
