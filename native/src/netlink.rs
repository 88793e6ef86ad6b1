//! A minimal synchronous rtnetlink client over libc: just the link, address and route requests the network fast
//! path needs (no async runtime, no dependency). A socket belongs to the network namespace of the thread that
//! opened it, so one socket per namespace is opened while the thread is in it and then used from anywhere.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::util::cvt;

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTMSG_LEN: usize = 12;
/// `VETH_INFO_PEER` (linux/veth.h): the peer's ifinfomsg and attributes.
const VETH_INFO_PEER: u16 = 1;
const RECV_BUF: usize = 64 * 1024;

/// A netlink request under construction: header, fixed part, then attributes (nested ones via `begin`/`end`).
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl Msg {
    fn new(ty: u16, flags: u16) -> Self {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | libc::NLM_F_REQUEST as u16).to_ne_bytes());
        Self {
            buf,
            nests: Vec::new(),
        }
    }

    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
        self
    }

    /// `struct ifinfomsg`: family 0, the index, and the flags to change.
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) -> &mut Self {
        let mut b = [0u8; IFINFOMSG_LEN];
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        b[8..12].copy_from_slice(&flags.to_ne_bytes());
        b[12..16].copy_from_slice(&change.to_ne_bytes());
        self.raw(&b)
    }

    fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.raw(data)
    }

    fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(ty, &b)
    }

    fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    fn begin(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("unbalanced nest");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// Attributes of one message: (type without the nested/byte-order bits, payload).
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((ty, &b[4..len]));
        b = &b[align4(len).min(b.len())..];
    }
    out
}

fn cstr_attr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A link as `RTM_GETLINK` reports it.
#[derive(Debug, Clone)]
pub struct Link {
    pub index: i32,
    pub mac: String,
    pub kind: String,
    pub master: i32,
}

fn parse_link(payload: &[u8]) -> Option<Link> {
    if payload.len() < IFINFOMSG_LEN {
        return None;
    }
    let index = i32::from_ne_bytes(payload[4..8].try_into().ok()?);
    let mut link = Link {
        index,
        mac: String::new(),
        kind: String::new(),
        master: 0,
    };
    for (ty, data) in attrs(&payload[IFINFOMSG_LEN..]) {
        match ty {
            libc::IFLA_ADDRESS => {
                link.mac = data
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":");
            }
            libc::IFLA_MASTER if data.len() >= 4 => {
                link.master = i32::from_ne_bytes(data[..4].try_into().ok()?);
            }
            libc::IFLA_LINKINFO => {
                for (t, d) in attrs(data) {
                    if t == libc::IFLA_INFO_KIND {
                        link.kind = cstr_attr(d);
                    }
                }
            }
            _ => {}
        }
    }
    Some(link)
}

/// A netlink error with the request it answered.
#[derive(Debug)]
pub struct NlError {
    pub errno: i32,
    pub what: String,
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.what,
            io::Error::from_raw_os_error(self.errno)
        )
    }
}

pub type NlResult<T> = Result<T, NlError>;

fn nl_err(what: impl Into<String>, e: io::Error) -> NlError {
    NlError {
        errno: e.raw_os_error().unwrap_or(libc::EIO),
        what: what.into(),
    }
}

/// One NETLINK_ROUTE socket, bound to the network namespace it was opened in. Every receive is bounded by the
/// deadline given at open.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
    deadline: Instant,
    buf: Vec<u8>,
}

impl Socket {
    /// Opens a socket in the calling thread's current network namespace.
    pub fn open(deadline: Instant) -> NlResult<Self> {
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        let fd = cvt(fd).map_err(|e| nl_err("netlink socket", e))?;
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        cvt(r).map_err(|e| nl_err("bind netlink socket", e))?;
        Ok(Self {
            fd,
            seq: 0,
            deadline,
            buf: vec![0u8; RECV_BUF],
        })
    }

    fn set_timeout(&self) -> NlResult<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NlError {
                errno: libc::ETIMEDOUT,
                what: "netlink deadline".into(),
            });
        }
        let tv = libc::timeval {
            tv_sec: left.as_secs() as libc::time_t,
            tv_usec: left.subsec_micros().max(1) as libc::suseconds_t,
        };
        let r = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        cvt(r).map(|_| ()).map_err(|e| nl_err("SO_RCVTIMEO", e))
    }

    /// Sends `msg` and collects the answers until the ACK (or, for a dump, NLMSG_DONE): the payloads of the
    /// messages of type `want`.
    fn request(
        &mut self,
        msg: &mut Msg,
        what: &str,
        want: u16,
        dump: bool,
    ) -> NlResult<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = msg.finish(seq);
        let r = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                bytes.as_ptr() as *const libc::c_void,
                bytes.len(),
                0,
            )
        };
        if r < 0 {
            return Err(nl_err(what, io::Error::last_os_error()));
        }
        let mut out = Vec::new();
        loop {
            self.set_timeout()?;
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr() as *mut libc::c_void,
                    self.buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                let e = if e.raw_os_error() == Some(libc::EAGAIN) {
                    io::Error::from_raw_os_error(libc::ETIMEDOUT)
                } else {
                    e
                };
                return Err(nl_err(what, e));
            }
            let mut b = &self.buf[..n as usize];
            while b.len() >= NLMSG_HDRLEN {
                let len = u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize;
                let ty = u16::from_ne_bytes([b[4], b[5]]);
                let mseq = u32::from_ne_bytes(b[8..12].try_into().unwrap());
                if len < NLMSG_HDRLEN || len > b.len() {
                    break;
                }
                let payload = &b[NLMSG_HDRLEN..len];
                b = &b[align4(len).min(b.len())..];
                if mseq != seq {
                    continue; // a late answer to an earlier request
                }
                if ty == libc::NLMSG_ERROR as u16 {
                    let code = i32::from_ne_bytes(payload[0..4].try_into().unwrap());
                    if code == 0 {
                        return Ok(out);
                    }
                    return Err(NlError {
                        errno: -code,
                        what: what.into(),
                    });
                }
                if ty == libc::NLMSG_DONE as u16 {
                    return Ok(out);
                }
                if ty == want {
                    out.push(payload.to_vec());
                    if !dump {
                        // a GET answers with one message and no ACK (we do not ask for one)
                        return Ok(out);
                    }
                }
            }
        }
    }

    fn ack(&mut self, msg: &mut Msg, what: &str) -> NlResult<()> {
        self.request(msg, what, 0, false).map(|_| ())
    }

    /// The link called `name`, or None.
    pub fn link(&mut self, name: &str) -> NlResult<Option<Link>> {
        let mut m = Msg::new(libc::RTM_GETLINK, 0);
        m.ifinfo(0, 0, 0).attr_str(libc::IFLA_IFNAME, name);
        match self.request(
            &mut m,
            &format!("get link {name}"),
            libc::RTM_NEWLINK,
            false,
        ) {
            Ok(v) => Ok(v.first().and_then(|p| parse_link(p))),
            Err(e) if e.errno == libc::ENODEV => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a bridge (EEXIST is the caller's to judge).
    pub fn add_bridge(&mut self, name: &str, mtu: u32) -> NlResult<()> {
        let mut m = Msg::new(
            libc::RTM_NEWLINK,
            (libc::NLM_F_CREATE | libc::NLM_F_EXCL | libc::NLM_F_ACK) as u16,
        );
        m.ifinfo(0, 0, 0).attr_str(libc::IFLA_IFNAME, name);
        if mtu > 0 {
            m.attr_u32(libc::IFLA_MTU, mtu);
        }
        m.begin(libc::IFLA_LINKINFO)
            .attr_str(libc::IFLA_INFO_KIND, "bridge")
            .end();
        self.ack(&mut m, &format!("create bridge {name}"))
    }

    /// Creates a veth pair: `host` here, up, enslaved to `master`; `peer` created directly in the namespace of
    /// `peer_ns` (down).
    pub fn add_veth(
        &mut self,
        host: &str,
        peer: &str,
        peer_ns: RawFd,
        mtu: u32,
        master: i32,
    ) -> NlResult<()> {
        let mut m = Msg::new(
            libc::RTM_NEWLINK,
            (libc::NLM_F_CREATE | libc::NLM_F_EXCL | libc::NLM_F_ACK) as u16,
        );
        // txqueuelen 0 on both ends, as the plugins' netlink library creates them
        m.ifinfo(0, libc::IFF_UP as u32, libc::IFF_UP as u32)
            .attr_str(libc::IFLA_IFNAME, host)
            .attr_u32(libc::IFLA_TXQLEN, 0)
            .attr_u32(libc::IFLA_MASTER, master as u32);
        if mtu > 0 {
            m.attr_u32(libc::IFLA_MTU, mtu);
        }
        m.begin(libc::IFLA_LINKINFO)
            .attr_str(libc::IFLA_INFO_KIND, "veth");
        m.begin(libc::IFLA_INFO_DATA).begin(VETH_INFO_PEER);
        m.ifinfo(0, 0, 0)
            .attr_str(libc::IFLA_IFNAME, peer)
            .attr_u32(libc::IFLA_TXQLEN, 0)
            .attr_u32(libc::IFLA_NET_NS_FD, peer_ns as u32);
        if mtu > 0 {
            m.attr_u32(libc::IFLA_MTU, mtu);
        }
        m.end().end().end();
        self.ack(&mut m, &format!("create veth pair {host}/{peer}"))
    }

    pub fn set_up(&mut self, index: i32, what: &str) -> NlResult<()> {
        let mut m = Msg::new(libc::RTM_NEWLINK, libc::NLM_F_ACK as u16);
        m.ifinfo(index, libc::IFF_UP as u32, libc::IFF_UP as u32);
        self.ack(&mut m, &format!("set {what} up"))
    }

    /// Sets a link's MAC address (to pin a bridge's address: it otherwise follows its lowest port's).
    pub fn set_mac(&mut self, index: i32, mac: &str, what: &str) -> NlResult<()> {
        let bytes: Vec<u8> = mac
            .split(':')
            .filter_map(|h| u8::from_str_radix(h, 16).ok())
            .collect();
        let mut m = Msg::new(libc::RTM_NEWLINK, libc::NLM_F_ACK as u16);
        m.ifinfo(index, 0, 0).attr(libc::IFLA_ADDRESS, &bytes);
        self.ack(&mut m, &format!("set the mac of {what}"))
    }

    pub fn del_link(&mut self, index: i32, what: &str) -> NlResult<()> {
        let mut m = Msg::new(libc::RTM_DELLINK, libc::NLM_F_ACK as u16);
        m.ifinfo(index, 0, 0);
        self.ack(&mut m, &format!("delete {what}"))
    }

    /// Adds an IPv4 address (with its broadcast, as iproute2 and the CNI plugins do for prefixes below /31).
    pub fn add_addr4(&mut self, index: i32, ip: Ipv4Addr, prefix: u8, what: &str) -> NlResult<()> {
        let mut m = Msg::new(
            libc::RTM_NEWADDR,
            (libc::NLM_F_CREATE | libc::NLM_F_EXCL | libc::NLM_F_ACK) as u16,
        );
        let mut h = [0u8; IFADDRMSG_LEN];
        h[0] = libc::AF_INET as u8;
        h[1] = prefix;
        h[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
        m.raw(&h)
            .attr(libc::IFA_LOCAL, &ip.octets())
            .attr(libc::IFA_ADDRESS, &ip.octets());
        if prefix < 31 {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            let brd = Ipv4Addr::from(u32::from(ip) | !mask);
            m.attr(libc::IFA_BROADCAST, &brd.octets());
        }
        self.ack(&mut m, &format!("add address {ip}/{prefix} to {what}"))
    }

    /// The IPv4 addresses (address, prefix) on link `index`.
    pub fn addrs4(&mut self, index: i32) -> NlResult<Vec<(Ipv4Addr, u8)>> {
        let mut m = Msg::new(libc::RTM_GETADDR, libc::NLM_F_DUMP as u16);
        let mut h = [0u8; IFADDRMSG_LEN];
        h[0] = libc::AF_INET as u8;
        m.raw(&h);
        let msgs = self.request(&mut m, "list addresses", libc::RTM_NEWADDR, true)?;
        let mut out = Vec::new();
        for p in msgs {
            if p.len() < IFADDRMSG_LEN {
                continue;
            }
            let idx = u32::from_ne_bytes(p[4..8].try_into().unwrap()) as i32;
            if idx != index || p[0] != libc::AF_INET as u8 {
                continue;
            }
            let mut local = None;
            let mut addr = None;
            for (ty, d) in attrs(&p[IFADDRMSG_LEN..]) {
                if d.len() == 4 {
                    let a = Ipv4Addr::new(d[0], d[1], d[2], d[3]);
                    if ty == libc::IFA_LOCAL {
                        local = Some(a);
                    } else if ty == libc::IFA_ADDRESS {
                        addr = Some(a);
                    }
                }
            }
            if let Some(a) = local.or(addr) {
                out.push((a, p[1]));
            }
        }
        Ok(out)
    }

    /// Adds an IPv4 route in the main table (appended, like the plugins' `RouteAddEcmp`).
    pub fn add_route4(
        &mut self,
        index: i32,
        dst: Ipv4Addr,
        dst_len: u8,
        gw: Option<Ipv4Addr>,
        what: &str,
    ) -> NlResult<()> {
        let mut m = Msg::new(
            libc::RTM_NEWROUTE,
            (libc::NLM_F_CREATE | libc::NLM_F_APPEND | libc::NLM_F_ACK) as u16,
        );
        let mut h = [0u8; RTMSG_LEN];
        h[0] = libc::AF_INET as u8;
        h[1] = dst_len;
        h[4] = libc::RT_TABLE_MAIN;
        h[5] = libc::RTPROT_BOOT;
        h[6] = libc::RT_SCOPE_UNIVERSE;
        h[7] = libc::RTN_UNICAST;
        m.raw(&h).attr(libc::RTA_DST, &dst.octets());
        if let Some(g) = gw {
            m.attr(libc::RTA_GATEWAY, &g.octets());
        }
        m.attr_u32(libc::RTA_OIF, index as u32);
        let via = gw.map(|g| format!(" via {g}")).unwrap_or_default();
        self.ack(
            &mut m,
            &format!("add route {dst}/{dst_len}{via} dev {what}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_are_sized_and_aligned() {
        let mut m = Msg::new(libc::RTM_NEWLINK, 0);
        m.ifinfo(0, 0, 0)
            .begin(libc::IFLA_LINKINFO)
            .attr_str(libc::IFLA_INFO_KIND, "veth")
            .end();
        let b = m.finish(7).to_vec();
        assert_eq!(
            u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(b.len() % 4, 0);
        let top = attrs(&b[NLMSG_HDRLEN + IFINFOMSG_LEN..]);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0, libc::IFLA_LINKINFO);
        let inner = attrs(top[0].1);
        assert_eq!(inner[0].0, libc::IFLA_INFO_KIND);
        assert_eq!(cstr_attr(inner[0].1), "veth");
    }
}
