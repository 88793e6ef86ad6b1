//! The vendored libcgroups' patch k (native/vendor/libcgroups/YFFM-PATCHES.md): finding every v1 subsystem's
//! mount point in one list of mounts gives what the per-subsystem lookup (a mountinfo read each) gives.

use std::path::PathBuf;

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
