//! Helper mode. [`helper_main`] is the `yffm-helper` process; [`HelperClient`] is the caller's side.
//!
//! The helper is a small single-threaded loop that never runs libcontainer itself. Each mutating call runs in a
//! worker process of its own: the worker makes the libcontainer call (hooks included), sends its answer back
//! over a socket of its own and exits. So a panic, a signal, a leaked fd or a hung hook only ever touches one
//! worker, calls on different containers run at the same time, and a worker past its deadline is killed with
//! its process group (and a create rolled back). Calls on one container run one at a time, in arrival order.
//!
//! Two things keep the process per call off the call's latency: one worker is forked ahead of need (the spare,
//! which waits for its call on its socket), and a successful answer goes to the caller as soon as it arrives,
//! while the worker is still exiting; the next call on that container may start then. The process the worker
//! made is not reaped (nor its exit reported) until the worker itself has been reaped.
//!
//! The helper is a child subreaper: when a worker exits, the container init or exec'd process it made is
//! reparented to the helper, which tracks it by pidfd and reaps it with a targeted `waitid`. `ExitStatus`,
//! `ExecStatus` and `Ping` are answered by the loop itself at once.
//!
//! Every call carries its own reply socket, so callers never wait on each other's answers; the caller polls it
//! together with the helper's pidfd and its deadline, so a dead or stalled helper is noticed at once, and the
//! next call starts a fresh helper.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use crate::ops::{exec_key, prepare_root, Engine, ExitTable};
use crate::proto::{recv_msg, send_msg, Call, Request, Response, HELPER_SOCKET_FD};
use crate::status::*;
use crate::util::*;

pub const HELPER_LOG: &str = "yffm-helper.log";

/// Exit status of a process libcontainer cloned (intermediate or init) that panicked: it leaves at once instead
/// of unwinding into code it shares with the helper.
pub const CHILD_PANIC_EXIT: i32 = 70;
/// How long past a call's deadline the caller waits before it pings the helper.
const PING_AFTER: Duration = Duration::from_millis(300);
/// How long a ping may take before the helper counts as stalled.
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// How long past a call's deadline the caller waits for a helper that answers pings (it may be rolling a create
/// back before it answers) before it decides the helper is stalled.
const STALL_GRACE: Duration = Duration::from_secs(12);
/// How long the caller waits for a new helper's greeting.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline of the delete that rolls back a create that timed out or whose worker died.
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after a spare worker died unused the helper forks the next one.
const SPARE_BACKOFF: Duration = Duration::from_secs(1);
/// Longest a look for untracked leftovers waits for a moment with nothing else to do. The look reads the
/// helper's children from /proc, which costs more with every running container, so it is made when the loop is
/// idle (or this late) and not after each worker.
const LEFTOVERS_MAX_DELAY: Duration = Duration::from_millis(50);
/// Longest a forced delete waits for the init it killed to exit before its worker starts anyway.
const AWAIT_EXIT_MAX: Duration = Duration::from_millis(500);

/// In a worker: the fds it finds its things at.
const W_SOCK_FD: RawFd = 3;
const W_LOG_FD: RawFd = 4;
const W_STDIO_FD: RawFd = 5;

/// The process allowed to run helper or worker code; any other process that reaches the panic hook is a clone.
static OWNER_PID: AtomicI32 = AtomicI32::new(0);
/// Where log lines go (the helper log); writes never fail loudly.
static LOG_FD: AtomicI32 = AtomicI32::new(2);

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

fn raw_getpid() -> i32 {
    unsafe { libc::syscall(libc::SYS_getpid) as i32 }
}

/// A log line to the helper log. A full disk or a closed log never panics or blocks anything.
pub fn log_line(msg: &str) {
    let line = format!(
        "{} yffm-helper[{}]: {}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        raw_getpid(),
        msg
    );
    let _ = LogWriter.write_all_quiet(line.as_bytes());
}

macro_rules! log {
    ($($t:tt)*) => { log_line(&format!($($t)*)) };
}

/// Writes to [`LOG_FD`], swallowing errors (ENOSPC, EBADF, ...): logging must never take the helper down.
#[derive(Clone, Copy)]
struct LogWriter;

impl LogWriter {
    fn write_all_quiet(&self, mut b: &[u8]) -> io::Result<()> {
        while !b.is_empty() {
            let r = unsafe { libc::write(LOG_FD.load(Ordering::Relaxed), b.as_ptr().cast(), b.len()) };
            if r <= 0 {
                if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Ok(());
            }
            b = &b[r as usize..];
        }
        Ok(())
    }
}

impl io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all_quiet(b)?;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// libcontainer logs through `tracing`; send it to the helper log through [`LogWriter`], so messages logged in a
/// container's init after it took over fds 0-2 still reach the log, never the container's stderr.
fn init_tracing() {
    use tracing_subscriber::filter::LevelFilter;
    let level = match std::env::var("YFFM_HELPER_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "off" => return,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        "warn" => LevelFilter::WARN,
        _ => LevelFilter::ERROR,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(|| LogWriter)
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}

/// A panic in a process that is not the helper or the current worker (a clone libcontainer made: its stack is a
/// copy of ours) ends that process at once. Without this it would unwind into the request loop and answer calls
/// from inside a container.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let me = raw_getpid();
        if me != OWNER_PID.load(Ordering::Relaxed) {
            log_line(&format!("panic in cloned child {me}, exiting it: {info}"));
            unsafe { libc::_exit(CHILD_PANIC_EXIT) };
        }
        log_line(&format!("panic: {info}"));
    }));
}

/// A no-op SIGPIPE handler: a write to a hook that ignores its stdin fails with EPIPE instead of killing the
/// worker, and unlike SIG_IGN a handler is reset by exec, so hooks and containers start with the default.
extern "C" fn on_sigpipe(_: libc::c_int) {}

// ---------------------------------------------------------------------------------------------------------------
// The helper process
// ---------------------------------------------------------------------------------------------------------------

/// One call the helper has accepted: queued, or running in a worker.
struct Job {
    call: Call,
    deadline: Instant,
    /// Where the answer goes; `None` for the helper's own rollbacks.
    reply: Option<OwnedFd>,
    stdio: Vec<OwnedFd>,
    worker: Option<Worker>,
    /// For a rollback: the answer owed to the caller of the create it undoes, sent once the rollback is done, so
    /// the caller never sees a timeout while its create is still half there.
    then_answer: Option<Response>,
    /// The caller has its (successful) answer: it went out as soon as the worker's result arrived, while the
    /// worker was still exiting. The job stays until the worker is reaped.
    answered: bool,
    /// The exit-table key of the process this job's worker made: adopted once the worker is reaped.
    adopt: Option<String>,
    /// Set when a successful create could not be registered: rolled back once the worker is reaped.
    needs_rollback: bool,
    /// A forced delete of a live container: its init was sent SIGKILL and the worker starts when the init has
    /// exited, or at this instant. A worker started at once would find the dying init still in its cgroups, and
    /// libcgroups sleeps 10 ms before each retry of the removal.
    awaiting_exit: Option<Instant>,
}

impl Job {
    /// Answered with success and nothing left to undo: the worker has sent its result and is only exiting, so
    /// the job no longer holds its container or its deadline (it stays until the worker is reaped, which adopts
    /// the process the worker made).
    fn released(&self) -> bool {
        self.answered && !self.needs_rollback
    }
}

struct Worker {
    pid: i32,
    pidfd: OwnedFd,
    sock: OwnedFd,
    result: Option<Result<(Response, Vec<OwnedFd>), String>>,
    timed_out: bool,
}

/// A worker forked ahead of need, waiting on its socket for the call it is to make: the fork is off the
/// call's path.
struct Spare {
    pid: i32,
    pidfd: OwnedFd,
    sock: OwnedFd,
}

struct Helper {
    root: PathBuf,
    exits: ExitTable,
    next_exec: u64,
    jobs: Vec<Job>,
    /// Soft RLIMIT_NOFILE the helper was started with; workers restore it so containers inherit the caller's.
    nofile_soft: libc::rlim_t,
    sigchld: OwnedFd,
    /// `ExitStatus`/`ExecStatus` queries about a process whose worker has not been reaped yet; answered when it is.
    parked: Vec<(Request, Option<OwnedFd>)>,
    spare: Option<Spare>,
    /// No new spare before this (one died unused: do not fork in a loop).
    spare_after: Instant,
    /// Since when a look for untracked leftovers is owed (a worker ended, or SIGCHLD came), if one is.
    leftovers_due: Option<Instant>,
    /// Process groups of failed workers whose live leftovers that look kills (clones that never reached a
    /// session of their own).
    failed_pgids: Vec<i32>,
}

/// Entry point of the `yffm-helper` binary. argv: `yffm-helper ROOT`; its socket is fd 3.
pub fn helper_main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: yffm-helper ROOT  (started by libyouki_ffm with its SOCK_SEQPACKET socket at fd 3)");
        return 2;
    }
    OWNER_PID.store(raw_getpid(), Ordering::Relaxed);
    install_panic_hook();
    let mut nofile = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        // The helper itself never needs SIGPIPE: every send uses MSG_NOSIGNAL.
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        // Orphans of finished workers (inits, exec'd processes) come to us.
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        // Room for many concurrent calls; workers put the caller's limit back.
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile);
        let raised = libc::rlimit {
            rlim_cur: nofile.rlim_max,
            rlim_max: nofile.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
    }
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(HELPER_SOCKET_FD, &mut st) } != 0
        || (st.st_mode & libc::S_IFMT) != libc::S_IFSOCK
    {
        eprintln!("yffm-helper: fd {HELPER_SOCKET_FD} is not a socket; this binary is started by libyouki_ffm");
        return 2;
    }
    let sock = unsafe { OwnedFd::from_raw_fd(HELPER_SOCKET_FD) };
    unsafe {
        libc::fcntl(sock.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        // Nothing the caller leaked without CLOEXEC may reach a container.
        libc::close_range(
            (HELPER_SOCKET_FD + 1) as u32,
            u32::MAX,
            0,
        );
    }
    // SIGCHLD is read through a signalfd (to reap leftovers); every other signal unblocked.
    let sigchld = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            eprintln!("yffm-helper: signalfd: {}", io::Error::last_os_error());
            return 1;
        }
        OwnedFd::from_raw_fd(fd)
    };
    let log_fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
    if log_fd >= 0 {
        LOG_FD.store(log_fd, Ordering::Relaxed);
    }
    let _ = std::env::set_current_dir("/");
    init_tracing();

    let root = match prepare_root(&args[1]) {
        Ok(root) => root,
        Err(e) => {
            log!("cannot use state root {:?}: {}", args[1], e.msg);
            let r = Response {
                code: e.code,
                msg: Some(e.msg),
                ..Default::default()
            };
            let _ = send_msg(sock.as_fd(), &serde_json::to_vec(&r).unwrap_or_default(), &[]);
            return 1;
        }
    };
    // before the greeting: a caller that opened the runtime finds the helper's scheduling already set
    let inherited = current_nice();
    INHERITED_NICE.store(inherited.unwrap_or(0), Ordering::Relaxed);
    let boosted = inherited.map(|n| (n - HELPER_NICE_BOOST).max(-20));
    if set_sched(HELPER_SLICE_NS, boosted).is_err() {
        // unprivileged (rootless): the nice value cannot go down; the slice alone needs no privilege
        if let Err(e) = set_sched(HELPER_SLICE_NS, inherited) {
            log!("cannot shorten the scheduler slice ({e}); exits and answers may wait longer on a busy host");
        }
    }
    let hello = Response {
        code: YFFM_OK,
        msg: Some(hello_text()),
        ..Default::default()
    };
    if let Err(e) = send_msg(sock.as_fd(), &serde_json::to_vec(&hello).unwrap_or_default(), &[]) {
        log!("cannot greet the caller: {e}");
        return 1;
    }
    log!("started, root {}", root.display());
    let exits = ExitTable::with_epoll().unwrap_or_else(|e| {
        log!("epoll_create1: {e}; polling every container's pidfd in each round instead");
        ExitTable::default()
    });
    let mut h = Helper {
        root,
        exits,
        next_exec: 0,
        jobs: Vec::new(),
        nofile_soft: nofile.rlim_cur,
        sigchld,
        parked: Vec::new(),
        spare: None,
        spare_after: Instant::now(),
        leftovers_due: None,
        failed_pgids: Vec::new(),
    };
    h.run(sock)
}

/// Whether `pid` (a tracked, unreaped child, so the number cannot have been reused) is in another pid namespace
/// than the helper's.
fn has_own_pid_ns(pid: i32) -> bool {
    // the helper's own pid namespace never changes: read it once
    static OURS: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let ours = OURS.get_or_init(|| std::fs::read_link("/proc/self/ns/pid").ok());
    match (std::fs::read_link(format!("/proc/{pid}/ns/pid")), ours) {
        (Ok(theirs), Some(ours)) => &theirs != ours,
        _ => false,
    }
}

fn error_response(code: i32, msg: impl Into<String>) -> Response {
    Response {
        code,
        msg: Some(msg.into()),
        ..Default::default()
    }
}

fn ok() -> Response {
    Response {
        code: YFFM_OK,
        ..Default::default()
    }
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// The helper's EEVDF slice: its work comes in short bursts (an answer, a reap, a fork) that callers wait on, so a
/// short slice lets it run as soon as it wakes on a busy host instead of after the running task's slice.
const HELPER_SLICE_NS: u64 = 100_000;

/// How much lower than what it inherited the helper's nice value is where it may lower it (root): its bursts are
/// short, but on a busy host a helper that ran a lot lags behind the others and waits after it wakes; a higher
/// weight lets it catch up at once. Workers go back to the inherited value before anything else.
const HELPER_NICE_BOOST: i32 = 5;

/// The nice value the helper inherited, which workers (and so hooks and containers) get back.
static INHERITED_NICE: AtomicI32 = AtomicI32::new(0);

fn current_nice() -> Option<i32> {
    // getpriority returns -1 for nice -1 too: errno tells them apart
    unsafe { *libc::__errno_location() = 0 };
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    (nice != -1 || io::Error::last_os_error().raw_os_error() == Some(0)).then_some(nice)
}

/// Sets the calling thread's SCHED_OTHER slice (`sched_attr.sched_runtime`, Linux 6.12+; unprivileged) and nice
/// value (sched_setattr sets both; `None` keeps the thread's own; lowering it needs privilege). A slice of 0 restores
/// the default. A thread under another policy (the caller's SCHED_FIFO, say) is left alone.
fn set_sched(ns: u64, nice: Option<i32>) -> io::Result<()> {
    #[repr(C)]
    struct SchedAttr {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
    }
    if unsafe { libc::sched_getscheduler(0) } != libc::SCHED_OTHER {
        return Ok(());
    }
    let nice = match nice.or_else(current_nice) {
        Some(n) => n,
        None => return Err(io::Error::last_os_error()),
    };
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: libc::SCHED_OTHER as u32,
        flags: 0,
        nice,
        priority: 0,
        runtime: ns,
        deadline: 0,
        period: 0,
    };
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Calls read from the control socket in one round of the helper's loop.
const MAX_CALLS_PER_ROUND: usize = 32;

/// True when `fd` has something to read now.
fn readable(fd: RawFd) -> bool {
    readable_now(fd) == Some(true)
}

/// What the helper's loop polls: the control socket, the signalfd, each worker's socket and pidfd (slots in
/// `worker_slots`: job index, socket slot; the pidfd is the next slot), the spare's pidfd, the exit table's epoll
/// set (`watch_slot`) and any tracked pidfd outside it (from `tracked_from` on, their keys in `tracked`; an
/// empty key is an orphan).
struct PollSet {
    pfds: Vec<libc::pollfd>,
    worker_slots: Vec<(usize, usize)>,
    spare_slot: usize,
    watch_slot: usize,
    tracked_from: usize,
    tracked: Vec<String>,
}

/// Sends an answer to a caller's reply socket; a caller that gave up is no error of ours.
fn answer(reply: &Option<OwnedFd>, resp: &Response, fds: &[RawFd]) {
    if let Some(r) = reply {
        let bytes = serde_json::to_vec(resp).unwrap_or_default();
        let _ = send_msg(r.as_fd(), &bytes, fds);
    }
}

impl Helper {
    fn poll_set(&self, sock: &Option<OwnedFd>) -> PollSet {
        let mut pfds: Vec<libc::pollfd> = Vec::new();
        pfds.push(pollfd(sock.as_ref().map_or(-1, |s| s.as_raw_fd())));
        pfds.push(pollfd(self.sigchld.as_raw_fd()));
        let mut worker_slots = Vec::new();
        for (i, j) in self.jobs.iter().enumerate() {
            if let Some(w) = &j.worker {
                worker_slots.push((i, pfds.len()));
                pfds.push(pollfd(if w.result.is_none() && !j.answered { w.sock.as_raw_fd() } else { -1 }));
                pfds.push(pollfd(w.pidfd.as_raw_fd()));
            }
        }
        let spare_slot = pfds.len();
        pfds.push(pollfd(self.spare.as_ref().map_or(-1, |sp| sp.pidfd.as_raw_fd())));
        let watch_slot = pfds.len();
        pfds.push(pollfd(self.exits.watch_fd().unwrap_or(-1)));
        let tracked_from = pfds.len();
        let pollable = self.exits.pollable();
        pfds.extend(pollable.iter().map(|(_, fd)| pollfd(*fd)));
        let tracked = pollable.into_iter().map(|(key, _)| key).collect();
        PollSet { pfds, worker_slots, spare_slot, watch_slot, tracked_from, tracked }
    }

    fn run(&mut self, sock: OwnedFd) -> i32 {
        let mut sock = Some(sock);
        loop {
            if sock.is_none() && self.jobs.is_empty() {
                log!("caller closed the socket and no call is running; exiting");
                self.retire_spare();
                self.look_for_leftovers();
                return 0;
            }
            self.start_ready_jobs();
            if self.leftovers_due.is_some_and(|t| t.elapsed() >= LEFTOVERS_MAX_DELAY) {
                self.look_for_leftovers();
            }
            let mut set = self.poll_set(&sock);
            let mut ready = None;
            let wants_spare = self.spare.is_none() && sock.is_some() && Instant::now() >= self.spare_after;
            if wants_spare || self.leftovers_due.is_some() {
                // the spare and the look for leftovers are done when nothing else waits: an exit, an answer or a
                // status query goes first
                let r = unsafe { libc::poll(set.pfds.as_mut_ptr(), set.pfds.len() as libc::nfds_t, 0) };
                if r == 0 {
                    self.look_for_leftovers();
                    if wants_spare {
                        match self.fork_spare() {
                            Ok(sp) => self.spare = Some(sp),
                            Err(_) => self.spare_after = Instant::now() + SPARE_BACKOFF,
                        }
                    }
                    set = self.poll_set(&sock);
                } else {
                    ready = Some(r);
                }
            }
            let PollSet { mut pfds, worker_slots, spare_slot, watch_slot, tracked_from, tracked } = set;
            let now = Instant::now();
            // wake for the next deadline, for the next spare after one died unused, and for a look for leftovers
            // that could not wait longer
            let next_spare = (self.spare.is_none() && sock.is_some()).then_some(self.spare_after);
            let next_look = self.leftovers_due.map(|t| t + LEFTOVERS_MAX_DELAY);
            let timeout = self
                .jobs
                .iter()
                .filter(|j| !j.released() && !j.worker.as_ref().is_some_and(|w| w.timed_out))
                .map(|j| j.deadline)
                .chain(self.jobs.iter().filter(|j| j.worker.is_none()).filter_map(|j| j.awaiting_exit))
                .chain(next_spare)
                .chain(next_look)
                .map(|t| t.saturating_duration_since(now))
                .min()
                .map_or(-1, |d| d.as_millis().clamp(0, i32::MAX as u128) as libc::c_int + 1);
            let r = match ready {
                Some(r) => r,
                None => unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) },
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                log!("poll failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            // exits first: the library waits for these reaps (the pidfd then holds the code); only the processes
            // that ended are reaped, not every tracked one
            let mut ended: Vec<String> = tracked
                .into_iter()
                .enumerate()
                .filter(|(k, _)| pfds[tracked_from + k].revents != 0)
                .map(|(_, key)| key)
                .collect();
            if pfds[watch_slot].revents != 0 {
                ended.extend(self.exits.ended_keys());
            }
            let mut orphans_ended = false;
            for key in &ended {
                if key.is_empty() {
                    orphans_ended = true;
                } else {
                    self.exits.try_reap(key);
                }
            }
            if orphans_ended {
                self.exits.reap_orphans();
            }
            // worker answers first, then exits: an answer sent just before the exit is never missed
            for &(i, slot) in &worker_slots {
                if pfds[slot].revents != 0 {
                    self.read_result(i);
                    self.answer_early(i);
                }
            }
            let mut finished: Vec<usize> = worker_slots
                .iter()
                .filter(|&&(_, slot)| pfds[slot + 1].revents != 0)
                .map(|&(i, _)| i)
                .collect();
            finished.sort_unstable();
            for i in finished.into_iter().rev() {
                self.finish(i);
            }
            if pfds[spare_slot].revents != 0 {
                if let Some(sp) = self.spare.take() {
                    self.spare_died(sp);
                }
            }
            if pfds[1].revents != 0 {
                let mut buf = [0u8; 128 * 8];
                while unsafe { libc::read(self.sigchld.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
                // tracked processes are reaped through their pidfds above; SIGCHLD is for the untracked ones
                self.leftovers_owed();
            }
            self.enforce_deadlines();
            if pfds[0].revents != 0 {
                // every call waiting now, so a status query is answered in this round and not after the forks of
                // the calls queued before it; bounded, so deadlines and exits are looked at in between
                for n in 0..MAX_CALLS_PER_ROUND {
                    let Some(s) = &sock else { break };
                    if n > 0 && !readable(s.as_raw_fd()) {
                        break;
                    }
                    match recv_msg(s.as_fd()) {
                        Ok(Some((payload, fds))) => self.accept(&payload, fds),
                        Ok(None) => sock = None,
                        Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                            // the fds of that call (its reply socket among them) were dropped: it cannot be
                            // answered; its caller runs into its deadline
                            log!("a call arrived without its fds (fd limit reached); it cannot be answered");
                        }
                        Err(e) => {
                            log!("receive failed: {e}; treating the caller as gone");
                            sock = None;
                        }
                    }
                }
            }
        }
    }

    /// Decodes one call; answers `ExitStatus`/`ExecStatus`/`Ping` at once and queues the rest.
    fn accept(&mut self, payload: &[u8], mut fds: Vec<OwnedFd>) {
        let reply = if fds.is_empty() { None } else { Some(fds.remove(0)) };
        let call: Call = match serde_json::from_slice(payload) {
            Ok(c) => c,
            Err(e) => {
                answer(
                    &reply,
                    &error_response(YFFM_ERR_HELPER, format!("protocol error: bad request: {e}")),
                    &[],
                );
                return;
            }
        };
        if fds.len() != call.req.stdio_fds() {
            answer(
                &reply,
                &error_response(
                    YFFM_ERR_HELPER,
                    format!(
                        "protocol error: {} needs {} stdio fds, got {}",
                        call.req.name(),
                        call.req.stdio_fds(),
                        fds.len()
                    ),
                ),
                &[],
            );
            return;
        }
        let pending = match &call.req {
            Request::ExitStatus { id } => self.exits.is_pending(id),
            Request::ExecStatus { token } => self.exits.is_pending(&exec_key(*token)),
            _ => false,
        };
        if pending {
            // its worker is still exiting: the answer would be "not exited" although the process may be gone
            self.parked.push((call.req, reply));
            return;
        }
        let inline = match &call.req {
            Request::Ping => Some(Ok(ok())),
            Request::ExitStatus { id } => Some(
                validate_id(id)
                    .and_then(|_| self.exits.exit_status(id))
                    .map(|c| Response {
                        value: Some(c),
                        ..ok()
                    }),
            ),
            Request::ExecStatus { token } => Some(self.exits.exec_status(*token).map(|c| Response {
                value: Some(c),
                ..ok()
            })),
            _ => None,
        };
        if let Some(r) = inline {
            let resp = r.unwrap_or_else(|e| error_response(e.code, e.msg));
            answer(&reply, &resp, &[]);
            return;
        }
        match &call.req {
            // A signal to a live, unfrozen init is one syscall on its pidfd: no worker. Only when no earlier call
            // on the container is still open, so calls on one container keep their order.
            Request::Kill { id, signal, all: false }
                if !self.jobs.iter().any(|j| !j.released() && j.call.req.container_id() == Some(id.as_str()))
                    && self.exits.signal_live(id, *signal) =>
            {
                answer(&reply, &ok(), &[]);
                return;
            }
            Request::Pause { id } => self.exits.set_maybe_frozen(id, true),
            _ => {}
        }
        let timeout = Duration::from_millis(call.timeout_ms.max(1));
        self.jobs.push(Job {
            deadline: Instant::now() + timeout,
            call,
            reply,
            stdio: fds,
            worker: None,
            then_answer: None,
            answered: false,
            adopt: None,
            needs_rollback: false,
            awaiting_exit: None,
        });
    }

    /// Answers the parked status queries whose process is no longer pending.
    fn answer_parked(&mut self) {
        let parked = std::mem::take(&mut self.parked);
        for (req, reply) in parked {
            let key = match &req {
                Request::ExitStatus { id } => id.clone(),
                Request::ExecStatus { token } => exec_key(*token),
                _ => String::new(),
            };
            if self.exits.is_pending(&key) {
                self.parked.push((req, reply));
                continue;
            }
            let r = match &req {
                Request::ExitStatus { id } => validate_id(id).and_then(|_| self.exits.exit_status(id)),
                Request::ExecStatus { token } => self.exits.exec_status(*token),
                _ => Err(OpError::new(YFFM_ERR_HELPER, "protocol error: not a status query")),
            };
            let resp = match r {
                Ok(c) => Response {
                    value: Some(c),
                    ..ok()
                },
                Err(e) => error_response(e.code, e.msg),
            };
            answer(&reply, &resp, &[]);
        }
    }

    /// A worker's successful result arrived: answer its caller now rather than after the worker's exit, which
    /// takes the exit off the call's latency. Failures wait for the exit, so their cleanup is done when the
    /// caller hears of them.
    fn answer_early(&mut self, i: usize) {
        let job = &mut self.jobs[i];
        if job.answered || job.then_answer.is_some() {
            return;
        }
        let Some(w) = job.worker.as_mut() else { return };
        if w.timed_out || !matches!(&w.result, Some(Ok((r, _))) if r.code == YFFM_OK) {
            return;
        }
        let Some(Ok((resp, fds))) = w.result.take() else { return };
        conclude_ok(&mut self.exits, &mut self.next_exec, job, resp, fds);
        job.answered = true;
    }

    /// Forks a worker for each queued job whose container has no earlier job queued or running.
    fn start_ready_jobs(&mut self) {
        let mut busy: HashSet<String> = HashSet::new();
        for i in 0..self.jobs.len() {
            if self.jobs[i].released() {
                // its worker did all it had to and is only exiting: the container is free for the next call
                continue;
            }
            let id = self.jobs[i].call.req.container_id().map(str::to_string);
            if let Some(id) = &id {
                if !busy.insert(id.clone()) {
                    continue;
                }
            }
            if self.jobs[i].worker.is_some() || self.awaits_exit(i) {
                continue;
            }
            let handed = match self.spare.take() {
                Some(sp) => self.hand_to_spare(i, sp),
                None => None,
            };
            let forked = match handed {
                Some(w) => Ok(w),
                None => self.fork_worker(i),
            };
            match forked {
                Ok(w) => {
                    self.jobs[i].stdio.clear();
                    self.jobs[i].worker = Some(w);
                }
                Err(e) => {
                    let job = self.jobs.remove(i);
                    answer(&job.reply, &error_response(e.code, e.msg), &[]);
                    // indices shifted: the next loop round starts the rest
                    return;
                }
            }
        }
    }

    /// Whether job `i` (not started) still waits for its container's init to exit. A forced delete of a live,
    /// unfrozen, polled init in a pid namespace of its own sends SIGKILL through the pidfd here and waits for
    /// that exit, at most [`AWAIT_EXIT_MAX`] (any other init is left to libcontainer's kill of the cgroup).
    fn awaits_exit(&mut self, i: usize) -> bool {
        let Request::Delete { id, force: true } = &self.jobs[i].call.req else { return false };
        match self.jobs[i].awaiting_exit {
            None => {
                // only an init that is pid 1 of its own pid namespace takes every other process of the container
                // with it; otherwise libcontainer's kill of the whole cgroup is needed
                if self.exits.is_pending(id)
                    || !self.exits.is_live(id)
                    || !self.exits.pid(id).is_some_and(has_own_pid_ns)
                    || !self.exits.signal_live(id, libc::SIGKILL)
                {
                    return false;
                }
                self.jobs[i].awaiting_exit = Some(Instant::now() + AWAIT_EXIT_MAX);
                true
            }
            Some(until) => Instant::now() < until && self.exits.is_live(id),
        }
    }

    /// Forks a spare worker: it sets itself up and waits for a call on its socket.
    fn fork_spare(&mut self) -> OpResult<Spare> {
        let (nofile_soft, root) = (self.nofile_soft, self.root.clone());
        let (pid, pidfd, sock) = fork_child("spare worker", |helper_pid, ws| spare_main(helper_pid, nofile_soft, ws, &root))?;
        // a call is one datagram into an empty socket, so this never waits; bounded all the same
        let tv = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        Ok(Spare { pid, pidfd, sock })
    }

    /// Gives job `i` to the spare. `None` (the spare is gone then, or kept for a later call) when it cannot take
    /// it: the job is forked a worker of its own instead.
    fn hand_to_spare(&mut self, i: usize, sp: Spare) -> Option<Worker> {
        let bytes = match serde_json::to_vec(&self.jobs[i].call) {
            Ok(b) if b.len() <= crate::proto::CHUNK => b,
            // more than one datagram could wait on a spare that stopped reading: fork for this one
            _ => {
                self.spare = Some(sp);
                return None;
            }
        };
        let stdio: Vec<RawFd> = self.jobs[i].stdio.iter().map(|f| f.as_raw_fd()).collect();
        // exited, or poll failed: do not hand it a call
        if readable_now(sp.pidfd.as_raw_fd()) != Some(false) {
            self.spare_died(sp);
            return None;
        }
        if let Err(e) = send_msg(sp.sock.as_fd(), &bytes, &stdio) {
            log!("spare worker {} did not take a call ({e}); killed", sp.pid);
            unsafe { libc::syscall(libc::SYS_pidfd_send_signal, sp.pidfd.as_raw_fd(), libc::SIGKILL, 0, 0) };
            let _ = reap_pidfd_bounded(sp.pidfd.as_fd(), Duration::from_secs(1));
            return None;
        }
        Some(Worker {
            pid: sp.pid,
            pidfd: sp.pidfd,
            sock: sp.sock,
            result: None,
            timed_out: false,
        })
    }

    /// The spare died unused (killed from outside): reap it, and wait a while before forking the next.
    fn spare_died(&mut self, sp: Spare) {
        let _ = reap_pidfd_bounded(sp.pidfd.as_fd(), Duration::from_secs(1));
        log!("spare worker {} ended unused", sp.pid);
        self.spare_after = Instant::now() + SPARE_BACKOFF;
    }

    /// Ends the spare at exit: it leaves on EOF; killed if it does not within a second. Always reaped.
    fn retire_spare(&mut self) {
        if let Some(sp) = self.spare.take() {
            drop(sp.sock);
            if !matches!(reap_pidfd_bounded(sp.pidfd.as_fd(), Duration::from_secs(1)), Ok(Some(_))) {
                unsafe { libc::syscall(libc::SYS_pidfd_send_signal, sp.pidfd.as_raw_fd(), libc::SIGKILL, 0, 0) };
                let _ = reap_pidfd_bounded(sp.pidfd.as_fd(), Duration::from_secs(1));
            }
        }
    }

    fn fork_worker(&mut self, i: usize) -> OpResult<Worker> {
        let job = &self.jobs[i];
        let stdio: Vec<RawFd> = job.stdio.iter().map(|f| f.as_raw_fd()).collect();
        let (pid, pidfd, sock) = fork_child("worker", |helper_pid, ws| {
            worker_main(helper_pid, self.nofile_soft, ws, &stdio, &self.root, &job.call.req)
        })?;
        Ok(Worker {
            pid,
            pidfd,
            sock,
            result: None,
            timed_out: false,
        })
    }

    fn read_result(&mut self, i: usize) {
        let Some(w) = self.jobs[i].worker.as_mut() else { return };
        if w.result.is_some() {
            return;
        }
        w.result = Some(match recv_msg(w.sock.as_fd()) {
            Ok(Some((payload, fds))) => serde_json::from_slice::<Response>(&payload)
                .map(|r| (r, fds))
                .map_err(|e| format!("bad answer from the worker: {e}")),
            Ok(None) => Err("the worker closed its socket without an answer".into()),
            Err(e) => Err(format!("receiving the worker's answer failed: {e}")),
        });
    }

    /// The worker of job `i` exited: reap it, register what it made, answer the caller, roll back if needed.
    fn finish(&mut self, i: usize) {
        // an answer may still sit in the socket
        {
            let w = self.jobs[i].worker.as_ref().unwrap();
            if w.result.is_none() && !self.jobs[i].answered && readable(w.sock.as_raw_fd()) {
                self.read_result(i);
            }
        }
        let mut job = self.jobs.remove(i);
        let Worker { pid: wpid, pidfd, sock, result, timed_out } = job.worker.take().unwrap();
        let status = reap_pidfd(pidfd.as_fd()).ok().flatten();
        // the worker's fds go before anyone is answered: a caller may count ours right after
        drop((pidfd, sock));
        if let Some(owed) = job.then_answer.take() {
            // a rollback finished (whatever its outcome): now the create's caller gets its answer
            if !matches!(&result, Some(Ok((r, _))) if r.code == YFFM_OK) {
                log!("rollback of {} did not complete cleanly; recover() removes what is left", job.call.req.name());
            }
            answer(&job.reply, &owed, &[]);
            self.leftovers_owed();
            return;
        }
        let op = job.call.req.name();
        let id = job.call.req.container_id().unwrap_or("").to_string();
        let mut rollback = false;
        let mut owed: Option<Response> = None;
        if !job.answered {
            match (timed_out, result) {
                (true, _) => {
                    let secs = job.call.timeout_ms as f64 / 1000.0;
                    let is_create = matches!(job.call.req, Request::Create { .. });
                    let resp = error_response(
                        YFFM_ERR_TIMEOUT,
                        format!(
                            "{op} {id} did not finish within {secs:.3} s; its worker and hooks were killed{}",
                            if is_create { " and the create was rolled back" } else { "" }
                        ),
                    );
                    if is_create {
                        rollback = true;
                        owed = Some(resp);
                    } else {
                        answer(&job.reply, &resp, &[]);
                    }
                }
                (false, Some(Ok((resp, fds)))) => {
                    if resp.code == YFFM_OK {
                        conclude_ok(&mut self.exits, &mut self.next_exec, &mut job, resp, fds);
                    } else {
                        answer(&job.reply, &resp, &[]);
                    }
                }
                (false, other) => {
                    let why = match other {
                        Some(Err(e)) => e,
                        _ => "no answer".into(),
                    };
                    let how = match status {
                        Some(c) if c == CHILD_PANIC_EXIT => "exited after a panic".to_string(),
                        Some(c) if c > 128 => format!("was killed by signal {}", c - 128),
                        Some(c) => format!("exited with status {c}"),
                        None => "vanished".to_string(),
                    };
                    log!("worker {wpid} for {op} {id} {how}: {why}");
                    let resp = error_response(
                        YFFM_ERR_HELPER,
                        format!("the worker process for {op} {id} {how} ({why}); no other call was affected"),
                    );
                    if matches!(job.call.req, Request::Create { .. }) {
                        rollback = true;
                        owed = Some(resp);
                    } else {
                        answer(&job.reply, &resp, &[]);
                    }
                }
            }
        }
        // a successful create whose process could not be registered (answered early or just now)
        rollback |= job.needs_rollback;
        if let Some(key) = job.adopt.take() {
            // the worker is gone, so what it made was reparented to us: from here on it is polled and reaped like
            // any other, and the status queries that waited for it are answered
            self.exits.adopt(&key);
            self.exits.try_reap(&key);
            self.answer_parked();
        }
        if rollback {
            let reply = if owed.is_some() { job.reply.take() } else { None };
            self.jobs.insert(
                i.min(self.jobs.len()),
                Job {
                    call: Call {
                        timeout_ms: ROLLBACK_TIMEOUT.as_millis() as u64,
                        req: Request::Delete {
                            id: id.clone(),
                            force: true,
                        },
                    },
                    deadline: Instant::now() + ROLLBACK_TIMEOUT,
                    reply,
                    stdio: Vec::new(),
                    worker: None,
                    then_answer: owed,
                    answered: false,
                    adopt: None,
                    needs_rollback: false,
                    awaiting_exit: None,
                },
            );
        }
        self.leftovers_owed();
        if rollback {
            // at once: live processes of the failed worker's group must not outlive its create
            self.failed_pgids.push(wpid);
            self.look_for_leftovers();
        }
    }

    /// Notes that untracked children may wait to be reaped ([`LEFTOVERS_MAX_DELAY`]).
    fn leftovers_owed(&mut self) {
        self.leftovers_due.get_or_insert_with(Instant::now);
    }

    /// The owed look for leftovers, if one is owed; still owed when it could not be made yet.
    fn look_for_leftovers(&mut self) {
        if self.leftovers_due.is_some() && self.reap_leftovers() {
            self.leftovers_due = None;
            self.failed_pgids.clear();
        }
    }

    /// Kills the workers of jobs past their deadline (with their process group: hooks too) and drops queued
    /// jobs past theirs.
    fn enforce_deadlines(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.jobs.len() {
            let j = &mut self.jobs[i];
            if j.deadline > now || j.released() {
                i += 1;
                continue;
            }
            match j.worker.as_mut() {
                Some(w) if !w.timed_out => {
                    w.timed_out = true;
                    unsafe {
                        libc::kill(-w.pid, libc::SIGKILL);
                        libc::syscall(libc::SYS_pidfd_send_signal, w.pidfd.as_raw_fd(), libc::SIGKILL, 0, 0);
                    }
                    i += 1;
                }
                Some(_) => i += 1,
                None => {
                    let job = self.jobs.remove(i);
                    answer(
                        &job.reply,
                        &error_response(
                            YFFM_ERR_TIMEOUT,
                            format!(
                                "{} {} did not start within {:.3} s: an earlier call on the same container was still running",
                                job.call.req.name(),
                                job.call.req.container_id().unwrap_or(""),
                                job.call.timeout_ms as f64 / 1000.0
                            ),
                        ),
                        &[],
                    );
                }
            }
        }
    }

    /// Whether a worker has exited and not been processed yet (its answer may still be unread).
    fn a_worker_ended(&self) -> bool {
        self.jobs.iter().any(|j| j.worker.as_ref().is_some_and(|w| readable(w.pidfd.as_raw_fd())))
    }

    /// The usual case of [`Helper::reap_leftovers`] without reading /proc: reaps zombie children while each one
    /// `waitid(WNOWAIT)` shows is nobody's (not a worker, the spare or a tracked process). True when no zombie
    /// is left; false when one it shows is somebody's (the full look then decides).
    fn reap_untracked_zombies(&mut self) -> bool {
        for _ in 0..64 {
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let r = unsafe {
                libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
            };
            if r != 0 {
                // ECHILD: no child at all
                return true;
            }
            let pid = unsafe { info.si_pid() };
            if pid == 0 {
                return true;
            }
            let somebodys = self.jobs.iter().any(|j| j.worker.as_ref().is_some_and(|w| w.pid == pid))
                || self.spare.as_ref().is_some_and(|sp| sp.pid == pid)
                || self.exits.tracks_pid(pid);
            // a worker that ended since the last look may have just handed us its init (the kernel reparents
            // before the worker's pidfd turns readable): that init is not a leftover
            if somebodys || self.a_worker_ended() {
                return false;
            }
            // a zombie child of ours, so the pid is stable until this wait
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
        false
    }

    /// Reaps children nobody tracks: leftovers of finished workers (a hook's orphan, the intermediate or init of
    /// a create whose worker was killed). Live ones still in the process group of a worker that failed
    /// (`failed_pgids`) are killed; they are reaped on a later look. Runs only while every worker that exited
    /// has been processed, so an init whose worker's answer is still unread is never mistaken for a leftover:
    /// false when it could not run for that reason.
    fn reap_leftovers(&mut self) -> bool {
        if self.a_worker_ended() {
            return false;
        }
        if self.failed_pgids.is_empty() && self.reap_untracked_zombies() {
            return true;
        }
        let mut workers: HashSet<i32> =
            self.jobs.iter().filter_map(|j| j.worker.as_ref().map(|w| w.pid)).collect();
        if let Some(sp) = &self.spare {
            workers.insert(sp.pid);
        }
        let tracked: HashSet<i32> = self.exits.live_pids().into_iter().collect();
        let children = child_pids();
        if self.a_worker_ended() {
            return false;
        }
        for pid in children {
            if workers.contains(&pid) || tracked.contains(&pid) {
                continue;
            }
            // our child and not reaped, so the pid is stable until we wait for it
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().collect())
                .unwrap_or_default();
            let zombie = fields.first() == Some(&"Z");
            if !zombie {
                let pgid = fields.get(2).and_then(|p| p.parse::<i32>().ok());
                if pgid.is_some_and(|g| self.failed_pgids.contains(&g)) {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                continue;
            }
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
        true
    }
}

/// Forks a child of the helper (a worker or spare) with a socket pair: `child` runs in it with the helper's pid
/// and its end of the pair, and must not return (the child `_exit`s if it does). Returns the child's pid, a pidfd (our child, not reaped, so the
/// pid is pinned until we wait for it) and the helper's end.
fn fork_child(what: &str, child: impl FnOnce(i32, RawFd)) -> OpResult<(i32, OwnedFd, OwnedFd)> {
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|e| OpError::io(&format!("socketpair for a {what}"), &io::Error::from_raw_os_error(e as i32)))?;
    let helper_pid = raw_getpid();
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(OpError::io(&format!("fork a {what}"), &io::Error::last_os_error()));
    }
    if pid == 0 {
        // workers, and the hooks and containers they start, get the default slice and the inherited nice value
        let _ = set_sched(0, Some(INHERITED_NICE.load(Ordering::Relaxed)));
        child(helper_pid, theirs.as_raw_fd());
        unsafe { libc::_exit(127) };
    }
    drop(theirs);
    let pidfd = pidfd_open(pid).map_err(|e| {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        OpError::io(&format!("pidfd_open({what})"), &e)
    })?;
    Ok((pid, pidfd, ours))
}

/// A worker's successful result: registers the process it made (pending until that worker is reaped) and
/// answers the caller. A create whose process cannot be registered is answered with the error and marked for
/// rollback; such an exec is killed.
fn conclude_ok(exits: &mut ExitTable, next_exec: &mut u64, job: &mut Job, mut resp: Response, mut fds: Vec<OwnedFd>) {
    match &job.call.req {
        Request::Create { id, .. } | Request::Exec { id, .. } if fds.len() == 1 => {
            let is_exec = matches!(job.call.req, Request::Exec { .. });
            let key = if is_exec {
                *next_exec += 1;
                resp.token = Some(*next_exec);
                exec_key(*next_exec)
            } else {
                id.clone()
            };
            let fd = fds.pop().unwrap();
            match dup_cloexec(fd.as_fd()) {
                Ok(mine) => {
                    exits.insert_pending(&key, resp.value.unwrap_or(0), mine);
                    job.adopt = Some(key);
                    answer(&job.reply, &resp, &[fd.as_raw_fd()]);
                }
                Err(e) => {
                    answer(&job.reply, &error_response(YFFM_ERR_RESOURCE, format!("dup pidfd: {e}")), &[]);
                    job.needs_rollback = !is_exec;
                    if is_exec {
                        unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), libc::SIGKILL, 0, 0) };
                    }
                }
            }
        }
        Request::Resume { id } => {
            exits.set_maybe_frozen(id, false);
            answer(&job.reply, &resp, &[]);
        }
        Request::Delete { id, .. } => {
            if exits.is_tracked(id) {
                exits.try_reap(id);
                exits.mark_deleted(id);
            }
            answer(&job.reply, &resp, &[]);
        }
        _ => answer(&job.reply, &resp, &[]),
    }
}

/// Moves `fds` to `targets` (distinct, ascending, above 2), safely even where a source sits on another target.
fn place_fds(fds: &[RawFd], targets: &[RawFd]) -> io::Result<()> {
    let hi = targets.iter().copied().max().unwrap_or(2);
    let mut moved: Vec<RawFd> = Vec::with_capacity(fds.len());
    for &fd in fds {
        moved.push(if fd <= hi {
            cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, hi + 1) })?
        } else {
            fd
        });
    }
    for (&src, &dst) in moved.iter().zip(targets) {
        cvt(unsafe { libc::dup3(src, dst, libc::O_CLOEXEC) })?;
    }
    unsafe { libc::close_range((hi + 1) as u32, u32::MAX, 0) };
    Ok(())
}

/// The worker, right after fork: sets itself up, runs one request, sends the answer, exits. Never returns and
/// never runs the helper's destructors (its fds are the helper's).
fn worker_main(
    helper_pid: i32,
    nofile_soft: libc::rlim_t,
    sock: RawFd,
    stdio: &[RawFd],
    root: &Path,
    req: &Request,
) -> ! {
    worker_setup(helper_pid, nofile_soft);
    let mut fds = vec![sock, LOG_FD.load(Ordering::Relaxed)];
    fds.extend_from_slice(stdio);
    let targets: Vec<RawFd> = (W_SOCK_FD..W_SOCK_FD + fds.len() as RawFd).collect();
    if place_fds(&fds, &targets).is_err() {
        unsafe { libc::_exit(2) };
    }
    LOG_FD.store(W_LOG_FD, Ordering::Relaxed);
    worker_run(root, req, stdio.len())
}

/// A spare worker, right after fork: sets itself up, waits for one call (with its stdio fds) on its socket, and
/// runs it as [`worker_main`] would. EOF (the helper is done) ends it.
fn spare_main(helper_pid: i32, nofile_soft: libc::rlim_t, sock: RawFd, root: &Path) -> ! {
    worker_setup(helper_pid, nofile_soft);
    if place_fds(&[sock, LOG_FD.load(Ordering::Relaxed)], &[W_SOCK_FD, W_LOG_FD]).is_err() {
        unsafe { libc::_exit(2) };
    }
    LOG_FD.store(W_LOG_FD, Ordering::Relaxed);
    let (payload, fds) = match recv_msg(unsafe { std::os::fd::BorrowedFd::borrow_raw(W_SOCK_FD) }) {
        Ok(Some(m)) => m,
        _ => unsafe { libc::_exit(0) },
    };
    let Ok(call) = serde_json::from_slice::<Call>(&payload) else {
        unsafe { libc::_exit(4) }
    };
    let raw: Vec<RawFd> = fds.into_iter().map(std::os::fd::IntoRawFd::into_raw_fd).collect();
    if !raw.is_empty() {
        let mut targets = vec![W_SOCK_FD, W_LOG_FD];
        targets.extend((0..raw.len()).map(|k| W_STDIO_FD + k as RawFd));
        let mut all = vec![W_SOCK_FD, W_LOG_FD];
        all.extend_from_slice(&raw);
        if place_fds(&all, &targets).is_err() {
            unsafe { libc::_exit(2) };
        }
    }
    worker_run(root, &call.req, raw.len())
}

/// Signal dispositions, process group, parent-death signal and fd limit of a worker (or spare).
fn worker_setup(helper_pid: i32, nofile_soft: libc::rlim_t) {
    OWNER_PID.store(raw_getpid(), Ordering::Relaxed);
    unsafe {
        // die with the helper; its own group, so a deadline kill takes its hooks too
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != helper_pid {
            libc::_exit(1);
        }
        libc::setpgid(0, 0);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigpipe as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGPIPE, &sa, std::ptr::null_mut());
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = nofile_soft.min(lim.rlim_max);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

/// Runs one call with its stdio at `W_STDIO_FD..`, sends the answer, exits.
fn worker_run(root: &Path, req: &Request, n_stdio: usize) -> ! {
    let stdio: Vec<OwnedFd> = (0..n_stdio)
        .map(|k| unsafe { OwnedFd::from_raw_fd(W_STDIO_FD + k as RawFd) })
        .collect();
    let (resp, out_fd) = match catch_unwind(AssertUnwindSafe(|| run_request(root, req, stdio))) {
        Ok(r) => r,
        Err(p) => (
            error_response(YFFM_ERR_PANIC, format!("panic in the worker: {}", panic_message(&*p))),
            None,
        ),
    };
    let bytes = serde_json::to_vec(&resp).unwrap_or_default();
    let fds: Vec<RawFd> = out_fd.iter().map(|f| f.as_raw_fd()).collect();
    let sent = send_msg(unsafe { std::os::fd::BorrowedFd::borrow_raw(W_SOCK_FD) }, &bytes, &fds);
    unsafe { libc::_exit(if sent.is_ok() { 0 } else { 3 }) }
}

fn to_resp<T>(r: OpResult<T>, f: impl FnOnce(T) -> Response) -> Response {
    match r {
        Ok(v) => f(v),
        Err(e) => error_response(e.code, e.msg),
    }
}

/// One request in a worker.
fn run_request(root: &Path, req: &Request, stdio: Vec<OwnedFd>) -> (Response, Option<OwnedFd>) {
    let mut engine = Engine::for_worker(root.to_path_buf());
    let take3 = |v: Vec<OwnedFd>| -> OpResult<[OwnedFd; 3]> {
        <[OwnedFd; 3]>::try_from(v).map_err(|_| OpError::new(YFFM_ERR_HELPER, "protocol error: 3 stdio fds expected"))
    };
    let json = |j: String| Response {
        json: Some(j),
        ..ok()
    };
    match req {
        Request::Create { id, bundle, console_socket } => match take3(stdio)
            .and_then(|s| engine.create(id, bundle, s, console_socket.as_deref()))
        {
            Ok((pid, pidfd)) => {
                // the worker exits after this call, so it may enter the container's netns
                crate::ops::bring_loopback_up(pid);
                (
                Response {
                    value: Some(pid),
                    ..ok()
                },
                Some(pidfd),
            )
            }
            Err(e) => (error_response(e.code, e.msg), None),
        },
        Request::Exec { id, process, console_socket } => match take3(stdio)
            .and_then(|s| engine.exec(id, process, s, console_socket.as_deref()))
        {
            Ok((pid, pidfd)) => (
                Response {
                    value: Some(pid),
                    ..ok()
                },
                Some(pidfd),
            ),
            Err(e) => (error_response(e.code, e.msg), None),
        },
        Request::Start { id } => (to_resp(engine.start(id), |_| ok()), None),
        Request::Kill { id, signal, all } => (to_resp(engine.kill(id, *signal, *all), |_| ok()), None),
        Request::Delete { id, force } => (to_resp(engine.delete(id, *force), |_| ok()), None),
        Request::Pause { id } => (to_resp(engine.pause(id), |_| ok()), None),
        Request::Resume { id } => (to_resp(engine.resume(id), |_| ok()), None),
        Request::Ps { id } => (to_resp(engine.ps(id), json), None),
        Request::Stats { id } => (to_resp(engine.stats(id), json), None),
        Request::Update { id, resources } => (to_resp(engine.update(id, resources), |_| ok()), None),
        Request::Panic { in_child } => {
            if *in_child {
                // as a container init that panics: a process with a copy of our stack
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    panic!("test panic in a forked child");
                }
                let mut st = 0;
                unsafe { libc::waitpid(pid, &mut st, 0) };
                let code = if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 128 + libc::WTERMSIG(st) };
                (
                    Response {
                        value: Some(code),
                        ..ok()
                    },
                    None,
                )
            } else {
                panic!("test panic requested")
            }
        }
        Request::Ping | Request::ExitStatus { .. } | Request::ExecStatus { .. } => {
            (error_response(YFFM_ERR_HELPER, "protocol error: answered by the helper itself"), None)
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The caller's side
// ---------------------------------------------------------------------------------------------------------------

/// One running helper process.
struct Conn {
    sock: OwnedFd,
    pid: i32,
    pidfd: OwnedFd,
    child: Mutex<Option<Child>>,
    /// Set once the helper is known dead or stalled; the next call replaces it.
    dead: Mutex<Option<String>>,
}

impl Conn {
    fn is_dead(&self) -> bool {
        if self.dead.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
            return true;
        }
        readable(self.pidfd.as_raw_fd())
    }

    /// Marks the helper dead (killing it if it still runs: it stalled or broke the protocol) and says how it went.
    fn kill_and_describe(&self, what: &str) -> String {
        let mut dead = self.dead.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = dead.as_ref() {
            return d.clone();
        }
        unsafe { libc::syscall(libc::SYS_pidfd_send_signal, self.pidfd.as_raw_fd(), libc::SIGKILL, 0, 0) };
        let status = match self.child.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(c) => match c.wait() {
                Ok(st) => format!("{st}"),
                Err(e) => format!("unknown ({e})"),
            },
            None => "unknown".into(),
        };
        let m = format!("yffm-helper (pid {}) {what}; it ended with {status}", self.pid);
        *dead = Some(m.clone());
        m
    }
}

impl Drop for Conn {
    /// The socket closes first (the helper finishes the calls it runs, then exits on EOF); a helper still there
    /// after 10 s is killed. Always reaped with a targeted wait.
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut c) = child.take() {
            if !matches!(c.try_wait(), Ok(Some(_))) {
                unsafe { libc::shutdown(self.sock.as_raw_fd(), libc::SHUT_RDWR) };
                if reap_wait(self.pidfd.as_raw_fd(), Duration::from_secs(10)).is_none() {
                    let _ = c.kill();
                }
                let _ = c.wait();
            }
        }
    }
}

fn reap_wait(pidfd: RawFd, timeout: Duration) -> Option<()> {
    let mut p = pollfd(pidfd);
    let ms = timeout.as_millis() as libc::c_int;
    (unsafe { libc::poll(&mut p, 1, ms) } > 0).then_some(())
}

/// The caller's handle on the helper: spawns it, replaces it when it dies or stalls, and runs calls with
/// deadlines. Calls from many threads run concurrently.
pub struct HelperClient {
    helper_path: String,
    root: PathBuf,
    log: PathBuf,
    default_timeout: Duration,
    conn: Mutex<Option<Arc<Conn>>>,
    send_lock: Mutex<()>,
    starts: AtomicU64,
}

impl HelperClient {
    /// Spawns the first helper (so a bad helper path or root fails here) with `default_timeout` for calls that
    /// do not give their own.
    pub fn spawn(helper_path: &str, root: &Path, default_timeout: Duration) -> OpResult<Self> {
        if !Path::new(helper_path).is_file() {
            return Err(OpError::invalid(format!("helper {helper_path:?} is not an existing file")));
        }
        let c = Self {
            helper_path: helper_path.to_string(),
            root: root.to_path_buf(),
            log: root.join(HELPER_LOG),
            default_timeout,
            conn: Mutex::new(None),
            send_lock: Mutex::new(()),
            starts: AtomicU64::new(0),
        };
        c.current()?;
        Ok(c)
    }

    pub fn pid(&self) -> i32 {
        self.conn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |c| c.pid)
    }

    /// How many helper processes this client has started (1 + replacements).
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Relaxed)
    }

    fn current(&self) -> OpResult<Arc<Conn>> {
        let mut g = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = g.as_ref() {
            if !c.is_dead() {
                return Ok(c.clone());
            }
            let why = c.kill_and_describe("died");
            log_caller(&self.log, &format!("replacing the helper: {why}"));
        }
        let c = Arc::new(self.start_helper()?);
        self.starts.fetch_add(1, Ordering::Relaxed);
        *g = Some(c.clone());
        Ok(c)
    }

    fn start_helper(&self) -> OpResult<Conn> {
        let logf = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&self.log)
            .map_err(|e| OpError::io(&format!("open {}", self.log.display()), &e))?;
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| OpError::io("socketpair", &io::Error::from_raw_os_error(e as i32)))?;
        let their_fd = theirs.as_raw_fd();
        let mut cmd = Command::new(&self.helper_path);
        cmd.arg(&self.root)
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
        let mut child = cmd.spawn().map_err(|e| {
            let code = if e.raw_os_error().is_some_and(is_resource_errno) { YFFM_ERR_RESOURCE } else { YFFM_ERR_HELPER };
            OpError::new(code, format!("cannot start helper {:?}: {e}", self.helper_path))
        })?;
        drop(theirs);
        let pid = child.id() as i32;
        // not reaped yet, so the pid is the helper's
        let pidfd = match pidfd_open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(OpError::io("pidfd_open(helper)", &e));
            }
        };
        let conn = Conn {
            sock: ours,
            pid,
            pidfd,
            child: Mutex::new(Some(child)),
            dead: Mutex::new(None),
        };
        // the greeting, bounded
        let mut p = [pollfd(conn.sock.as_raw_fd()), pollfd(conn.pidfd.as_raw_fd())];
        let r = unsafe { libc::poll(p.as_mut_ptr(), 2, SPAWN_TIMEOUT.as_millis() as libc::c_int) };
        if r <= 0 || p[0].revents == 0 {
            let m = conn.kill_and_describe(if r == 0 { "did not greet within 10 s" } else { "died before greeting" });
            return Err(OpError::new(YFFM_ERR_HELPER, format!("{m}; see {}", self.log.display())));
        }
        let hello = match recv_msg(conn.sock.as_fd()) {
            Ok(Some((payload, _))) => serde_json::from_slice::<Response>(&payload).ok(),
            _ => None,
        };
        match hello {
            Some(r) if r.code == YFFM_OK && r.msg.as_deref() == Some(hello_text().as_str()) => Ok(conn),
            Some(r) if r.code != YFFM_OK => {
                conn.kill_and_describe("failed to start");
                Err(OpError::new(r.code, r.msg.unwrap_or_default()))
            }
            other => {
                let m = format!(
                    "helper {:?} greeted with {:?}, expected {:?} (use the helper built with this library)",
                    self.helper_path,
                    other.and_then(|r| r.msg),
                    hello_text()
                );
                conn.kill_and_describe("is the wrong helper");
                Err(OpError::new(YFFM_ERR_HELPER, m))
            }
        }
    }

    /// One call with a deadline (`timeout` or the default). A non-OK answer becomes an `OpError` with the
    /// helper's code and text; a helper that dies during the call is `YFFM_ERR_HELPER`, one that does not answer
    /// `YFFM_ERR_TIMEOUT` (and is replaced).
    pub fn call(&self, req: Request, fds: &[RawFd], timeout: Option<Duration>) -> OpResult<(Response, Vec<OwnedFd>)> {
        let timeout = timeout.unwrap_or(self.default_timeout);
        let op = req.name();
        let call = Call {
            timeout_ms: timeout.as_millis().max(1) as u64,
            req,
        };
        let bytes = serde_json::to_vec(&call).map_err(|e| OpError::new(YFFM_ERR_HELPER, format!("encode: {e}")))?;
        let (mine, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| OpError::io(&format!("{op}: reply socket"), &io::Error::from_raw_os_error(e as i32)))?;
        let mut all = vec![theirs.as_raw_fd()];
        all.extend_from_slice(fds);
        // a call that could not be delivered never reached a helper: one retry with a fresh one is safe
        let mut conn = self.current()?;
        for attempt in 0..2 {
            let sent = {
                let _g = self.send_lock.lock().unwrap_or_else(|e| e.into_inner());
                send_msg(conn.sock.as_fd(), &bytes, &all)
            };
            match sent {
                Ok(()) => break,
                Err(e) if e.raw_os_error().is_some_and(is_resource_errno) => {
                    return Err(OpError::io(&format!("{op}: send to the helper"), &e));
                }
                Err(e) if attempt == 0 => {
                    conn.kill_and_describe(&format!("refused a call ({e})"));
                    conn = self.current()?;
                }
                Err(e) => {
                    let m = conn.kill_and_describe(&format!("refused a call ({e})"));
                    return Err(OpError::new(YFFM_ERR_HELPER, m));
                }
            }
        }
        drop(theirs);
        // Wait for the answer. Past the deadline the helper should be answering with its own timeout (for a
        // create, after the rollback): a ping tells a busy helper from a stalled one.
        let start = Instant::now();
        let mut limit = start + timeout + PING_AFTER;
        let mut pinged = false;
        let mut p = [pollfd(mine.as_raw_fd()), pollfd(conn.pidfd.as_raw_fd())];
        loop {
            let left = limit.saturating_duration_since(Instant::now());
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            let r = unsafe { libc::poll(p.as_mut_ptr(), 2, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(OpError::io(&format!("{op}: poll"), &e));
            }
            if r > 0 {
                break;
            }
            if !pinged && self.ping(&conn) {
                pinged = true;
                limit = start + timeout + STALL_GRACE;
                continue;
            }
            let m = conn.kill_and_describe(&format!(
                "did not answer {op} within {:.3} s (stalled); it was killed and the next call starts a new one",
                start.elapsed().as_secs_f64()
            ));
            log_caller(&self.log, &m);
            return Err(OpError::new(YFFM_ERR_TIMEOUT, m));
        }
        if p[0].revents == 0 {
            let m = conn.kill_and_describe(&format!("died during {op}"));
            log_caller(&self.log, &m);
            return Err(OpError::new(
                YFFM_ERR_HELPER,
                format!("{m}; the outcome of this {op} is unknown, and the next call starts a new helper"),
            ));
        }
        let (resp, fds) = match recv_msg(mine.as_fd()) {
            Ok(Some((payload, fds))) => match serde_json::from_slice::<Response>(&payload) {
                Ok(r) => (r, fds),
                Err(e) => return Err(OpError::new(YFFM_ERR_HELPER, format!("{op}: bad answer: {e}"))),
            },
            Ok(None) => {
                // the call's socket was dropped unanswered: the helper died with it
                let _ = reap_wait(conn.pidfd.as_raw_fd(), Duration::from_secs(1));
                let m = conn.kill_and_describe(&format!("died during {op}"));
                return Err(OpError::new(
                    YFFM_ERR_HELPER,
                    format!("{m}; the outcome of this {op} is unknown, and the next call starts a new helper"),
                ));
            }
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                return Err(OpError::new(
                    YFFM_ERR_RESOURCE,
                    format!("{op}: the answer's file descriptors were dropped: this process reached its fd limit"),
                ));
            }
            Err(e) => return Err(OpError::new(YFFM_ERR_HELPER, format!("{op}: receiving the answer failed: {e}"))),
        };
        if resp.code != YFFM_OK {
            return Err(OpError::new(resp.code, resp.msg.unwrap_or_else(|| "helper returned an error".into())));
        }
        Ok((resp, fds))
    }

    /// Whether the helper answers a ping within [`PING_TIMEOUT`]: its loop is alive.
    fn ping(&self, conn: &Conn) -> bool {
        let Ok((mine, theirs)) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        else {
            return true; // cannot tell: assume alive rather than kill a working helper
        };
        let bytes = serde_json::to_vec(&Call {
            timeout_ms: PING_TIMEOUT.as_millis() as u64,
            req: Request::Ping,
        })
        .unwrap_or_default();
        let sent = {
            let _g = self.send_lock.lock().unwrap_or_else(|e| e.into_inner());
            send_msg(conn.sock.as_fd(), &bytes, &[theirs.as_raw_fd()])
        };
        drop(theirs);
        if sent.is_err() {
            return false;
        }
        let mut p = pollfd(mine.as_raw_fd());
        (unsafe { libc::poll(&mut p, 1, PING_TIMEOUT.as_millis() as libc::c_int) } > 0)
            && matches!(recv_msg(mine.as_fd()), Ok(Some(_)))
    }

    /// Test hook: SIGKILLs the current helper (as the OOM killer or an operator would).
    pub fn kill_helper_for_test(&self) {
        if let Some(c) = self.conn.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            unsafe { libc::syscall(libc::SYS_pidfd_send_signal, c.pidfd.as_raw_fd(), libc::SIGKILL, 0, 0) };
        }
    }
}

/// A line in the helper log from the caller's side (helper replacements).
fn log_caller(log: &Path, msg: &str) {
    use std::io::Write;
    if let Ok(mut f) = OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(log)
    {
        let _ = writeln!(
            f,
            "{} libyouki_ffm[{}]: {msg}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            std::process::id()
        );
    }
}
