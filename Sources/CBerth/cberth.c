#define _GNU_SOURCE
#include "cberth.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// The kernel's struct clone_args (v2, with cgroup); declared here so the build
// does not depend on the installed kernel headers' version.
struct cb_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

pid_t cb_clone(uint64_t flags, int cgroup_fd, int *pidfd, int *used_cgroup) {
    struct cb_clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    if (pidfd) { args.flags |= CLONE_PIDFD; args.pidfd = (uint64_t)(uintptr_t)pidfd; }
    if (cgroup_fd >= 0) { args.flags |= CLONE_INTO_CGROUP; args.cgroup = (uint64_t)cgroup_fd; }
    if (used_cgroup) *used_cgroup = cgroup_fd >= 0;
    long r = syscall(SYS_clone3, &args, sizeof(args));
    if (r >= 0) return (pid_t)r;
    // clone3 is missing (old kernel, or a seccomp filter returning ENOSYS) or the
    // cgroup could not be entered directly (EBUSY/EOPNOTSUPP on some v2 setups):
    // fall back to clone(2) and let the caller place the child in its cgroup.
    if (errno != ENOSYS && errno != EBUSY && errno != EOPNOTSUPP && errno != EINVAL && errno != EPERM) return -1;
    if (cgroup_fd >= 0 && errno != ENOSYS) {
        args.flags &= ~CLONE_INTO_CGROUP;
        args.cgroup = 0;
        if (used_cgroup) *used_cgroup = 0;
        r = syscall(SYS_clone3, &args, sizeof(args));
        if (r >= 0 || errno != ENOSYS) return (pid_t)r;
    }
    if (used_cgroup) *used_cgroup = 0;
    if (pidfd) *pidfd = -1;
    // x86_64 argument order: flags, stack, parent_tid, child_tid, tls.
    r = syscall(SYS_clone, (unsigned long)((flags & 0xffffffffULL) | SIGCHLD), 0, NULL, NULL, 0);
    return (pid_t)r;
}

int cb_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }
int cb_unshare(int flags) { return unshare(flags); }
int cb_pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }
int cb_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int cb_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int cb_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
int cb_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int cb_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
int cb_set_keepcaps(int on) { return prctl(PR_SET_KEEPCAPS, (unsigned long)on, 0, 0, 0); }
int cb_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
int cb_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, (unsigned long)on, 0, 0, 0); }
int cb_set_name(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }
int cb_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0); }
int cb_capbset_read(int cap) { return prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0); }
int cb_cap_ambient_raise(int cap) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0); }
int cb_cap_ambient_clear_all(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }

int cb_cap_last_cap(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return CAP_LAST_CAP;
    char buf[16] = {0};
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return CAP_LAST_CAP;
    return atoi(buf);
}

int cb_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)effective;   data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;   data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable; data[1].inheritable = (uint32_t)(inheritable >> 32);
    return (int)syscall(SYS_capset, &hdr, data);
}

int cb_setresuid(uid_t r, uid_t e, uid_t s) { return (int)syscall(SYS_setresuid, r, e, s); }
int cb_setresgid(gid_t r, gid_t e, gid_t s) { return (int)syscall(SYS_setresgid, r, e, s); }
int cb_setgroups(size_t n, const gid_t *groups) { return (int)syscall(SYS_setgroups, n, groups); }

int cb_fcntl_setfd(int fd, int flags) { return fcntl(fd, F_SETFD, flags); }
int cb_fcntl_getfd(int fd) { return fcntl(fd, F_GETFD); }
int cb_fcntl_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }
int cb_fcntl_getfl(int fd) { return fcntl(fd, F_GETFL); }

int cb_cloexec_from(int from) {
    if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd >= from && fd != self) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(d);
    return 0;
}

int cb_open(const char *path, int flags, int mode) { return open(path, flags, (mode_t)mode); }
int cb_openat(int dirfd, const char *path, int flags, int mode) { return openat(dirfd, path, flags, (mode_t)mode); }

struct cb_open_how { uint64_t flags, mode, resolve; };
#define CB_RESOLVE_NO_MAGICLINKS 0x02
#define CB_RESOLVE_IN_ROOT 0x10
int cb_openat_in_root(int root_fd, const char *path, int flags, int mode) {
    struct cb_open_how how = { (uint64_t)flags, (flags & (O_CREAT | O_TMPFILE)) ? (uint64_t)mode : 0,
                               CB_RESOLVE_IN_ROOT | CB_RESOLVE_NO_MAGICLINKS };
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

int cb_ioctl_set_ctty(int fd) { return ioctl(fd, TIOCSCTTY, 0); }
int cb_ioctl_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { rows, cols, 0, 0 };
    return ioctl(fd, TIOCSWINSZ, &ws);
}
int cb_ioctl_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -1;
    *rows = ws.ws_row; *cols = ws.ws_col;
    return 0;
}

int cb_open_pty(int unused, int *master, char *slave_name, size_t name_len) {
    (void)unused;
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    if (unlockpt(m) < 0 || ptsname_r(m, slave_name, name_len) != 0) { int e = errno; close(m); errno = e; return -1; }
    *master = m;
    return 0;
}

int cb_send_fd(int sock, int fd, const char *payload, size_t len) {
    char dummy = 0;
    struct iovec iov = { (void *)(payload && len ? payload : &dummy), payload && len ? len : 1 };
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct msghdr msg = { 0 };
    msg.msg_iov = &iov; msg.msg_iovlen = 1;
    msg.msg_control = cbuf; msg.msg_controllen = sizeof(cbuf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t r;
    do { r = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

int cb_recv_fd(int sock, char *payload, size_t len) {
    char dummy[256];
    int fd;
    long r = cb_recv_msg(sock, payload && len ? (void *)payload : dummy, payload && len ? len : sizeof(dummy), &fd);
    if (r < 0) return -1;
    if (fd < 0) { errno = EBADMSG; return -1; }
    return fd;
}

int cb_poll2(int a, int b, int timeout_ms) {
    struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
    int n = b >= 0 ? 2 : 1;
    int r;
    do { r = poll(p, (nfds_t)n, timeout_ms); } while (r < 0 && errno == EINTR);
    if (r <= 0) return r;
    int mask = 0;
    if (p[0].revents) mask |= 1;
    if (n == 2 && p[1].revents) mask |= 2;
    return mask;
}

int cb_sigmask_block_all(void *old) {
    sigset_t all;
    sigfillset(&all);
    return sigprocmask(SIG_SETMASK, &all, (sigset_t *)old);
}
int cb_sigmask_unblock_all(void) {
    sigset_t none;
    sigemptyset(&none);
    return sigprocmask(SIG_SETMASK, &none, NULL);
}

static int forward_pipe[2] = { -1, -1 };
static void forward_handler(int sig) {
    int saved = errno;
    unsigned char s = (unsigned char)sig;
    ssize_t ignored = write(forward_pipe[1], &s, 1);
    (void)ignored;
    errno = saved;
}

int cb_signal_forwarding_pipe(int include_chld) {
    if (pipe2(forward_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_handler;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        if (s == SIGCHLD && !include_chld) continue;
        if (s >= 32 && s < SIGRTMIN) continue; // reserved by glibc
        sigaction(s, &sa, NULL);
    }
    return forward_pipe[0];
}

void cb_reset_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &sa, NULL);
    }
}

int cb_personality(unsigned long persona) { return personality(persona); }
int cb_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor) {
    return mknod(path, (mode_t)mode, makedev(major, minor));
}
unsigned int cb_dev_major(uint64_t dev) { return major((dev_t)dev); }
unsigned int cb_dev_minor(uint64_t dev) { return minor((dev_t)dev); }

struct cb_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };
#define CB_MOUNT_ATTR_RDONLY 0x00000001
#define CB_AT_RECURSIVE 0x8000
int cb_mount_setattr_rdonly_recursive(const char *path) {
    struct cb_mount_attr attr = { CB_MOUNT_ATTR_RDONLY, 0, 0, 0 };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, CB_AT_RECURSIVE, &attr, sizeof(attr));
}

void cb_exit(int code) { _exit(code); }
int cb_errno(void) { return errno; }
void cb_set_errno(int e) { errno = e; }

int cb_dupfd_cloexec(int fd, int min) { return fcntl(fd, F_DUPFD_CLOEXEC, min); }
int cb_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cb_prlimit(int resource, uint64_t soft, uint64_t hard) {
    struct rlimit r = { (rlim_t)soft, (rlim_t)hard };
    return prlimit(0, (__rlimit_resource_t)resource, &r, NULL);
}
#include <sys/vfs.h>
#include <sys/statvfs.h>
#include <limits.h>
int cb_is_cgroup2(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    return fs.f_type == 0x63677270;
}
const int CB_O_PATH = O_PATH;
void cb_write_stderr(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0) { if (errno == EINTR) continue; return; }
        s += w; n -= (size_t)w;
    }
}

int cb_ioprio_set(int ioclass, int level) {
    return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (ioclass << 13) | level);
}

struct cb_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};
int cb_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                     uint64_t runtime, uint64_t deadline, uint64_t period) {
    struct cb_sched_attr a = { sizeof(a), policy, flags, nice, priority, runtime, deadline, period };
    return (int)syscall(SYS_sched_setattr, 0, &a, 0);
}

int cb_set_affinity(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof(set), &set);
}

long cb_recv_msg(int sock, void *buf, size_t len, int *fd) {
    struct iovec iov = { buf, len };
    char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    struct msghdr msg = { 0 };
    msg.msg_iov = &iov; msg.msg_iovlen = 1;
    msg.msg_control = cbuf; msg.msg_controllen = sizeof(cbuf);
    *fd = -1;
    ssize_t r;
    do { r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) { memcpy(fd, CMSG_DATA(c), sizeof(int)); break; }
    }
    return (long)r;
}

ssize_t cb_write_nosigpipe(int fd, const void *buf, size_t len) {
    // Block SIGPIPE for the write; if the write raised it, take it back off
    // the pending set (unless one was already pending) before unblocking, so
    // the caller sees only EPIPE. Changing the disposition instead would be
    // inherited by the children we clone later.
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n = write(fd, buf, len);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {}
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return n;
}

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_execveat
#define SYS_execveat 322
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#define CB_OPEN_TREE_CLONE 1
#define CB_OPEN_TREE_CLOEXEC O_CLOEXEC

int cb_seal_detached(const char *exe) {
    // open_tree(OPEN_TREE_CLONE) (Linux 5.2) makes a bind mount of the file
    // that is attached to no mount namespace; mount_setattr (5.12) makes it
    // read-only. Either missing, or refused (no CAP_SYS_ADMIN), is -1.
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, exe, CB_OPEN_TREE_CLONE | CB_OPEN_TREE_CLOEXEC);
    if (fd < 0) return -1;
    struct cb_mount_attr attr = { CB_MOUNT_ATTR_RDONLY, 0, 0, 0 };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int cb_execveat_empty(int fd, char *const argv[], char *const envp[]) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

// The kernel's struct mnt_id_req (version 0) and struct statmount up to the
// fields read here, padded to the fixed 512 bytes that precede the strings
// (include/uapi/linux/mount.h), so the build does not need 6.8+ headers.
struct cb_mnt_id_req { uint32_t size, spare; uint64_t mnt_id, param; };
struct cb_statmount {
    uint32_t size, mnt_opts;
    uint64_t mask;
    uint32_t sb_dev_major, sb_dev_minor;
    uint64_t sb_magic;
    uint32_t sb_flags, fs_type;
    uint64_t mnt_id, mnt_parent_id;
    uint32_t mnt_id_old, mnt_parent_id_old;
    uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
    uint32_t mnt_root, mnt_point;
    uint64_t spare[50];
    char str[];
};
_Static_assert(sizeof(struct cb_statmount) == 512, "struct statmount is 512 bytes before its strings");
#define CB_STATX_MNT_ID_UNIQUE 0x4000U
#define CB_STATMOUNT_MNT_ROOT 0x08U
#define CB_STATMOUNT_FS_TYPE 0x20U
#define CB_STATMOUNT_MNT_OPTS 0x80U

static void copy_str(char *dst, size_t len, const char *src) {
    if (len == 0) return;
    size_t n = strlen(src);
    if (n >= len) n = len - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int cb_mount_at(const char *path, int *is_root, char *fstype, size_t fstype_len,
                char *root, size_t root_len, char *opts, size_t opts_len, int *has_opts) {
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, CB_STATX_MNT_ID_UNIQUE, &stx) != 0) return -1;
    if (!(stx.stx_mask & CB_STATX_MNT_ID_UNIQUE) || !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
        errno = ENOSYS;
        return -1;
    }
    *is_root = (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    struct cb_mnt_id_req req = { sizeof(req), 0, stx.stx_mnt_id,
                                 CB_STATMOUNT_MNT_ROOT | CB_STATMOUNT_FS_TYPE | CB_STATMOUNT_MNT_OPTS };
    size_t size = 4096;
    for (;;) {
        struct cb_statmount *sm = malloc(size);
        if (!sm) return -1;
        if (syscall(SYS_statmount, &req, sm, size, 0) != 0) {
            int e = errno;
            free(sm);
            if (e == EOVERFLOW && size < (1 << 20)) { size *= 4; continue; }
            errno = e;
            return -1;
        }
        // A kernel that predates a field leaves its bit out of the mask.
        uint64_t want = CB_STATMOUNT_MNT_ROOT | CB_STATMOUNT_FS_TYPE;
        if ((sm->mask & want) != want) { free(sm); errno = ENOSYS; return -1; }
        copy_str(fstype, fstype_len, sm->str + sm->fs_type);
        copy_str(root, root_len, sm->str + sm->mnt_root);
        // Mount options came a few releases after statmount, and a mount
        // without any (cgroup2 here) leaves the bit out as well: the caller
        // tells the two apart by what the file system must have.
        *has_opts = (sm->mask & CB_STATMOUNT_MNT_OPTS) != 0;
        copy_str(opts, opts_len, *has_opts ? sm->str + sm->mnt_opts : "");
        free(sm);
        return 0;
    }
}

// Kept in step with ExecutableSeal.ensure, which stays the authority: it
// takes over the marker this leaves, and redoes the sealing if this could not.
// Doing it here, first thing in main, spares the first image all Swift work
// (option parsing, generic metadata, strings): about half a millisecond of
// every create, run and exec.
void cb_seal_reexec(int argc, char **argv) {
    static const char marker[] = "_BERTH_RUNTIME_SEALED";
    if (getenv(marker)) return;
    // The command: the first word that is not a global option (runc-style;
    // these take a value unless written --name=value).
    const char *command = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') { command = a; break; }
        if (strchr(a, '=')) continue;
        const char *name = a + (a[1] == '-' ? 2 : 1);
        if (!strcmp(name, "root") || !strcmp(name, "log") || !strcmp(name, "log-format") ||
            !strcmp(name, "rootless") || !strcmp(name, "criu")) i++;
    }
    if (!command || (strcmp(command, "create") && strcmp(command, "run") && strcmp(command, "exec"))) return;

    char exe[PATH_MAX + 1];
    ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX);
    if (n <= 0) return;
    exe[n] = 0;
    struct statvfs st;
    if (statvfs(exe, &st) != 0) return;
    if (st.f_flag & ST_RDONLY) return;   // already read-only: nothing to do
    // The options the kernel locks on a bind mount must be kept on remount.
    unsigned long locked = 0;
    if (st.f_flag & ST_NOSUID) locked |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) locked |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) locked |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) locked |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) locked |= MS_RELATIME;

    // First choice: a detached read-only bind of the binary, exec'd by fd. It
    // touches no mount namespace, so it costs the same with 10 or 10,000
    // mounts on the host (the private namespace below copies every one of
    // them and tears the copy down again).
    int sealed = cb_seal_detached(exe);
    if (sealed >= 0) {
        int set_backtrace = getenv("SWIFT_BACKTRACE") == NULL;
        if (setenv(marker, "detached", 1) == 0) {
            if (set_backtrace) setenv("SWIFT_BACKTRACE", "enable=no", 1);
            extern char **environ;
            cb_execveat_empty(sealed, argv, environ);
            unsetenv(marker);
            if (set_backtrace) unsetenv("SWIFT_BACKTRACE");
        }
        close(sealed);
    }

    int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (own < 0) return;
    // Above any fd the caller may pass with --preserve-fds or LISTEN_FDS.
    int caller = fcntl(own, F_DUPFD_CLOEXEC, 64);
    close(own);
    if (caller < 0) return;
    if (unshare(CLONE_NEWNS) != 0) { close(caller); return; }
    if (mount("", "/", "", MS_SLAVE | MS_REC, NULL) != 0 ||
        mount(exe, exe, "", MS_BIND, NULL) != 0 ||
        mount("", exe, "", MS_BIND | MS_REMOUNT | MS_RDONLY | locked, NULL) != 0) {
        setns(caller, CLONE_NEWNS);
        close(caller);
        return;
    }
    char value[16];
    snprintf(value, sizeof value, "%d", caller);
    if (fcntl(caller, F_SETFD, 0) != 0 || setenv(marker, value, 1) != 0) {
        setns(caller, CLONE_NEWNS);
        close(caller);
        return;
    }
    // The re-executed image needs no crash backtracer set-up.
    int set_backtrace = getenv("SWIFT_BACKTRACE") == NULL;
    if (set_backtrace) setenv("SWIFT_BACKTRACE", "enable=no", 1);
    extern char **environ;
    execve(exe, argv, environ);
    unsetenv(marker);
    if (set_backtrace) unsetenv("SWIFT_BACKTRACE");
    setns(caller, CLONE_NEWNS);
    close(caller);
}
