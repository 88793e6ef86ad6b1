//! host-local IPAM, on host-local's own on-disk format and lock (containernetworking/plugins 1.1.1
//! `plugins/ipam/host-local`), so that leases taken here and by the plugin never collide and either side releases
//! the other's:
//! * `<dataDir>/<network>/` (0755), one file per leased address named by the address, holding
//!   `<container id>\r\n<ifName>` (0644, created O_EXCL);
//! * `last_reserved_ip.<range set index>` holding the last address leased from that range set (round robin);
//! * `lock` (created 0750, never removed): an exclusive `flock` around every allocation and release.
//!
//! IPv4 only (the fast path sends IPv6 networks to the plugins).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::status::*;
use crate::util::{OpError, OpResult};

const LAST_IP_PREFIX: &str = "last_reserved_ip.";

/// A file error: always `YFFM_ERR_IO` (`YFFM_ERR_RESOURCE` means "no free address" here).
pub fn io_err(ctx: &str, e: &std::io::Error) -> OpError {
    OpError::new(YFFM_ERR_IO, format!("{ctx}: {e}"))
}

/// One canonical range: the subnet, the first and last leasable addresses and the gateway (never leased).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub net: u32,
    pub prefix: u8,
    pub start: u32,
    pub end: u32,
    pub gateway: u32,
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

fn parse_ip(s: &str, what: &str) -> OpResult<u32> {
    s.parse::<Ipv4Addr>()
        .map(u32::from)
        .map_err(|_| OpError::invalid(format!("{what} {s:?} is not an IPv4 address")))
}

/// `a.b.c.d/n` (host bits allowed, as in a static IP request) into (address, prefix).
pub fn parse_cidr(s: &str, what: &str) -> OpResult<(u32, u8)> {
    let (ip, len) = s
        .split_once('/')
        .ok_or_else(|| OpError::invalid(format!("{what} {s:?} is not a CIDR")))?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| OpError::invalid(format!("{what} {s:?} has a bad prefix length")))?;
    Ok((parse_ip(ip, what)?, len))
}

impl Range {
    /// host-local's `Range.Canonicalize`: defaults for start (.1), end (broadcast - 1) and gateway (.1).
    pub fn canonical(
        subnet: &str,
        start: Option<&str>,
        end: Option<&str>,
        gateway: Option<&str>,
    ) -> OpResult<Self> {
        let (net, prefix) = parse_cidr(subnet, "subnet")?;
        if prefix > 30 {
            return Err(OpError::invalid(format!(
                "network {subnet} too small to allocate from"
            )));
        }
        if net & !mask(prefix) != 0 {
            return Err(OpError::invalid(format!(
                "network {subnet} has host bits set"
            )));
        }
        let bcast = net | !mask(prefix);
        let inside = |a: u32| a & mask(prefix) == net;
        let gateway = match gateway {
            Some(g) => parse_ip(g, "gateway")?,
            None => net + 1,
        };
        let start = match start {
            Some(s) => parse_ip(s, "rangeStart")?,
            None => net + 1,
        };
        let end = match end {
            Some(s) => parse_ip(s, "rangeEnd")?,
            None => bcast - 1,
        };
        if !inside(start) || !inside(end) {
            return Err(OpError::invalid(format!(
                "range {start}-{end} is not in network {subnet}"
            )));
        }
        Ok(Self {
            net,
            prefix,
            start,
            end,
            gateway,
        })
    }

    pub fn contains(&self, a: u32) -> bool {
        a & mask(self.prefix) == self.net && a >= self.start && a <= self.end
    }

    fn describe(&self) -> String {
        format!(
            "{}-{}",
            Ipv4Addr::from(self.start),
            Ipv4Addr::from(self.end)
        )
    }
}

fn describe(set: &[Range]) -> String {
    set.iter()
        .map(Range::describe)
        .collect::<Vec<_>>()
        .join(",")
}

/// A leased address with its range's prefix and gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
}

/// `<dataDir>/<network>` with host-local's lock held; released on drop.
pub struct Store {
    dir: PathBuf,
    lock: fs::File,
}

impl Store {
    /// Creates the directory if needed and takes the lock, polling (LOCK_NB) until `deadline`.
    pub fn lock(data_dir: &str, network: &str, deadline: Instant) -> OpResult<Self> {
        if network.is_empty() || network.contains('/') || network == "." || network == ".." {
            return Err(OpError::invalid(format!("bad network name {network:?}")));
        }
        let dir = Path::new(data_dir).join(network);
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| io_err(&format!("create {}", dir.display()), &e))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .mode(0o750)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|e| io_err(&format!("open {}", lock_path.display()), &e))?;
        let mut pause = Duration::from_micros(200);
        loop {
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(Self { dir, lock });
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) && e.raw_os_error() != Some(libc::EINTR)
            {
                return Err(io_err(&format!("flock {}", lock_path.display()), &e));
            }
            if Instant::now() >= deadline {
                return Err(OpError::new(
                    YFFM_ERR_TIMEOUT,
                    format!("waiting for the host-local lock {}", lock_path.display()),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// host-local's `Reserve`: false if the address is leased already.
    fn reserve(&self, id: &str, if_name: &str, ip: Ipv4Addr, range_id: usize) -> OpResult<bool> {
        let path = self.dir.join(ip.to_string());
        let mut f = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_err(&format!("create {}", path.display()), &e)),
        };
        if let Err(e) = f.write_all(format!("{}\r\n{}", id.trim(), if_name).as_bytes()) {
            let _ = fs::remove_file(&path);
            return Err(io_err(&format!("write {}", path.display()), &e));
        }
        drop(f);
        let last = self.dir.join(format!("{LAST_IP_PREFIX}{range_id}"));
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&last)
            .and_then(|mut f| f.write_all(ip.to_string().as_bytes()))
            .map_err(|e| io_err(&format!("write {}", last.display()), &e))?;
        Ok(true)
    }

    fn last_reserved(&self, range_id: usize) -> Option<u32> {
        let s = fs::read_to_string(self.dir.join(format!("{LAST_IP_PREFIX}{range_id}"))).ok()?;
        s.trim().parse::<Ipv4Addr>().ok().map(u32::from)
    }

    /// Every regular file under the directory (recursively, symlinks not followed) with its trimmed content.
    fn entries(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut todo = vec![self.dir.clone()];
        while let Some(d) = todo.pop() {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    todo.push(e.path());
                } else if ft.is_file() {
                    let mut s = String::new();
                    if fs::File::open(e.path())
                        .and_then(|mut f| f.read_to_string(&mut s))
                        .is_ok()
                    {
                        out.push((e.path(), s.trim().to_string()));
                    }
                }
            }
        }
        out
    }

    /// host-local's `GetByID`: the addresses leased to `id` (on `if_name`, or written by an older version).
    fn by_id(&self, id: &str, if_name: &str) -> Vec<u32> {
        let key = format!("{}\r\n{}", id.trim(), if_name);
        let old = id.trim();
        self.entries()
            .into_iter()
            .filter(|(_, c)| *c == key || c == old)
            .filter_map(|(p, _)| {
                p.file_name()?
                    .to_str()?
                    .parse::<Ipv4Addr>()
                    .ok()
                    .map(u32::from)
            })
            .collect()
    }

    /// host-local's `ReleaseByID`: removes the leases of `id`/`if_name` (else, the older format, of `id`).
    pub fn release(&self, id: &str, if_name: &str) -> usize {
        let all = self.entries();
        let key = format!("{}\r\n{}", id.trim(), if_name);
        let mut n = 0;
        for k in [key.as_str(), id.trim()] {
            for (p, c) in &all {
                if c == k && fs::remove_file(p).is_ok() {
                    n += 1;
                }
            }
            if n > 0 {
                break;
            }
        }
        n
    }

    /// host-local's ADD: one address from each range set (a requested one if it falls in that set, else the next
    /// free one round robin from `last_reserved_ip.<index>`). On failure nothing stays leased.
    pub fn allocate(
        &self,
        id: &str,
        if_name: &str,
        sets: &[Vec<Range>],
        requested: &[u32],
    ) -> OpResult<Vec<Lease>> {
        let mut want: Vec<u32> = requested.to_vec();
        let mut out = Vec::new();
        let res = (|| {
            for (idx, set) in sets.iter().enumerate() {
                let req = want
                    .iter()
                    .position(|ip| set.iter().any(|r| r.contains(*ip)))
                    .map(|i| want.remove(i));
                let lease = self.get(id, if_name, set, idx, req).map_err(|e| {
                    OpError::new(
                        e.code,
                        format!("failed to allocate for range {idx}: {}", e.msg),
                    )
                })?;
                out.push(lease);
            }
            if !want.is_empty() {
                let s: Vec<String> = want
                    .iter()
                    .map(|a| Ipv4Addr::from(*a).to_string())
                    .collect();
                return Err(OpError::invalid(format!(
                    "failed to allocate all requested IPs: {} (outside every range)",
                    s.join(" ")
                )));
            }
            Ok(())
        })();
        match res {
            Ok(()) => Ok(out),
            Err(e) => {
                if !out.is_empty() {
                    self.release(id, if_name);
                }
                Err(e)
            }
        }
    }

    fn get(
        &self,
        id: &str,
        if_name: &str,
        set: &[Range],
        idx: usize,
        req: Option<u32>,
    ) -> OpResult<Lease> {
        if let Some(ip) = req {
            let r = set
                .iter()
                .find(|r| r.contains(ip))
                .copied()
                .expect("chosen by range");
            if ip == r.gateway {
                return Err(OpError::invalid(format!(
                    "requested ip {} is subnet's gateway",
                    Ipv4Addr::from(ip)
                )));
            }
            if !self.reserve(id, if_name, Ipv4Addr::from(ip), idx)? {
                return Err(OpError::new(
                    YFFM_ERR_RESOURCE,
                    format!(
                        "requested IP address {} is not available in range set {}",
                        Ipv4Addr::from(ip),
                        describe(set)
                    ),
                ));
            }
            return Ok(lease(ip, &r));
        }
        for a in self.by_id(id, if_name) {
            if set.iter().any(|r| r.contains(a)) {
                return Err(OpError::new(
                    YFFM_ERR_RESOURCE,
                    format!(
                        "{} has been allocated to {id}, duplicate allocation is not allowed",
                        Ipv4Addr::from(a)
                    ),
                ));
            }
        }
        let mut it = RangeIter::new(set, self.last_reserved(idx));
        while let Some((ip, r)) = it.next() {
            if self.reserve(id, if_name, Ipv4Addr::from(ip), idx)? {
                return Ok(lease(ip, &r));
            }
        }
        Err(OpError::new(
            YFFM_ERR_RESOURCE,
            format!("no IP addresses available in range set: {}", describe(set)),
        ))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        unsafe { libc::flock(self.lock.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn lease(ip: u32, r: &Range) -> Lease {
    Lease {
        ip: Ipv4Addr::from(ip),
        prefix: r.prefix,
        gateway: Ipv4Addr::from(r.gateway),
    }
}

/// host-local's `RangeIter`: from the address after the last reserved one (or the first range's start) through
/// every range of the set once, skipping gateways.
struct RangeIter<'a> {
    set: &'a [Range],
    idx: usize,
    cur: Option<u32>,
    start: Option<u32>,
}

impl<'a> RangeIter<'a> {
    fn new(set: &'a [Range], last: Option<u32>) -> Self {
        match last.and_then(|l| set.iter().position(|r| r.contains(l)).map(|i| (i, l))) {
            Some((idx, l)) => Self {
                set,
                idx,
                cur: Some(l),
                start: None,
            },
            None => Self {
                set,
                idx: 0,
                cur: None,
                start: Some(set[0].start),
            },
        }
    }

    fn next(&mut self) -> Option<(u32, Range)> {
        loop {
            let mut r = self.set[self.idx];
            let Some(cur) = self.cur else {
                self.cur = Some(r.start);
                self.start = Some(r.start);
                if r.start == r.gateway {
                    continue;
                }
                return Some((r.start, r));
            };
            let next = if cur == r.end {
                self.idx = (self.idx + 1) % self.set.len();
                r = self.set[self.idx];
                r.start
            } else {
                cur.wrapping_add(1)
            };
            self.cur = Some(next);
            match self.start {
                None => self.start = Some(next),
                Some(s) if s == next => return None,
                Some(_) => {}
            }
            if next == r.gateway {
                continue;
            }
            return Some((next, r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(subnet: &str) -> Vec<Vec<Range>> {
        vec![vec![Range::canonical(subnet, None, None, None).unwrap()]]
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn canonical_defaults_like_host_local() {
        let r = Range::canonical("10.1.2.0/24", None, None, None).unwrap();
        assert_eq!(Ipv4Addr::from(r.start), Ipv4Addr::new(10, 1, 2, 1));
        assert_eq!(Ipv4Addr::from(r.end), Ipv4Addr::new(10, 1, 2, 254));
        assert_eq!(Ipv4Addr::from(r.gateway), Ipv4Addr::new(10, 1, 2, 1));
        assert!(Range::canonical("10.1.2.1/24", None, None, None).is_err());
        assert!(Range::canonical("10.1.2.0/31", None, None, None).is_err());
        assert!(Range::canonical("10.1.2.0/24", Some("10.1.3.1"), None, None).is_err());
    }

    #[test]
    fn files_round_robin_exhaustion_and_release_match_host_local() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().to_str().unwrap();
        let s = Store::lock(data, "net1", far()).unwrap();
        let sets = set("10.9.0.0/29"); // .1 gateway, .2-.6 leasable
        let a = s.allocate("ctr-a", "eth0", &sets, &[]).unwrap();
        assert_eq!(a[0].ip, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(a[0].gateway, Ipv4Addr::new(10, 9, 0, 1));
        let dir = tmp.path().join("net1");
        assert_eq!(
            fs::read_to_string(dir.join("10.9.0.2")).unwrap(),
            "ctr-a\r\neth0"
        );
        assert_eq!(
            fs::read_to_string(dir.join("last_reserved_ip.0")).unwrap(),
            "10.9.0.2"
        );
        assert!(dir.join("lock").exists());
        // duplicate allocation for the same id/ifname is refused
        assert_eq!(
            s.allocate("ctr-a", "eth0", &sets, &[]).unwrap_err().code,
            YFFM_ERR_RESOURCE
        );
        // a requested address; then the round robin continues after it
        let b = s
            .allocate(
                "ctr-b",
                "eth0",
                &sets,
                &[u32::from(Ipv4Addr::new(10, 9, 0, 5))],
            )
            .unwrap();
        assert_eq!(b[0].ip, Ipv4Addr::new(10, 9, 0, 5));
        let c = s.allocate("ctr-c", "eth0", &sets, &[]).unwrap();
        assert_eq!(c[0].ip, Ipv4Addr::new(10, 9, 0, 6));
        // release of a then the wrap-around finds .2 again before .3
        assert_eq!(s.release("ctr-a", "eth0"), 1);
        let d = s.allocate("ctr-d", "eth0", &sets, &[]).unwrap();
        assert_eq!(d[0].ip, Ipv4Addr::new(10, 9, 0, 2));
        s.allocate("ctr-e", "eth0", &sets, &[]).unwrap();
        s.allocate("ctr-f", "eth0", &sets, &[]).unwrap();
        let full = s.allocate("ctr-g", "eth0", &sets, &[]).unwrap_err();
        assert_eq!(full.code, YFFM_ERR_RESOURCE, "{}", full.msg);
        assert!(
            full.msg.contains("no IP addresses available"),
            "{}",
            full.msg
        );
        // a taken requested address
        let taken = s
            .allocate(
                "ctr-h",
                "eth0",
                &sets,
                &[u32::from(Ipv4Addr::new(10, 9, 0, 5))],
            )
            .unwrap_err();
        assert_eq!(taken.code, YFFM_ERR_RESOURCE);
        // files written in the old format (id only) are released too
        fs::write(dir.join("10.9.0.9"), "old-ctr\n").unwrap();
        assert_eq!(s.release("old-ctr", "eth1"), 1);
        assert!(!dir.join("10.9.0.9").exists());
    }

    #[test]
    fn lock_is_an_flock_with_a_deadline() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().to_str().unwrap();
        let held = Store::lock(data, "n", far()).unwrap();
        let e = Store::lock(data, "n", Instant::now() + Duration::from_millis(50))
            .err()
            .unwrap();
        assert_eq!(e.code, YFFM_ERR_TIMEOUT);
        drop(held);
        Store::lock(data, "n", far()).unwrap();
        assert!(Store::lock(data, "../x", far()).is_err());
    }
}
