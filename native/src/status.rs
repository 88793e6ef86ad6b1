//! Status codes returned by every `yffm_*` function, and the runtime modes.

/// Success. Outputs were written.
pub const YFFM_OK: i32 = 0;
/// A NULL pointer, a non-UTF-8 string, an invalid id, bundle, mode, fd or signal. Nothing was touched.
pub const YFFM_ERR_INVALID_ARGUMENT: i32 = 1;
/// No container with that id under the runtime's root (or, for `yffm_exit_status`, not created by this runtime).
pub const YFFM_ERR_NOT_FOUND: i32 = 2;
/// A container with that id already exists under the root.
pub const YFFM_ERR_ALREADY_EXISTS: i32 = 3;
/// The container's status does not allow the operation (e.g. start of a running container).
pub const YFFM_ERR_INVALID_STATE: i32 = 4;
/// libcontainer failed; the error text is its error chain verbatim.
pub const YFFM_ERR_RUNTIME: i32 = 5;
/// An I/O error outside libcontainer (state root, /dev/null, pidfd, ...).
pub const YFFM_ERR_IO: i32 = 6;
/// The output buffer is too small; nothing was written. Retry with a bigger buffer (e.g. double it).
pub const YFFM_ERR_BUFFER_TOO_SMALL: i32 = 7;
/// `yffm_exit_status` / `yffm_exec_status`: the process has not exited yet.
pub const YFFM_ERR_NOT_EXITED: i32 = 8;
/// Helper mode: the helper process died, stalled or broke the protocol during this call. The call's outcome is
/// unknown; the next call starts a fresh helper (running containers stay manageable).
pub const YFFM_ERR_HELPER: i32 = 9;
/// The call did not finish within its deadline. The helper killed the worker running it (and its hooks) and
/// rolled a create back; nothing of the call is left half-done.
pub const YFFM_ERR_TIMEOUT: i32 = 10;
/// A resource ran out: file descriptors (EMFILE/ENFILE), disk space or inodes (ENOSPC/EDQUOT), memory or
/// processes (ENOMEM/EAGAIN from fork). Nothing of the call is left behind; retry once resources return.
pub const YFFM_ERR_RESOURCE: i32 = 11;
/// A Rust panic was caught at the ABI boundary; the error text holds the panic message.
pub const YFFM_ERR_PANIC: i32 = 100;

/// Default: every operation runs in a separate single-threaded `yffm-helper` process.
pub const YFFM_MODE_HELPER: u32 = 0;
/// libcontainer runs on the calling thread (serialized process-wide). For measurement only.
pub const YFFM_MODE_DIRECT: u32 = 1;
