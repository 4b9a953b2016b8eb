// fork+exec for berth-shim and berthd: the runtime, the shim, CNI plugins
// (anything they run) are started from here so that the child, between
// vfork and execve, only makes async-signal-safe calls.
#define _GNU_SOURCE
#include "cberth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// Both children below: every signal back to its default disposition (a
// child has its own copy of the handler table: neither vfork nor these
// clone flags share it), and, last, an empty mask and the exec.
static void default_dispositions(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, NULL);
    }
}

__attribute__((noreturn))
static void exec_unblocked(const char *path, char *const argv[], char *const envp[]) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
}

// The child's side of cb_spawn. A function of its own that never returns:
// after vfork the child runs on the parent thread's stack, so it must not
// write into cb_spawn's frame (the parent's `old` mask lives there) and must
// end in execve or _exit.
__attribute__((noinline, noreturn))
static void spawn_child(const char *path, char *const argv[], char *const envp[],
                        int fd0, int fd1, int fd2) {
    default_dispositions();
    // Move the requested fds out of the way of 0..2 before dup2 so that one
    // source being another's target (fd1 == 2, say) cannot clobber it.
    int src[3] = {fd0, fd1, fd2};
    for (int i = 0; i < 3; i++) {
        if (src[i] >= 0 && src[i] < 3) {
            int moved = fcntl(src[i], F_DUPFD, 3);
            if (moved < 0) _exit(127);
            for (int j = i + 1; j < 3; j++) if (src[j] == src[i]) src[j] = moved;
            src[i] = moved;
        }
    }
    for (int i = 0; i < 3; i++) {
        int fd = src[i];
        if (fd < 0) fd = open("/dev/null", O_RDWR);
        if (fd < 0 || dup2(fd, i) < 0) _exit(127);
    }
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
        for (int fd = 3; fd < 4096; fd++) close(fd);
    }
    exec_unblocked(path, argv, envp);
}

// The child of a shared-table spawn: its stack is its own, its memory and
// (until step 1) its fd table are the caller's.
struct shared_spawn {
    const char *path;
    char *const *argv;
    char *const *envp;
    int fds[3];
    // Set by the child when this way is not open to it (close_range's
    // CLOSE_RANGE_UNSHARE or pidfd_getfd refused): the caller reaps it and
    // spawns with vfork instead. The memory is shared (CLONE_VM).
    volatile int unavailable;
};

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int shared_spawn_child(void *arg) {
    struct shared_spawn *s = arg;
    default_dispositions();
    // 1. A table of our own holding only the caller's 0..2: nothing of its
    //    thousands of others is copied, nor closed again at exec.
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_UNSHARE) != 0) {
        s->unavailable = 1;
        _exit(127);
    }
    // 2. The three we want, taken from the caller's table by number.
    int parent = (int)syscall(SYS_pidfd_open, getppid(), 0);
    int got[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        if (s->fds[i] < 0) continue;
        got[i] = parent < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, parent, s->fds[i], 0);
        if (got[i] < 0) {
            s->unavailable = 1;
            _exit(127);
        }
    }
    // 3. Onto 0..2; every fd got is >= 3 (0..2 are taken), so none is a target.
    for (int i = 0; i < 3; i++) {
        int fd = got[i] >= 0 ? got[i] : open("/dev/null", O_RDWR);
        if (fd < 0 || dup2(fd, i) < 0) _exit(127);
    }
    syscall(SYS_close_range, 3U, ~0U, 0U);
    exec_unblocked(s->path, s->argv, s->envp);
}

// 0 once a shared-table spawn has been refused: vfork from then on.
static volatile int shared_spawn_works = 1;

// vfork, not fork: berthd is large and multi-threaded, and fork copies its
// page tables (and makes every thread take copy-on-write faults afterwards)
// only for the child to exec at once; vfork shares the memory and suspends
// the calling thread until the child has exec'd or exited, as glibc's
// posix_spawn does. Every signal stays blocked until the child has reset
// the dispositions, so no handler of the parent runs on the shared memory.
//
// A vfork child still gets a copy of the whole fd table, and berthd holds a
// pidfd per running container: at 1500 that copy and the closing of every
// entry again before exec were about 1 ms of each shim start (perf). So the
// child first shares the table (CLONE_FILES), trades it for one holding only
// 0..2 (close_range CLOSE_RANGE_UNSHARE, Linux 5.9), and takes the three fds
// it needs from the caller with pidfd_getfd (5.6, root's CAP_SYS_PTRACE).
// Where either is refused, vfork as before.
pid_t cb_spawn(const char *path, char *const argv[], char *const envp[],
               int fd0, int fd1, int fd2) {
    sigset_t all, old;
    sigfillset(&all);
    if (sigprocmask(SIG_SETMASK, &all, &old) != 0) return -1;
    pid_t pid = -1;
    if (shared_spawn_works) {
        struct shared_spawn s = {path, argv, envp, {fd0, fd1, fd2}, 0};
        size_t size = 64 * 1024;
        void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack != MAP_FAILED) {
            pid = clone(shared_spawn_child, (char *)stack + size, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &s);
            int saved = errno;
            munmap(stack, size);
            errno = saved;
            if (pid > 0 && s.unavailable) {
                int st;
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
                shared_spawn_works = 0;
                pid = -1;
            }
        }
    }
    if (pid <= 0) {
        pid = vfork();
        if (pid == 0) spawn_child(path, argv, envp, fd0, fd1, fd2);
    }
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}

int cb_signalfd_chld(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int cb_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

int cb_wait_status(pid_t pid, int nohang, int *status) {
    int st = 0;
    pid_t r;
    do { r = waitpid(pid, &st, nohang ? WNOHANG : 0); } while (r < 0 && errno == EINTR);
    if (r > 0 && status) {
        if (WIFEXITED(st)) *status = WEXITSTATUS(st);
        else if (WIFSIGNALED(st)) *status = 128 + WTERMSIG(st);
        else *status = 255;
    }
    return r;
}

pid_t cb_fork(void) { return fork(); }


