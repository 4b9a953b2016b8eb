// berth-init: the tiny init that `berth run --init` makes PID 1 of a container
// (bind-mounted read-only at /sbin/berth-init; args: /sbin/berth-init -- CMD...).
//
// Why a container needs one: the kernel gives PID 1 of a PID namespace two jobs that
// ordinary programs do not do.
//   1. Orphans are re-parented to PID 1, which must wait() for them, or they stay
//      zombies and fill the pid table (shells and daemons that double-fork leave them).
//   2. PID 1 gets no default signal actions: a SIGTERM from `berth stop` is simply
//      dropped unless PID 1 installed a handler, so a program that never expected to be
//      PID 1 ignores stop requests until the SIGKILL after the timeout.
// berth-init runs the command as its child, forwards the signals it receives to it,
// reaps every child, and exits with the command's status: code N, or 128+signal.
//
// How: every forwardable signal is blocked and taken synchronously with sigwaitinfo,
// so there are no handlers, no races with waitpid and nothing async-signal-unsafe.
// Blocked signals are queued even for PID 1 of a namespace (the kernel only drops a
// signal to such a PID 1 when it is unblocked and has no handler). It is linked
// statically: it runs in any image, with or without a libc.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// Signals that report a fault of this process itself: never blocked, so a bug here
// still ends it instead of looping.
static const int synchronous[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

static int status_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

int main(int argc, char **argv) {
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0) first++;
    if (first >= argc) {
        fprintf(stderr, "berth-init: usage: berth-init -- COMMAND [ARG...]\n");
        return 2;
    }

    // Not PID 1 (run by hand, or through exec): become the subreaper of what we start,
    // so that orphans of the command are still ours to reap.
    if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    sigset_t all, original;
    sigfillset(&all);
    for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++) sigdelset(&all, synchronous[i]);
    sigprocmask(SIG_SETMASK, &all, &original);
    // Background reads and writes of the terminal must not stop this process.
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);

    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0) {
        // Its own process group, in the foreground of the terminal if there is one, so
        // that ^C from the terminal reaches the command once (not also via us). SIGTTOU is
        // still blocked here, which is what lets a background group call tcsetpgrp.
        setpgid(0, 0);
        if (isatty(STDIN_FILENO)) tcsetpgrp(STDIN_FILENO, getpid());
        signal(SIGTTIN, SIG_DFL);
        signal(SIGTTOU, SIG_DFL);
        sigprocmask(SIG_SETMASK, &original, NULL);
        execvp(argv[first], argv + first);
        int e = errno;
        fprintf(stderr, "berth-init: exec %s: %s\n", argv[first], strerror(e));
        // The shell's convention, which Docker follows: 127 not found, 126 not executable.
        _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
    }

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;  // EINTR
        if (sig != SIGCHLD) {
            // SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2, SIGWINCH, …: the command's to
            // handle. To the command's pid, as tini does by default (its group could hold
            // processes that expect to be signalled by the command, not by us).
            kill(child, sig);
            continue;
        }
        // One SIGCHLD may stand for many exits: reap until nothing is left to reap.
        for (;;) {
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) break;
            if (pid == child) {
                // Reap what else has already exited, then leave: when PID 1 exits the
                // kernel kills the rest of the namespace.
                while (waitpid(-1, NULL, WNOHANG) > 0) {}
                return status_code(status);
            }
        }
    }
}
