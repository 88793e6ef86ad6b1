//! ABI conventions that need no container: NULL pointers, bad strings, buffers, error truncation, helper death.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

use youki_ffm::*;

const HELPER: &str = env!("CARGO_BIN_EXE_yffm-helper");

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn text(b: &[c_char]) -> String {
    unsafe { CStr::from_ptr(b.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn new_rt(
    root: &std::path::Path,
    mode: u32,
    helper: &str,
) -> Result<*mut yffm_runtime, (i32, String)> {
    new_rt_timeout(root, mode, helper, 60_000)
}

fn new_rt_timeout(
    root: &std::path::Path,
    mode: u32,
    helper: &str,
    timeout_ms: u32,
) -> Result<*mut yffm_runtime, (i32, String)> {
    let mut rt = null_mut();
    let mut err = [0 as c_char; 512];
    let (r, h) = (c(root.to_str().unwrap()), c(helper));
    let code = unsafe {
        yffm_runtime_new(
            r.as_ptr(),
            mode,
            h.as_ptr(),
            timeout_ms,
            &mut rt,
            err.as_mut_ptr(),
            err.len())
    };
    if code == YFFM_OK {
        assert!(!rt.is_null());
        Ok(rt)
    } else {
        assert!(rt.is_null(), "out written on failure");
        Err((code, text(&err)))
    }
}

#[test]
fn version() {
    let mut buf = [0u8; 128];
    let mut len = 0usize;
    assert_eq!(
        unsafe { yffm_version(buf.as_mut_ptr(), buf.len(), &mut len) },
        YFFM_OK
    );
    let v = std::str::from_utf8(&buf[..len]).unwrap();
    assert_eq!(
        v,
        format!(
            "youki-ffm {} (libcontainer 0.7.0)",
            env!("CARGO_PKG_VERSION")
        )
    );
    // too small: nothing written
    let mut small = [0xAAu8; 4];
    let mut len2 = 999usize;
    assert_eq!(
        unsafe { yffm_version(small.as_mut_ptr(), small.len(), &mut len2) },
        YFFM_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len2, 999);
    assert_eq!(small, [0xAA; 4]);
    // NULL buf with cap 0 is a size probe; NULL len_out is invalid
    assert_eq!(
        unsafe { yffm_version(null_mut(), 0, &mut len2) },
        YFFM_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(
        unsafe { yffm_version(null_mut(), 10, &mut len2) },
        YFFM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { yffm_version(buf.as_mut_ptr(), buf.len(), null_mut()) },
        YFFM_ERR_INVALID_ARGUMENT
    );
}

#[test]
fn null_pointers_and_bad_strings() {
    let dir = tempfile::tempdir().unwrap();
    let mut err = [0 as c_char; 256];
    let (e, ec) = (err.as_mut_ptr(), err.len());
    let mut rt = null_mut();
    let root = c(dir.path().join("r").to_str().unwrap());
    unsafe {
        assert_eq!(
            yffm_runtime_new(null(), YFFM_MODE_DIRECT, null(), 60_000, &mut rt, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(text(&err).contains("root is NULL"), "{}", text(&err));
        assert_eq!(
            yffm_runtime_new(root.as_ptr(), YFFM_MODE_DIRECT, null(), 60_000, null_mut(), e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_runtime_new(root.as_ptr(), 7, null(), 60_000, &mut rt, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(text(&err).contains("mode"));
        assert_eq!(
            yffm_runtime_new(root.as_ptr(), YFFM_MODE_HELPER, null(), 60_000, &mut rt, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(text(&err).contains("helper_path"));
        // err may be NULL
        assert_eq!(
            yffm_runtime_new(null(), YFFM_MODE_DIRECT, null(), 60_000, &mut rt, null_mut(), 100),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(rt.is_null());
        assert!(
            !dir.path().join("r").exists(),
            "touched disk before validating"
        );

        let id = c("x");
        let mut i = 0i32;
        let mut len = 0usize;
        let mut buf = [0u8; 16];
        assert_eq!(
            yffm_start(null_mut(), id.as_ptr(), 0, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_create(
                null_mut(),
                id.as_ptr(),
                id.as_ptr(),
                -1,
                -1,
                -1,
                std::ptr::null(),
                0,
                &mut i,
                &mut i,
                e,
                ec
            ),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_state(
                null_mut(),
                id.as_ptr(),
                buf.as_mut_ptr(),
                16,
                &mut len,
                e,
                ec
            ),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_kill(null_mut(), id.as_ptr(), 9, false, 0, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_delete(null_mut(), id.as_ptr(), true, 0, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_list(null_mut(), buf.as_mut_ptr(), 16, &mut len, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_exit_status(null_mut(), id.as_ptr(), &mut i, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_helper_pid(null_mut(), &mut i),
            YFFM_ERR_INVALID_ARGUMENT
        );
        yffm_runtime_free(null_mut());
    }

    let rt = new_rt(&dir.path().join("r"), YFFM_MODE_DIRECT, "").unwrap();
    let meta = std::fs::metadata(dir.path().join("r")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    unsafe {
        let mut pid = 5;
        assert_eq!(yffm_helper_pid(rt, &mut pid), YFFM_OK);
        assert_eq!(pid, 0);
        assert_eq!(yffm_helper_pid(rt, null_mut()), YFFM_ERR_INVALID_ARGUMENT);
        assert_eq!(yffm_start(rt, null(), 0, e, ec), YFFM_ERR_INVALID_ARGUMENT);
        let bad_utf8 = [0xffu8, 0xfe, 0];
        assert_eq!(
            yffm_start(rt, bad_utf8.as_ptr() as *const c_char, 0, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(text(&err).contains("UTF-8"));
        for bad in ["", "../etc", "a/b", "-x", "a..b"] {
            let id = c(bad);
            assert_eq!(
                yffm_start(rt, id.as_ptr(), 0, e, ec),
                YFFM_ERR_INVALID_ARGUMENT,
                "{bad:?}"
            );
            assert_eq!(
                yffm_delete(rt, id.as_ptr(), true, 0, e, ec),
                YFFM_ERR_INVALID_ARGUMENT,
                "{bad:?}"
            );
        }
        let id = c("nope");
        assert_eq!(yffm_start(rt, id.as_ptr(), 0, e, ec), YFFM_ERR_NOT_FOUND);
        assert!(text(&err).contains("does not exist"), "{}", text(&err));
        assert_eq!(
            yffm_kill(rt, id.as_ptr(), 9, false, 0, e, ec),
            YFFM_ERR_NOT_FOUND
        );
        assert_eq!(
            yffm_kill(rt, id.as_ptr(), 0, false, 0, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_kill(rt, id.as_ptr(), 65, false, 0, e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_delete(rt, id.as_ptr(), false, 0, e, ec),
            YFFM_ERR_NOT_FOUND
        );
        assert_eq!(yffm_delete(rt, id.as_ptr(), true, 0, e, ec), YFFM_OK);
        let mut code = -7;
        assert_eq!(
            yffm_exit_status(rt, id.as_ptr(), &mut code, e, ec),
            YFFM_ERR_NOT_FOUND
        );
        assert_eq!(code, -7);
        assert_eq!(
            yffm_exit_status(rt, id.as_ptr(), null_mut(), e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );

        // create: bundle and out-pointer validation happen before anything touches disk
        let (mut p, mut fd) = (-9, -9);
        let rel = c("relative/bundle");
        assert_eq!(
            yffm_create(
                rt,
                id.as_ptr(),
                rel.as_ptr(),
                -1,
                -1,
                -1,
                std::ptr::null(),
                0,
                &mut p,
                &mut fd,
                e,
                ec
            ),
            YFFM_ERR_INVALID_ARGUMENT
        );
        let b = c(dir.path().to_str().unwrap());
        assert_eq!(
            yffm_create(
                rt,
                id.as_ptr(),
                b.as_ptr(),
                -1,
                -1,
                -1,
                std::ptr::null(),
                0,
                &mut p,
                &mut fd,
                e,
                ec
            ),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(text(&err).contains("config.json"));
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        assert_eq!(
            yffm_create(
                rt,
                id.as_ptr(),
                b.as_ptr(),
                -1,
                -1,
                -1,
                std::ptr::null(),
                0,
                null_mut(),
                &mut fd,
                e,
                ec
            ),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            yffm_create(
                rt,
                id.as_ptr(),
                b.as_ptr(),
                123456,
                -1,
                -1,
                std::ptr::null(),
                0,
                &mut p,
                &mut fd,
                e,
                ec
            ),
            YFFM_ERR_INVALID_ARGUMENT
        );
        assert!(text(&err).contains("stdin_fd"));
        assert_eq!((p, fd), (-9, -9));

        // list: empty root → "[]"; a 1-byte buffer is too small
        let mut len = 0usize;
        let mut buf = [0u8; 16];
        assert_eq!(
            yffm_list(rt, buf.as_mut_ptr(), 16, &mut len, e, ec),
            YFFM_OK
        );
        assert_eq!(&buf[..len], b"[]");
        assert_eq!(
            yffm_list(rt, buf.as_mut_ptr(), 1, &mut len, e, ec),
            YFFM_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(
            yffm_list(rt, buf.as_mut_ptr(), 16, null_mut(), e, ec),
            YFFM_ERR_INVALID_ARGUMENT
        );

        // error truncation through a real export
        let mut tiny = [0x55 as c_char; 8];
        assert_eq!(
            yffm_start(rt, id.as_ptr(), 0, tiny.as_mut_ptr(), 5),
            YFFM_ERR_NOT_FOUND
        );
        assert_eq!(text(&tiny).len(), 4);
        assert_eq!(tiny[4], 0);
        assert_eq!(tiny[5], 0x55);
        yffm_runtime_free(rt);
    }
}

#[test]
fn helper_lifecycle_and_death() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // a binary that is not the helper: the greeting never comes
    let e = new_rt(&root, YFFM_MODE_HELPER, "/bin/true").unwrap_err();
    assert_eq!(e.0, YFFM_ERR_HELPER, "{e:?}");
    let e = new_rt(&root, YFFM_MODE_HELPER, "/nonexistent/yffm-helper").unwrap_err();
    assert_eq!(e.0, YFFM_ERR_INVALID_ARGUMENT, "{e:?}");

    let rt = new_rt(&root, YFFM_MODE_HELPER, HELPER).unwrap();
    let mut pid = 0;
    unsafe {
        assert_eq!(yffm_helper_pid(rt, &mut pid), YFFM_OK);
        assert!(pid > 0);
        let (code, msg) = __test_helper_panic(rt, false);
        assert_eq!(code, YFFM_ERR_PANIC);
        assert!(msg.contains("test panic requested"), "{msg}");
        let mut err = [0 as c_char; 512];
        let id = c("nope");
        assert_eq!(
            yffm_start(rt, id.as_ptr(), 0, err.as_mut_ptr(), err.len()),
            YFFM_ERR_NOT_FOUND
        );
        // a panic in a process forked by the worker (as in a container init) ends that process at once: it
        // never unwinds into helper code, and the call is answered by the worker alone
        let (code, msg) = __test_helper_panic(rt, true);
        assert_eq!(code, YFFM_ERR_PANIC, "{msg}");
        assert!(msg.contains("child exit 70"), "{msg}");
        // the helper dies: the next call gets a fresh one (a call racing the death itself gets YFFM_ERR_HELPER)
        libc::kill(pid, libc::SIGKILL);
        for _ in 0..500 {
            let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if st.is_empty() || st.contains(") Z") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut n = 0u64;
        assert_eq!(
            yffm_start(rt, id.as_ptr(), 0, err.as_mut_ptr(), err.len()),
            YFFM_ERR_NOT_FOUND,
            "{}",
            text(&err)
        );
        let mut pid2 = 0;
        assert_eq!(yffm_helper_pid(rt, &mut pid2), YFFM_OK);
        assert!(pid2 > 0 && pid2 != pid);
        assert_eq!(yffm_helper_starts(rt, &mut n), YFFM_OK);
        assert_eq!(n, 2);
        assert_eq!(
            yffm_delete(rt, id.as_ptr(), true, 0, err.as_mut_ptr(), err.len()),
            YFFM_OK
        );
        yffm_runtime_free(rt);
    }
    // reaped: not our zombie
    let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        st.is_empty() || !st.contains(") Z"),
        "helper left as zombie: {st}"
    );
    assert!(std::fs::read_to_string(root.join("yffm-helper.log"))
        .unwrap()
        .contains("started"));

    // a stalled helper: the call fails with a timeout, the helper is replaced
    let rt = new_rt_timeout(&root, YFFM_MODE_HELPER, HELPER, 500).unwrap();
    unsafe {
        let mut stalled = 0;
        assert_eq!(yffm_helper_pid(rt, &mut stalled), YFFM_OK);
        libc::kill(stalled, libc::SIGSTOP);
        let mut err = [0 as c_char; 512];
        let id = c("nope");
        let t0 = std::time::Instant::now();
        assert_eq!(
            yffm_start(rt, id.as_ptr(), 0, err.as_mut_ptr(), err.len()),
            YFFM_ERR_TIMEOUT,
            "{}",
            text(&err)
        );
        assert!(t0.elapsed() < std::time::Duration::from_secs(10));
        assert!(text(&err).contains("stalled"), "{}", text(&err));
        assert_eq!(
            yffm_start(rt, id.as_ptr(), 0, err.as_mut_ptr(), err.len()),
            YFFM_ERR_NOT_FOUND
        );
        let mut fresh = 0;
        assert_eq!(yffm_helper_pid(rt, &mut fresh), YFFM_OK);
        assert_ne!(fresh, stalled);
        // the stalled one was killed and reaped
        assert!(!std::path::Path::new(&format!("/proc/{stalled}")).exists());
        yffm_runtime_free(rt);
    }

    // a clean free: the helper exits on EOF and is reaped
    let rt = new_rt(&root, YFFM_MODE_HELPER, HELPER).unwrap();
    unsafe {
        assert_eq!(yffm_helper_pid(rt, &mut pid), YFFM_OK);
        yffm_runtime_free(rt);
    }
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}
