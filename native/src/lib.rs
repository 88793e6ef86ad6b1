//! youki-ffm native: a C ABI (`yffm_*`) over youki's libcontainer 0.7, for Java FFM.
//!
//! Conventions (rustls-ffi style): every function returns an `int32_t` status (`YFFM_OK` or `YFFM_ERR_*`), except
//! `yffm_runtime_free`. Outputs are written only on success. Error text goes into a caller buffer (`err`,
//! `err_cap`; truncated, always NUL-terminated when `err_cap > 0`; `err` may be NULL). JSON outputs go into a
//! caller buffer (`buf`, `cap`, `len_out`; `YFFM_ERR_BUFFER_TOO_SMALL` if it does not fit). Every function runs
//! behind a panic boundary. No Rust-allocated memory is ever handed to the caller.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod helper;
pub mod ipam;
pub mod netfast;
pub mod netlink;
pub mod ops;
pub mod proto;
pub mod status;
pub mod util;

use std::ffi::{c_char, CStr};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use helper::{panic_message, HelperClient};
use ops::{Engine, ExitTable};
use proto::Request;
pub use status::*;
use util::{stdio_fd, validate_bundle, validate_id, OpError, OpResult};

/// The libcontainer version this library is built against (pinned with `=` in Cargo.toml).
pub const LIBCONTAINER_VERSION: &str = "0.7.0";

/// Serializes every direct-mode call in the process: libcontainer changes process-wide state (cwd, dumpable,
/// oom_score_adj) while it works.
static DIRECT_LOCK: Mutex<()> = Mutex::new(());

/// Direct mode's state: the operations and the exits of the inits they made, on the calling thread.
struct Direct {
    engine: Engine,
    exits: ExitTable,
    next_exec: u64,
}

enum Backend {
    Helper(HelperClient),
    Direct(Mutex<Direct>),
}

/// A container runtime: one state root, one mode. Opaque; create with `yffm_runtime_new`, release with
/// `yffm_runtime_free`. Calls on one runtime may come from many threads at once: in helper mode they run
/// concurrently (calls on one container in arrival order), in direct mode one at a time.
pub struct yffm_runtime {
    root: PathBuf,
    backend: Backend,
}

/// `timeout_ms` of a call: 0 means the runtime's default.
fn call_timeout(ms: u32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms as u64))
}

impl yffm_runtime {
    fn direct<T>(d: &Mutex<Direct>, f: impl FnOnce(&mut Direct) -> OpResult<T>) -> OpResult<T> {
        let _g = DIRECT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut d)
    }

    /// Helper mode: sends `req` with the 3 stdio fds and expects an answer with a pid and one pidfd.
    fn call_with_stdio(
        h: &HelperClient,
        req: Request,
        stdio: [OwnedFd; 3],
        timeout: Option<Duration>,
    ) -> OpResult<(proto::Response, i32, OwnedFd)> {
        let fds = [stdio[0].as_raw_fd(), stdio[1].as_raw_fd(), stdio[2].as_raw_fd()];
        let (resp, mut fds) = h.call(req, &fds, timeout)?;
        drop(stdio);
        let pid = resp
            .value
            .ok_or_else(|| OpError::new(YFFM_ERR_HELPER, "protocol error: answer without pid"))?;
        if fds.len() != 1 {
            return Err(OpError::new(
                YFFM_ERR_HELPER,
                format!("protocol error: answer carried {} fds, expected 1 pidfd", fds.len()),
            ));
        }
        Ok((resp, pid, fds.pop().unwrap()))
    }

    fn create(
        &self,
        id: &str,
        bundle: &str,
        stdio: [OwnedFd; 3],
        console_socket: Option<&str>,
        timeout: Option<Duration>,
    ) -> OpResult<(i32, OwnedFd)> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| {
                let (pid, fd) = d.engine.create(id, bundle, stdio, console_socket)?;
                let mine = util::dup_cloexec(fd.as_fd()).map_err(|e| OpError::io("dup pidfd", &e))?;
                d.exits.insert(id, pid, mine);
                Ok((pid, fd))
            }),
            Backend::Helper(h) => {
                let req = Request::Create {
                    id: id.into(),
                    bundle: bundle.into(),
                    console_socket: console_socket.map(str::to_string),
                };
                let (_, pid, pidfd) = Self::call_with_stdio(h, req, stdio, timeout)?;
                Ok((pid, pidfd))
            }
        }
    }

    fn exec(
        &self,
        id: &str,
        process: &str,
        stdio: [OwnedFd; 3],
        console_socket: Option<&str>,
        timeout: Option<Duration>,
    ) -> OpResult<(u64, i32, OwnedFd)> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| {
                let (pid, fd) = d.engine.exec(id, process, stdio, console_socket)?;
                let mine = util::dup_cloexec(fd.as_fd()).map_err(|e| OpError::io("dup pidfd", &e))?;
                d.next_exec += 1;
                d.exits.insert(&ops::exec_key(d.next_exec), pid, mine);
                Ok((d.next_exec, pid, fd))
            }),
            Backend::Helper(h) => {
                let req = Request::Exec {
                    id: id.into(),
                    process: process.into(),
                    console_socket: console_socket.map(str::to_string),
                };
                let (resp, pid, pidfd) = Self::call_with_stdio(h, req, stdio, timeout)?;
                let token = resp
                    .token
                    .ok_or_else(|| OpError::new(YFFM_ERR_HELPER, "protocol error: exec without token"))?;
                Ok((token, pid, pidfd))
            }
        }
    }

    fn exec_status(&self, token: u64) -> OpResult<i32> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| d.exits.exec_status(token)),
            Backend::Helper(h) => h.call(Request::ExecStatus { token }, &[], None)?.0.value.ok_or_else(|| {
                OpError::new(YFFM_ERR_HELPER, "protocol error: answer without exit code")
            }),
        }
    }

    fn simple(
        &self,
        req: Request,
        timeout: Option<Duration>,
        f: impl FnOnce(&mut Engine) -> OpResult<()>,
    ) -> OpResult<()> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| f(&mut d.engine)),
            Backend::Helper(h) => h.call(req, &[], timeout).map(|_| ()),
        }
    }

    fn json(
        &self,
        req: Request,
        timeout: Option<Duration>,
        f: impl FnOnce(&mut Engine) -> OpResult<String>,
    ) -> OpResult<String> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| f(&mut d.engine)),
            Backend::Helper(h) => h
                .call(req, &[], timeout)?
                .0
                .json
                .ok_or_else(|| OpError::new(YFFM_ERR_HELPER, "protocol error: answer without json")),
        }
    }

    fn delete(&self, id: &str, force: bool, timeout: Option<Duration>) -> OpResult<()> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| {
                let res = d.engine.delete(id, force);
                if d.exits.is_tracked(id) {
                    if res.is_ok() {
                        d.exits.reap_bounded(id, Duration::from_secs(5));
                        d.exits.mark_deleted(id);
                    } else {
                        d.exits.try_reap(id);
                    }
                }
                d.exits.reap_orphans();
                res
            }),
            Backend::Helper(h) => h
                .call(Request::Delete { id: id.into(), force }, &[], timeout)
                .map(|_| ()),
        }
    }

    fn exit_status(&self, id: &str) -> OpResult<i32> {
        match &self.backend {
            Backend::Direct(d) => Self::direct(d, |d| d.exits.exit_status(id)),
            Backend::Helper(h) => h.call(Request::ExitStatus { id: id.into() }, &[], None)?.0.value.ok_or_else(|| {
                OpError::new(YFFM_ERR_HELPER, "protocol error: answer without exit code")
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// ABI plumbing
// ---------------------------------------------------------------------------------------------------------------

/// Copies `msg` into the caller's error buffer: truncated at a UTF-8 boundary, always NUL-terminated.
unsafe fn write_err(err: *mut c_char, err_cap: usize, msg: &str) {
    if err.is_null() || err_cap == 0 {
        return;
    }
    let mut n = msg.len().min(err_cap - 1);
    while n > 0 && !msg.is_char_boundary(n) {
        n -= 1;
    }
    std::ptr::copy_nonoverlapping(msg.as_ptr(), err as *mut u8, n);
    *err.add(n) = 0;
}

/// The panic boundary every export runs in: `Ok` → `YFFM_OK`, `Err` → its code and text, a panic →
/// `YFFM_ERR_PANIC` with the panic message.
pub(crate) fn ffi_boundary(
    err: *mut c_char,
    err_cap: usize,
    f: impl FnOnce() -> OpResult<()>,
) -> i32 {
    let r = catch_unwind(AssertUnwindSafe(f));
    let (code, msg) = match r {
        Ok(Ok(())) => return YFFM_OK,
        Ok(Err(e)) => (e.code, e.msg),
        Err(p) => (
            YFFM_ERR_PANIC,
            format!("panic in youki_ffm: {}", panic_message(&*p)),
        ),
    };
    unsafe { write_err(err, err_cap, &msg) };
    code
}

/// The caller's stdio fds (each duplicated; -1 = /dev/null) as owned fds.
fn stdio_fds(stdin_fd: i32, stdout_fd: i32, stderr_fd: i32) -> OpResult<[OwnedFd; 3]> {
    Ok([
        stdio_fd(stdin_fd, "stdin_fd", false)?,
        stdio_fd(stdout_fd, "stdout_fd", true)?,
        stdio_fd(stderr_fd, "stderr_fd", true)?,
    ])
}

unsafe fn cstr<'a>(p: *const c_char, what: &str) -> OpResult<&'a str> {
    if p.is_null() {
        return Err(OpError::invalid(format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| OpError::invalid(format!("{what} is not valid UTF-8")))
}

/// An optional string argument: NULL is `None`.
unsafe fn opt_cstr<'a>(p: *const c_char, what: &str) -> OpResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        cstr(p, what).map(Some)
    }
}

unsafe fn rt_ref<'a>(rt: *mut yffm_runtime) -> OpResult<&'a yffm_runtime> {
    rt.as_ref()
        .ok_or_else(|| OpError::invalid("runtime is NULL"))
}

fn nonnull<T>(p: *mut T, what: &str) -> OpResult<()> {
    if p.is_null() {
        Err(OpError::invalid(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

fn check_buf(buf: *mut u8, cap: usize, len_out: *mut usize) -> OpResult<()> {
    nonnull(len_out, "len_out")?;
    if buf.is_null() && cap > 0 {
        return Err(OpError::invalid("buf is NULL but cap > 0"));
    }
    Ok(())
}

unsafe fn write_buf(buf: *mut u8, cap: usize, len_out: *mut usize, data: &[u8]) -> OpResult<()> {
    if data.len() > cap {
        return Err(OpError::new(
            YFFM_ERR_BUFFER_TOO_SMALL,
            format!("output needs {} bytes, buffer has {cap}", data.len()),
        ));
    }
    if !data.is_empty() {
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
    }
    *len_out = data.len();
    Ok(())
}

/// The body shared by every export that takes only a container id and returns nothing: checks the runtime and
/// the id (before anything is touched), then runs the operation in the helper or in-process.
unsafe fn id_op(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
    req: fn(String) -> Request,
    f: fn(&mut Engine, &str) -> OpResult<()>,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        rt.simple(req(id.into()), call_timeout(timeout_ms), |e| f(e, id))
    })
}

/// The body shared by every export that takes a container id and returns JSON in a caller buffer.
#[allow(clippy::too_many_arguments)]
unsafe fn id_json(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
    req: fn(String) -> Request,
    f: fn(&mut Engine, &str) -> OpResult<String>,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        check_buf(buf, cap, len_out)?;
        let json = rt.json(req(id.into()), call_timeout(timeout_ms), |e| f(e, id))?;
        write_buf(buf, cap, len_out, json.as_bytes())
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------------------------------------------

/// Writes the version text, e.g. `youki-ffm 0.1.0 (libcontainer 0.7.0)` (no NUL terminator), into `buf`
/// (caller-owned, `cap` bytes) and its length into `*len_out`.
/// Returns `YFFM_ERR_BUFFER_TOO_SMALL` if it does not fit.
#[no_mangle]
pub unsafe extern "C" fn yffm_version(buf: *mut u8, cap: usize, len_out: *mut usize) -> i32 {
    ffi_boundary(std::ptr::null_mut(), 0, || {
        check_buf(buf, cap, len_out)?;
        let v = format!(
            "youki-ffm {} (libcontainer {LIBCONTAINER_VERSION})",
            env!("CARGO_PKG_VERSION")
        );
        write_buf(buf, cap, len_out, v.as_bytes())
    })
}

/// Creates a runtime over the libcontainer state root `root` (created 0700 if missing).
///
/// `mode` is `YFFM_MODE_HELPER` (spawns `helper_path`, the `yffm-helper` binary, which forks a worker process
/// per operation and parents every container init; its stderr is appended to `<root>/yffm-helper.log`; a helper
/// that dies or stalls is replaced by the next call) or `YFFM_MODE_DIRECT` (libcontainer on the calling thread;
/// `helper_path` is ignored and may be NULL; deadlines do not apply). `timeout_ms` (> 0) is the deadline of every
/// call that passes 0 as its own.
/// On success `*out` receives a runtime owned by the caller, to be released with `yffm_runtime_free`.
#[no_mangle]
pub unsafe extern "C" fn yffm_runtime_new(
    root: *const c_char,
    mode: u32,
    helper_path: *const c_char,
    timeout_ms: u32,
    out: *mut *mut yffm_runtime,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let root = cstr(root, "root")?;
        nonnull(out, "out")?;
        let backend_kind = match mode {
            YFFM_MODE_HELPER => Some(cstr(helper_path, "helper_path")?),
            YFFM_MODE_DIRECT => None,
            m => return Err(OpError::invalid(format!("unknown mode {m}"))),
        };
        if timeout_ms == 0 {
            return Err(OpError::invalid("timeout_ms must be > 0"));
        }
        let root = ops::prepare_root(root)?;
        let backend = match backend_kind {
            Some(hp) => Backend::Helper(HelperClient::spawn(
                hp,
                &root,
                Duration::from_millis(timeout_ms as u64),
            )?),
            None => Backend::Direct(Mutex::new(Direct {
                engine: Engine::new(root.clone()),
                exits: ExitTable::default(),
                next_exec: 0,
            })),
        };
        *out = Box::into_raw(Box::new(yffm_runtime { root, backend }));
        Ok(())
    })
}

/// Releases a runtime (NULL is ignored). Helper mode: closes the socket; the helper finishes the calls it runs
/// (bounded by their deadlines) and exits, and is reaped (SIGKILLed after 10 s). Containers keep running; their
/// state stays under the root. Direct mode: inits that already exited are reaped. No call on `rt` may be running
/// or follow.
#[no_mangle]
pub unsafe extern "C" fn yffm_runtime_free(rt: *mut yffm_runtime) {
    if rt.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let rt = Box::from_raw(rt);
        if let Backend::Direct(e) = &rt.backend {
            let _g = DIRECT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            e.lock().unwrap_or_else(|e| e.into_inner()).exits.reap_all_exited();
        }
        drop(rt);
    }));
}

/// Creates container `id` from the OCI bundle `bundle` (absolute directory with config.json), like
/// `youki create`. `stdin_fd`/`stdout_fd`/`stderr_fd`: an fd the caller keeps owning (it is duplicated), or -1
/// for /dev/null. `console_socket`: NULL, or for a config with `process.terminal` the absolute path of a unix
/// socket the caller listens on; the init sends its pty master there (runc's `--console-socket` protocol: one
/// message carrying the fd with `SCM_RIGHTS`) before this returns, and its stdio is the pty then. On success
/// `*pid_out` is the init's pid and `*pidfd_out` a new pidfd (close-on-exec) for it
/// that the caller owns and must close. On failure (a timeout included) whatever libcontainer left behind is
/// removed. The config is checked first (process args, NUL bytes, `cgroupsPath`, annotation size): a bad one is
/// `YFFM_ERR_INVALID_ARGUMENT` naming the field. `timeout_ms`: 0 for the runtime's default.
#[no_mangle]
pub unsafe extern "C" fn yffm_create(
    rt: *mut yffm_runtime,
    id: *const c_char,
    bundle: *const c_char,
    stdin_fd: i32,
    stdout_fd: i32,
    stderr_fd: i32,
    console_socket: *const c_char,
    timeout_ms: u32,
    pid_out: *mut i32,
    pidfd_out: *mut i32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        let bundle = cstr(bundle, "bundle")?;
        validate_bundle(bundle)?;
        nonnull(pid_out, "pid_out")?;
        nonnull(pidfd_out, "pidfd_out")?;
        let console_socket = opt_cstr(console_socket, "console_socket")?;
        if let Some(cs) = console_socket {
            ops::validate_console_socket(cs)?;
        }
        let stdio = stdio_fds(stdin_fd, stdout_fd, stderr_fd)?;
        util::validate_spec(bundle, true)?;
        let (pid, pidfd) = rt.create(id, bundle, stdio, console_socket, call_timeout(timeout_ms))?;
        *pid_out = pid;
        *pidfd_out = pidfd.into_raw_fd();
        Ok(())
    })
}

/// Starts a created container (runs the process from its config), like `youki start`.
#[no_mangle]
pub unsafe extern "C" fn yffm_start(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    id_op(
        rt,
        id,
        timeout_ms,
        err,
        err_cap,
        |id| Request::Start { id },
        |e, id| e.start(id),
    )
}

/// Writes the container's OCI state object as JSON (`ociVersion`, `id`, `status`, `pid`, `bundle`,
/// `annotations`, `created`, `owner`; as `youki state` prints it) into the caller's `buf` (`cap` bytes), its
/// length into `*len_out`. Not NUL-terminated. Read from the state files on the calling thread: it never waits
/// on the helper or on other calls. A state file that cannot be read (torn, oversized) is `YFFM_ERR_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn yffm_state(
    rt: *mut yffm_runtime,
    id: *const c_char,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        check_buf(buf, cap, len_out)?;
        let json = ops::state_json(&rt.root, id)?;
        write_buf(buf, cap, len_out, json.as_bytes())
    })
}

/// Sends signal number `signal` to the container's init (or, with `all`, to every process of the container),
/// like `youki kill`. An unknown signal number is `YFFM_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn yffm_kill(
    rt: *mut yffm_runtime,
    id: *const c_char,
    signal: i32,
    all: bool,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        if libcontainer::signal::Signal::try_from(signal).is_err() {
            return Err(OpError::invalid(format!("invalid signal number {signal}")));
        }
        rt.simple(
            Request::Kill {
                id: id.into(),
                signal,
                all,
            },
            call_timeout(timeout_ms),
            |e| e.kill(id, signal, all),
        )
    })
}

/// Deletes the container, like `youki delete`: a created or stopped container always, a running one only with
/// `force` (SIGKILL first). An unknown id with `force` is `YFFM_OK`, and so is a container whose state cannot
/// be read. A failing poststop hook is logged and the delete goes on (as runc and crun do). The exit code of an
/// init created by this runtime stays available from `yffm_exit_status`.
#[no_mangle]
pub unsafe extern "C" fn yffm_delete(
    rt: *mut yffm_runtime,
    id: *const c_char,
    force: bool,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        rt.delete(id, force, call_timeout(timeout_ms))
    })
}

/// Freezes every process of a running container (cgroup freezer), like `youki pause`. A container that is not
/// running is `YFFM_ERR_INVALID_STATE`.
#[no_mangle]
pub unsafe extern "C" fn yffm_pause(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    id_op(
        rt,
        id,
        timeout_ms,
        err,
        err_cap,
        |id| Request::Pause { id },
        |e, id| e.pause(id),
    )
}

/// Thaws a paused container, like `youki resume`. A container that is not paused is `YFFM_ERR_INVALID_STATE`.
#[no_mangle]
pub unsafe extern "C" fn yffm_resume(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    id_op(
        rt,
        id,
        timeout_ms,
        err,
        err_cap,
        |id| Request::Resume { id },
        |e, id| e.resume(id),
    )
}

/// Writes a JSON array of the pids (host pid namespace) of every process in the container's cgroup, sorted, like
/// `youki ps --format json`, into the caller's `buf` (`cap` bytes), its length into `*len_out`.
#[no_mangle]
pub unsafe extern "C" fn yffm_ps(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    id_json(
        rt,
        id,
        timeout_ms,
        buf,
        cap,
        len_out,
        err,
        err_cap,
        |id| Request::Ps { id },
        |e, id| e.ps(id),
    )
}

/// Writes libcgroups' statistics of the container's cgroup as JSON (`cpu.usage.usage_total` in ns,
/// `memory.memory.{usage,limit}` in bytes, `pids.{current,limit}`, blkio, hugetlb; the object `youki events
/// --stats` prints) into the caller's `buf` (`cap` bytes), its length into `*len_out`.
#[no_mangle]
pub unsafe extern "C" fn yffm_stats(
    rt: *mut yffm_runtime,
    id: *const c_char,
    timeout_ms: u32,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    id_json(
        rt,
        id,
        timeout_ms,
        buf,
        cap,
        len_out,
        err,
        err_cap,
        |id| Request::Stats { id },
        |e, id| e.stats(id),
    )
}

/// Changes the cgroup limits of a live container: `resources_json` is an OCI `LinuxResources` object (e.g.
/// `{"memory":{"limit":134217728},"cpu":{"quota":50000,"period":100000},"pids":{"limit":30}}`), applied like
/// `youki update --resources`. Malformed JSON is `YFFM_ERR_INVALID_ARGUMENT`, a stopped container
/// `YFFM_ERR_INVALID_STATE`, a limit the kernel refuses `YFFM_ERR_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn yffm_update(
    rt: *mut yffm_runtime,
    id: *const c_char,
    resources_json: *const c_char,
    timeout_ms: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        let resources = cstr(resources_json, "resources_json")?;
        serde_json::from_str::<libcontainer::oci_spec::runtime::LinuxResources>(resources)
            .map_err(|e| {
                OpError::invalid(format!("resources: not an OCI LinuxResources object: {e}"))
            })?;
        rt.simple(
            Request::Update {
                id: id.into(),
                resources: resources.into(),
            },
            call_timeout(timeout_ms),
            |e| e.update(id, resources),
        )
    })
}

/// Writes a JSON array of the state objects (see `yffm_state`) of every container under the root, sorted by
/// id, into the caller's `buf` (`cap` bytes), its length into `*len_out`. Read on the calling thread. An entry
/// whose state cannot be read is listed with `"status": "unknown"` and an `"error"` text; it hides no other.
#[no_mangle]
pub unsafe extern "C" fn yffm_list(
    rt: *mut yffm_runtime,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        check_buf(buf, cap, len_out)?;
        let json = ops::list_json(&rt.root)?;
        write_buf(buf, cap, len_out, json.as_bytes())
    })
}

/// Exit code of the init of a container this runtime created: its exit status, or 128+signal if a signal
/// killed it. Reaps it if it exited (targeted `waitid(P_PIDFD)`). `YFFM_ERR_NOT_EXITED` while it runs;
/// `YFFM_ERR_NOT_FOUND` for a container this runtime instance did not create. Still answers after delete.
#[no_mangle]
pub unsafe extern "C" fn yffm_exit_status(
    rt: *mut yffm_runtime,
    id: *const c_char,
    exit_code_out: *mut i32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        nonnull(exit_code_out, "exit_code_out")?;
        let code = rt.exit_status(id)?;
        *exit_code_out = code;
        Ok(())
    })
}

/// The helper process's pid (helper mode), or 0 (direct mode), into `*pid_out`.
#[no_mangle]
pub unsafe extern "C" fn yffm_helper_pid(rt: *mut yffm_runtime, pid_out: *mut i32) -> i32 {
    ffi_boundary(std::ptr::null_mut(), 0, || {
        let rt = rt_ref(rt)?;
        nonnull(pid_out, "pid_out")?;
        *pid_out = match &rt.backend {
            Backend::Helper(h) => h.pid(),
            Backend::Direct(_) => 0,
        };
        Ok(())
    })
}

/// How many helper processes the runtime has started (1, plus one for each dead or stalled helper it replaced)
/// into `*count_out`; 0 in direct mode.
#[no_mangle]
pub unsafe extern "C" fn yffm_helper_starts(rt: *mut yffm_runtime, count_out: *mut u64) -> i32 {
    ffi_boundary(std::ptr::null_mut(), 0, || {
        let rt = rt_ref(rt)?;
        nonnull(count_out, "count_out")?;
        *count_out = match &rt.backend {
            Backend::Helper(h) => h.starts(),
            Backend::Direct(_) => 0,
        };
        Ok(())
    })
}

/// The exit code of a process through a pidfd the caller holds, once the process has been reaped by anyone
/// (Linux 6.15+ `PIDFD_GET_INFO`): its exit status, or 128+signal, into `*code_out`. `YFFM_ERR_NOT_EXITED`
/// while it is not reaped; `YFFM_ERR_IO` when the kernel cannot tell (older kernels, or reaped before the pidfd
/// could record it). Needs no runtime: it reports exits even when the helper that parented the process is gone.
#[no_mangle]
pub unsafe extern "C" fn yffm_pidfd_exit_code(
    pidfd: i32,
    code_out: *mut i32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        nonnull(code_out, "code_out")?;
        if pidfd < 0 {
            return Err(OpError::invalid(format!("pidfd {pidfd} is negative")));
        }
        match util::pidfd_exit_code(pidfd) {
            Ok(Some(c)) => {
                *code_out = c;
                Ok(())
            }
            Ok(None) => Err(OpError::new(YFFM_ERR_NOT_EXITED, "the process has not been reaped yet")),
            Err(e) => Err(OpError::io("PIDFD_GET_INFO", &e)),
        }
    })
}

/// The network fast path's attach (what the CNI `bridge` plugin with `host-local` IPAM does on ADD, over rtnetlink,
/// without exec'ing plugins). `request` is a NUL-terminated JSON object: `containerId`, `ifName`, `netns` (the
/// container's netns path), `hostNetns` (the netns holding the bridge; empty for the caller's), `network` and
/// `dataDir` (host-local's lease directory is `<dataDir>/<network>`, same files and lock as the plugin), `bridge`,
/// `isGateway`, `mtu` (0: default), `ranges` (range sets of `{subnet, rangeStart?, rangeEnd?, gateway?}`, IPv4),
/// `ips` (requested addresses), `routes` (`{dst, gw?}`) and `timeoutMs` (> 0). It runs on a thread of its own
/// (the only one that enters other network namespaces). On success the outcome goes into `buf` as JSON: `ips`
/// (`{address, gateway}`), `bridgeMac`, `hostVeth`, `hostMac`, `containerMac`. `cap` must be at least 4096 (else
/// `YFFM_ERR_BUFFER_TOO_SMALL` before anything is done). Errors: `YFFM_ERR_INVALID_ARGUMENT` (bad request, nothing
/// done), `YFFM_ERR_NOT_FOUND` (the container's netns is gone), `YFFM_ERR_ALREADY_EXISTS` (the interface name is
/// taken, the bridge name is held by a link that is not a bridge, or the bridge has another address),
/// `YFFM_ERR_RESOURCE` (no free address, or a requested one is taken),
/// `YFFM_ERR_TIMEOUT`, `YFFM_ERR_IO` (a netlink or file error); on every error nothing of the attach is left (a
/// bridge it created aside, which the caller owns).
#[no_mangle]
pub unsafe extern "C" fn yffm_net_attach(
    request: *const c_char,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        check_buf(buf, cap, len_out)?;
        if cap < 4096 {
            return Err(OpError::new(YFFM_ERR_BUFFER_TOO_SMALL, format!("buf needs 4096 bytes, has {cap}")));
        }
        let req = netfast::Request::parse(cstr(request, "request")?)?;
        let out = netfast::attach(req)?.to_json();
        write_buf(buf, cap, len_out, out.as_bytes())
    })
}

/// The network fast path's detach (the `bridge` plugin's DEL): deletes the container's interface `ifName` in
/// `netns` (its veth peer goes with it; with `netns` empty or gone, the host end `hostVeth` if it is still a veth),
/// then releases the leases of `containerId`/`ifName` in host-local's directory. `request` as for
/// `yffm_net_attach` (`ranges`, `ips` and `routes` are not needed). Deleting what is already gone is success.
#[no_mangle]
pub unsafe extern "C" fn yffm_net_detach(request: *const c_char, err: *mut c_char, err_cap: usize) -> i32 {
    ffi_boundary(err, err_cap, || {
        let req = netfast::Request::parse(cstr(request, "request")?)?;
        netfast::detach(req)
    })
}

/// Test support (not part of the C ABI): asks the helper's worker to panic (or a process it forked, as a
/// container init would), returning the status, the error text and the value the caller sees.
#[doc(hidden)]
pub unsafe fn __test_helper_panic(rt: *mut yffm_runtime, in_child: bool) -> (i32, String) {
    let mut buf = vec![0 as c_char; 256];
    let code = ffi_boundary(buf.as_mut_ptr(), buf.len(), || match &rt_ref(rt)?.backend {
        Backend::Helper(h) => h.call(Request::Panic { in_child }, &[], None).map(|(r, _)| {
            if let Some(v) = r.value {
                // in_child: the forked child's exit status, as the worker saw it
                panic!("child exit {v}")
            }
        }),
        Backend::Direct(_) => panic!("direct-mode test panic"),
    });
    (
        code,
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_text(buf: &[c_char]) -> String {
        unsafe { CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned() }
    }

    #[test]
    fn boundary_ok_err_panic() {
        let mut buf = [0 as c_char; 64];
        assert_eq!(
            ffi_boundary(buf.as_mut_ptr(), buf.len(), || Ok(())),
            YFFM_OK
        );
        assert_eq!(
            ffi_boundary(buf.as_mut_ptr(), buf.len(), || Err(OpError::new(
                YFFM_ERR_NOT_FOUND,
                "nope"
            ))),
            YFFM_ERR_NOT_FOUND
        );
        assert_eq!(err_text(&buf), "nope");
        let code = ffi_boundary(buf.as_mut_ptr(), buf.len(), || panic!("boom {}", 42));
        assert_eq!(code, YFFM_ERR_PANIC);
        assert_eq!(err_text(&buf), "panic in youki_ffm: boom 42");
        // NULL err buffer is fine
        assert_eq!(
            ffi_boundary(std::ptr::null_mut(), 10, || panic!("x")),
            YFFM_ERR_PANIC
        );
    }

    #[test]
    fn console_socket_must_be_an_absolute_socket() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(ops::validate_console_socket(sock.to_str().unwrap()).is_ok());
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        for bad in [
            "relative/s".to_string(),
            format!("{}/../s", dir.path().display()),
            file.display().to_string(),
            dir.path().join("missing").display().to_string(),
        ] {
            let e = ops::validate_console_socket(&bad).unwrap_err();
            assert_eq!(e.code, YFFM_ERR_INVALID_ARGUMENT, "{bad}: {}", e.msg);
        }
    }

    #[test]
    fn error_truncation() {
        let msg = "0123456789abcdef";
        for cap in [1usize, 2, 5, 16, 17, 100] {
            let mut buf = vec![0x7f as c_char; cap + 4];
            unsafe { write_err(buf.as_mut_ptr(), cap, msg) };
            let n = (cap - 1).min(msg.len());
            assert_eq!(err_text(&buf), &msg[..n], "cap {cap}");
            assert_eq!(buf[n], 0);
            // nothing past cap was touched
            assert!(buf[cap..].iter().all(|&b| b == 0x7f), "cap {cap}");
        }
        // cap 0: untouched
        let mut buf = [0x7f as c_char; 4];
        unsafe { write_err(buf.as_mut_ptr(), 0, msg) };
        assert!(buf.iter().all(|&b| b == 0x7f));
        // multi-byte UTF-8 is never split
        let mut buf = [0 as c_char; 3];
        unsafe { write_err(buf.as_mut_ptr(), 3, "aé") };
        assert_eq!(err_text(&buf), "a");
    }
}

/// Runs an extra process in the running container `id`, like `youki exec --detach --process FILE`. `process` is
/// the absolute path of an OCI `process` JSON object (args, env, cwd, user, capabilities, ...), read before this
/// returns. `stdin_fd`/`stdout_fd`/`stderr_fd` and `console_socket` (for a process with `terminal`) as for
/// `yffm_create`. A container that is not running is
/// `YFFM_ERR_INVALID_STATE` and nothing is started.
/// On success `*token_out` names the process for `yffm_exec_status`, `*pid_out` is its host pid and
/// `*pidfd_out` a new pidfd (close-on-exec) for it that the caller owns and must close. The exec'd process is
/// reaped by the runtime (targeted waitid), never by the caller.
#[no_mangle]
pub unsafe extern "C" fn yffm_exec(
    rt: *mut yffm_runtime,
    id: *const c_char,
    process: *const c_char,
    stdin_fd: i32,
    stdout_fd: i32,
    stderr_fd: i32,
    console_socket: *const c_char,
    timeout_ms: u32,
    token_out: *mut u64,
    pid_out: *mut i32,
    pidfd_out: *mut i32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        let id = cstr(id, "id")?;
        validate_id(id)?;
        let process = cstr(process, "process")?;
        ops::validate_process_path(process)?;
        nonnull(token_out, "token_out")?;
        nonnull(pid_out, "pid_out")?;
        nonnull(pidfd_out, "pidfd_out")?;
        let console_socket = opt_cstr(console_socket, "console_socket")?;
        if let Some(cs) = console_socket {
            ops::validate_console_socket(cs)?;
        }
        let stdio = stdio_fds(stdin_fd, stdout_fd, stderr_fd)?;
        let (token, pid, pidfd) = rt.exec(id, process, stdio, console_socket, call_timeout(timeout_ms))?;
        *token_out = token;
        *pid_out = pid;
        *pidfd_out = pidfd.into_raw_fd();
        Ok(())
    })
}

/// Writes the exit code of the exec'd process `token` into `*code_out` (its exit status, or 128+signal), once:
/// after a successful call the token is forgotten (`YFFM_ERR_NOT_FOUND` from then on).
/// `YFFM_ERR_NOT_EXITED` while it runs.
#[no_mangle]
pub unsafe extern "C" fn yffm_exec_status(
    rt: *mut yffm_runtime,
    token: u64,
    code_out: *mut i32,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    ffi_boundary(err, err_cap, || {
        let rt = rt_ref(rt)?;
        nonnull(code_out, "code_out")?;
        let code = rt.exec_status(token)?;
        *code_out = code;
        Ok(())
    })
}
