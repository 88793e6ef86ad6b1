/*
 * yffm-runc: runc's command line for youki-ffm. A thin client: it forwards its arguments, working directory and pid
 * to a long-lived daemon JVM (one per state root and mode) over a unix socket, relays the daemon's output and exits
 * with the daemon's exit code. The daemon reopens this process' stdio through /proc/<pid>/fd/N for containers and
 * exec'd processes, so they write where runc's would. The daemon is started on demand through the launcher script
 * beside this binary (yffm-runc-daemon) and exits when idle.
 *
 * Socket directory: $YFFM_RUNC_RUNDIR, else /run/youki-ffm-runc (root) or $XDG_RUNTIME_DIR/youki-ffm-runc. It must be
 * a real directory owned by us with mode 0700; anything else is refused, so a path planted by another user is never
 * followed. The socket name is a hash of the mode and the absolute root.
 *
 * Wire format (all integers little-endian u32):
 *   request:  "YFR1" len payload, payload = pid, then NUL-terminated strings: mode, root, cwd, then the arguments
 *   response: 'A' (request read), then frames: type u8 ('O' stdout, 'E' stderr, 'X' exit code), len, bytes
 *   client -> daemon after the request: 'S' signo, for signals forwarded to a foreground exec
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (1u << 20)
#define START_TIMEOUT_MS 60000

static int sock_fd = -1;

static void die(const char *fmt, const char *arg) {
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "time=\"%s\" level=error msg=\"", when);
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\"\n");
    exit(1);
}

static uint64_t fnv1a(const char *s, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The global options before the command: --root, --mode (ours). Everything else goes to the daemon untouched. */
static void global_opts(int argc, char **argv, const char **root, const char **mode) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            return;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char **target = NULL;
        if (len == 4 && strncmp(name, "root", 4) == 0) {
            target = root;
        } else if (len == 4 && strncmp(name, "mode", 4) == 0) {
            target = mode;
        } else if ((len == 3 && strncmp(name, "log", 3) == 0) || (len == 10 && strncmp(name, "log-format", 10) == 0)
                   || (len == 4 && strncmp(name, "criu", 4) == 0) || (len == 8 && strncmp(name, "rootless", 8) == 0)) {
            if (!eq) {
                i++;
            }
            continue;
        } else {
            continue;
        }
        if (eq) {
            *target = eq + 1;
        } else if (i + 1 < argc) {
            *target = argv[++i];
        }
    }
}

/* Creates (0700) or checks the socket directory: a directory, not a symlink, ours, no group/other access. */
static void secure_dir(const char *dir) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        die("cannot create %s", dir);
    }
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        die("%s is not a directory", dir);
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        die("refusing %s: it must be owned by this user with mode 0700", dir);
    }
}

static void write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return; /* the reader is gone (EPIPE); nothing useful to do */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* 1 = read all, 0 = end of stream first. */
static int read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return 0;
        }
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

static int try_connect(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        die("socket: %s", strerror(errno));
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        return fd;
    }
    close(fd);
    return -1;
}

static void put_u32(char *p, uint32_t v) {
    p[0] = (char)(v & 0xff);
    p[1] = (char)((v >> 8) & 0xff);
    p[2] = (char)((v >> 16) & 0xff);
    p[3] = (char)((v >> 24) & 0xff);
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Starts the daemon detached (double fork, new session, output to its log) and returns once it is gone or forked. */
static void spawn_daemon(const char *launcher, const char *sock, const char *base, const char *mode, const char *root) {
    char lock[PATH_MAX], logf[PATH_MAX];
    if ((size_t)snprintf(lock, sizeof lock, "%s.lock", base) >= sizeof lock
        || (size_t)snprintf(logf, sizeof logf, "%s.log", base) >= sizeof logf) {
        die("socket directory path too long", NULL);
    }
    pid_t child = fork();
    if (child < 0) {
        die("fork: %s", strerror(errno));
    }
    if (child == 0) {
        if (setsid() < 0 || fork() != 0) {
            _exit(0);
        }
        int nul = open("/dev/null", O_RDWR);
        int log = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (nul < 0 || log < 0) {
            _exit(1);
        }
        dup2(nul, 0);
        dup2(log, 1);
        dup2(log, 2);
        close_range(3, ~0U, 0);
        signal(SIGPIPE, SIG_DFL);
        execl(launcher, launcher, "--socket", sock, "--lock", lock, "--mode", mode, "--root", root, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
}

static void forward_signal(int sig) {
    if (sock_fd >= 0) {
        char msg[5] = {'S'};
        put_u32(msg + 1, (uint32_t)sig);
        ssize_t ignored = write(sock_fd, msg, sizeof msg);
        (void)ignored;
    }
}

int main(int argc, char **argv) {
    const char *root = NULL, *mode = NULL;
    global_opts(argc, argv, &root, &mode);
    if (!mode) {
        mode = getenv("YFFM_RUNC_MODE");
    }
    if (!mode || !*mode) {
        mode = "ffm";
    }
    char rootabs[PATH_MAX];
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        die("getcwd: %s", strerror(errno));
    }
    if (!root || !*root) {
        root = "/run/youki-ffm";
    }
    if (root[0] == '/') {
        snprintf(rootabs, sizeof rootabs, "%s", root);
    } else if ((size_t)snprintf(rootabs, sizeof rootabs, "%s/%s", cwd, root) >= sizeof rootabs) {
        die("--root is too long", NULL);
    }

    char dir[PATH_MAX];
    const char *env_dir = getenv("YFFM_RUNC_RUNDIR");
    if (env_dir && *env_dir) {
        if (env_dir[0] != '/') {
            die("YFFM_RUNC_RUNDIR must be absolute", NULL);
        }
        snprintf(dir, sizeof dir, "%s", env_dir);
    } else if (geteuid() == 0) {
        snprintf(dir, sizeof dir, "/run/youki-ffm-runc");
    } else {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (!xdg || xdg[0] != '/') {
            die("not root and XDG_RUNTIME_DIR is not set: set YFFM_RUNC_RUNDIR", NULL);
        }
        snprintf(dir, sizeof dir, "%s/youki-ffm-runc", xdg);
    }
    secure_dir(dir);
    uint64_t h = fnv1a(mode, strlen(mode) + 1, 0xcbf29ce484222325ULL);
    h = fnv1a(rootabs, strlen(rootabs), h);
    char base[PATH_MAX], sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if ((size_t)snprintf(base, sizeof base, "%s/%016llx", dir, (unsigned long long)h) >= sizeof base
        || (size_t)snprintf(sock, sizeof sock, "%s.sock", base) >= sizeof sock) {
        die("socket path too long under %s", dir);
    }

    /* request */
    size_t len = 4;
    const char *fixed[3] = {mode, rootabs, cwd};
    for (int i = 0; i < 3; i++) {
        len += strlen(fixed[i]) + 1;
    }
    for (int i = 1; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    if (len > MAX_REQUEST) {
        die("arguments too long", NULL);
    }
    char *req = malloc(len + 8);
    if (!req) {
        die("out of memory", NULL);
    }
    memcpy(req, "YFR1", 4);
    put_u32(req + 4, (uint32_t)len);
    put_u32(req + 8, (uint32_t)getpid());
    char *p = req + 12;
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(fixed[i]) + 1;
        memcpy(p, fixed[i], n);
        p += n;
    }
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(p, argv[i], n);
        p += n;
    }

    char launcher[PATH_MAX];
    const char *env_launcher = getenv("YFFM_RUNC_LAUNCHER");
    if (env_launcher && *env_launcher) {
        snprintf(launcher, sizeof launcher, "%s", env_launcher);
    } else {
        ssize_t n = readlink("/proc/self/exe", launcher, sizeof launcher - 32);
        if (n <= 0) {
            die("readlink /proc/self/exe: %s", strerror(errno));
        }
        launcher[n] = 0;
        char *slash = strrchr(launcher, '/');
        strcpy(slash + 1, "yffm-runc-daemon");
    }

    signal(SIGPIPE, SIG_IGN);
    /* Up to 3 attempts: a daemon that shuts down for idleness between our connect and its accept closes the
     * connection before acknowledging; nothing ran then, so the request is safe to repeat. */
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = try_connect(sock);
        if (fd < 0) {
            spawn_daemon(launcher, sock, base, mode, rootabs);
            struct timespec pause = {0, 10 * 1000 * 1000};
            for (int waited = 0; fd < 0 && waited < START_TIMEOUT_MS; waited += 10) {
                nanosleep(&pause, NULL);
                fd = try_connect(sock);
            }
            if (fd < 0) {
                fprintf(stderr, "youki-ffm daemon log: %s.log\n", base);
                die("the youki-ffm daemon did not start (launcher %s)", launcher);
            }
        }
        write_all(fd, req, len + 8);
        unsigned char ack;
        if (!read_full(fd, &ack, 1)) {
            close(fd);
            continue;
        }
        if (ack != 'A') {
            die("unexpected reply from the youki-ffm daemon", NULL);
        }
        sock_fd = fd;
        struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
        int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++) {
            sigaction(fwd[i], &sa, NULL);
        }
        for (;;) {
            unsigned char hdr[5];
            if (!read_full(fd, hdr, sizeof hdr)) {
                fprintf(stderr, "youki-ffm daemon log: %s.log\n", base);
                die("the youki-ffm daemon closed the connection without an exit code", NULL);
            }
            uint32_t n = get_u32(hdr + 1);
            if (hdr[0] == 'X') {
                return (int)(n & 0xff);
            }
            if (n > MAX_REQUEST) {
                die("oversized frame from the youki-ffm daemon", NULL);
            }
            char *buf = malloc(n ? n : 1);
            if (!buf || !read_full(fd, buf, n)) {
                die("the youki-ffm daemon closed the connection mid-frame", NULL);
            }
            write_all(hdr[0] == 'E' ? 2 : 1, buf, n);
            free(buf);
        }
    }
    die("the youki-ffm daemon kept closing connections; see its log", NULL);
    return 1;
}
