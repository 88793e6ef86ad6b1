//! Small shared pieces: the error type every operation returns, id/bundle validation, fd and process helpers.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::status::*;

/// An operation's failure: a `YFFM_ERR_*` status and the text for the caller's error buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    pub code: i32,
    pub msg: String,
}

impl OpError {
    pub fn new(code: i32, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(YFFM_ERR_INVALID_ARGUMENT, msg)
    }
    /// An I/O error; running out of fds, disk, inodes or memory is `YFFM_ERR_RESOURCE`.
    pub fn io(ctx: &str, e: &io::Error) -> Self {
        let code = match e.raw_os_error() {
            Some(n) if is_resource_errno(n) => YFFM_ERR_RESOURCE,
            _ => YFFM_ERR_IO,
        };
        Self::new(code, format!("{ctx}: {e}"))
    }
}

/// Errnos that mean "a resource ran out" rather than "this request is wrong".
pub fn is_resource_errno(n: i32) -> bool {
    matches!(
        n,
        libc::EMFILE | libc::ENFILE | libc::ENOSPC | libc::EDQUOT | libc::ENOMEM | libc::EAGAIN
    )
}

/// The first resource errno (see [`is_resource_errno`]) in an error's source chain.
pub fn resource_errno(err: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let n = if let Some(io) = e.downcast_ref::<io::Error>() {
            io.raw_os_error()
        } else {
            e.downcast_ref::<nix::errno::Errno>().map(|n| *n as i32)
        };
        if let Some(n) = n.filter(|n| is_resource_errno(*n)) {
            return Some(n);
        }
        cur = e.source();
    }
    None
}

/// Most bytes of foreign text (a libcontainer error chain, a hook's words) an error message carries.
pub const MAX_FOREIGN_TEXT: usize = 4096;

/// `s` cut to at most `max` bytes at a char boundary, saying how much was cut.
pub fn cap_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut n = max;
    while n > 0 && !s.is_char_boundary(n) {
        n -= 1;
    }
    format!("{}... ({} more bytes cut)", &s[..n], s.len() - n)
}

pub type OpResult<T> = Result<T, OpError>;

/// `{err}` plus every `source()`, joined with ": " (consecutive duplicates dropped).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = e.source();
    }
    cap_text(&parts.join(": "), MAX_FOREIGN_TEXT)
}

/// Same rules as the Java side: 1..128 chars, `[A-Za-z0-9][A-Za-z0-9_.+-]*`, no `..`.
pub fn validate_id(id: &str) -> OpResult<()> {
    let bad = |why: &str| {
        Err(OpError::invalid(format!(
            "invalid container id {id:?}: {why}"
        )))
    };
    if id.is_empty() || id.len() > 128 {
        return bad("must be 1..128 characters");
    }
    let b = id.as_bytes();
    if !b[0].is_ascii_alphanumeric() {
        return bad("must start with [A-Za-z0-9]");
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')))
    {
        return bad(&format!(
            "character {c:?} is not allowed (only [A-Za-z0-9_.+-])"
        ));
    }
    if id.contains("..") {
        return bad("must not contain \"..\"");
    }
    Ok(())
}

/// `bundle` must be an absolute, existing directory holding `config.json`.
pub fn validate_bundle(bundle: &str) -> OpResult<()> {
    let p = Path::new(bundle);
    if !p.is_absolute() {
        return Err(OpError::invalid(format!(
            "bundle {bundle:?} is not an absolute path"
        )));
    }
    if !p.is_dir() {
        return Err(OpError::invalid(format!(
            "bundle {bundle:?} is not an existing directory"
        )));
    }
    if !p.join("config.json").is_file() {
        return Err(OpError::invalid(format!(
            "bundle {bundle:?} has no config.json"
        )));
    }
    Ok(())
}

/// Largest config.json accepted.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// Largest total size of a config's annotations (keys plus values); state.json repeats them.
pub const MAX_ANNOTATION_BYTES: usize = 64 * 1024;

/// Checks of a raw config.json that libcontainer 0.7 does not make before it clones (and then panics in the
/// child, or writes outside the cgroup root): a process with at least one argument, no NUL in args, env or cwd,
/// env entries of the form `K=V`, an absolute cwd, a `cgroupsPath` without `..`, and bounded annotations.
pub fn validate_spec(bundle: &str, need_process: bool) -> OpResult<()> {
    let path = Path::new(bundle).join("config.json");
    let meta = std::fs::metadata(&path).map_err(|e| OpError::io("config.json", &e))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(OpError::invalid(format!(
            "config.json is {} bytes, over the {MAX_CONFIG_BYTES}-byte limit",
            meta.len()
        )));
    }
    let text = std::fs::read(&path).map_err(|e| OpError::io("read config.json", &e))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| OpError::invalid(format!("config.json is not valid JSON: {e}")))?;
    validate_spec_value(&v, need_process)
}

pub fn validate_spec_value(v: &serde_json::Value, need_process: bool) -> OpResult<()> {
    use serde_json::Value;
    let bad = |field: &str, why: &str| Err(OpError::invalid(format!("config.json {field}: {why}")));
    if !v.is_object() {
        return bad("(root)", "must be a JSON object");
    }
    let nul = |s: &str| s.contains('\0');
    match v.get("process") {
        None | Some(Value::Null) if need_process => return bad("process", "is required"),
        None | Some(Value::Null) => {}
        Some(p) => {
            match p.get("args") {
                Some(Value::Array(a)) if !a.is_empty() => {
                    for (i, x) in a.iter().enumerate() {
                        match x.as_str() {
                            Some(s) if !nul(s) => {}
                            Some(_) => return bad(&format!("process.args[{i}]"), "contains a NUL byte"),
                            None => return bad(&format!("process.args[{i}]"), "must be a string"),
                        }
                    }
                }
                Some(Value::Array(_)) => return bad("process.args", "must not be empty"),
                None | Some(Value::Null) if need_process => {
                    return bad("process.args", "is required")
                }
                None | Some(Value::Null) => {}
                Some(_) => return bad("process.args", "must be an array of strings"),
            }
            if let Some(env) = p.get("env").filter(|e| !e.is_null()) {
                let Some(env) = env.as_array() else {
                    return bad("process.env", "must be an array of strings");
                };
                for (i, x) in env.iter().enumerate() {
                    match x.as_str() {
                        Some(s) if nul(s) => return bad(&format!("process.env[{i}]"), "contains a NUL byte"),
                        Some(s) if !s.contains('=') || s.starts_with('=') => {
                            return bad(&format!("process.env[{i}]"), "must be KEY=VALUE")
                        }
                        Some(_) => {}
                        None => return bad(&format!("process.env[{i}]"), "must be a string"),
                    }
                }
            }
            if let Some(cwd) = p.get("cwd").filter(|c| !c.is_null()) {
                match cwd.as_str() {
                    Some(s) if nul(s) => return bad("process.cwd", "contains a NUL byte"),
                    Some(s) if !s.starts_with('/') => return bad("process.cwd", "must be an absolute path"),
                    Some(_) => {}
                    None => return bad("process.cwd", "must be a string"),
                }
            }
        }
    }
    if let Some(cg) = v.pointer("/linux/cgroupsPath").filter(|c| !c.is_null()) {
        let Some(cg) = cg.as_str() else {
            return bad("linux.cgroupsPath", "must be a string");
        };
        if nul(cg) {
            return bad("linux.cgroupsPath", "contains a NUL byte");
        }
        if cg.split(['/', ':']).any(|c| c == "..") {
            return bad("linux.cgroupsPath", "must not contain '..' (it would escape the cgroup root)");
        }
    }
    if let Some(a) = v.get("annotations").filter(|a| !a.is_null()) {
        let Some(a) = a.as_object() else {
            return bad("annotations", "must be an object of strings");
        };
        let mut total = 0usize;
        for (k, x) in a {
            let Some(s) = x.as_str() else {
                return bad(&format!("annotations[{k:?}]"), "must be a string");
            };
            total += k.len() + s.len();
        }
        if total > MAX_ANNOTATION_BYTES {
            return bad(
                "annotations",
                &format!("{total} bytes in all, over the {MAX_ANNOTATION_BYTES}-byte limit"),
            );
        }
    }
    Ok(())
}

/// The exit of a process through its pidfd once the process was reaped by anyone (PIDFD_GET_INFO with
/// PIDFD_INFO_EXIT, Linux 6.15+): exit status, or 128+signal. `Ok(None)` while it is not reaped yet;
/// `Err(ENOTTY/EINVAL)` on older kernels.
pub fn pidfd_exit_code(pidfd: RawFd) -> io::Result<Option<i32>> {
    #[repr(C)]
    #[derive(Default)]
    struct PidfdInfo {
        mask: u64,
        cgroupid: u64,
        pid: u32,
        tgid: u32,
        ppid: u32,
        ruid: u32,
        rgid: u32,
        euid: u32,
        egid: u32,
        suid: u32,
        sgid: u32,
        fsuid: u32,
        fsgid: u32,
        exit_code: i32,
    }
    const PIDFD_INFO_EXIT: u64 = 1 << 3;
    // _IOWR(0xFF, 11, struct pidfd_info) with the 64-byte first version of the struct
    const PIDFD_GET_INFO: libc::c_ulong = (3 << 30) | (64 << 16) | (0xFF << 8) | 11;
    const _: () = assert!(std::mem::size_of::<PidfdInfo>() == 64);
    let mut info = PidfdInfo {
        mask: PIDFD_INFO_EXIT,
        ..Default::default()
    };
    let r = unsafe { libc::ioctl(pidfd, PIDFD_GET_INFO, &mut info as *mut PidfdInfo) };
    if r < 0 {
        let e = io::Error::last_os_error();
        // ESRCH: reaped before exit information was recorded; nothing more will come.
        return Err(e);
    }
    if info.mask & PIDFD_INFO_EXIT == 0 {
        return Ok(None);
    }
    let st = info.exit_code;
    Ok(Some(if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        128 + libc::WTERMSIG(st)
    }))
}

pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// dup(fd) with F_DUPFD_CLOEXEC; `-1` opens /dev/null instead (the container never inherits our 0/1/2).
pub fn stdio_fd(fd: i32, name: &str, write: bool) -> OpResult<OwnedFd> {
    if fd == -1 {
        let flags = if write {
            libc::O_WRONLY
        } else {
            libc::O_RDONLY
        } | libc::O_CLOEXEC;
        let path = CString::new("/dev/null").unwrap();
        let r = unsafe { libc::open(path.as_ptr(), flags) };
        return cvt(r)
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .map_err(|e| OpError::io("open /dev/null", &e));
    }
    if fd < 0 {
        return Err(OpError::invalid(format!(
            "{name} {fd} is negative (use -1 for /dev/null)"
        )));
    }
    let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    cvt(r)
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .map_err(|e| OpError::invalid(format!("{name} {fd} cannot be duplicated: {e}")))
}

pub fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    cvt(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// pidfd_open(pid, 0): the fd is always close-on-exec.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
    }
}

const P_PIDFD: libc::idtype_t = 3;

/// Targeted reap: `waitid(P_PIDFD, pidfd, WEXITED|WNOHANG)`. `Ok(Some(code))` when the process was reaped now
/// (exit status, or 128+signal), `Ok(None)` while it runs.
pub fn reap_pidfd(pidfd: BorrowedFd<'_>) -> io::Result<Option<i32>> {
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if unsafe { info.si_pid() } == 0 {
            return Ok(None);
        }
        let status = unsafe { info.si_status() };
        let code = match info.si_code {
            libc::CLD_EXITED => status,
            _ => 128 + status, // CLD_KILLED, CLD_DUMPED
        };
        return Ok(Some(code));
    }
}

/// Waits (poll on the pidfd, bounded by `timeout`) and then reaps. `Ok(None)` if it did not exit in time.
pub fn reap_pidfd_bounded(pidfd: BorrowedFd<'_>, timeout: Duration) -> io::Result<Option<i32>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(code) = reap_pidfd(pidfd)? {
            return Ok(Some(code));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let mut pfd = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }
}

/// Child pids of this process (all threads), from /proc/self/task/*/children.
pub fn child_pids() -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

pub fn proc_comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// After a failed create: SIGKILL and reap (targeted, bounded) the children libcontainer left behind. Only
/// children that did not exist before the create and still carry libcontainer's process names are touched.
pub fn reap_leftover_children(before: &[i32]) {
    for pid in child_pids() {
        if before.binary_search(&pid).is_ok() {
            continue;
        }
        let Some(comm) = proc_comm(pid) else { continue };
        if !comm.starts_with("youki:") {
            continue;
        }
        let Ok(pidfd) = pidfd_open(pid) else { continue };
        // re-check the name through the pidfd-pinned process (no pid reuse from here on)
        if !proc_comm(pid).is_some_and(|c| c.starts_with("youki:")) {
            continue;
        }
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<u8>(),
                0,
            );
        }
        let _ = reap_pidfd_bounded(pidfd.as_fd(), Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["a", "A1", "web-1", "x.y_z+w", &"a".repeat(128)] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "a..b",
            "a/b",
            "a b",
            "é",
            &"a".repeat(129),
            "_x",
        ] {
            let e = validate_id(bad).unwrap_err();
            assert_eq!(e.code, YFFM_ERR_INVALID_ARGUMENT, "{bad}");
        }
    }

    #[test]
    fn bundles() {
        assert_eq!(
            validate_bundle("rel").unwrap_err().code,
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            validate_bundle("/nonexistent-yffm").unwrap_err().code,
            YFFM_ERR_INVALID_ARGUMENT
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().to_str().unwrap();
        assert!(validate_bundle(p).unwrap_err().msg.contains("config.json"));
        std::fs::write(d.path().join("config.json"), "{}").unwrap();
        assert!(validate_bundle(p).is_ok());
    }

    #[test]
    fn chain() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "outer",
            Some(Box::new(E("mid", Some(Box::new(E("inner", None)))))),
        );
        assert_eq!(error_chain(&e), "outer: mid: inner");
    }

    #[test]
    fn stdio() {
        let f = stdio_fd(-1, "stdin_fd", false).unwrap();
        assert!(f.as_raw_fd() > 2);
        assert_eq!(
            stdio_fd(-2, "stdin_fd", false).unwrap_err().code,
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            stdio_fd(987654, "stdout_fd", true).unwrap_err().code,
            YFFM_ERR_INVALID_ARGUMENT
        );
        let d = stdio_fd(f.as_raw_fd(), "stdout_fd", true).unwrap();
        assert_ne!(d.as_raw_fd(), f.as_raw_fd());
        let fl = unsafe { libc::fcntl(d.as_raw_fd(), libc::F_GETFD) };
        assert!(fl & libc::FD_CLOEXEC != 0);
    }
}

/// Whether `fd` is readable right now (a pidfd: its process exited): `None` when poll itself failed, which each
/// caller reads the cautious way for its purpose.
pub fn readable_now(fd: RawFd) -> Option<bool> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    match unsafe { libc::poll(&mut p, 1, 0) } {
        0 => Some(false),
        r if r > 0 => Some(true),
        _ => None,
    }
}
