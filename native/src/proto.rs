//! The caller ↔ `yffm-helper` protocol: one JSON request, one JSON response, over an
//! `AF_UNIX`/`SOCK_SEQPACKET` socketpair. A message is one or more datagrams of at most [`CHUNK`] payload bytes,
//! each prefixed by one flag byte (1 = more datagrams follow, 0 = last), so any size fits regardless of socket
//! buffer limits. File descriptors ride on the first datagram via `SCM_RIGHTS`.

use std::io;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::{Deserialize, Serialize};

/// Payload bytes per datagram.
pub const CHUNK: usize = 60 * 1024;
/// Largest message accepted (a `list` of thousands of containers fits easily).
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Most fds one message may carry (create sends the reply socket and 3 stdio fds).
pub const MAX_FDS: usize = 4;

/// The fd number the helper finds its end of the socketpair at.
pub const HELPER_SOCKET_FD: RawFd = 3;

/// What a caller asks the helper. Mutating requests run in a worker process forked for the call; `ExitStatus`,
/// `ExecStatus` and `Ping` are answered by the helper itself without waiting on any worker.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Carries 3 fds after the reply socket: stdin, stdout, stderr. `console_socket`: where the init sends its
    /// pty master (a config with `process.terminal`), as libcontainer's console socket.
    Create {
        id: String,
        bundle: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        console_socket: Option<String>,
    },
    Start {
        id: String,
    },
    Kill {
        id: String,
        signal: i32,
        all: bool,
    },
    Delete {
        id: String,
        force: bool,
    },
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    Ps {
        id: String,
    },
    Stats {
        id: String,
    },
    Update {
        id: String,
        resources: String,
    },
    ExitStatus {
        id: String,
    },
    /// Carries 3 fds after the reply socket: stdin, stdout, stderr. `process` is the path of an OCI process.json;
    /// `console_socket` as for `Create` (a process with `terminal`).
    Exec {
        id: String,
        process: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        console_socket: Option<String>,
    },
    ExecStatus {
        token: u64,
    },
    /// Liveness check: answered at once by the helper's own loop.
    Ping,
    /// Test hook: the worker panics (`in_child: false`), or a process forked by the worker panics, as a panicking
    /// container init would (`in_child: true`). Neither may ever answer for the helper.
    #[serde(rename = "__panic")]
    Panic { in_child: bool },
}

impl Request {
    /// The container a request is about: requests for one id run one at a time, in arrival order.
    pub fn container_id(&self) -> Option<&str> {
        match self {
            Request::Create { id, .. }
            | Request::Start { id }
            | Request::Kill { id, .. }
            | Request::Delete { id, .. }
            | Request::Pause { id }
            | Request::Resume { id }
            | Request::Ps { id }
            | Request::Stats { id }
            | Request::Update { id, .. }
            | Request::Exec { id, .. } => Some(id),
            _ => None,
        }
    }

    /// How many stdio fds ride along after the reply socket.
    pub fn stdio_fds(&self) -> usize {
        match self {
            Request::Create { .. } | Request::Exec { .. } => 3,
            _ => 0,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Request::Create { .. } => "create",
            Request::Start { .. } => "start",
            Request::Kill { .. } => "kill",
            Request::Delete { .. } => "delete",
            Request::Pause { .. } => "pause",
            Request::Resume { .. } => "resume",
            Request::Ps { .. } => "ps",
            Request::Stats { .. } => "stats",
            Request::Update { .. } => "update",
            Request::ExitStatus { .. } => "exit status",
            Request::Exec { .. } => "exec",
            Request::ExecStatus { .. } => "exec status",
            Request::Ping => "ping",
            Request::Panic { .. } => "panic",
        }
    }
}

/// One call on the control socket: the request and its deadline. The first fd that rides along is the socket the
/// answer goes to (one per call, so calls never wait on each other's answers).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Call {
    /// Milliseconds the helper may spend on the call, queueing included. Past it the worker is killed, a create
    /// is rolled back, and the answer is `YFFM_ERR_TIMEOUT`.
    pub timeout_ms: u64,
    #[serde(flatten)]
    pub req: Request,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// `YFFM_OK` or a `YFFM_ERR_*` status.
    pub code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// create: init pid (a pidfd for it rides along). exit_status: the exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    /// exec: the token that names the exec'd process in `exec_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<u64>,
    /// ps / stats: the JSON document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
}

fn retry<T>(mut f: impl FnMut() -> nix::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from_raw_os_error(e as i32)),
            Ok(v) => return Ok(v),
        }
    }
}

/// Sends one message (chunked), with `fds` attached to the first datagram.
pub fn send_msg(sock: BorrowedFd<'_>, payload: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let mut chunks: Vec<&[u8]> = payload.chunks(CHUNK).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let n = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let flag = [u8::from(i + 1 < n)];
        let iov = [IoSlice::new(&flag), IoSlice::new(chunk)];
        let cmsgs: Vec<ControlMessage> = if i == 0 && !fds.is_empty() {
            vec![ControlMessage::ScmRights(fds)]
        } else {
            vec![]
        };
        let sent =
            retry(|| sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None))?;
        if sent != 1 + chunk.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short write on a SOCK_SEQPACKET socket",
            ));
        }
    }
    Ok(())
}

/// The length of the next datagram on `sock` (0 at EOF), without consuming it or any fds it carries.
fn peek_len(sock: BorrowedFd<'_>) -> io::Result<usize> {
    let mut one = [0u8; 1];
    retry(|| {
        let mut iov = [IoSliceMut::new(&mut one)];
        recvmsg::<()>(sock.as_raw_fd(), &mut iov, None, MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC).map(|m| m.bytes)
    })
}

/// Receives one message. `Ok(None)` on EOF (the peer closed its end) before the first datagram.
pub fn recv_msg(sock: BorrowedFd<'_>) -> io::Result<Option<(Vec<u8>, Vec<OwnedFd>)>> {
    let mut payload = Vec::new();
    let mut fds = Vec::new();
    let mut first = true;
    loop {
        // A buffer of the datagram's own size: zeroing a CHUNK-sized one per message cost the helper and every
        // freshly forked worker about 15 page faults (copy-on-write after each fork) for a call of a few hundred
        // bytes. Longer than a chunk is a protocol error, which the real receive reports as MSG_TRUNC.
        let mut buf = vec![0u8; peek_len(sock)?.clamp(1, CHUNK + 1)];
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        let (bytes, truncated) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = loop {
                match recvmsg::<()>(
                    sock.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(io::Error::from_raw_os_error(e as i32)),
                    Ok(m) => break m,
                }
            };
            if let Ok(cms) = msg.cmsgs() {
                for c in cms {
                    if let ControlMessageOwned::ScmRights(rfds) = c {
                        fds.extend(
                            rfds.into_iter()
                                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                        );
                    }
                }
            }
            (msg.bytes, msg.flags)
        };
        if truncated.contains(MsgFlags::MSG_CTRUNC) {
            // The kernel drops passed fds the receiver has no room for (RLIMIT_NOFILE): a resource error of this
            // call, not a broken peer.
            return Err(io::Error::from_raw_os_error(libc::EMFILE));
        }
        if truncated.contains(MsgFlags::MSG_TRUNC) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "protocol error: truncated datagram",
            ));
        }
        if bytes == 0 {
            if first {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the socket mid-message",
            ));
        }
        first = false;
        payload.extend_from_slice(&buf[1..bytes]);
        if payload.len() > MAX_MESSAGE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "protocol error: message too large",
            ));
        }
        if buf[0] == 0 {
            return Ok(Some((payload, fds)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsFd;

    #[test]
    fn roundtrip_big_and_fds() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let big: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
        let devnull = std::fs::File::open("/dev/null").unwrap();
        let t = {
            let big = big.clone();
            std::thread::spawn(move || {
                send_msg(a.as_fd(), &big, &[devnull.as_raw_fd()]).unwrap();
                send_msg(a.as_fd(), b"", &[]).unwrap();
                a
            })
        };
        let (p, fds) = recv_msg(b.as_fd()).unwrap().unwrap();
        assert_eq!(p, big);
        assert_eq!(fds.len(), 1);
        let (p2, fds2) = recv_msg(b.as_fd()).unwrap().unwrap();
        assert!(p2.is_empty() && fds2.is_empty());
        drop(t.join().unwrap());
        assert!(recv_msg(b.as_fd()).unwrap().is_none());
    }

    #[test]
    fn console_socket_is_optional_on_the_wire() {
        let plain = Request::Create {
            id: "x".into(),
            bundle: "/b".into(),
            console_socket: None,
        };
        let s = serde_json::to_string(&plain).unwrap();
        assert_eq!(s, r#"{"op":"create","id":"x","bundle":"/b"}"#);
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), plain);
        let tty = Request::Exec {
            id: "x".into(),
            process: "/p.json".into(),
            console_socket: Some("/run/r.tty/ab/s".into()),
        };
        let s = serde_json::to_string(&tty).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), tty);
    }

    #[test]
    fn request_json() {
        let r = Call {
            timeout_ms: 5,
            req: Request::Kill {
                id: "x".into(),
                signal: 9,
                all: false,
            },
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(
            s,
            r#"{"timeout_ms":5,"op":"kill","id":"x","signal":9,"all":false}"#
        );
        assert_eq!(serde_json::from_str::<Call>(&s).unwrap(), r);
    }
}
