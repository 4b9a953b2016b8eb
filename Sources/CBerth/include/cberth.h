// Raw Linux syscalls and variadic libc calls that Swift cannot call directly.
// Every function returns -1 and leaves errno set on failure, like the libc
// calls it wraps, so the Swift side can name the syscall and errno in its errors.
#ifndef CBERTH_H
#define CBERTH_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>  // lsetxattr, for Swift (an mqueue mount's SELinux label)

// clone3 with fork semantics (no shared VM, no stack): returns 0 in the child,
// the child's pid in the parent. With cgroup_fd >= 0 the child is born in that
// cgroup (CLONE_INTO_CGROUP); when pidfd is non-null it receives a pidfd.
// Falls back to clone(2) when clone3 is missing (ENOSYS) or refuses the cgroup;
// in that case *used_cgroup is set to 0 and the caller must place the child.
pid_t cb_clone(uint64_t flags, int cgroup_fd, int *pidfd, int *used_cgroup);

int cb_setns(int fd, int nstype);
int cb_unshare(int flags);
int cb_pivot_root(const char *new_root, const char *put_old);
int cb_pidfd_open(pid_t pid);
int cb_pidfd_send_signal(int pidfd, int sig);

// prctl wrappers
int cb_set_pdeathsig(int sig);
int cb_set_no_new_privs(void);
int cb_get_no_new_privs(void);
int cb_set_keepcaps(int on);
int cb_set_child_subreaper(void);
int cb_set_dumpable(int on);
int cb_set_name(const char *name);
int cb_capbset_drop(int cap);
int cb_capbset_read(int cap);
int cb_cap_ambient_raise(int cap);
int cb_cap_ambient_clear_all(void);
int cb_cap_last_cap(void);

// capset(2) with _LINUX_CAPABILITY_VERSION_3; each set is a 64-bit mask.
int cb_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);

// setuid/setgid/setgroups as raw syscalls: glibc's wrappers broadcast to all
// threads, which is pointless here and unsafe right after clone.
int cb_setresuid(uid_t r, uid_t e, uid_t s);
int cb_setresgid(gid_t r, gid_t e, gid_t s);
int cb_setgroups(size_t n, const gid_t *groups);

int cb_fcntl_setfd(int fd, int flags);
int cb_fcntl_getfd(int fd);
int cb_fcntl_setfl(int fd, int flags);
int cb_fcntl_getfl(int fd);
int cb_dupfd_cloexec(int fd, int min);
// Marks every fd >= from close-on-exec (close_range CLOSE_RANGE_CLOEXEC, or a /proc/self/fd walk).
int cb_cloexec_from(int from);
int cb_open(const char *path, int flags, int mode);
int cb_openat(int dirfd, const char *path, int flags, int mode);
// openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: path is resolved as if root_fd were '/'.
int cb_openat_in_root(int root_fd, const char *path, int flags, int mode);

// Terminal
int cb_ioctl_set_ctty(int fd);
int cb_ioctl_set_winsize(int fd, unsigned short rows, unsigned short cols);
int cb_ioctl_get_winsize(int fd, unsigned short *rows, unsigned short *cols);
int cb_open_pty(int ptmx_dirfd_unused, int *master, char *slave_name, size_t name_len);

// Unix-socket fd passing (SCM_RIGHTS). send: one fd with a short payload.
int cb_send_fd(int sock, int fd, const char *payload, size_t len);
int cb_recv_fd(int sock, char *payload, size_t len);
// One message: payload into buf (returns its length, 0 at EOF) and the first
// SCM_RIGHTS fd into *fd (-1 when none came).
long cb_recv_msg(int sock, void *buf, size_t len, int *fd);

// Waits for readability on up to two fds; returns bitmask (1 = a, 2 = b), 0 on timeout.
int cb_poll2(int a, int b, int timeout_ms);

// Signals
int cb_sigmask_block_all(void *old /* sigset_t* or NULL */);
int cb_sigmask_unblock_all(void);
// berth-runtime's fast path into ExecutableSeal (see ExecutableSeal.swift):
// for create, run and exec, before any Swift work, re-executes the binary
// through a read-only bind mount of itself: a detached one (cb_seal_detached),
// or on kernels without mount_setattr one in a private mount namespace.
// Returns only when it did not (another command, already sealed, or a step
// failed, in which case everything is undone and the Swift side tries again
// and logs why).
void cb_seal_reexec(int argc, char **argv);
// The sealing itself: an O_PATH, close-on-exec fd of a read-only bind mount of
// exe that belongs to no mount namespace (open_tree + mount_setattr), to be
// exec'd with cb_execveat_empty. -1 with errno when the kernel or the caller's
// privileges do not allow it.
int cb_seal_detached(const char *exe);
// execveat(fd, "", argv, envp, AT_EMPTY_PATH); returns only on failure.
int cb_execveat_empty(int fd, char *const argv[], char *const envp[]);

// The mount that path resolves to (the visible, topmost one), without reading
// the mount table: statx(STATX_MNT_ID_UNIQUE) and statmount(2) (Linux 6.8).
// is_root: path is that mount's root. Fills the file system type, the mount's
// root within its file system (mountinfo's field 4) and the superblock
// options (mountinfo's last field without rw/ro), each NUL-terminated and cut
// to its buffer. has_opts is 0 when statmount returned no options: the mount
// has none, or the kernel predates STATMOUNT_MNT_OPTS. -1 with errno (ENOSYS
// when the kernel lacks a piece).
int cb_mount_at(const char *path, int *is_root, char *fstype, size_t fstype_len,
                char *root, size_t root_len, char *opts, size_t opts_len, int *has_opts);

// write(2) that reports a closed pipe as EPIPE instead of killing the caller
// with SIGPIPE (a hook that exits without reading its stdin).
ssize_t cb_write_nosigpipe(int fd, const void *buf, size_t len);

// Installs a handler that writes the signal number to a self-pipe for each
// signal in 1..64 except KILL/STOP/CHLD-if-excluded; returns the read end.
int cb_signal_forwarding_pipe(int include_chld);
void cb_reset_signal_handlers(void);

int cb_personality(unsigned long persona);
int cb_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor);
unsigned int cb_dev_major(uint64_t dev);
unsigned int cb_dev_minor(uint64_t dev);

// mount_setattr(2) for recursive read-only (rro); -1/ENOSYS on old kernels.
int cb_mount_setattr_rdonly_recursive(const char *path);

// Exits the process without running atexit handlers or flushing stdio.
int cb_pipe2(int fds[2], int flags);
int cb_prlimit(int resource, uint64_t soft, uint64_t hard);
// 1 if path is on a cgroup2 filesystem, 0 if not, -1 on error.
int cb_is_cgroup2(const char *path);
extern const int CB_O_PATH;
void cb_write_stderr(const char *s);

// ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level)
int cb_ioprio_set(int ioclass, int level);
// sched_setattr(0, ...) for the calling thread (the whole process: it is single-threaded).
int cb_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                     uint64_t runtime, uint64_t deadline, uint64_t period);
// sched_setaffinity(0) to the given CPUs.
int cb_set_affinity(const int *cpus, int count);

_Noreturn void cb_exit(int code);

int cb_errno(void);
void cb_set_errno(int e);

// cgroup v2 device filter (cberth_bpf.c). Loads `count` eBPF instructions (8
// bytes each, struct bpf_insn) as a BPF_PROG_TYPE_CGROUP_DEVICE program and
// returns its fd; the verifier's complaint, if any, lands in log_buf.
int cb_bpf_load_device_program(const uint64_t *insns, unsigned int count, char *log_buf, unsigned int log_size);
// BPF_PROG_ATTACH as BPF_CGROUP_DEVICE with BPF_F_ALLOW_MULTI to a cgroup directory fd.
int cb_bpf_attach_device_program(int prog_fd, int cgroup_fd);
// eventfd(0, EFD_CLOEXEC), for cgroup v1 OOM notifications (also in cberth_bpf.c).
int cb_eventfd_cloexec(void);

// epoll with a 64-bit tag per descriptor (cberth_epoll.c): -1 with errno on failure;
// cb_epoll_wait fills up to `max` (at most 64) tags and returns how many.
int cb_epoll_create(void);
int cb_epoll_add(int ep, int fd, uint64_t tag);
int cb_epoll_wait(int ep, uint64_t *tags, int max, int timeout_ms);

// berth-shim and berthd (cberth_spawn.c). cb_spawn: blocks all signals, vforks; the child
// resets every disposition to default, makes fd0/fd1/fd2 its stdio (-1 means
// /dev/null), closes every other fd, unblocks signals and execve's path.
// Returns the child's pid (-1 and errno on vfork failure; exec failure is exit 127).
pid_t cb_spawn(const char *path, char *const argv[], char *const envp[], int fd0, int fd1, int fd2);
// Idle trimming (cberth_trim.c). cb_malloc_trim: malloc_trim(0), freed heap
// memory back to the system (berthd after a pull).
int cb_malloc_trim(void);
// Drops from the page tables the pages of private file mappings that are the
// page-cache page itself: all of the text (r-x), and with unwritten_data the
// never-written pages of the other readable mappings, which only a
// single-threaded process may have (skipped otherwise). The next access
// maps them again. Returns the bytes dropped, or -1.
long cb_trim_mappings(int unwritten_data);
// cb_trim_mappings(1), then poll(2): nothing runs between the two to map pages back.
int cb_poll_trimmed(struct pollfd *fds, unsigned long count, int timeout_ms);
// Blocks SIGCHLD and returns a non-blocking, close-on-exec signalfd for it.
int cb_signalfd_chld(void);
// Reads one signalfd_siginfo; returns its signal number, -1 when none was pending.
int cb_signalfd_read(int fd);
// waitpid (retrying EINTR); *status gets the exit code or 128+signal. Returns waitpid's result.
int cb_wait_status(pid_t pid, int nohang, int *status);
// fork(2), which Swift does not import.
pid_t cb_fork(void);
// A new network namespace (loopback up) pinned by a bind mount at path (created,
// must not exist). 0, or -errno with nothing left behind (cberth_netns.c).
int cb_netns_create(const char *path);
// Sets IFF_UP on "lo" in the caller's network namespace: 0 or an errno.
int cb_loopback_up(void);

// The seccomp filter cache (cberth_seccache.c). SHA-256 of a buffer; the
// main program's GNU build id (its length, or -1 when it has none); and
// seccomp(SECCOMP_SET_MODE_FILTER) with a compiled classic BPF program of
// `bytes` bytes (a multiple of sizeof(struct sock_filter)).
void cb_sha256(const void *data, size_t len, uint8_t out[32]);
int cb_build_id(uint8_t *out, size_t cap);
int cb_seccomp_set_filter(const void *insns, size_t bytes, unsigned int flags);
// An anonymous close-on-exec memory file (memfd_create).
int cb_memfd(const char *name);

#endif
