//! The network fast path: what the CNI `bridge` plugin with `host-local` IPAM does on ADD and DEL, in-process over
//! rtnetlink, without exec'ing plugins. The Java side decides that a network qualifies and turns the outcome into
//! the plugin's CNI result; the IPAM state is host-local's own (see `ipam`), so either path releases the other's.
//!
//! Each operation runs on a short-lived thread of its own: it is the only thread that ever changes network
//! namespace (`setns` is per thread), and it ends with the operation. The caller waits until the deadline; a
//! worker that overruns it undoes its own work when it finishes.

use std::ffi::CString;
use std::fs;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::helper::panic_message;
use crate::ipam::{io_err, parse_cidr, Lease, Range, Store};
use crate::netlink::{NlError, Socket};
use crate::status::*;
use crate::util::{cvt, validate_id, OpError, OpResult};

/// Where a worker that has not answered by the deadline is given up on (it undoes its work when it finishes).
const GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RangeReq {
    pub subnet: String,
    pub range_start: Option<String>,
    pub range_end: Option<String>,
    pub gateway: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteReq {
    pub dst: String,
    pub gw: Option<String>,
}

/// An attach or detach request (JSON, camelCase). `hostNetns` empty: the caller's own network namespace.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub host_netns: String,
    #[serde(default)]
    pub netns: String,
    pub container_id: String,
    pub if_name: String,
    pub network: String,
    pub data_dir: String,
    pub bridge: String,
    #[serde(default)]
    pub is_gateway: bool,
    #[serde(default)]
    pub mtu: u32,
    #[serde(default)]
    pub ranges: Vec<Vec<RangeReq>>,
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteReq>,
    /// Detach: the host end's name from the cached result, deleted when the container's netns is gone.
    #[serde(default)]
    pub host_veth: String,
    pub timeout_ms: u64,
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && s != "."
        && s != ".."
}

fn abs_path(s: &str, what: &str) -> OpResult<()> {
    if !s.starts_with('/') || s.contains('\0') {
        return Err(OpError::invalid(format!(
            "{what} {s:?} is not an absolute path"
        )));
    }
    Ok(())
}

impl Request {
    pub fn parse(json: &str) -> OpResult<Self> {
        let r: Request = serde_json::from_str(json)
            .map_err(|e| OpError::invalid(format!("bad network request: {e}")))?;
        validate_id(&r.container_id)?;
        for (v, what) in [(&r.if_name, "ifName"), (&r.bridge, "bridge")] {
            if !valid_ifname(v) {
                return Err(OpError::invalid(format!(
                    "{what} {v:?} is not an interface name"
                )));
            }
        }
        if !r.host_veth.is_empty() && !valid_ifname(&r.host_veth) {
            return Err(OpError::invalid(format!(
                "hostVeth {:?} is not an interface name",
                r.host_veth
            )));
        }
        abs_path(&r.data_dir, "dataDir")?;
        if !r.host_netns.is_empty() {
            abs_path(&r.host_netns, "hostNetns")?;
        }
        if !r.netns.is_empty() {
            abs_path(&r.netns, "netns")?;
        }
        if r.timeout_ms == 0 {
            return Err(OpError::invalid("timeoutMs must be > 0"));
        }
        if r.mtu != 0 && !(68..=65535).contains(&r.mtu) {
            return Err(OpError::invalid(format!("mtu {} is out of range", r.mtu)));
        }
        Ok(r)
    }

    fn range_sets(&self) -> OpResult<Vec<Vec<Range>>> {
        if self.ranges.is_empty() || self.ranges.iter().any(|s| s.is_empty()) {
            return Err(OpError::invalid("no IP ranges specified"));
        }
        self.ranges
            .iter()
            .map(|set| {
                set.iter()
                    .map(|r| {
                        Range::canonical(
                            &r.subnet,
                            r.range_start.as_deref(),
                            r.range_end.as_deref(),
                            r.gateway.as_deref(),
                        )
                    })
                    .collect()
            })
            .collect()
    }

    fn requested(&self) -> OpResult<Vec<u32>> {
        self.ips
            .iter()
            .map(|s| {
                let ip = s.split('/').next().unwrap_or("");
                ip.parse::<Ipv4Addr>().map(u32::from).map_err(|_| {
                    OpError::invalid(format!("requested IP {s:?} is not an IPv4 address"))
                })
            })
            .collect()
    }

    fn routes(&self) -> OpResult<Vec<(Ipv4Addr, u8, Option<Ipv4Addr>)>> {
        self.routes
            .iter()
            .map(|r| {
                let (dst, len) = parse_cidr(&r.dst, "route dst")?;
                let gw = match &r.gw {
                    Some(g) if !g.is_empty() => Some(g.parse::<Ipv4Addr>().map_err(|_| {
                        OpError::invalid(format!("route gw {g:?} is not an IPv4 address"))
                    })?),
                    _ => None,
                };
                Ok((Ipv4Addr::from(dst), len, gw))
            })
            .collect()
    }

    fn deadline(&self, start: Instant) -> Instant {
        start + Duration::from_millis(self.timeout_ms)
    }
}

fn nl(e: NlError) -> OpError {
    let code = match e.errno {
        libc::ETIMEDOUT => YFFM_ERR_TIMEOUT,
        libc::EEXIST => YFFM_ERR_ALREADY_EXISTS,
        _ => YFFM_ERR_IO,
    };
    OpError::new(code, e.to_string())
}

fn open_ns(path: &str) -> std::io::Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd = cvt(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setns(fd: RawFd, what: &str) -> OpResult<()> {
    cvt(unsafe { libc::setns(fd, libc::CLONE_NEWNET) })
        .map(|_| ())
        .map_err(|e| io_err(&format!("enter the network namespace {what}"), &e))
}

/// The container's netns, opened now (it stays alive while we hold it). A path that is gone is NOT_FOUND.
fn open_container_ns(path: &str) -> OpResult<OwnedFd> {
    open_ns(path).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => OpError::new(
            YFFM_ERR_NOT_FOUND,
            format!("the container's network namespace {path} is gone"),
        ),
        _ => io_err(
            &format!("open the container's network namespace {path}"),
            &e,
        ),
    })
}

fn open_host_ns(path: &str) -> OpResult<Option<OwnedFd>> {
    if path.is_empty() {
        return Ok(None);
    }
    open_ns(path)
        .map(Some)
        .map_err(|e| io_err(&format!("open the host network namespace {path}"), &e))
}

/// A sysctl under /proc/sys/net of the calling thread's network namespace; failures are ignored, as the plugins
/// ignore them.
fn sysctl(key: &str, value: &str) {
    let path = format!("/proc/sys/net/{key}");
    if fs::read_to_string(&path)
        .map(|v| v.trim() == value)
        .unwrap_or(false)
    {
        return;
    }
    let _ = fs::write(&path, value);
}

fn random_veth_name() -> String {
    let mut b = [0u8; 4];
    let n = unsafe { libc::getrandom(b.as_mut_ptr() as *mut libc::c_void, 4, 0) };
    if n != 4 {
        let t = Instant::now().elapsed().as_nanos() as u32 ^ std::process::id();
        b = t.to_ne_bytes();
    }
    format!("veth{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])
}

/// Runs `work` on a new thread, which first enters `host` (the host netns, if given), and waits until `deadline`
/// (plus a short grace). A worker still running then is abandoned: the caller gets `YFFM_ERR_TIMEOUT` and the
/// worker passes its result to `undo` when it finishes.
fn on_thread<T: Send + 'static>(
    deadline: Instant,
    what: &str,
    host: Option<(OwnedFd, String)>,
    work: impl FnOnce() -> OpResult<T> + Send + 'static,
    undo: impl FnOnce(T) + Send + 'static,
) -> OpResult<T> {
    struct Slot<T> {
        done: Option<OpResult<T>>,
        abandoned: bool,
    }
    let slot = Arc::new((
        Mutex::new(Slot {
            done: None,
            abandoned: false,
        }),
        Condvar::new(),
    ));
    let theirs = slot.clone();
    std::thread::Builder::new()
        .name("yffm-netfast".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let enter_then_work = move || {
                if let Some((fd, path)) = &host {
                    setns(fd.as_raw_fd(), path)?;
                }
                work()
            };
            let r = catch_unwind(AssertUnwindSafe(enter_then_work)).unwrap_or_else(|p| {
                Err(OpError::new(
                    YFFM_ERR_PANIC,
                    format!("panic in youki_ffm: {}", panic_message(&*p)),
                ))
            });
            let (m, cv) = &*theirs;
            let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
            if s.abandoned {
                drop(s);
                if let Ok(v) = r {
                    let _ = catch_unwind(AssertUnwindSafe(|| undo(v)));
                }
            } else {
                s.done = Some(r);
                cv.notify_all();
            }
        })
        .map_err(|e| io_err("spawn the network thread", &e))?;
    let (m, cv) = &*slot;
    let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
    let until = deadline + GRACE;
    while s.done.is_none() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            s.abandoned = true;
            return Err(OpError::new(
                YFFM_ERR_TIMEOUT,
                format!("{what} did not finish in time; it is undone when it does"),
            ));
        }
        s = cv
            .wait_timeout(s, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    s.done.take().unwrap()
}

/// What an attach made: enough to report it and to undo it.
#[derive(Debug)]
pub struct Attached {
    pub leases: Vec<Lease>,
    pub bridge_mac: String,
    pub host_veth: String,
    pub host_mac: String,
    pub container_mac: String,
}

impl Attached {
    pub fn to_json(&self) -> String {
        let ips: Vec<serde_json::Value> = self
            .leases
            .iter()
            .map(|l| {
                serde_json::json!({
                    "address": format!("{}/{}", l.ip, l.prefix),
                    "gateway": l.gateway.to_string(),
                })
            })
            .collect();
        serde_json::json!({
            "ips": ips,
            "bridgeMac": self.bridge_mac,
            "hostVeth": self.host_veth,
            "hostMac": self.host_mac,
            "containerMac": self.container_mac,
        })
        .to_string()
    }
}

/// ADD: leases, bridge, veth pair (host end on the bridge, container end created in the container's netns under
/// its final name), addresses, routes, gateway address on the bridge. On failure everything made is undone.
pub fn attach(req: Request) -> OpResult<Attached> {
    let deadline = req.deadline(Instant::now());
    let sets = req.range_sets()?;
    let requested = req.requested()?;
    let routes = req.routes()?;
    if req.netns.is_empty() {
        return Err(OpError::invalid("attach needs the container's netns"));
    }
    let host = open_host_ns(&req.host_netns)?.map(|fd| (fd, req.host_netns.clone()));
    let cns = open_container_ns(&req.netns)?;
    let undo_req = (
        req.host_netns.clone(),
        req.container_id.clone(),
        req.if_name.clone(),
        req.network.clone(),
        req.data_dir.clone(),
    );
    on_thread(
        deadline,
        "the network attach",
        host,
        move || {
            let mut made = Made::default();
            let r = attach_here(
                &req,
                &sets,
                &requested,
                &routes,
                cns.as_raw_fd(),
                deadline,
                &mut made,
            );
            if r.is_err() {
                made.undo(&req, deadline);
            }
            r
        },
        move |a: Attached| {
            let (host_netns, id, if_name, network, data_dir) = undo_req;
            let _ = detach_inner(
                &host_netns,
                None,
                &id,
                &if_name,
                &a.host_veth,
                &network,
                &data_dir,
                Instant::now() + Duration::from_secs(10),
            );
        },
    )
}

/// What an attach made so far (undone on failure).
#[derive(Default)]
struct Made {
    leased: bool,
    veth: Option<String>,
}

impl Made {
    fn undo(&self, req: &Request, deadline: Instant) {
        let late = deadline.max(Instant::now() + Duration::from_secs(5));
        if let Some(v) = &self.veth {
            if let Ok(mut s) = Socket::open(late) {
                if let Ok(Some(l)) = s.link(v) {
                    let _ = s.del_link(l.index, v);
                }
            }
        }
        if self.leased {
            if let Ok(store) = Store::lock(&req.data_dir, &req.network, late) {
                store.release(&req.container_id, &req.if_name);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn attach_here(
    req: &Request,
    sets: &[Vec<Range>],
    requested: &[u32],
    routes: &[(Ipv4Addr, u8, Option<Ipv4Addr>)],
    cns: RawFd,
    deadline: Instant,
    made: &mut Made,
) -> OpResult<Attached> {
    let home = open_ns("/proc/thread-self/ns/net").map_err(|e| io_err("open our own netns", &e))?;
    let mut hs = Socket::open(deadline).map_err(nl)?;

    let leases = {
        let store = Store::lock(&req.data_dir, &req.network, deadline)?;
        let l = store.allocate(&req.container_id, &req.if_name, sets, requested)?;
        made.leased = true;
        l
    };

    // The bridge, as the plugin's ensureBridge: created if missing, must be a bridge, up.
    let br = &req.bridge;
    let mut bridge = hs.link(br).map_err(nl)?;
    if bridge.is_none() {
        match hs.add_bridge(br, req.mtu) {
            Ok(()) => {}
            Err(e) if e.errno == libc::EEXIST => {}
            Err(e) => return Err(nl(e)),
        }
        bridge = hs.link(br).map_err(nl)?;
    }
    let bridge =
        bridge.ok_or_else(|| OpError::new(YFFM_ERR_IO, format!("bridge {br} vanished")))?;
    if bridge.kind != "bridge" {
        return Err(OpError::new(
            YFFM_ERR_ALREADY_EXISTS,
            format!("{br:?} already exists but is not a bridge"),
        ));
    }
    sysctl(&format!("ipv6/conf/{br}/accept_ra"), "0");
    hs.set_up(bridge.index, br).map_err(nl)?;

    // The veth pair: the container end is made in the container's netns under its final name.
    let mut host_veth = String::new();
    for _ in 0..10 {
        let name = random_veth_name();
        match hs.add_veth(&name, &req.if_name, cns, req.mtu, bridge.index) {
            Ok(()) => {
                host_veth = name;
                break;
            }
            Err(e) if e.errno == libc::EEXIST => {
                if hs.link(&name).map_err(nl)?.is_some() {
                    continue; // our random host name was taken: another one
                }
                return Err(OpError::new(
                    YFFM_ERR_ALREADY_EXISTS,
                    format!(
                        "container veth name provided ({}) already exists",
                        req.if_name
                    ),
                ));
            }
            Err(e) => return Err(nl(e)),
        }
    }
    if host_veth.is_empty() {
        return Err(OpError::new(
            YFFM_ERR_IO,
            "failed to find a unique veth name",
        ));
    }
    made.veth = Some(host_veth.clone());
    let hl = hs
        .link(&host_veth)
        .map_err(nl)?
        .ok_or_else(|| OpError::new(YFFM_ERR_IO, format!("{host_veth} vanished")))?;
    sysctl(&format!("ipv6/conf/{host_veth}/accept_ra"), "0");

    // Inside the container: sysctls, addresses, up, routes.
    setns(cns, &req.netns)?;
    let cs = Socket::open(deadline).map_err(nl);
    if cs.is_ok() {
        sysctl(&format!("ipv6/conf/{}/accept_dad", req.if_name), "0");
        sysctl(&format!("ipv4/conf/{}/arp_notify", req.if_name), "1");
    }
    setns(home.as_raw_fd(), "of the host side")?;
    let mut cs = cs?;
    let ifn = &req.if_name;
    let cl = cs.link(ifn).map_err(nl)?.ok_or_else(|| {
        OpError::new(
            YFFM_ERR_IO,
            format!("{ifn} is not in the container's netns"),
        )
    })?;
    for l in &leases {
        cs.add_addr4(cl.index, l.ip, l.prefix, ifn).map_err(nl)?;
    }
    cs.set_up(cl.index, ifn).map_err(nl)?;
    let v4gw = leases.first().map(|l| l.gateway);
    for (dst, len, gw) in routes {
        cs.add_route4(cl.index, *dst, *len, gw.or(v4gw), ifn)
            .map_err(nl)?;
    }

    // The gateway address on the bridge (isGateway), its MAC pinned, forwarding on.
    if req.is_gateway {
        let mut have = hs.addrs4(bridge.index).map_err(nl)?;
        for l in &leases {
            if have.contains(&(l.gateway, l.prefix)) {
                continue;
            }
            if !have.is_empty() {
                return Err(OpError::new(
                    YFFM_ERR_ALREADY_EXISTS,
                    format!(
                        "{br:?} already has an IP address different from {}/{}",
                        l.gateway, l.prefix
                    ),
                ));
            }
            have.push((l.gateway, l.prefix));
            match hs.add_addr4(bridge.index, l.gateway, l.prefix, br) {
                Ok(()) => {}
                Err(e) if e.errno == libc::EEXIST => continue, // a concurrent attach added it (as the plugin allows)
                Err(e) => return Err(nl(e)),
            }
            // As the plugin: the bridge's MAC as it was before our port joined, pinned so that it stops following
            // its lowest port's.
            hs.set_mac(bridge.index, &bridge.mac, br).map_err(nl)?;
        }
        sysctl("ipv4/ip_forward", "1");
    }
    let bridge_mac = hs
        .link(br)
        .map_err(nl)?
        .map(|b| b.mac)
        .unwrap_or(bridge.mac);
    Ok(Attached {
        leases,
        bridge_mac,
        host_veth,
        host_mac: hl.mac,
        container_mac: cl.mac,
    })
}

/// DEL, as the plugin's: the container's interface deleted (its veth peer goes with it), then the leases released.
/// With the container's netns gone, the host end named by the cached result is deleted if it is still a veth.
pub fn detach(req: Request) -> OpResult<()> {
    let deadline = req.deadline(Instant::now());
    let host = open_host_ns(&req.host_netns)?.map(|fd| (fd, req.host_netns.clone()));
    let cns = if req.netns.is_empty() {
        None
    } else {
        match open_container_ns(&req.netns) {
            Ok(fd) => Some(fd),
            Err(e) if e.code == YFFM_ERR_NOT_FOUND => None,
            Err(e) => return Err(e),
        }
    };
    on_thread(
        deadline,
        "the network detach",
        host,
        move || {
            detach_inner(
                "",
                cns.as_ref().map(|f| f.as_raw_fd()),
                &req.container_id,
                &req.if_name,
                &req.host_veth,
                &req.network,
                &req.data_dir,
                deadline,
            )
        },
        |_| {},
    )
}

/// The body of a detach on the current thread (in the host netns, or entering `host_netns` first).
#[allow(clippy::too_many_arguments)]
fn detach_inner(
    host_netns: &str,
    cns: Option<RawFd>,
    id: &str,
    if_name: &str,
    host_veth: &str,
    network: &str,
    data_dir: &str,
    deadline: Instant,
) -> OpResult<()> {
    if !host_netns.is_empty() {
        let h = open_host_ns(host_netns)?.expect("not empty");
        setns(h.as_raw_fd(), host_netns)?;
    }
    match cns {
        Some(fd) => {
            let home = open_ns("/proc/thread-self/ns/net")
                .map_err(|e| io_err("open our own netns", &e))?;
            setns(fd, "of the container")?;
            let cs = Socket::open(deadline).map_err(nl);
            setns(home.as_raw_fd(), "of the host side")?;
            let mut cs = cs?;
            if let Some(l) = cs.link(if_name).map_err(nl)? {
                cs.del_link(l.index, if_name).map_err(nl)?;
            }
        }
        None if !host_veth.is_empty() => {
            let mut hs = Socket::open(deadline).map_err(nl)?;
            if let Some(l) = hs.link(host_veth).map_err(nl)? {
                if l.kind == "veth" {
                    hs.del_link(l.index, host_veth).map_err(nl)?;
                }
            }
        }
        None => {}
    }
    let store = Store::lock(data_dir, network, deadline)?;
    store.release(id, if_name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_validated_before_anything_runs() {
        let ok = r#"{"netns":"/proc/1/ns/net","containerId":"c1","ifName":"eth0","network":"n","dataDir":"/tmp/x",
            "bridge":"br0","ranges":[[{"subnet":"10.1.0.0/24"}]],"timeoutMs":1000}"#;
        assert!(Request::parse(ok).is_ok());
        for bad in [
            ok.replace("eth0", "eth0/../x"),
            ok.replace("c1", "../c1"),
            ok.replace("/tmp/x", "tmp/x"),
            ok.replace("br0", "a-very-long-bridge-name"),
            ok.replace("1000", "0"),
            ok.replace("\"network\"", "\"nope\":1,\"network\""),
        ] {
            assert_eq!(
                Request::parse(&bad).unwrap_err().code,
                YFFM_ERR_INVALID_ARGUMENT,
                "{bad}"
            );
        }
    }

    #[test]
    fn an_abandoned_worker_undoes_its_result() {
        let (tx, rx) = std::sync::mpsc::channel();
        let r = on_thread(
            Instant::now(),
            "slow",
            None,
            || {
                std::thread::sleep(GRACE + Duration::from_millis(200));
                Ok(7)
            },
            move |v| tx.send(v).unwrap(),
        );
        assert_eq!(r.unwrap_err().code, YFFM_ERR_TIMEOUT);
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
        let p = on_thread(
            Instant::now() + Duration::from_secs(5),
            "p",
            None,
            || -> OpResult<()> { panic!("x") },
            |_| {},
        );
        assert_eq!(p.unwrap_err().code, YFFM_ERR_PANIC);
    }
}
