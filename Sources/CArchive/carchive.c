#define _GNU_SOURCE
#include "carchive.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sched.h>
#include <unistd.h>

int ca_openat_in_root(int root_fd, const char *path, int flags, int mode) {
#ifdef SYS_openat2
    struct open_how how = {
        .flags = (uint64_t)flags,
        .mode = (flags & (O_CREAT | __O_TMPFILE)) ? (uint64_t)mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int ca_mknodat(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor) {
    return mknodat(dirfd, name, mode, makedev(major, minor));
}

int ca_read_open(struct archive *a, void *client, ca_read_fn reader) {
    return archive_read_open(a, client, NULL, reader, NULL);
}

ssize_t ca_copy_file_range(int fd_in, int fd_out, size_t len) {
    return copy_file_range(fd_in, NULL, fd_out, NULL, len, 0);
}

int ca_unshare_fs(void) {
    return unshare(CLONE_FS);
}

int ca_link_fd(int fd, int newdirfd, const char *name) {
    return linkat(fd, "", newdirfd, name, AT_EMPTY_PATH);
}
