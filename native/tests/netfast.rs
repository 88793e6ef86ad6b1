//! The network fast path against the kernel: attach and detach between two test-owned network namespaces
//! (`ip netns add`), checking the links, addresses, routes and host-local lease files, and that a name clash and an
//! exhausted range leave nothing. Needs root and iproute2.

use std::process::Command;
use youki_ffm::netfast::{attach, detach, Request};
use youki_ffm::status::*;

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("iproute2");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        let name = format!("yffm-nf-{tag}-{}", std::process::id());
        ip(&["netns", "add", &name]);
        Netns(name)
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn request(h: &Netns, c: &Netns, id: &str, ifname: &str, data: &str, subnet: &str) -> String {
    format!(
        r#"{{"hostNetns":"{}","netns":"{}","containerId":"{id}","ifName":"{ifname}","network":"nf","dataDir":"{data}",
        "bridge":"yffmnfbr","isGateway":true,"ranges":[[{{"subnet":"{subnet}"}}]],"routes":[{{"dst":"0.0.0.0/0"}}],
        "timeoutMs":10000}}"#,
        h.path(),
        c.path()
    )
}

#[test]
fn attach_and_detach_in_test_owned_namespaces() {
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root (CI=true: a skip is a failure)"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let h = Netns::new("h");
    let c = Netns::new("c");
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let req = request(&h, &c, "ctr1", "eth0", d, "10.77.3.0/30");
    let a = attach(Request::parse(&req).unwrap()).unwrap();
    assert_eq!(a.leases[0].ip.to_string(), "10.77.3.2");
    let lease = data.path().join("nf/10.77.3.2");
    assert_eq!(std::fs::read_to_string(&lease).unwrap(), "ctr1\r\neth0");
    let addr = ip(&["-n", &c.0, "addr", "show", "eth0"]);
    assert!(addr.contains("inet 10.77.3.2/30 brd 10.77.3.3"), "{addr}");
    assert!(ip(&["-n", &c.0, "route"]).contains("default via 10.77.3.1 dev eth0"));
    let br = ip(&["-n", &h.0, "addr", "show", "yffmnfbr"]);
    assert!(br.contains("inet 10.77.3.1/30"), "{br}");
    assert!(ip(&["-n", &h.0, "link", "show", "master", "yffmnfbr"]).contains(&a.host_veth));

    // The range is exhausted, and eth0 is taken: typed errors, nothing new left behind.
    let before = (
        ip(&["-n", &h.0, "-o", "link"]),
        ip(&["-n", &c.0, "-o", "link"]),
    );
    let full = attach(Request::parse(&request(&h, &c, "ctr2", "eth1", d, "10.77.3.0/30")).unwrap())
        .unwrap_err();
    assert_eq!(full.code, YFFM_ERR_RESOURCE, "{}", full.msg);
    let clash =
        attach(Request::parse(&request(&h, &c, "ctr3", "eth0", d, "10.77.4.0/24")).unwrap())
            .unwrap_err();
    assert_eq!(clash.code, YFFM_ERR_ALREADY_EXISTS, "{}", clash.msg);
    assert_eq!(
        before,
        (
            ip(&["-n", &h.0, "-o", "link"]),
            ip(&["-n", &c.0, "-o", "link"])
        )
    );
    let leases: Vec<_> = std::fs::read_dir(data.path().join("nf"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leases.len(),
        3,
        "lock, last_reserved_ip.0 and one lease: {leases:?}"
    );

    detach(Request::parse(&req).unwrap()).unwrap();
    assert!(!lease.exists());
    assert!(!ip(&["-n", &c.0, "-o", "link"]).contains("eth0"));
    assert!(!ip(&["-n", &h.0, "-o", "link"]).contains(&a.host_veth));
    // A second detach (already gone) is success; a gone container netns is NOT_FOUND on attach.
    detach(Request::parse(&req).unwrap()).unwrap();
    let gone = req.replace(&c.path(), "/proc/999999999/ns/net");
    assert_eq!(
        attach(Request::parse(&gone).unwrap()).unwrap_err().code,
        YFFM_ERR_NOT_FOUND
    );
}
