//! Both ends of helper mode: [`helper_main`] is the `yffm-helper` process, [`HelperClient`] is the caller's side.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use crate::ops::{prepare_root, Engine};
use crate::proto::{recv_msg, send_msg, Request, Response, HELPER_SOCKET_FD};
use crate::status::*;
use crate::util::{OpError, OpResult};

pub const HELPER_LOG: &str = "yffm-helper.log";

fn hello_text() -> String {
    format!("yffm-helper {}", env!("CARGO_PKG_VERSION"))
}

pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

macro_rules! log {
    ($($t:tt)*) => {
        eprintln!("{} yffm-helper[{}]: {}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"), std::process::id(), format!($($t)*))
    };
}

// ---------------------------------------------------------------------------------------------------------------
// The helper process
// ---------------------------------------------------------------------------------------------------------------

/// Entry point of the `yffm-helper` binary. argv: `yffm-helper ROOT`; its socket is fd 3.
pub fn helper_main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: yffm-helper ROOT  (started by libyouki_ffm with its SOCK_SEQPACKET socket at fd 3)");
        return 2;
    }
    unsafe {
        // Container inits inherit our signal state across clone and exec: give them a clean one. (Rust set
        // SIGPIPE to SIG_IGN before main; we never need it since every send uses MSG_NOSIGNAL.)
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        // Nothing the caller leaked without CLOEXEC may reach a container.
        libc::close_range((HELPER_SOCKET_FD + 1) as u32, u32::MAX, 0);
    }
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(HELPER_SOCKET_FD, &mut st) } != 0
        || (st.st_mode & libc::S_IFMT) != libc::S_IFSOCK
    {
        eprintln!("yffm-helper: fd {HELPER_SOCKET_FD} is not a socket; this binary is started by libyouki_ffm");
        return 2;
    }
    let sock = unsafe { OwnedFd::from_raw_fd(HELPER_SOCKET_FD) };
    unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    let _ = std::env::set_current_dir("/");
    init_tracing();

    let hello = match prepare_root(&args[1]) {
        Ok(root) => Ok(Engine::new(root)),
        Err(e) => Err(e),
    };
    let (mut engine, hello_resp) = match hello {
        Ok(engine) => (
            engine,
            Response {
                code: YFFM_OK,
                msg: Some(hello_text()),
                ..Default::default()
            },
        ),
        Err(e) => {
            log!("cannot use state root {:?}: {}", args[1], e.msg);
            let r = Response {
                code: e.code,
                msg: Some(e.msg),
                ..Default::default()
            };
            let _ = send_msg(sock.as_fd(), &serde_json::to_vec(&r).unwrap(), &[]);
            return 1;
        }
    };
    if let Err(e) = send_msg(sock.as_fd(), &serde_json::to_vec(&hello_resp).unwrap(), &[]) {
        log!("cannot greet the caller: {e}");
        return 1;
    }
    log!("started, root {}", engine.root().display());

    loop {
        let pollable = engine.exits.pollable();
        let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(1 + pollable.len());
        pfds.push(libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        pfds.extend(pollable.iter().map(|(_, fd)| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        }));
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            log!("poll failed: {e}");
            return 1;
        }
        if pfds[1..].iter().any(|p| p.revents != 0) {
            engine.exits.reap_all_exited();
        }
        if pfds[0].revents == 0 {
            continue;
        }
        let (payload, fds) = match recv_msg(sock.as_fd()) {
            Ok(Some(m)) => m,
            Ok(None) => {
                log!("caller closed the socket; exiting");
                return 0;
            }
            Err(e) => {
                log!("receive failed: {e}; exiting");
                return 1;
            }
        };
        let (resp, out_fd) =
            match catch_unwind(AssertUnwindSafe(|| handle(&mut engine, &payload, fds))) {
                Ok(r) => r,
                Err(p) => {
                    let m = format!("panic in yffm-helper: {}", panic_message(&*p));
                    log!("{m}");
                    (
                        Response {
                            code: YFFM_ERR_PANIC,
                            msg: Some(m),
                            ..Default::default()
                        },
                        None,
                    )
                }
            };
        // notify_socket.rs may leave us in a container's state dir
        let _ = std::env::set_current_dir("/");
        let bytes = serde_json::to_vec(&resp).expect("serialize response");
        let fds: Vec<RawFd> = out_fd.iter().map(|f| f.as_raw_fd()).collect();
        if let Err(e) = send_msg(sock.as_fd(), &bytes, &fds) {
            log!("send failed: {e}; exiting");
            return 1;
        }
        drop(out_fd);
    }
}

/// libcontainer logs through `tracing`; send it to the helper log. The writer is a separate CLOEXEC dup of
/// stderr, so messages logged in a container's init after it took over fds 0-2 still reach the log, never the
/// container's stderr.
fn init_tracing() {
    use tracing_subscriber::filter::LevelFilter;
    let level = match std::env::var("YFFM_HELPER_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "off" => return,
        "error" => LevelFilter::ERROR,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        "warn" => LevelFilter::WARN,
        _ => LevelFilter::ERROR,
    };
    let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return;
    }
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}

fn to_resp(r: OpResult<Response>) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => Response {
            code: e.code,
            msg: Some(e.msg),
            ..Default::default()
        },
    }
}

fn ok() -> Response {
    Response {
        code: YFFM_OK,
        ..Default::default()
    }
}

/// The 3 stdio fds a create or exec request carries, in order.
fn take_stdio(fds: Vec<OwnedFd>, op: &str) -> OpResult<[OwnedFd; 3]> {
    <[OwnedFd; 3]>::try_from(fds).map_err(|fds| {
        OpError::new(
            YFFM_ERR_HELPER,
            format!("protocol error: {op} needs 3 stdio fds, got {}", fds.len()),
        )
    })
}

fn handle(engine: &mut Engine, payload: &[u8], fds: Vec<OwnedFd>) -> (Response, Option<OwnedFd>) {
    let req: Request = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(e) => {
            return (
                Response {
                    code: YFFM_ERR_HELPER,
                    msg: Some(format!("protocol error: bad request: {e}")),
                    ..Default::default()
                },
                None,
            )
        }
    };
    match req {
        Request::Create { id, bundle } => match take_stdio(fds, "create") {
            Err(e) => (to_resp(Err(e)), None),
            Ok(stdio) => match engine.create(&id, &bundle, stdio) {
                Ok((pid, pidfd)) => (
                    Response {
                        code: YFFM_OK,
                        value: Some(pid),
                        ..Default::default()
                    },
                    Some(pidfd),
                ),
                Err(e) => (to_resp(Err(e)), None),
            },
        },
        Request::Start { id } => (to_resp(engine.start(&id).map(|_| ok())), None),
        Request::State { id } => (
            to_resp(engine.state(&id).map(|j| Response {
                json: Some(j),
                ..ok()
            })),
            None,
        ),
        Request::Kill { id, signal, all } => {
            (to_resp(engine.kill(&id, signal, all).map(|_| ok())), None)
        }
        Request::Delete { id, force } => (to_resp(engine.delete(&id, force).map(|_| ok())), None),
        Request::List => (
            to_resp(engine.list().map(|j| Response {
                json: Some(j),
                ..ok()
            })),
            None,
        ),
        Request::Pause { id } => (to_resp(engine.pause(&id).map(|_| ok())), None),
        Request::Resume { id } => (to_resp(engine.resume(&id).map(|_| ok())), None),
        Request::Ps { id } => (
            to_resp(engine.ps(&id).map(|json| Response {
                json: Some(json),
                ..ok()
            })),
            None,
        ),
        Request::Stats { id } => (
            to_resp(engine.stats(&id).map(|json| Response {
                json: Some(json),
                ..ok()
            })),
            None,
        ),
        Request::Update { id, resources } => {
            (to_resp(engine.update(&id, &resources).map(|_| ok())), None)
        }
        Request::ExitStatus { id } => (
            to_resp(engine.exit_status(&id).map(|c| Response {
                value: Some(c),
                ..ok()
            })),
            None,
        ),
        Request::Exec { id, process } => match take_stdio(fds, "exec") {
            Err(e) => (to_resp(Err(e)), None),
            Ok(stdio) => match engine.exec(&id, &process, stdio) {
                Ok((token, pid, pidfd)) => (
                    Response {
                        code: YFFM_OK,
                        value: Some(pid),
                        token: Some(token),
                        ..Default::default()
                    },
                    Some(pidfd),
                ),
                Err(e) => (to_resp(Err(e)), None),
            },
        },
        Request::ExecStatus { token } => (
            to_resp(engine.exec_status(token).map(|c| Response {
                value: Some(c),
                ..ok()
            })),
            None,
        ),
        Request::Panic => panic!("test panic requested"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The caller's side
// ---------------------------------------------------------------------------------------------------------------

struct Conn {
    sock: Option<OwnedFd>,
    child: Option<Child>,
    broken: Option<String>,
}

/// The caller's handle on one helper process. One mutex serializes request/response pairs.
pub struct HelperClient {
    conn: Mutex<Conn>,
    pid: i32,
    /// pidfd of the helper. EOF on the socket alone does not prove the helper died: a container init that is
    /// created but not started still holds a copy of the helper's end (fds are only marked CLOEXEC until exec).
    pidfd: Option<OwnedFd>,
    log: PathBuf,
}

impl HelperClient {
    /// Spawns `helper_path ROOT` with one end of a socketpair at fd 3, stdin/stdout on /dev/null and stderr
    /// appended to `ROOT/yffm-helper.log`, and waits for its greeting.
    pub fn spawn(helper_path: &str, root: &Path) -> OpResult<Self> {
        let hp = Path::new(helper_path);
        if !hp.is_file() {
            return Err(OpError::invalid(format!(
                "helper {helper_path:?} is not an existing file"
            )));
        }
        let log = root.join(HELPER_LOG);
        let logf = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&log)
            .map_err(|e| OpError::io(&format!("open {}", log.display()), &e))?;
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| OpError::io("socketpair", &io::Error::from_raw_os_error(e as i32)))?;
        let their_fd = theirs.as_raw_fd();
        let mut cmd = Command::new(hp);
        cmd.arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(logf));
        unsafe {
            // async-signal-safe only: dup2 (and fcntl when the fd already is 3)
            cmd.pre_exec(move || {
                if their_fd == HELPER_SOCKET_FD {
                    if libc::fcntl(their_fd, libc::F_SETFD, 0) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                } else if libc::dup2(their_fd, HELPER_SOCKET_FD) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            OpError::new(
                YFFM_ERR_HELPER,
                format!("cannot start helper {helper_path:?}: {e}"),
            )
        })?;
        drop(theirs);
        let pid = child.id() as i32;
        // not reaped yet, so the pid is the helper's
        let pidfd = crate::util::pidfd_open(pid).ok();
        let client = Self {
            conn: Mutex::new(Conn {
                sock: Some(ours),
                child: Some(child),
                broken: None,
            }),
            pid,
            pidfd,
            log,
        };
        // the greeting
        {
            let mut c = client.lock();
            let r = client.recv_response(&mut c)?;
            if r.0.code != YFFM_OK {
                let m = r.0.msg.unwrap_or_default();
                c.broken = Some(format!("yffm-helper failed to start: {m}"));
                return Err(OpError::new(r.0.code, m));
            }
            if r.0.msg.as_deref() != Some(hello_text().as_str()) {
                let m = format!(
                    "helper {helper_path:?} is {:?}, expected {:?} (use the helper built with this library)",
                    r.0.msg.unwrap_or_default(),
                    hello_text()
                );
                c.broken = Some(m.clone());
                return Err(OpError::new(YFFM_ERR_HELPER, m));
            }
        }
        Ok(client)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the connection broken and describes how the helper died.
    fn broken(&self, c: &mut Conn, what: String) -> OpError {
        let mut status = String::from("still running");
        if let Some(child) = c.child.as_mut() {
            let deadline = Instant::now() + Duration::from_millis(500);
            loop {
                match child.try_wait() {
                    Ok(Some(st)) => {
                        status = format!("exited ({st})");
                        break;
                    }
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Ok(None) => {
                        // alive but talking nonsense: useless from now on
                        let _ = child.kill();
                        status = format!("killed after a protocol error ({:?})", child.wait().ok());
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        let m = format!(
            "yffm-helper (pid {}) is gone or broke the protocol: {what}; helper {status}; see {}",
            self.pid,
            self.log.display()
        );
        c.broken = Some(m.clone());
        c.sock = None;
        OpError::new(YFFM_ERR_HELPER, m)
    }

    fn recv_response(&self, c: &mut Conn) -> OpResult<(Response, Vec<OwnedFd>)> {
        let Some(sock) = c.sock.as_ref() else {
            return Err(OpError::new(
                YFFM_ERR_HELPER,
                c.broken.clone().unwrap_or_default(),
            ));
        };
        // wait until the socket is readable or the helper exited (whichever first; the socket wins ties)
        if let Some(pidfd) = &self.pidfd {
            let mut pfds = [
                libc::pollfd {
                    fd: sock.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            loop {
                let r = unsafe { libc::poll(pfds.as_mut_ptr(), 2, -1) };
                if r > 0 {
                    break;
                }
                let e = io::Error::last_os_error();
                if r < 0 && e.raw_os_error() != Some(libc::EINTR) {
                    return Err(self.broken(c, format!("poll failed: {e}")));
                }
            }
            if pfds[0].revents == 0 && pfds[1].revents != 0 {
                return Err(self.broken(c, "the helper process exited".into()));
            }
        }
        match recv_msg(sock.as_fd()) {
            Ok(Some((payload, fds))) => match serde_json::from_slice::<Response>(&payload) {
                Ok(r) => Ok((r, fds)),
                Err(e) => Err(self.broken(c, format!("bad response: {e}"))),
            },
            Ok(None) => Err(self.broken(c, "the socket reached EOF".into())),
            Err(e) => Err(self.broken(c, format!("receive failed: {e}"))),
        }
    }

    /// One request/response round trip. A non-OK response becomes an `OpError` with the helper's code and text.
    pub fn call(&self, req: &Request, fds: &[RawFd]) -> OpResult<(Response, Vec<OwnedFd>)> {
        let mut c = self.lock();
        if let Some(b) = &c.broken {
            return Err(OpError::new(YFFM_ERR_HELPER, b.clone()));
        }
        let bytes = serde_json::to_vec(req).expect("serialize request");
        let sent = send_msg(c.sock.as_ref().unwrap().as_fd(), &bytes, fds);
        if let Err(e) = sent {
            return Err(self.broken(&mut c, format!("send failed: {e}")));
        }
        let (resp, fds) = self.recv_response(&mut c)?;
        if resp.code != YFFM_OK {
            return Err(OpError::new(
                resp.code,
                resp.msg
                    .unwrap_or_else(|| "helper returned an error".into()),
            ));
        }
        Ok((resp, fds))
    }
}

impl Drop for HelperClient {
    /// Closes the socket (the helper exits on EOF) and reaps the helper with a targeted wait; a helper that does
    /// not exit within 10 s is SIGKILLed.
    fn drop(&mut self) {
        let c = self.conn.get_mut().unwrap_or_else(|e| e.into_inner());
        c.sock = None;
        if let Some(mut child) = c.child.take() {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            // not reaped yet, so the pid is still the helper's. Wait on a pidfd (bounded), then reap with Child::wait (waitpid on the helper's pid only)
            let exited = match crate::util::pidfd_open(self.pid) {
                Ok(fd) => {
                    let mut pfd = libc::pollfd {
                        fd: fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    let deadline = Instant::now() + Duration::from_secs(10);
                    loop {
                        let left = deadline
                            .saturating_duration_since(Instant::now())
                            .as_millis() as libc::c_int;
                        let r = unsafe { libc::poll(&mut pfd, 1, left) };
                        if r > 0 {
                            break true;
                        }
                        if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)
                        {
                            break false;
                        }
                    }
                }
                Err(_) => false,
            };
            if !exited {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}
