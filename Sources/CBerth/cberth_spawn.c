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
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// The child's side of cb_spawn. A function of its own that never returns:
// after vfork the child runs on the parent thread's stack, so it must not
// write into cb_spawn's frame (the parent's `old` mask lives there) and must
// end in execve or _exit.
__attribute__((noinline, noreturn))
static void spawn_child(const char *path, char *const argv[], char *const envp[],
                        int fd0, int fd1, int fd2) {
    // Default dispositions for every signal (the child has its own copy of the
    // handler table: vfork does not share it), then an empty mask.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < 65; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &dfl, NULL);
    }
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
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
}

// vfork, not fork: berthd is large and multi-threaded, and fork copies its
// page tables (and makes every thread take copy-on-write faults afterwards)
// only for the child to exec at once; vfork shares the memory and suspends
// the calling thread until the child has exec'd or exited, as glibc's
// posix_spawn does. Every signal stays blocked until the child has reset
// the dispositions, so no handler of the parent runs on the shared memory.
pid_t cb_spawn(const char *path, char *const argv[], char *const envp[],
               int fd0, int fd1, int fd2) {
    sigset_t all, old;
    sigfillset(&all);
    if (sigprocmask(SIG_SETMASK, &all, &old) != 0) return -1;
    pid_t pid = vfork();
    if (pid == 0) spawn_child(path, argv, envp, fd0, fd1, fd2);
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

// malloc_trim(3) for the long-lived daemons: gives freed heap memory (of every
// arena, including those of threads that have ended) back to the system.
#include <malloc.h>
int cb_malloc_trim(void) { return malloc_trim(0); }

// Drops the pages of this process's read-only executable file mappings (its
// own text and the shared libraries') from its page tables, and turns off
// fault-around on them (MADV_RANDOM), so that a long-lived idle process's RSS
// counts what it touches afterwards. Only r-xp file mappings are touched:
// they are never written, so a later access maps the page-cache page again.
// (Writable or relocated mappings must never be dropped: their changes would
// be lost.) Returns the number of bytes advised, or -1.
#include <stdio.h>
#include <sys/mman.h>
long cb_trim_text(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL) return -1;
    char line[4096];
    long total = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
        if (strcmp(perms, "r-xp") != 0 || strchr(line, '/') == NULL) continue;
        madvise((void *)lo, hi - lo, MADV_RANDOM);
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
        total += (long)(hi - lo);
    }
    fclose(f);
    return total;
}
