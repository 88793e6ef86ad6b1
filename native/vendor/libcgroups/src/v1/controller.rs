use std::fs;
use std::path::Path;

use nix::unistd::{self, Pid};

use crate::common::{self, CGROUP_PROCS, ControllerOpt, WrapIoResult, WrappedIoError};

pub(super) trait Controller {
    type Error: From<WrappedIoError>;
    type Resource;

    /// Adds a new task specified by its pid to the cgroup
    #[allow(dead_code)] // the manager joins through `join`; the crate's unit tests still call this
    fn add_task(pid: Pid, cgroup_path: &Path) -> Result<(), Self::Error> {
        Self::join(JoinBy::of(pid), cgroup_path)
    }

    /// Moves a task into the cgroup, as [`JoinBy`] says (youki-ffm patch j)
    fn join(how: JoinBy, cgroup_path: &Path) -> Result<(), Self::Error> {
        fs::create_dir_all(cgroup_path).wrap_create_dir(cgroup_path)?;
        how.write(cgroup_path)?;
        Ok(())
    }

    /// Applies resource restrictions to the cgroup
    fn apply(controller_opt: &ControllerOpt, cgroup_root: &Path) -> Result<(), Self::Error>;

    /// Checks if the controller needs to handle this request
    fn needs_to_handle<'a>(controller_opt: &'a ControllerOpt) -> Option<&'a Self::Resource>;
}

/// How a task joins a cgroup v1 hierarchy (youki-ffm patch j).
///
/// A write to `cgroup.procs` takes the kernel's global threadgroup rwsem for writing, which waits for an RCU grace
/// period (several milliseconds) unless another writer took it moments before. A thread that moves itself, by
/// writing "0" to `tasks`, skips that lock. So a process that adds itself while it has one thread (libcontainer's
/// intermediate process) moves that thread, which is the whole process; any other case writes the pid to
/// `cgroup.procs` as before.
#[derive(Clone, Copy, Debug)]
pub(super) enum JoinBy {
    /// the pid, written to `cgroup.procs`
    Pid(Pid),
    /// the caller, which has one thread: "0" written to `tasks`, or its pid to `cgroup.procs` if that fails
    OnlyThread,
}

impl JoinBy {
    /// Decided once per [`super::manager::Manager::add_task`], not per hierarchy.
    pub(super) fn of(pid: Pid) -> Self {
        if pid == unistd::getpid() && single_threaded() {
            JoinBy::OnlyThread
        } else {
            JoinBy::Pid(pid)
        }
    }

    pub(super) fn write(self, cgroup_path: &Path) -> Result<(), WrappedIoError> {
        let pid = match self {
            JoinBy::Pid(pid) => pid,
            JoinBy::OnlyThread => {
                if common::write_cgroup_file_str(cgroup_path.join(CGROUP_TASKS), "0").is_ok() {
                    return Ok(());
                }
                unistd::getpid()
            }
        };
        common::write_cgroup_file(cgroup_path.join(CGROUP_PROCS), pid)
    }
}

const CGROUP_TASKS: &str = "tasks";

/// Whether the calling process has exactly one thread (`num_threads` in `/proc/self/stat`); false if unreadable.
fn single_threaded() -> bool {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // the 20th field; the 2nd (comm) may hold spaces and parentheses, so count from its last ')'
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().nth(17).map(|n| n == "1")
        })
        .unwrap_or(false)
}
