/*
 * Calls each syscall named on the command line once, with arguments chosen so that the kernel itself would not
 * answer EPERM (a path that does not exist, a bad size, ...), and prints "name=OK" or "name=<ERRNO NAME>". Without
 * a seccomp filter most probes therefore print something other than EPERM; under the default profile they print
 * EPERM (or ENOSYS for clone3). Built statically by the tests and bind-mounted into a busybox container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* Runs fn in a forked child and returns the child's result: 0 or an errno. */
static int in_child(int (*fn)(void)) {
    pid_t pid = fork();
    if (pid < 0) {
        return errno;
    }
    if (pid == 0) {
        _exit(fn());
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        return errno;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static int rc(long r) {
    return r < 0 ? errno : 0;
}

static int zero(void) { return 0; }
static int traceme(void) { return rc(ptrace(PTRACE_TRACEME, 0, NULL, NULL)); }
static int unshare_user(void) { return rc(unshare(CLONE_NEWUSER)); }

static int clone_flags(unsigned long flags) {
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) {
        return errno;
    }
    if (pid == 0) {
        _exit(0);
    }
    waitpid((pid_t) pid, NULL, 0);
    return 0;
}

static int probe(const char *name) {
    if (!strcmp(name, "keyctl")) return rc(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
    if (!strcmp(name, "add_key")) return rc(syscall(SYS_add_key, "user", "probe", "x", 1, -3));
    if (!strcmp(name, "unshare-user")) return in_child(unshare_user);
    if (!strcmp(name, "clone-newuser")) return clone_flags(CLONE_NEWUSER);
    if (!strcmp(name, "clone-newns")) return clone_flags(CLONE_NEWNS);
    if (!strcmp(name, "clone-plain")) return clone_flags(0);
    if (!strcmp(name, "clone3")) return rc(syscall(SYS_clone3, NULL, 0));
    if (!strcmp(name, "fork")) return in_child(zero);
    if (!strcmp(name, "mount")) return rc(mount("none", "/nonexistent/probe", "tmpfs", 0, NULL));
    if (!strcmp(name, "umount")) return rc(umount2("/nonexistent/probe", 0));
    if (!strcmp(name, "ptrace")) return in_child(traceme);
    if (!strcmp(name, "kexec_load")) return rc(syscall(SYS_kexec_load, 0, 0, NULL, 0));
    if (!strcmp(name, "bpf")) return rc(syscall(SYS_bpf, 0x7fff, NULL, 0));
    if (!strcmp(name, "setns")) return rc(setns(-1, 0));
    if (!strcmp(name, "personality-query")) return rc(personality(0xffffffff));
    if (!strcmp(name, "personality-linux32")) return rc(personality(PER_LINUX32)) ? errno : rc(personality(PER_LINUX));
    if (!strcmp(name, "personality-bsd")) return rc(personality(PER_BSD));
    if (!strcmp(name, "socket-vsock")) return rc(socket(AF_VSOCK, SOCK_STREAM, 0));
    if (!strcmp(name, "socket-inet")) return rc(socket(AF_INET, SOCK_STREAM, 0));
    if (!strcmp(name, "socket-unix")) return rc(socket(AF_UNIX, SOCK_STREAM, 0));
    if (!strcmp(name, "chroot")) return rc(chroot("/"));
    if (!strcmp(name, "swapon")) return rc(syscall(SYS_swapon, "/nonexistent/probe", 0));
    if (!strcmp(name, "open_by_handle_at")) return rc(syscall(SYS_open_by_handle_at, -1, NULL, 0));
    if (!strcmp(name, "userfaultfd")) return rc(syscall(SYS_userfaultfd, 0));
    return -1;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int e = probe(argv[i]);
        if (e < 0) {
            printf("%s=UNKNOWN-PROBE\n", argv[i]);
        } else if (e == 0) {
            printf("%s=OK\n", argv[i]);
        } else {
            const char *n = strerrorname_np(e);
            printf("%s=%s\n", argv[i], n ? n : "E?");
        }
    }
    return 0;
}
