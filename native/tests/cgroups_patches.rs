//! The vendored libcgroups' patches (native/vendor/libcgroups/YFFM-PATCHES.md).
//! k: finding every v1 subsystem's mount point in one list of mounts gives what the per-subsystem lookup (a
//! mountinfo read each) gives.
//! l: a v2 cgroup opened for CLONE_INTO_CGROUP (its parents created) receives the cloned child, and `add_task`
//! of a process already in the cgroup does not write `cgroup.procs`. On a hybrid host these run on the unified
//! hierarchy (/sys/fs/cgroup/unified), on a pure v2 host on /sys/fs/cgroup.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use libcgroups::common::CgroupManager;
use nix::unistd::Pid;

use libcgroups::v1::util::{find_subsystem_mount_point, get_subsystem_mount_point, list_subsystem_mount_points};
use libcgroups::v1::ControllerType;

const ALL: [ControllerType; 12] = [
    ControllerType::Cpu,
    ControllerType::CpuAcct,
    ControllerType::CpuSet,
    ControllerType::Devices,
    ControllerType::HugeTlb,
    ControllerType::Memory,
    ControllerType::Pids,
    ControllerType::PerfEvent,
    ControllerType::Blkio,
    ControllerType::NetworkPriority,
    ControllerType::NetworkClassifier,
    ControllerType::Freezer,
];

#[test]
fn comounted_and_missing_hierarchies() {
    let mounts: Vec<PathBuf> = [
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup/cpu,cpuacct",
        "/sys/fs/cgroup/net_cls,net_prio",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpuset",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let find = |c: ControllerType| find_subsystem_mount_point(&mounts, &c).ok();
    assert_eq!(find(ControllerType::Cpu), Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")));
    assert_eq!(find(ControllerType::CpuAcct), Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")));
    assert_eq!(find(ControllerType::NetworkPriority), Some(PathBuf::from("/sys/fs/cgroup/net_cls,net_prio")));
    assert_eq!(find(ControllerType::NetworkClassifier), Some(PathBuf::from("/sys/fs/cgroup/net_cls,net_prio")));
    assert_eq!(find(ControllerType::Memory), Some(PathBuf::from("/sys/fs/cgroup/memory")));
    // "cpuset" must not match the cpu rule, and an absent hierarchy is not found
    assert_eq!(find(ControllerType::CpuSet), Some(PathBuf::from("/sys/fs/cgroup/cpuset")));
    assert_eq!(find(ControllerType::Pids), None);
    assert_eq!(find(ControllerType::Freezer), None);
}

#[test]
fn one_read_agrees_with_a_read_per_subsystem_on_this_host() {
    let mounts = list_subsystem_mount_points().expect("mountinfo");
    let mut found = 0;
    for c in ALL {
        let each = get_subsystem_mount_point(&c).ok();
        assert_eq!(find_subsystem_mount_point(&mounts, &c).ok(), each, "{c}");
        found += each.is_some() as usize;
    }
    // pure cgroup v2 hosts mount no v1 hierarchy; a v1 or hybrid host has several
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert!(v2 || found >= 5, "only {found} v1 hierarchies found: {mounts:?}");
}

/// The v2 hierarchy: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
fn v2_root() -> PathBuf {
    for r in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if Path::new(r).join("cgroup.procs").exists() && Path::new(r).join("cgroup.subtree_control").exists() {
            return PathBuf::from(r);
        }
    }
    panic!("no cgroup v2 hierarchy mounted (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified)");
}

/// Removes `rel` and its parent under `root` (leaf first); they must be empty by then.
struct CgroupDirs(PathBuf, String);

impl Drop for CgroupDirs {
    fn drop(&mut self) {
        let leaf = self.0.join(&self.1);
        let _ = std::fs::remove_dir(&leaf);
        let _ = std::fs::remove_dir(leaf.parent().unwrap());
    }
}

/// A manager for `yffm-patch-l-<pid>-<tag>/c` under the v2 root (not created yet), and the guard that removes it.
fn fresh_v2_cgroup(tag: &str) -> (PathBuf, String, CgroupDirs, libcgroups::v2::manager::Manager) {
    let root = v2_root();
    let rel = format!("yffm-patch-l-{}-{tag}/c", std::process::id());
    let dirs = CgroupDirs(root.clone(), rel.clone());
    let m = libcgroups::v2::manager::Manager::new(root.clone(), PathBuf::from(&rel)).unwrap();
    (root, rel, dirs, m)
}

fn in_cgroup(listing: &str, root: &Path, rel: &str) -> bool {
    listing.lines().filter_map(|l| l.strip_prefix("0::")).any(|p| root.join(p.trim_start_matches('/')) == root.join(rel))
}

fn wait_ok(pid: i32) -> bool {
    let mut st = 0;
    (unsafe { libc::waitpid(pid, &mut st, 0) } == pid) && libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0
}

#[test]
fn v2_open_for_clone_creates_the_cgroup_and_a_child_cloned_into_it_is_there() {
    let (root, rel, _dirs, m) = fresh_v2_cgroup("clone");
    let dir = m.open_for_clone().unwrap();
    assert!(root.join(&rel).join("cgroup.procs").exists(), "open_for_clone created {rel} and its parent");

    // The child runs no Rust code: it execs cat, which prints its own (the clone's) cgroup into a pipe.
    let (mut r, w) = {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        (unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) }, fds[1])
    };
    let cat = CString::new("/bin/cat").unwrap();
    let arg = CString::new("/proc/self/cgroup").unwrap();
    let argv = [cat.as_ptr(), arg.as_ptr(), std::ptr::null()];
    let mut args = [0u64; 11];
    args[0] = 0x2_0000_0000; // CLONE_INTO_CGROUP
    args[4] = libc::SIGCHLD as u64;
    args[10] = dir.as_raw_fd() as u64;
    let pid = unsafe { libc::syscall(libc::SYS_clone3, args.as_mut_ptr(), std::mem::size_of_val(&args)) };
    if pid == 0 {
        unsafe {
            libc::dup2(w, 1);
            libc::execv(cat.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    assert!(pid > 0, "clone3 CLONE_INTO_CGROUP: {}", std::io::Error::last_os_error());
    unsafe { libc::close(w) };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut r, &mut out).unwrap();
    assert!(wait_ok(pid as i32));
    assert!(in_cgroup(&out, &root, &rel), "the cloned child's cgroups: {out}");
}

#[test]
fn v2_add_task_of_a_process_already_in_the_cgroup_does_not_write_cgroup_procs() {
    let (root, rel, _dirs, m) = fresh_v2_cgroup("self");
    drop(m.open_for_clone().unwrap());
    let procs = CString::new(root.join(&rel).join("cgroup.procs").to_str().unwrap()).unwrap();
    let controllers = CString::new(root.join(&rel).join("cgroup.controllers").to_str().unwrap()).unwrap();
    // glibc's fork keeps malloc usable in the child, which moves itself, hides cgroup.procs behind a read-only
    // bind of the cgroup's (unwritable) cgroup.controllers in a mount namespace of its own, and adds itself
    // again: only a skipped write can succeed.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = (|| {
            m.add_task(Pid::this()).ok()?;
            let here = in_cgroup(&std::fs::read_to_string("/proc/self/cgroup").ok()?, &root, &rel);
            if !here {
                return Some(2);
            }
            unsafe {
                let slash = CString::new("/").unwrap();
                if libc::unshare(libc::CLONE_NEWNS) != 0
                    || libc::mount(std::ptr::null(), slash.as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0
                    || libc::mount(controllers.as_ptr(), procs.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) != 0
                    || libc::mount(std::ptr::null(), procs.as_ptr(), std::ptr::null(),
                        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY, std::ptr::null()) != 0
                {
                    return Some(3);
                }
            }
            if std::fs::write(std::ffi::OsStr::new(procs.to_str().unwrap()), "0").is_ok() {
                return Some(4); // the write was not blocked: the check below would prove nothing
            }
            m.add_task(Pid::this()).ok()?;
            Some(0)
        })()
        .unwrap_or(1);
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0);
    let mut st = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFEXITED(st), "child status {st}");
    assert_eq!(libc::WEXITSTATUS(st), 0, "1: add_task failed, 2: not moved, 3: mount setup, 4: write not blocked");
}

/// Patch n: containers created at once under one new parent cgroup each create the parent; the loser of that race
/// got EEXIST from `mkdir` ("File exists") and failed its create. Four threads race for 50 fresh parents.
#[test]
fn v2_creates_racing_for_a_new_parent_cgroup_all_succeed() {
    let root = v2_root();
    for round in 0..50 {
        let parent = format!("yffm-patch-n-{}-{round}", std::process::id());
        let gate = std::sync::Arc::new(std::sync::Barrier::new(4));
        let results: Vec<Result<(), String>> = (0..4)
            .map(|k| {
                let (root, parent, gate) = (root.clone(), parent.clone(), gate.clone());
                std::thread::spawn(move || {
                    let m = libcgroups::v2::manager::Manager::new(root, PathBuf::from(format!("{parent}/c{k}")))
                        .map_err(|e| e.to_string())?;
                    gate.wait();
                    m.open_for_clone().map(drop).map_err(|e| e.to_string())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        for k in 0..4 {
            let _ = std::fs::remove_dir(root.join(&parent).join(format!("c{k}")));
        }
        let _ = std::fs::remove_dir(root.join(&parent));
        for (k, r) in results.iter().enumerate() {
            assert!(r.is_ok(), "round {round}, child c{k}: {r:?}");
        }
    }
}
