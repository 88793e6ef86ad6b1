//! Real containers through the C ABI, in both modes: a busybox-static rootfs, a minimal runc-style config.json,
//! create → created → start → running → the file appears → SIGKILL → exit 137 → delete → nothing left, no zombie.
//! Needs root and a static busybox; skips without them, except with CI=true, where it fails.

use std::ffi::{c_char, CStr, CString};
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use youki_ffm::*;

const HELPER: &str = env!("CARGO_BIN_EXE_yffm-helper");

fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn prerequisites() -> Result<PathBuf, String> {
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root".into());
    }
    let bb = busybox().ok_or("busybox not found (apt-get install busybox-static)")?;
    let out = std::process::Command::new("file")
        .arg("-L")
        .arg(&bb)
        .output();
    if let Ok(o) = out {
        let s = String::from_utf8_lossy(&o.stdout);
        if s.contains("dynamically linked") {
            return Err(format!(
                "{} is dynamically linked; install busybox-static",
                bb.display()
            ));
        }
    }
    Ok(bb)
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

struct Rt {
    ptr: *mut yffm_runtime,
}

struct CallErr(i32, String);

impl std::fmt::Debug for CallErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "status {}: {}", self.0, self.1)
    }
}

type R<T> = Result<T, CallErr>;

fn call(f: impl FnOnce(*mut c_char, usize) -> i32) -> R<()> {
    let mut buf = vec![0 as c_char; 4096];
    let code = f(buf.as_mut_ptr(), buf.len());
    if code == YFFM_OK {
        Ok(())
    } else {
        Err(CallErr(
            code,
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
        ))
    }
}

fn json_call(f: impl Fn(*mut u8, usize, *mut usize, *mut c_char, usize) -> i32) -> R<String> {
    let mut cap = 64;
    loop {
        let mut buf = vec![0u8; cap];
        let mut len = usize::MAX;
        let r = call(|e, ec| f(buf.as_mut_ptr(), cap, &mut len, e, ec));
        match r {
            Ok(()) => return Ok(String::from_utf8(buf[..len].to_vec()).unwrap()),
            Err(CallErr(YFFM_ERR_BUFFER_TOO_SMALL, _)) => {
                assert_eq!(len, usize::MAX, "len_out written on failure");
                cap *= 2
            }
            Err(e) => return Err(e),
        }
    }
}

impl Rt {
    fn new(root: &Path, mode: u32) -> R<Rt> {
        let mut p = std::ptr::null_mut();
        let root = c(root.to_str().unwrap());
        let helper = c(HELPER);
        call(|e, ec| unsafe {
            yffm_runtime_new(root.as_ptr(), mode, helper.as_ptr(), 60_000, &mut p, e, ec)
        })?;
        Ok(Rt { ptr: p })
    }
    fn create(&self, id: &str, bundle: &Path, out: i32) -> R<(i32, OwnedFd)> {
        let (id, b) = (c(id), c(bundle.to_str().unwrap()));
        let (mut pid, mut pidfd) = (-1, -1);
        call(|e, ec| unsafe {
            yffm_create(
                self.ptr,
                id.as_ptr(),
                b.as_ptr(),
                -1,
                out,
                out,
                std::ptr::null(),
                0,
                &mut pid,
                &mut pidfd,
                e,
                ec)
        })?;
        Ok((pid, unsafe { OwnedFd::from_raw_fd(pidfd) }))
    }
    fn start(&self, id: &str) -> R<()> {
        let id = c(id);
        call(|e, ec| unsafe { yffm_start(self.ptr, id.as_ptr(), 0, e, ec) })
    }
    fn state(&self, id: &str) -> R<serde_json::Value> {
        let id = c(id);
        let s = json_call(|b, cap, l, e, ec| unsafe {
            yffm_state(self.ptr, id.as_ptr(), b, cap, l, e, ec)
        })?;
        Ok(serde_json::from_str(&s).unwrap())
    }
    fn list(&self) -> R<Vec<serde_json::Value>> {
        let s = json_call(|b, cap, l, e, ec| unsafe { yffm_list(self.ptr, b, cap, l, e, ec) })?;
        Ok(serde_json::from_str(&s).unwrap())
    }
    fn kill(&self, id: &str, sig: i32) -> R<()> {
        let id = c(id);
        call(|e, ec| unsafe { yffm_kill(self.ptr, id.as_ptr(), sig, false, 0, e, ec) })
    }
    fn delete(&self, id: &str, force: bool) -> R<()> {
        let id = c(id);
        call(|e, ec| unsafe { yffm_delete(self.ptr, id.as_ptr(), force, 0, e, ec) })
    }
    fn exec(&self, id: &str, process: &Path, out: i32) -> R<(u64, i32, OwnedFd)> {
        let (id, p) = (c(id), c(process.to_str().unwrap()));
        let (mut token, mut pid, mut pidfd) = (0u64, -1, -1);
        call(|e, ec| unsafe {
            yffm_exec(
                self.ptr,
                id.as_ptr(),
                p.as_ptr(),
                -1,
                out,
                out,
                std::ptr::null(),
                0,
                &mut token,
                &mut pid,
                &mut pidfd,
                e,
                ec)
        })?;
        Ok((token, pid, unsafe { OwnedFd::from_raw_fd(pidfd) }))
    }
    fn exec_status(&self, token: u64) -> R<i32> {
        let mut code = -1;
        call(|e, ec| unsafe { yffm_exec_status(self.ptr, token, &mut code, e, ec) })?;
        Ok(code)
    }
    fn exit_status(&self, id: &str) -> R<i32> {
        let id = c(id);
        let mut code = -1;
        call(|e, ec| unsafe { yffm_exit_status(self.ptr, id.as_ptr(), &mut code, e, ec) })?;
        Ok(code)
    }
    fn helper_pid(&self) -> i32 {
        let mut p = -1;
        assert_eq!(unsafe { yffm_helper_pid(self.ptr, &mut p) }, YFFM_OK);
        p
    }
}

// The ABI allows concurrent calls on one runtime (they are serialized inside).
unsafe impl Send for Rt {}
unsafe impl Sync for Rt {}

impl Drop for Rt {
    fn drop(&mut self) {
        unsafe { yffm_runtime_free(self.ptr) };
    }
}

fn make_bundle(dir: &Path, bb: &Path, id: &str, args: &[&str], out_dir: &Path) -> PathBuf {
    let bundle = dir.join(format!("bundle-{id}"));
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "out", "etc"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::copy(bb, rootfs.join("bin/busybox")).unwrap();
    let list = std::process::Command::new(bb)
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
        }
    }
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/",
            "oomScoreAdj": 500,
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "yffm",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/out", "type": "bind", "source": out_dir.to_str().unwrap(), "options": ["rbind", "rw"]}
        ],
        "linux": {
            "cgroupsPath": format!("/yffm-smoke/{id}"),
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}],
            "maskedPaths": ["/proc/kcore", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    bundle
}

fn wait_readable(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    unsafe { libc::poll(&mut p, 1, timeout.as_millis() as i32) == 1 }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Children of `pid` (all its threads) and their /proc state letters.
fn children_of(pid: u32) -> Vec<(i32, String)> {
    let mut v = Vec::new();
    if let Ok(rd) = fs::read_dir(format!("/proc/{pid}/task")) {
        for t in rd.flatten() {
            if let Ok(s) = fs::read_to_string(t.path().join("children")) {
                for c in s.split_whitespace().filter_map(|x| x.parse::<i32>().ok()) {
                    let st = fs::read_to_string(format!("/proc/{c}/stat")).unwrap_or_default();
                    let state = st
                        .rsplit(')')
                        .next()
                        .unwrap_or("")
                        .split_whitespace()
                        .next()
                        .unwrap_or("?")
                        .to_string();
                    v.push((c, state));
                }
            }
        }
    }
    v
}

fn status_of(v: &serde_json::Value) -> &str {
    v["status"].as_str().unwrap()
}

#[derive(Default, Debug)]
struct Timings {
    create: Vec<Duration>,
    start: Vec<Duration>,
    delete: Vec<Duration>,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn run_mode(mode: u32, name: &str, bb: &Path, work: &Path) -> Timings {
    let root = work.join(format!("root-{name}"));
    let out_dir = work.join(format!("out-{name}"));
    fs::create_dir_all(&out_dir).unwrap();
    let log = fs::File::create(work.join(format!("container-{name}.log"))).unwrap();
    let rt = Rt::new(&root, mode).expect("runtime_new");
    let helper_pid = rt.helper_pid();
    assert_eq!(helper_pid == 0, mode == YFFM_MODE_DIRECT);
    assert!(root.is_dir());

    // --- the main lifecycle
    let id = format!("smoke-{name}");
    let bundle = make_bundle(
        work,
        bb,
        &id,
        &["sh", "-c", "echo hi > /out/x; exec sleep 30"],
        &out_dir,
    );
    let cwd_before = std::env::current_dir().unwrap();
    let oom_before = fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let (pid, pidfd) = rt.create(&id, &bundle, log.as_raw_fd()).expect("create");
    assert!(pid > 0);
    // the container got its oom_score_adj; the caller (and the helper) kept theirs, and cwd and dumpable
    assert_eq!(
        fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .unwrap()
            .trim(),
        "500"
    );
    assert_eq!(
        fs::read_to_string("/proc/self/oom_score_adj").unwrap(),
        oom_before
    );
    assert_eq!(std::env::current_dir().unwrap(), cwd_before);
    assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE) }, 1);
    if mode == YFFM_MODE_HELPER {
        assert_eq!(
            fs::read_to_string(format!("/proc/{helper_pid}/oom_score_adj")).unwrap(),
            oom_before
        );
        let status = fs::read_to_string(format!("/proc/{helper_pid}/status")).unwrap();
        assert!(
            status.contains("\nThreads:\t1\n"),
            "helper is not single-threaded:\n{status}"
        );
        // the init is the helper's child, not ours (once the worker that made it has exited: the helper answers
        // as soon as the worker's result arrives)
        wait_for("the init's reparenting to the helper", Duration::from_secs(5), || {
            children_of(helper_pid as u32).iter().any(|c| c.0 == pid)
        });
    } else {
        assert!(children_of(std::process::id()).iter().any(|c| c.0 == pid));
    }
    let st = rt.state(&id).unwrap();
    assert_eq!(status_of(&st), "created", "{st}");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64));
    assert_eq!(st["id"], id.as_str());
    assert!(
        st["ociVersion"].is_string() && st["bundle"].is_string() && st["created"].is_string(),
        "{st}"
    );
    assert_eq!(st["owner"].as_u64(), Some(0));
    assert!(!out_dir.join("x").exists());

    // errors on a live container
    let e = rt.create(&id, &bundle, -1).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_ALREADY_EXISTS, "{e:?}");
    let e = rt.exit_status(&id).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_NOT_EXITED, "{e:?}");

    rt.start(&id).expect("start");
    assert_eq!(std::env::current_dir().unwrap(), cwd_before);
    assert_eq!(status_of(&rt.state(&id).unwrap()), "running");
    wait_for("/out/x", Duration::from_secs(10), || {
        fs::read_to_string(out_dir.join("x"))
            .map(|s| s == "hi\n")
            .unwrap_or(false)
    });
    let e = rt.start(&id).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_INVALID_STATE, "{e:?}");

    // --- exec: env, cwd, exit code, output through the given fd, reaped by the runtime
    let process = work.join(format!("exec-{name}.json"));
    fs::write(
        &process,
        r#"{"args":["sh","-c","echo exec-$V-$(pwd) > /out/exec; exit 5"],"env":["V=42","PATH=/bin"],"cwd":"/tmp","user":{"uid":0,"gid":0}}"#,
    )
    .unwrap();
    let (token, epid, epidfd) = rt.exec(&id, &process, log.as_raw_fd()).expect("exec");
    assert!(epid > 0 && epid != pid);
    assert!(
        wait_readable(&epidfd, Duration::from_secs(10)),
        "exec'd pidfd never readable"
    );
    let mut ecode = None;
    wait_for("exec status", Duration::from_secs(5), || {
        ecode = rt.exec_status(token).ok();
        ecode.is_some()
    });
    assert_eq!(ecode, Some(5));
    assert_eq!(
        fs::read_to_string(out_dir.join("exec")).unwrap(),
        "exec-42-/tmp\n"
    );
    assert_eq!(
        rt.exec_status(token).unwrap_err().0,
        YFFM_ERR_NOT_FOUND,
        "status is read once"
    );
    let sockets: Vec<String> = fs::read_dir(root.join(&id))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tenant-"))
        .collect();
    assert!(sockets.is_empty(), "exec left {sockets:?} in the state dir");
    assert_eq!(
        rt.exec(&id, Path::new("relative.json"), -1).unwrap_err().0,
        YFFM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        rt.exec("no-such", &process, -1).unwrap_err().0,
        YFFM_ERR_NOT_FOUND
    );
    drop(epidfd);

    let e = rt.delete(&id, false).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_INVALID_STATE, "{e:?}");
    let e = rt.kill(&id, 99).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_INVALID_ARGUMENT, "{e:?}");
    let l = rt.list().unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["id"], id.as_str());

    rt.kill(&id, libc::SIGKILL).expect("kill");
    assert!(
        wait_readable(&pidfd, Duration::from_secs(10)),
        "pidfd never became readable"
    );
    let mut code = None;
    wait_for("exit status", Duration::from_secs(5), || {
        code = rt.exit_status(&id).ok();
        code.is_some()
    });
    assert_eq!(code, Some(137));
    assert_eq!(status_of(&rt.state(&id).unwrap()), "stopped");
    assert_eq!(
        rt.exec(&id, &process, -1).unwrap_err().0,
        YFFM_ERR_INVALID_STATE,
        "exec into a stopped container"
    );
    rt.delete(&id, false).expect("delete");
    assert!(!root.join(&id).exists());
    assert!(rt.list().unwrap().is_empty());
    assert_eq!(
        rt.exit_status(&id).unwrap(),
        137,
        "exit code kept after delete"
    );
    assert_eq!(rt.state(&id).unwrap_err().0, YFFM_ERR_NOT_FOUND);
    assert_eq!(rt.delete(&id, false).unwrap_err().0, YFFM_ERR_NOT_FOUND);
    rt.delete(&id, true)
        .expect("force delete of unknown id is OK");
    assert_eq!(
        rt.exit_status("never-created").unwrap_err().0,
        YFFM_ERR_NOT_FOUND
    );
    assert!(
        !Path::new(&format!("/sys/fs/cgroup/pids/yffm-smoke/{id}")).exists(),
        "cgroup left behind"
    );
    drop(pidfd);

    // --- exit code of a process that exits by itself
    let id2 = format!("exit3-{name}");
    let b2 = make_bundle(work, bb, &id2, &["sh", "-c", "exit 3"], &out_dir);
    let (_, fd2) = rt.create(&id2, &b2, log.as_raw_fd()).unwrap();
    rt.start(&id2).unwrap();
    assert!(wait_readable(&fd2, Duration::from_secs(10)));
    wait_for("exit 3", Duration::from_secs(5), || {
        rt.exit_status(&id2).ok() == Some(3)
    });
    rt.delete(&id2, false).unwrap();

    // --- force delete of a running container reaps its init
    let id3 = format!("force-{name}");
    let b3 = make_bundle(work, bb, &id3, &["sleep", "30"], &out_dir);
    rt.create(&id3, &b3, log.as_raw_fd()).unwrap();
    rt.start(&id3).unwrap();
    rt.delete(&id3, true).expect("force delete");
    assert_eq!(rt.exit_status(&id3).unwrap(), 137);

    // --- delete of a created (never started) container
    let id4 = format!("created-{name}");
    let b4 = make_bundle(work, bb, &id4, &["sleep", "30"], &out_dir);
    rt.create(&id4, &b4, -1).unwrap();
    rt.delete(&id4, false).expect("delete created");
    assert_eq!(rt.exit_status(&id4).unwrap(), 137);

    // --- a failing create leaves nothing behind
    let id5 = format!("bad-{name}");
    let b5 = make_bundle(work, bb, &id5, &["sleep", "30"], &out_dir);
    fs::remove_dir_all(b5.join("rootfs")).unwrap();
    let e = rt.create(&id5, &b5, -1).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_RUNTIME, "{e:?}");
    eprintln!("[{name}] failed create says: {}", e.1);
    assert!(
        !root.join(&id5).exists(),
        "failed create left its state dir"
    );
    // ... also when it fails inside the container's init (after the state dir and cgroup exist)
    let id5b = format!("badmount-{name}");
    let b5b = make_bundle(
        work,
        bb,
        &id5b,
        &["sleep", "30"],
        &work.join("no-such-dir-yffm"),
    );
    let e = rt.create(&id5b, &b5b, -1).unwrap_err();
    assert_eq!(e.0, YFFM_ERR_RUNTIME, "{e:?}");
    eprintln!("[{name}] failed create (init stage) says: {}", e.1);
    assert!(
        !root.join(&id5b).exists(),
        "failed create left its state dir"
    );
    assert!(
        !Path::new(&format!("/sys/fs/cgroup/pids/yffm-smoke/{id5b}")).exists(),
        "failed create left its cgroup"
    );

    // --- latency: a few full cycles
    let mut t = Timings::default();
    let id6 = format!("lat-{name}");
    let b6 = make_bundle(work, bb, &id6, &["sleep", "30"], &out_dir);
    for _ in 0..5 {
        let t0 = Instant::now();
        let (_, fd) = rt.create(&id6, &b6, -1).unwrap();
        t.create.push(t0.elapsed());
        let t0 = Instant::now();
        rt.start(&id6).unwrap();
        t.start.push(t0.elapsed());
        let t0 = Instant::now();
        rt.delete(&id6, true).unwrap();
        t.delete.push(t0.elapsed());
        assert_eq!(rt.exit_status(&id6).unwrap(), 137);
        drop(fd);
    }

    // --- concurrent callers on one runtime
    let bundles: Vec<(String, PathBuf)> = (0..4)
        .map(|i| {
            let id = format!("conc{i}-{name}");
            let b = make_bundle(
                work,
                bb,
                &id,
                &["sh", "-c", &format!("exit {}", 10 + i)],
                &out_dir,
            );
            (id, b)
        })
        .collect();
    std::thread::scope(|sc| {
        for (i, (id, b)) in bundles.iter().enumerate() {
            let rt = &rt;
            sc.spawn(move || {
                for _ in 0..3 {
                    let (_, fd) = rt.create(id, b, -1).unwrap();
                    rt.start(id).unwrap();
                    assert!(wait_readable(&fd, Duration::from_secs(10)));
                    wait_for("exit", Duration::from_secs(5), || {
                        rt.exit_status(id).ok() == Some(10 + i as i32)
                    });
                    rt.delete(id, false).unwrap();
                }
            });
        }
    });

    // --- nothing left: no container dirs, no zombies, no leftover children
    let left: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert!(left.is_empty(), "container dirs left: {left:?}");
    let me = std::process::id();
    if mode == YFFM_MODE_HELPER {
        // Nothing but the spare worker the helper keeps forked ahead (the same executable, waiting for a call),
        // once the worker of the last call, answered before it exited, has been reaped.
        let exe = |p: i32| fs::read_link(format!("/proc/{p}/exe")).ok();
        let others = || -> Vec<(i32, String)> {
            children_of(helper_pid as u32)
                .into_iter()
                .filter(|c| c.1 != "S" || exe(c.0).is_none() || exe(c.0) != exe(helper_pid))
                .collect()
        };
        let t = Instant::now();
        while !others().is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let kids = others();
        assert!(kids.is_empty(), "helper still has children: {kids:?}");
        assert!(children_of(helper_pid as u32).len() <= 1, "more than one spare worker");
        let ours = children_of(me);
        assert_eq!(
            ours.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![helper_pid],
            "{ours:?}"
        );
        assert_eq!(unsafe { __test_helper_panic(rt.ptr, false) }.0, YFFM_ERR_PANIC);
        // the helper survives a panic in one request
        assert!(rt.list().unwrap().is_empty());
    } else {
        let kids = children_of(me);
        assert!(kids.is_empty(), "children left in direct mode: {kids:?}");
    }
    drop(rt);
    if mode == YFFM_MODE_HELPER {
        // The helper dies (SIGKILL) while a container is created and not started: state is read from disk and
        // never needed the helper, the next call starts a fresh helper, and the container stays manageable. Its
        // init was reparented to init(1), which reaps it; the exit code then comes from the pidfd.
        let rt = Rt::new(&root, mode).unwrap();
        let hp = rt.helper_pid();
        let id7 = format!("orphan-{name}");
        let b7 = make_bundle(work, bb, &id7, &["sleep", "30"], &out_dir);
        let (_, fd7) = rt.create(&id7, &b7, -1).unwrap();
        unsafe { libc::kill(hp, libc::SIGKILL) };
        wait_for("the helper's death", Duration::from_secs(5), || {
            fs::read_to_string(format!("/proc/{hp}/stat")).map_or(true, |s| s.contains(") Z"))
        });
        let t0 = Instant::now();
        assert_eq!(rt.state(&id7).unwrap()["status"], "created");
        assert!(t0.elapsed() < Duration::from_secs(1));
        rt.start(&id7).unwrap();
        assert_ne!(rt.helper_pid(), hp, "a fresh helper served the start");
        assert_eq!(rt.state(&id7).unwrap()["status"], "running");
        rt.kill(&id7, libc::SIGKILL).unwrap();
        assert!(wait_readable(&fd7, Duration::from_secs(10)), "init not killed");
        let mut code = -1;
        wait_for("the pidfd's exit code", Duration::from_secs(5), || unsafe {
            yffm_pidfd_exit_code(fd7.as_raw_fd(), &mut code, std::ptr::null_mut(), 0) == YFFM_OK
        });
        assert_eq!(code, 137);
        rt.delete(&id7, false).unwrap();
        drop(rt);
        let kids = children_of(me);
        assert!(kids.is_empty(), "helper not reaped: {kids:?}");
        assert!(
            !Path::new(&format!("/proc/{helper_pid}")).exists(),
            "helper still exists"
        );
        let log = fs::read_to_string(root.join("yffm-helper.log")).unwrap();
        assert!(log.contains("exiting"), "{log}");
        // libcontainer's own diagnostics of the failed creates reach the helper log
        assert!(log.contains("failed to prepare rootfs"), "{log}");
        if std::env::var_os("YFFM_SHOW_HELPER_LOG").is_some() {
            eprintln!("{log}");
        }
    }
    t
}

#[test]
fn real_containers_both_modes() {
    let bb = match prerequisites() {
        Ok(bb) => bb,
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but the real-container smoke test cannot run: {why}");
            }
            eprintln!("SKIPPED real-container smoke test: {why}");
            return;
        }
    };
    let work = tempfile::Builder::new()
        .prefix("yffm-smoke-")
        .tempdir()
        .unwrap();
    for (mode, name) in [(YFFM_MODE_HELPER, "helper"), (YFFM_MODE_DIRECT, "direct")] {
        let t0 = Instant::now();
        let t = run_mode(mode, name, &bb, work.path());
        eprintln!(
            "[{name}] median of 5: create {:?} start {:?} delete(force, running) {:?}; whole mode {:?}",
            median(&t.create),
            median(&t.start),
            median(&t.delete),
            t0.elapsed()
        );
    }
    // The per-container cgroups are gone (checked above); remove the shared parent from every hierarchy
    // (each v1 controller and the v2 tree), not just pids.
    if let Ok(controllers) = fs::read_dir("/sys/fs/cgroup") {
        for c in controllers.flatten() {
            let parent = c.path().join("yffm-smoke");
            if parent.is_dir() {
                fs::remove_dir(&parent)
                    .unwrap_or_else(|e| panic!("cgroup {} left behind: {e}", parent.display()));
            }
        }
    }
}
