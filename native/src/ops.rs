//! The container operations, shared by both modes: the `yffm-helper` process runs them for helper mode, the
//! calling thread runs them (under a process-wide lock) for direct mode. Each mirrors the youki CLI command of the
//! same name (crates/youki/src/commands/*.rs in youki 0.7.0).

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::state::{ContainerStatus, State};
use libcontainer::container::Container;
use libcontainer::error::LibcontainerError;
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;
use serde::Serialize;

use crate::status::*;
use crate::util::*;

/// How many exit codes of deleted containers are remembered.
const MAX_DELETED_REMEMBERED: usize = 1024;
/// Ended exec'd processes whose status is kept for a caller that has not read it. The library usually takes the
/// code from the pidfd (Linux 6.15+) and never asks, so without a bound these would pile up with every exec.
const MAX_ENDED_EXECS_REMEMBERED: usize = 1024;

/// libcontainer's error → status + its error chain verbatim.
pub fn lc_error(e: &LibcontainerError) -> OpError {
    if resource_errno(e).is_some() {
        return OpError::new(YFFM_ERR_RESOURCE, error_chain(e));
    }
    let code = match e {
        LibcontainerError::IncorrectStatus(_) => YFFM_ERR_INVALID_STATE,
        LibcontainerError::Exist => YFFM_ERR_ALREADY_EXISTS,
        LibcontainerError::InvalidID(_) => YFFM_ERR_INVALID_ARGUMENT,
        LibcontainerError::NoDirectory => YFFM_ERR_NOT_FOUND,
        _ => YFFM_ERR_RUNTIME,
    };
    OpError::new(code, error_chain(e))
}

/// The OCI state object exactly as youki's `state` command prints it (`StateExporter`).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct StateExporter<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: ContainerStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<&'a HashMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<&'a DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
}

impl<'a> From<&'a State> for StateExporter<'a> {
    fn from(state: &'a State) -> Self {
        Self {
            oci_version: &state.oci_version,
            id: &state.id,
            status: state.status,
            pid: state.pid,
            bundle: &state.bundle,
            annotations: state.annotations.as_ref(),
            created: state.created.as_ref(),
            owner: state.creator,
        }
    }
}

/// Saves and restores the process-wide attributes libcontainer changes on the calling process during create
/// and start: the working directory (notify_socket.rs chdir's and does not always chdir back), PR_SET_DUMPABLE
/// (builder_impl.rs sets it to 0) and /proc/self/oom_score_adj (set to the container's value).
pub struct ProcGuard {
    cwd: Option<OwnedFd>,
    dumpable: libc::c_int,
    oom: Option<String>,
}

impl ProcGuard {
    pub fn save() -> Self {
        let cwd = {
            let r = unsafe {
                libc::open(
                    c".".as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            (r >= 0).then(|| unsafe { OwnedFd::from_raw_fd(r) })
        };
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
        let oom = fs::read_to_string("/proc/self/oom_score_adj")
            .ok()
            .map(|s| s.trim().to_string());
        Self { cwd, dumpable, oom }
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        if let Some(cwd) = &self.cwd {
            unsafe { libc::fchdir(cwd.as_raw_fd()) };
        }
        if self.dumpable >= 0 && unsafe { libc::prctl(libc::PR_GET_DUMPABLE) } != self.dumpable {
            unsafe {
                libc::prctl(
                    libc::PR_SET_DUMPABLE,
                    self.dumpable as libc::c_ulong,
                    0,
                    0,
                    0,
                )
            };
        }
        if let Some(oom) = &self.oom {
            let now = fs::read_to_string("/proc/self/oom_score_adj").ok();
            if now.as_deref().map(str::trim) != Some(oom.as_str()) {
                let _ = fs::write("/proc/self/oom_score_adj", oom.as_bytes());
            }
        }
    }
}

struct Tracked {
    pid: i32,
    /// Present until the init is reaped.
    pidfd: Option<OwnedFd>,
    exit: Option<i32>,
    /// Set when the init was reaped by someone else (ECHILD): the exit code is unknown.
    lost: bool,
    /// Sequence number of the delete, if deleted.
    deleted: Option<u64>,
    /// Still the child of the worker that made it (the helper answered before that worker exited): not
    /// reapable by us until the worker is gone and the process has been reparented to the helper.
    pending: bool,
    /// A pause was asked for and no resume has succeeded since: the cgroup may be frozen, so a signal needs
    /// libcontainer's kill, which thaws after SIGKILL.
    maybe_frozen: bool,
}

/// Exit tracking for the inits this engine created. Reaping is always targeted (`waitid(P_PIDFD)`).
#[derive(Default)]
pub struct ExitTable {
    map: HashMap<String, Tracked>,
    deleted_order: VecDeque<(String, u64)>,
    seq: u64,
    /// inits replaced in the map before they were reaped; reaped opportunistically.
    orphans: Vec<OwnedFd>,
    /// exec entries whose process ended, oldest first (see MAX_ENDED_EXECS_REMEMBERED).
    ended_execs: VecDeque<String>,
    /// The helper's readiness set over the pollable pidfds; off in direct mode.
    watch: Watch,
}

/// An epoll set holding every pollable pidfd (a tracked, adopted, unreaped process, or an orphan), registered once
/// when it becomes pollable and removed before its fd closes. The helper's loop waits on this one fd, so a round
/// costs the same with 3 containers or 300; poll(2) over every pidfd each round made each call pay for every
/// running container. A pidfd the kernel would not add (`max_user_watches`) stays in `unwatched` and is polled
/// the old way.
#[derive(Default)]
struct Watch {
    epoll: Option<OwnedFd>,
    /// Registered fd → its key ("" for an orphan).
    keys: HashMap<RawFd, String>,
    /// Pollable fds the set would not take, with their keys: the helper polls these each round.
    unwatched: HashMap<RawFd, String>,
}

impl Watch {
    fn add(&mut self, fd: RawFd, key: &str) {
        let Some(ep) = &self.epoll else { return };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: fd as u64,
        };
        if unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } == 0 {
            self.keys.insert(fd, key.to_string());
        } else {
            self.unwatched.insert(fd, key.to_string());
        }
    }

    /// Before `fd` closes (another process may hold the same file, and epoll drops an entry only with the file).
    fn remove(&mut self, fd: RawFd) {
        if self.keys.remove(&fd).is_some() {
            if let Some(ep) = &self.epoll {
                unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
            }
        }
        self.unwatched.remove(&fd);
    }

    /// `fd` stays open but now belongs to an orphan.
    fn rekey_orphan(&mut self, fd: RawFd) {
        for m in [&mut self.keys, &mut self.unwatched] {
            if let Some(k) = m.get_mut(&fd) {
                k.clear();
            }
        }
    }
}

impl ExitTable {
    /// A table whose pollable pidfds are kept in an epoll set ([`ExitTable::watch_fd`]); the helper's.
    pub fn with_epoll() -> std::io::Result<Self> {
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self {
            watch: Watch {
                epoll: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    /// The epoll fd to wait on (readable when a watched process ended), if the table has one.
    pub fn watch_fd(&self) -> Option<RawFd> {
        self.watch.epoll.as_ref().map(|e| e.as_raw_fd())
    }

    /// Keys of the watched processes that ended ("" for an orphan), without waiting.
    pub fn ended_keys(&self) -> Vec<String> {
        let Some(ep) = &self.watch.epoll else { return Vec::new() };
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 64];
        let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), evs.as_mut_ptr(), evs.len() as libc::c_int, 0) };
        (0..n.max(0) as usize)
            .filter_map(|i| self.watch.keys.get(&(evs[i].u64 as RawFd)).cloned())
            .collect()
    }

    pub fn insert(&mut self, id: &str, pid: i32, pidfd: OwnedFd) {
        self.insert_tracked(id, pid, pidfd, false);
    }

    /// Tracks a process that is still the child of the worker that made it; [`ExitTable::adopt`] once that
    /// worker has been reaped. Until then it is neither polled nor reaped, and its exit is not yet known.
    pub fn insert_pending(&mut self, id: &str, pid: i32, pidfd: OwnedFd) {
        self.insert_tracked(id, pid, pidfd, true);
    }

    /// The worker that made `id`'s process is gone, so the process is ours to reap now.
    pub fn adopt(&mut self, id: &str) {
        if let Some(t) = self.map.get_mut(id) {
            if t.pending {
                if let Some(fd) = &t.pidfd {
                    self.watch.add(fd.as_raw_fd(), id);
                }
            }
            t.pending = false;
        }
    }

    pub fn is_pending(&self, id: &str) -> bool {
        self.map.get(id).is_some_and(|t| t.pending)
    }

    fn insert_tracked(&mut self, id: &str, pid: i32, pidfd: OwnedFd, pending: bool) {
        if !pending {
            self.watch.add(pidfd.as_raw_fd(), id);
        }
        let t = Tracked {
            pid,
            pidfd: Some(pidfd),
            exit: None,
            lost: false,
            deleted: None,
            pending,
            maybe_frozen: false,
        };
        if let Some(old) = self.map.insert(id.to_string(), t) {
            if let Some(fd) = old.pidfd {
                self.push_orphan(fd, old.pending);
            }
        }
    }

    /// A pidfd whose entry went away before its process was reaped; polled (and reaped) as an orphan.
    fn push_orphan(&mut self, fd: OwnedFd, was_pending: bool) {
        if was_pending {
            self.watch.add(fd.as_raw_fd(), "");
        } else {
            self.watch.rekey_orphan(fd.as_raw_fd());
        }
        self.orphans.push(fd);
    }

    /// Drops an entry whose exit was collected (execs: their status is read once).
    pub fn forget(&mut self, id: &str) {
        if let Some(t) = self.map.remove(id) {
            if let Some(fd) = t.pidfd {
                self.push_orphan(fd, t.pending);
            }
        }
    }

    /// Records that `id` may be frozen from now on (a pause was accepted) or, with `false`, that a resume
    /// succeeded.
    pub fn set_maybe_frozen(&mut self, id: &str, frozen: bool) {
        if let Some(t) = self.map.get_mut(id) {
            t.maybe_frozen = frozen;
        }
    }

    /// Sends `signal` to `id`'s init through its pidfd when that is all `youki kill` (without `--all`) would do:
    /// the init is tracked, has not exited, and its cgroup is not frozen. Returns false when it did not send it
    /// (the caller then goes through libcontainer, which also reports a stopped container as such). It leaves
    /// state.json alone where libcontainer's kill writes `stopped` whatever the signal; the status read from it
    /// is recomputed from the process either way.
    pub fn signal_live(&self, id: &str, signal: i32) -> bool {
        let Some(fd) = self.live_pidfd(id) else { return false };
        let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, signal, std::ptr::null::<u8>(), 0) };
        r == 0
    }

    /// Whether `id`'s init is tracked, has not exited and its cgroup is not frozen.
    pub fn is_live(&self, id: &str) -> bool {
        self.live_pidfd(id).is_some()
    }

    fn live_pidfd(&self, id: &str) -> Option<RawFd> {
        let t = self.map.get(id)?;
        let fd = t.pidfd.as_ref()?;
        if t.exit.is_some() || t.lost || t.deleted.is_some() || t.maybe_frozen {
            return None;
        }
        // readable once it exited (a zombie takes signals and ignores them; libcontainer calls it stopped); a
        // failed poll is not taken for live
        (crate::util::readable_now(fd.as_raw_fd()) == Some(false)).then_some(fd.as_raw_fd())
    }

    pub fn is_tracked(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    pub fn pid(&self, id: &str) -> Option<i32> {
        self.map.get(id).map(|t| t.pid)
    }

    /// Non-blocking targeted reap of one tracked init; returns its exit code if known.
    pub fn try_reap(&mut self, id: &str) -> Option<i32> {
        let t = self.map.get_mut(id)?;
        if t.exit.is_some() || t.lost || t.pending {
            return t.exit;
        }
        let fd = t.pidfd.as_ref()?;
        let raw = fd.as_raw_fd();
        match reap_pidfd(fd.as_fd()) {
            Ok(Some(code)) => {
                t.exit = Some(code);
            }
            Ok(None) => return None,
            Err(_) => {
                // ECHILD: not (or no longer) our child. Whoever reaped it, the pidfd may still know the exit.
                match pidfd_exit_code(raw) {
                    Ok(Some(code)) => t.exit = Some(code),
                    Ok(None) => return None,
                    Err(_) => t.lost = true,
                }
            }
        }
        self.watch.remove(raw);
        t.pidfd = None;
        self.concluded(id)
    }

    /// The exit code of `id` if known, after a reap attempt; an exec's ended entry joins the bounded list then.
    fn concluded(&mut self, id: &str) -> Option<i32> {
        let t = self.map.get(id)?;
        let exit = t.exit;
        if exit.is_some() || t.lost {
            self.ended(id);
        }
        exit
    }

    /// Bounds the exec entries kept after their process ended: the oldest beyond the limit are dropped.
    fn ended(&mut self, id: &str) {
        if !id.starts_with(EXEC_KEY_PREFIX) {
            return;
        }
        self.ended_execs.push_back(id.to_string());
        while self.ended_execs.len() > MAX_ENDED_EXECS_REMEMBERED {
            let old = self.ended_execs.pop_front().unwrap();
            if self.map.get(&old).is_some_and(|t| t.pidfd.is_none()) {
                self.map.remove(&old);
            }
        }
    }

    /// Bounded blocking reap (after a SIGKILL was sent).
    pub fn reap_bounded(&mut self, id: &str, timeout: Duration) -> Option<i32> {
        let t = self.map.get_mut(id)?;
        if t.exit.is_some() || t.lost || t.pending {
            return t.exit;
        }
        if let Some(fd) = t.pidfd.as_ref() {
            let raw = fd.as_raw_fd();
            match reap_pidfd_bounded(fd.as_fd(), timeout) {
                Ok(Some(code)) => t.exit = Some(code),
                Ok(None) => return None,
                Err(_) => t.lost = true,
            }
            self.watch.remove(raw);
            t.pidfd = None;
        }
        self.concluded(id)
    }

    pub fn reap_orphans(&mut self) {
        let watch = &mut self.watch;
        self.orphans.retain(|fd| {
            let keep = matches!(reap_pidfd(fd.as_fd()), Ok(None));
            if !keep {
                watch.remove(fd.as_raw_fd());
            }
            keep
        });
    }

    pub fn exit_status(&mut self, id: &str) -> OpResult<i32> {
        if !self.map.contains_key(id) {
            return Err(OpError::new(
                YFFM_ERR_NOT_FOUND,
                format!(
                    "container {id} was not created by this runtime instance (exit status is only tracked for \
                     containers it created)"
                ),
            ));
        }
        if let Some(code) = self.try_reap(id) {
            return Ok(code);
        }
        let t = &self.map[id];
        if t.lost {
            return Err(OpError::new(
                YFFM_ERR_RUNTIME,
                format!("the init process (pid {}) of container {id} was reaped by someone else; its exit code is unknown", t.pid),
            ));
        }
        Err(OpError::new(
            YFFM_ERR_NOT_EXITED,
            format!(
                "container {id}: init process (pid {}) has not exited",
                t.pid
            ),
        ))
    }

    /// Exit code of an exec'd process; once returned, the entry is forgotten.
    pub fn exec_status(&mut self, token: u64) -> OpResult<i32> {
        let key = exec_key(token);
        if !self.is_tracked(&key) {
            return Err(OpError::new(
                YFFM_ERR_NOT_FOUND,
                format!("no exec'd process with token {token} (unknown, or its status was already collected)"),
            ));
        }
        let code = self.exit_status(&key)?;
        self.forget(&key);
        Ok(code)
    }

    /// Whether `pid` is a tracked process not reaped yet.
    pub fn tracks_pid(&self, pid: i32) -> bool {
        self.map.values().any(|t| t.pid == pid && t.pidfd.is_some())
    }

    /// Pids of every tracked process not reaped yet.
    pub fn live_pids(&self) -> Vec<i32> {
        self.map
            .values()
            .filter(|t| t.pidfd.is_some())
            .map(|t| t.pid)
            .collect()
    }

    pub fn mark_deleted(&mut self, id: &str) {
        self.seq += 1;
        let seq = self.seq;
        if let Some(t) = self.map.get_mut(id) {
            t.deleted = Some(seq);
            self.deleted_order.push_back((id.to_string(), seq));
        }
        while self.deleted_order.len() > MAX_DELETED_REMEMBERED {
            let (old, s) = self.deleted_order.pop_front().unwrap();
            if self.map.get(&old).and_then(|t| t.deleted) == Some(s) {
                if let Some(t) = self.map.remove(&old) {
                    if let Some(fd) = t.pidfd {
                        self.push_orphan(fd, t.pending);
                    }
                }
            }
        }
    }

    /// (id, pidfd) of every init not reaped yet, plus orphans under an empty id, for a caller to poll. With an
    /// epoll set, only those the set would not take.
    pub fn pollable(&self) -> Vec<(String, RawFd)> {
        if self.watch.epoll.is_some() {
            // the rest are in the epoll set
            return self.watch.unwatched.iter().map(|(fd, k)| (k.clone(), *fd)).collect();
        }
        let mut v: Vec<(String, RawFd)> = self
            .map
            .iter()
            .filter(|(_, t)| !t.pending)
            .filter_map(|(id, t)| t.pidfd.as_ref().map(|fd| (id.clone(), fd.as_raw_fd())))
            .collect();
        v.extend(
            self.orphans
                .iter()
                .map(|fd| (String::new(), fd.as_raw_fd())),
        );
        v
    }

    /// Reaps whatever has exited (non-blocking). Returns how many inits were reaped.
    pub fn reap_all_exited(&mut self) -> usize {
        let ids: Vec<String> = self
            .map
            .iter()
            .filter(|(_, t)| t.pidfd.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let n = ids.iter().filter(|id| self.try_reap(id).is_some()).count();
        self.reap_orphans();
        n
    }
}

/// The operations on one state root. In helper mode each call runs in a worker process forked for it, so nothing
/// here keeps state between calls; exit tracking lives in [`ExitTable`] (the helper's, or direct mode's).
pub struct Engine {
    root: PathBuf,
    /// Set in a helper worker (a process that exits after one call), which may join a rootless container's
    /// user namespace for an exec ([`join_user_ns_of`]).
    may_join_userns: bool,
}

const EXEC_KEY_PREFIX: &str = "exec:";

/// The exit-table key of an exec'd process. Container ids cannot contain `:` (validate_id), so these never
/// collide with an init's entry.
pub fn exec_key(token: u64) -> String {
    format!("{EXEC_KEY_PREFIX}{token}")
}

/// Largest state.json read: a bigger one is reported as a broken entry instead of being parsed.
pub const MAX_STATE_BYTES: u64 = 1024 * 1024;

/// Loads a container's state for reading, refusing oversized state files.
fn load_state_dir(dir: &Path, id: &str) -> OpResult<Container> {
    let file = State::file_path(dir);
    match fs::metadata(&file) {
        Ok(m) if m.len() > MAX_STATE_BYTES => {
            return Err(OpError::new(
                YFFM_ERR_RUNTIME,
                format!(
                    "state of container {id} is unreadable: {} is {} bytes, over the {MAX_STATE_BYTES}-byte limit",
                    file.display(),
                    m.len()
                ),
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpError::new(
                YFFM_ERR_NOT_FOUND,
                format!("container {id} does not exist"),
            ))
        }
        Err(e) => return Err(OpError::io(&format!("state of container {id}"), &e)),
    }
    Container::load(dir.to_path_buf()).map_err(|e| {
        let mut err = lc_error(&e);
        if err.code == YFFM_ERR_RUNTIME || err.code == YFFM_ERR_NOT_FOUND {
            err.code = YFFM_ERR_RUNTIME;
        }
        err.msg = format!("state of container {id} is unreadable: {}", err.msg);
        err
    })
}

/// `youki state`, read from the state files on the calling thread: no helper round trip, no lock.
pub fn state_json(root: &Path, id: &str) -> OpResult<String> {
    validate_id(id)?;
    let dir = root.join(id);
    if !dir.is_dir() {
        return Err(OpError::new(
            YFFM_ERR_NOT_FOUND,
            format!("container {id} does not exist"),
        ));
    }
    let c = load_state_dir(&dir, id)?;
    serde_json::to_string(&StateExporter::from(&c.state))
        .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("serialize state: {e}")))
}

/// A broken entry in a list: its id, `status: "unknown"` and why it could not be read.
#[derive(Serialize)]
struct BrokenEntry<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'a str,
    id: &'a str,
    status: &'a str,
    bundle: &'a str,
    error: String,
}

/// `youki list`, read from the state files on the calling thread. An entry whose state cannot be read (torn,
/// oversized, garbage) is listed with `status: "unknown"` and an `error`; it never hides the others.
pub fn list_json(root: &Path) -> OpResult<String> {
    let rd = fs::read_dir(root).map_err(|e| OpError::io("read state root", &e))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for ent in rd {
        let Ok(ent) = ent else { continue };
        let dir = ent.path();
        let Some(id) = ent.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if validate_id(&id).is_err() || !dir.is_dir() || !State::file_path(&dir).exists() {
            continue;
        }
        let json = match load_state_dir(&dir, &id) {
            Ok(c) => serde_json::to_string(&StateExporter::from(&c.state)),
            // deleted concurrently
            Err(_) if !State::file_path(&dir).exists() => continue,
            Err(e) => serde_json::to_string(&BrokenEntry {
                oci_version: "",
                id: &id,
                status: "unknown",
                bundle: "",
                error: cap_text(&e.msg, 1024),
            }),
        }
        .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("serialize list: {e}")))?;
        out.push((id, json));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let body: Vec<String> = out.into_iter().map(|(_, j)| j).collect();
    Ok(format!("[{}]", body.join(",")))
}

/// Creates the state root (0700) if missing and canonicalizes it.
pub fn prepare_root(root: &str) -> OpResult<PathBuf> {
    if root.is_empty() {
        return Err(OpError::invalid("root is empty"));
    }
    let p = Path::new(root);
    if !p.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(p)
            .map_err(|e| OpError::io(&format!("cannot create state root {root:?}"), &e))?;
    }
    let c = fs::canonicalize(p)
        .map_err(|e| OpError::io(&format!("cannot resolve state root {root:?}"), &e))?;
    if !c.is_dir() {
        return Err(OpError::invalid(format!(
            "state root {root:?} is not a directory"
        )));
    }
    Ok(c)
}

impl Engine {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            may_join_userns: false,
        }
    }

    /// The engine of a helper worker: like [`Engine::new`], and it may join user namespaces (see `exec`).
    pub fn for_worker(root: PathBuf) -> Self {
        Self {
            root,
            may_join_userns: true,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn load(&self, id: &str) -> OpResult<Container> {
        validate_id(id)?;
        let dir = self.root.join(id);
        if !dir.exists() {
            return Err(OpError::new(
                YFFM_ERR_NOT_FOUND,
                format!("container {id} does not exist"),
            ));
        }
        load_state_dir(&dir, id)
    }

    /// The builder both create and exec start from: this root, the default executor, the given stdio, and the
    /// console socket the pty master goes to (a process with `terminal`).
    fn builder(
        &self,
        id: &str,
        stdio: [OwnedFd; 3],
        console_socket: Option<&str>,
    ) -> Result<ContainerBuilder, LibcontainerError> {
        let [stdin, stdout, stderr] = stdio;
        Ok(
            ContainerBuilder::new(id.to_string(), SyscallType::default())
                .with_executor(libcontainer::workload::default::DefaultExecutor {})
                .with_root_path(&self.root)?
                .validate_id()?
                .with_console_socket(console_socket)
                .with_stdin(stdin)
                .with_stdout(stdout)
                .with_stderr(stderr),
        )
    }

    /// `youki create`: returns the init pid and a pidfd for it (a new fd, owned by the receiver).
    pub fn create(
        &mut self,
        id: &str,
        bundle: &str,
        stdio: [OwnedFd; 3],
        console_socket: Option<&str>,
    ) -> OpResult<(i32, OwnedFd)> {
        validate_id(id)?;
        validate_bundle(bundle)?;
        validate_spec(bundle, true)?;
        if let Some(cs) = console_socket {
            validate_console_socket(cs)?;
        }
        let dir = self.root.join(id);
        if dir.exists() {
            return Err(OpError::new(
                YFFM_ERR_ALREADY_EXISTS,
                format!("container {id} already exists"),
            ));
        }
        let before = child_pids();
        let res = {
            let _guard = ProcGuard::save();
            self.builder(id, stdio, console_socket).and_then(|b| {
                b.as_init(bundle)
                    .with_systemd(false)
                    .with_detach(true)
                    .build()
            })
        };
        let container = match res {
            Ok(c) => c,
            Err(e) => {
                let err = lc_error(&e);
                self.cleanup_failed_create(&dir);
                reap_leftover_children(&before);
                return Err(err);
            }
        };
        let Some(pid) = container.pid() else {
            self.cleanup_failed_create(&dir);
            reap_leftover_children(&before);
            return Err(OpError::new(
                YFFM_ERR_RUNTIME,
                format!("container {id} was created without an init pid"),
            ));
        };
        let pid = pid.as_raw();
        // The init is our child and only we (or, once we exit, the helper we were forked from) reap it, so the
        // pid cannot be reused before this pidfd pins it.
        match pidfd_open(pid) {
            Ok(fd) => Ok((pid, fd)),
            Err(e) => {
                // without a pidfd the init could not be tracked: undo the create
                self.cleanup_failed_create(&dir);
                reap_leftover_children(&before);
                let _ = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
                Err(OpError::io(&format!("pidfd_open({pid})"), &e))
            }
        }
    }

    /// Best effort: remove what a failed create left (state dir, cgroup, processes).
    pub fn cleanup_failed_create(&mut self, dir: &Path) {
        if !dir.exists() {
            return;
        }
        let deleted = Container::load(dir.to_path_buf())
            .and_then(|mut c| c.delete(true))
            .is_ok();
        if !deleted && dir.exists() {
            let _ = fs::remove_dir_all(dir);
        }
    }

    pub fn start(&mut self, id: &str) -> OpResult<()> {
        let mut c = self.load(id)?;
        let _guard = ProcGuard::save();
        c.start().map_err(|e| lc_error(&e))
    }

    pub fn pause(&mut self, id: &str) -> OpResult<()> {
        validate_id(id)?;
        let mut c = self.load(id)?;
        c.pause().map_err(|e| lc_error(&e))
    }

    pub fn resume(&mut self, id: &str) -> OpResult<()> {
        validate_id(id)?;
        let mut c = self.load(id)?;
        c.resume().map_err(|e| lc_error(&e))
    }

    fn cgroup_manager(&mut self, id: &str) -> OpResult<libcgroups::common::AnyCgroupManager> {
        validate_id(id)?;
        let c = self.load(id)?;
        let spec = c.spec().map_err(|e| lc_error(&e))?;
        libcgroups::common::create_cgroup_manager(libcgroups::common::CgroupConfig {
            cgroup_path: spec.cgroup_path,
            systemd_cgroup: c.systemd(),
            container_name: c.id().to_string(),
        })
        .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("cgroup manager for {id}: {e}")))
    }

    /// JSON array of every pid in the container's cgroup, like `youki ps --format json`.
    pub fn ps(&mut self, id: &str) -> OpResult<String> {
        use libcgroups::common::CgroupManager;
        let mut pids: Vec<i32> = self
            .cgroup_manager(id)?
            .get_all_pids()
            .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("list pids of {id}: {e}")))?
            .iter()
            .map(|p| p.as_raw())
            .collect();
        pids.sort_unstable();
        serde_json::to_string(&pids)
            .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("serialize pids: {e}")))
    }

    /// libcgroups' statistics of the container's cgroup (cpu, memory, pids, blkio, hugetlb) as JSON, the object
    /// `youki events --stats` prints. Never calls `Container::events`, which prints to stdout and loops forever.
    pub fn stats(&mut self, id: &str) -> OpResult<String> {
        use libcgroups::common::CgroupManager;
        let stats = self
            .cgroup_manager(id)?
            .stats()
            .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("cgroup stats of {id}: {e}")))?;
        serde_json::to_string(&stats)
            .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("serialize stats: {e}")))
    }

    /// Applies an OCI `LinuxResources` JSON document to the running container's cgroup, like
    /// `youki update --resources FILE`. A container that is not created, running or paused is `INVALID_STATE`.
    pub fn update(&mut self, id: &str, resources_json: &str) -> OpResult<()> {
        use libcgroups::common::CgroupManager;
        let resources: libcontainer::oci_spec::runtime::LinuxResources =
            serde_json::from_str(resources_json).map_err(|e| {
                OpError::invalid(format!("resources: not an OCI LinuxResources object: {e}"))
            })?;
        let c = self.load(id)?;
        if !matches!(
            c.status(),
            ContainerStatus::Created | ContainerStatus::Running | ContainerStatus::Paused
        ) {
            return Err(OpError::new(
                YFFM_ERR_INVALID_STATE,
                format!(
                    "container {id} is {:?}: only a live container can be updated",
                    c.status()
                ),
            ));
        }
        self.cgroup_manager(id)?
            .apply(&libcgroups::common::ControllerOpt {
                resources: &resources,
                disable_oom_killer: false,
                oom_score_adj: None,
                freezer_state: None,
            })
            .map_err(|e| OpError::new(YFFM_ERR_RUNTIME, format!("update {id}: {e}")))
    }

    pub fn kill(&mut self, id: &str, signal: i32, all: bool) -> OpResult<()> {
        validate_id(id)?;
        let sig = Signal::try_from(signal)
            .map_err(|_| OpError::invalid(format!("invalid signal number {signal}")))?;
        let mut c = self.load(id)?;
        c.kill(sig, all).map_err(|e| lc_error(&e))
    }

    /// `youki delete`. A failing poststop hook only warns (the patched libcontainer, patch e in
    /// vendor/libcontainer/YFFM-PATCHES.md). Beyond libcontainer: with `force` a container whose state cannot even
    /// be read is removed too, so `delete(force)` always succeeds for an existing id.
    pub fn delete(&mut self, id: &str, force: bool) -> OpResult<()> {
        validate_id(id)?;
        let dir = self.root.join(id);
        if !dir.exists() {
            if force {
                return Ok(());
            }
            return Err(OpError::new(
                YFFM_ERR_NOT_FOUND,
                format!("container {id} does not exist"),
            ));
        }
        let mut c = match self.load(id) {
            Ok(c) => c,
            Err(e) if force => {
                crate::helper::log_line(&format!("delete {id}: state unreadable ({}); removing its directory", e.msg));
                kill_by_saved_cgroup(&dir, id);
                return remove_state_dir(&dir);
            }
            Err(e) => return Err(e),
        };
        // Removing a v1 cgroup fails with EBUSY while its last processes are still being torn down: a busy host
        // takes a moment. Retry that for up to a second before giving up.
        let mut res = c.delete(force);
        for _ in 0..50 {
            match &res {
                Err(e) if dir.exists() && error_chain(e).contains("cgroup") => {
                    std::thread::sleep(Duration::from_millis(20));
                    res = match self.load(id) {
                        Ok(mut again) => {
                            let r = again.delete(force);
                            c = again;
                            r
                        }
                        Err(_) => break,
                    };
                }
                _ => break,
            }
        }
        match res {
            Ok(()) => Ok(()),
            Err(e) if force && dir.exists() => {
                crate::helper::log_line(&format!("delete {id} (force): {}; removing what is left", error_chain(&e)));
                let _ = c.kill(Signal::try_from(libc::SIGKILL).unwrap(), true);
                kill_by_saved_cgroup(&dir, id);
                remove_state_dir(&dir)
            }
            Err(e) => Err(lc_error(&e)),
        }
    }

    /// `youki exec --detach --process FILE`: runs the OCI process in `process_path` inside the running container
    /// `id` (its namespaces and cgroup). The process is our child (libcontainer clones it with CLONE_PARENT from
    /// its intermediate), tracked like an init. Returns a token for [`Engine::exec_status`], the pid and a new
    /// pidfd for the caller.
    pub fn exec(
        &mut self,
        id: &str,
        process_path: &str,
        stdio: [OwnedFd; 3],
        console_socket: Option<&str>,
    ) -> OpResult<(i32, OwnedFd)> {
        validate_id(id)?;
        validate_process_path(process_path)?;
        if let Some(cs) = console_socket {
            validate_console_socket(cs)?;
        }
        // load() reports an unknown id as NOT_FOUND and refreshes the status, so a stopped or paused container is
        // INVALID_STATE before anything is cloned.
        let c = self.load(id)?;
        if c.status() != ContainerStatus::Running {
            return Err(OpError::new(
                YFFM_ERR_INVALID_STATE,
                format!(
                    "cannot exec in container {id}: it is {:?}, not running",
                    c.status()
                ),
            ));
        }
        // Rootless: libcontainer 0.7's tenant builder joins the init's namespaces but not its user namespace
        // (tenant_builder.rs NAMESPACE_TYPES lacks "user"), and an unprivileged caller may setns into the others
        // only from inside that user namespace (else EPERM on the pid namespace). The caller owns it, so join it.
        if let Some(init) = c.pid() {
            match join_user_ns_of(init.as_raw(), self.may_join_userns) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                    return Err(OpError::new(YFFM_ERR_RUNTIME, format!(
                        "cannot exec in rootless container {id}: {e}"
                    )))
                }
                Err(e) => return Err(OpError::io(&format!("join the user namespace of container {id}"), &e)),
            }
        }
        let before = child_pids();
        let dir = self.root.join(id);
        let sockets_before = tenant_sockets(&dir);
        let res = {
            let _guard = ProcGuard::save();
            self.builder(id, stdio, console_socket).and_then(|b| {
                b.as_tenant()
                    .with_process(Some(process_path))
                    .with_detach(true)
                    .build()
            })
        };
        // libcontainer's tenant builder leaves its notify socket (tenant-notify-<n>.sock) in the container's state
        // dir after every exec; one probe a second would pile up 86,400 a day. build() has returned, so the socket
        // has served its purpose: remove the ones this call made.
        for s in tenant_sockets(&dir).difference(&sockets_before) {
            let _ = fs::remove_file(dir.join(s));
        }
        let pid = match res {
            Ok(pid) => pid.as_raw(),
            Err(e) => {
                reap_leftover_children(&before);
                return Err(lc_error(&e));
            }
        };
        match pidfd_open(pid) {
            Ok(fd) => Ok((pid, fd)),
            Err(e) => {
                // untrackable: kill it rather than leave an unobserved process in the container
                unsafe { libc::kill(pid, libc::SIGKILL) };
                let _ = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                Err(OpError::io(&format!("pidfd_open({pid})"), &e))
            }
        }
    }
}

/// For a container whose state.json is unreadable: its cgroup path is also saved in youki_config.json, so its
/// processes can still be found, killed and the cgroup removed.
fn kill_by_saved_cgroup(dir: &Path, id: &str) {
    use libcgroups::common::CgroupManager;
    let Ok(cfg) = libcontainer::config::YoukiConfig::load(dir) else {
        return;
    };
    let Ok(m) = libcgroups::common::create_cgroup_manager(libcgroups::common::CgroupConfig {
        cgroup_path: cfg.cgroup_path.clone(),
        systemd_cgroup: false,
        container_name: id.to_string(),
    }) else {
        return;
    };
    for _ in 0..200 {
        match m.get_all_pids() {
            Ok(pids) if !pids.is_empty() => {
                for p in pids {
                    unsafe { libc::kill(p.as_raw(), libc::SIGKILL) };
                }
            }
            _ => {
                if m.remove().is_ok() {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// When this process is not root and `pid` is in another user namespace (a rootless container's, which the caller
/// owns), enters it: the caller then holds every capability there, as joining the container's other namespaces
/// needs. Returns whether it entered. It changes this process for good, so `allowed` must say that the process
/// exits after the call (a helper worker; it is single-threaded, as setns(CLONE_NEWUSER) requires); otherwise a
/// needed join is refused with `ErrorKind::Unsupported`. Root never needs it: it may setns into namespaces that
/// any user namespace owns.
pub fn join_user_ns_of(pid: i32, allowed: bool) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    if unsafe { libc::geteuid() } == 0 {
        return Ok(false);
    }
    let ours = fs::metadata("/proc/self/ns/user")?.ino();
    let theirs = fs::metadata(format!("/proc/{pid}/ns/user"))?.ino();
    if ours == theirs {
        return Ok(false);
    }
    if !allowed {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "joining its user namespace needs the helper process (RuntimeOptions.FfmMode.HELPER)",
        ));
    }
    let ns = fs::File::open(format!("/proc/{pid}/ns/user"))?;
    cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWUSER) })?;
    Ok(true)
}

/// Brings `lo` up in the init's network namespace when it has one of its own, as runc and crun do (libcontainer
/// 0.7 leaves it down, so nothing in the container can reach 127.0.0.1). Enters that namespace with `setns`: call
/// it only in a process that exits afterwards (a helper worker). Best effort.
pub fn bring_loopback_up(pid: i32) {
    use std::os::unix::fs::MetadataExt;
    let ours = fs::metadata("/proc/self/ns/net").map(|m| m.ino());
    let theirs = fs::metadata(format!("/proc/{pid}/ns/net")).map(|m| m.ino());
    match (ours, theirs) {
        (Ok(a), Ok(b)) if a != b => {}
        _ => return,
    }
    // rootless: the net namespace belongs to the container's user namespace
    if join_user_ns_of(pid, true).is_err() {
        return;
    }
    let Ok(ns) = fs::File::open(format!("/proc/{pid}/ns/net")) else {
        return;
    };
    unsafe {
        if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
            return;
        }
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req) == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(s, libc::SIOCSIFFLAGS, &req);
        }
        libc::close(s);
    }
}

/// Removes a container's state directory (after its processes and cgroup are gone).
fn remove_state_dir(dir: &Path) -> OpResult<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OpError::io(&format!("remove {}", dir.display()), &e)),
    }
}

/// Names of libcontainer's tenant sockets (`tenant-notify-*.sock`, `tenant-tty-*.sock`) in a container's state dir.
fn tenant_sockets(dir: &Path) -> std::collections::HashSet<std::ffi::OsString> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name())
                .filter(|n| {
                    let n = n.to_string_lossy();
                    (n.starts_with("tenant-notify-") || n.starts_with("tenant-tty-"))
                        && n.ends_with(".sock")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Two pidfds for our child `pid`: one to track it, one for the caller.
pub fn pidfd_pair(pid: i32) -> OpResult<(OwnedFd, OwnedFd)> {
    let fd = pidfd_open(pid).map_err(|e| OpError::io(&format!("pidfd_open({pid})"), &e))?;
    let dup = dup_cloexec(fd.as_fd()).map_err(|e| OpError::io("dup pidfd", &e))?;
    Ok((fd, dup))
}

/// A console socket: an absolute path, no `..`, naming a unix socket (the caller's listener). libcontainer
/// connects to it through a symlink in the container's state dir, so its length is not limited by `sun_path`.
pub fn validate_console_socket(p: &str) -> OpResult<()> {
    use std::os::unix::fs::FileTypeExt;
    let path = Path::new(p);
    if !path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(OpError::invalid(format!(
            "console_socket {p:?}: must be an absolute path without '..'"
        )));
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => Ok(()),
        Ok(_) => Err(OpError::invalid(format!(
            "console_socket {p:?} is not a unix socket"
        ))),
        Err(e) => Err(OpError::invalid(format!("console_socket {p:?}: {e}"))),
    }
}

/// An exec's process.json: an absolute path to an existing regular file, no `..`.
pub fn validate_process_path(p: &str) -> OpResult<()> {
    let path = Path::new(p);
    if p.is_empty() || !path.is_absolute() {
        return Err(OpError::invalid(format!(
            "process {p:?}: must be an absolute path"
        )));
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(OpError::invalid(format!(
            "process {p:?}: must not contain '..'"
        )));
    }
    match fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() <= MAX_CONFIG_BYTES => {
            let text = fs::read(path).map_err(|e| OpError::io("read process.json", &e))?;
            let v: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| OpError::invalid(format!("process {p:?} is not valid JSON: {e}")))?;
            validate_spec_value(&serde_json::json!({ "process": v }), true)
        }
        Ok(m) if m.is_file() => Err(OpError::invalid(format!(
            "process {p:?} is {} bytes, over the {MAX_CONFIG_BYTES}-byte limit",
            m.len()
        ))),
        Ok(_) => Err(OpError::invalid(format!(
            "process {p:?} is not a regular file"
        ))),
        Err(e) => Err(OpError::invalid(format!("process {p:?}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::join_user_ns_of;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    /// An unprivileged process in its own user namespace (as a rootless container's init is): its owner may join it,
    /// but only where joining is allowed (a helper worker); root never needs to.
    #[test]
    fn an_unprivileged_caller_joins_the_user_namespace_it_owns_only_where_allowed() {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root to become an unprivileged user");
            return;
        }
        let nobody = 65534;
        let mut init = Command::new("unshare")
            .args(["--user", "sleep", "30"])
            .uid(nobody)
            .gid(nobody)
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare (util-linux)");
        let pid = init.id() as i32;
        // wait until unshare has exec'd sleep in the new namespace
        for _ in 0..200 {
            if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p.ends_with("sleep")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(join_user_ns_of(pid, false).ok(), Some(false), "root never joins");
        let child = unsafe { libc::fork() };
        if child == 0 {
            // the caller's side, as that user: 1 = refused where not allowed, 2 = joined where allowed
            let code = unsafe {
                if libc::setresgid(nobody, nobody, nobody) != 0 || libc::setresuid(nobody, nobody, nobody) != 0 {
                    libc::_exit(10);
                }
                match join_user_ns_of(pid, false) {
                    Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
                    _ => libc::_exit(11),
                }
                match join_user_ns_of(pid, true) {
                    Ok(true) => 0,
                    _ => 12,
                }
            };
            unsafe { libc::_exit(code) };
        }
        let mut st = 0;
        unsafe { libc::waitpid(child, &mut st, 0) };
        let _ = init.kill();
        let _ = init.wait();
        assert!(libc::WIFEXITED(st), "status {st}");
        assert_eq!(libc::WEXITSTATUS(st), 0, "10: setresuid, 11: not refused, 12: not joined");
    }

    /// A process whose maker has not been reaped yet is neither polled nor reaped, and its exit stays unknown,
    /// even when it is in fact our child and long dead; adopting it makes it an ordinary entry.
    #[test]
    fn pending_entries_are_not_reaped_before_adoption() {
        use super::ExitTable;
        use crate::util::pidfd_open;
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe { libc::_exit(9) };
        }
        let fd = pidfd_open(pid).expect("pidfd_open");
        let mut p = libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(&fd), events: libc::POLLIN, revents: 0 };
        assert_eq!(unsafe { libc::poll(&mut p, 1, 5000) }, 1, "the child did not exit");
        let mut t = ExitTable::default();
        t.insert_pending("c", pid, fd);
        assert!(t.is_pending("c"));
        assert!(t.pollable().is_empty(), "a pending entry is not polled");
        assert_eq!(t.reap_all_exited(), 0);
        assert_eq!(t.try_reap("c"), None);
        assert_eq!(t.exit_status("c").unwrap_err().code, crate::status::YFFM_ERR_NOT_EXITED);
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "reaped while pending");
        t.adopt("c");
        assert!(!t.is_pending("c"));
        assert_eq!(t.pollable().len(), 1);
        assert_eq!(t.try_reap("c"), Some(9));
        assert_eq!(t.exit_status("c").unwrap(), 9);
    }

    /// With an epoll set, each pollable process is registered once: only ended ones are reported, under their key
    /// ("" for an orphan), a pending one only after adoption, and none once reaped, even while another copy of
    /// its pidfd is open (a worker forked meanwhile holds one).
    #[test]
    fn the_epoll_set_reports_ended_processes_until_they_are_reaped() {
        use super::ExitTable;
        use crate::util::pidfd_open;
        let spawn = || {
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                unsafe {
                    // gone with the test thread, also when an assertion fails
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                    libc::pause();
                    libc::_exit(0)
                };
            }
            (pid, pidfd_open(pid).expect("pidfd_open"))
        };
        let end = |pid: i32| {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let fd = pidfd_open(pid).expect("pidfd_open");
            let mut p = libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(&fd), events: libc::POLLIN, revents: 0 };
            assert_eq!(unsafe { libc::poll(&mut p, 1, 5000) }, 1, "{pid} did not end");
        };
        let mut t = ExitTable::with_epoll().expect("epoll_create1");
        let watch = t.watch_fd().expect("an epoll fd");
        let sorted = |t: &ExitTable| {
            let mut k = t.ended_keys();
            k.sort();
            k
        };
        let (a, fa) = spawn();
        let copy = crate::util::dup_cloexec(std::os::fd::AsFd::as_fd(&fa)).expect("dup");
        let (b, fb) = spawn();
        let (c, fc) = spawn();
        let (d, fd) = spawn();
        t.insert("a", a, fa);
        t.insert_pending("b", b, fb);
        t.insert("c", c, fc);
        assert!(t.pollable().is_empty(), "everything is in the set");
        assert!(sorted(&t).is_empty(), "nothing ended yet");
        assert_eq!(crate::util::readable_now(watch), Some(false));

        end(a);
        end(b);
        assert_eq!(sorted(&t), vec!["a".to_string()], "b is pending");
        assert_eq!(crate::util::readable_now(watch), Some(true));
        assert_eq!(t.try_reap("a"), Some(128 + libc::SIGKILL));
        assert!(sorted(&t).is_empty(), "a reaped, its other pidfd copy still open");
        drop(copy);

        t.adopt("b");
        assert_eq!(sorted(&t), vec!["b".to_string()]);
        assert!(t.try_reap("b").is_some());

        // c replaced before it was reaped: it is an orphan now
        t.insert("c", d, fd);
        end(c);
        assert_eq!(sorted(&t), vec![String::new()]);
        t.reap_orphans();
        assert!(sorted(&t).is_empty());
        end(d);
        assert_eq!(sorted(&t), vec!["c".to_string()]);
        assert!(t.try_reap("c").is_some());
        assert!(sorted(&t).is_empty());
        assert!(t.watch.keys.is_empty() && t.watch.unwatched.is_empty());
    }

    /// Ended execs nobody asked about (the library read their code from the pidfd) do not pile up: the oldest
    /// beyond the bound are dropped, the newest stay readable once, and inits are never dropped this way.
    #[test]
    fn ended_execs_are_bounded() {
        use super::{exec_key, ExitTable, MAX_ENDED_EXECS_REMEMBERED};
        use crate::util::pidfd_open;
        let mut t = ExitTable::default();
        let spawn = |code: i32| {
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                unsafe { libc::_exit(code) };
            }
            (pid, pidfd_open(pid).expect("pidfd_open"))
        };
        let (pid, fd) = spawn(4);
        t.insert("init", pid, fd);
        let n = MAX_ENDED_EXECS_REMEMBERED as u64 + 50;
        for token in 1..=n {
            let (pid, fd) = spawn((token % 100) as i32);
            t.insert(&exec_key(token), pid, fd);
            while t.try_reap(&exec_key(token)).is_none() {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
        while t.try_reap("init").is_none() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!t.is_tracked(&exec_key(1)), "the oldest ended exec is dropped");
        assert!(!t.is_tracked(&exec_key(50)));
        assert_eq!(t.exec_status(n).unwrap(), (n % 100) as i32, "the newest is still readable");
        assert!(!t.is_tracked(&exec_key(n)), "and read once");
        assert_eq!(t.exit_status("init").unwrap(), 4, "inits are not bounded this way");
        assert!(t.map.len() <= MAX_ENDED_EXECS_REMEMBERED + 1);
    }

    /// The pidfd signal path takes only a live, unfrozen, undeleted init; everything else is left to
    /// libcontainer's kill (which reports a stopped container, and thaws a frozen one).
    #[test]
    fn signal_live_only_reaches_a_live_unfrozen_init() {
        use super::ExitTable;
        use crate::util::pidfd_open;
        let mut t = ExitTable::default();
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::pause();
                libc::_exit(0)
            };
        }
        t.insert("c", pid, pidfd_open(pid).expect("pidfd_open"));
        assert!(!t.signal_live("other", libc::SIGTERM), "an untracked id");
        t.set_maybe_frozen("c", true);
        assert!(!t.is_live("c") && !t.signal_live("c", libc::SIGKILL), "a maybe-frozen init");
        t.set_maybe_frozen("c", false);
        assert!(t.is_live("c"));
        assert!(!t.signal_live("c", 1000), "an invalid signal is refused by the kernel, not sent");
        assert!(t.signal_live("c", libc::SIGKILL));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while t.is_live("c") {
            assert!(std::time::Instant::now() < deadline, "the init never died");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!t.signal_live("c", libc::SIGKILL), "an exited (not yet reaped) init takes the slow path");
        while t.try_reap("c").is_none() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(t.exit_status("c").unwrap(), 128 + libc::SIGKILL);
        assert!(!t.signal_live("c", libc::SIGKILL), "a reaped init");
    }
}
