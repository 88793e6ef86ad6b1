// Kernel probe for libcgroups patch l / libcontainer patch m: how long until a new child is in a cgroup v2 cgroup,
// by writing "0" to cgroup.procs from the child (mode 0, what a runtime that moves its processes does) or by
// clone3(CLONE_INTO_CGROUP) (mode 1). Each child gets a fresh cgroup, 20 ms apart, so the kernel's threadgroup lock
// is idle each time, as it is for a create on a quiet host. Results: ../results/clone-into-cgroup.txt.
//   gcc -O2 -Wall -o clone-into-cgroup clone-into-cgroup.c
//   mkdir /sys/fs/cgroup/probe && ./clone-into-cgroup /sys/fs/cgroup/probe 100 0 && rmdir /sys/fs/cgroup/probe
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s V2_DIR N MODE(0 write cgroup.procs, 1 CLONE_INTO_CGROUP)\n", argv[0]);
        return 2;
    }
    const char *base = argv[1];
    int n = atoi(argv[2]), mode = atoi(argv[3]);
    double *t = calloc(n, sizeof(double));
    for (int i = 0; i < n; i++) {
        char dir[512], procs[600];
        snprintf(dir, sizeof dir, "%s/c%d", base, i);
        snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
        if (mkdir(dir, 0755) != 0) {
            perror(dir);
            return 1;
        }
        int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        double start = now_ms();
        pid_t pid;
        if (mode == 0) {
            pid = fork();
            if (pid == 0) {
                int f = open(procs, O_WRONLY);
                _exit(f >= 0 && write(f, "0", 1) == 1 ? 0 : 2);
            }
        } else {
            struct clone_args a;
            memset(&a, 0, sizeof a);
            a.flags = CLONE_INTO_CGROUP;
            a.exit_signal = SIGCHLD;
            a.cgroup = cfd;
            pid = syscall(SYS_clone3, &a, sizeof a);
            if (pid == 0) {
                _exit(0);
            }
        }
        if (pid < 0) {
            perror("fork/clone3");
            return 1;
        }
        int st;
        waitpid(pid, &st, 0);
        t[i] = now_ms() - start;
        if (st != 0) {
            fprintf(stderr, "child failed: %d\n", st);
            return 1;
        }
        close(cfd);
        rmdir(dir);
        usleep(20000);
    }
    qsort(t, n, sizeof(double), cmp);
    printf("%s n=%d p50=%.3f p90=%.3f max=%.3f ms\n", mode ? "CLONE_INTO_CGROUP" : "cgroup.procs write", n, t[n / 2],
           t[n * 9 / 10], t[n - 1]);
    return 0;
}
