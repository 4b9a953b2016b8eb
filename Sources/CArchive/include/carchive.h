// libarchive for Swift, plus the few syscalls the layer extractor needs that
// Swift cannot reach directly (openat2, makedev is a macro). Prefix ca_.
// Functions return -1 with errno set on failure, like the calls they wrap.
#ifndef CARCHIVE_H
#define CARCHIVE_H

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>  // listxattr, getxattr, setxattr and their l/f forms, for Swift

// O_PATH, which Swift's Glibc module does not export (it needs _GNU_SOURCE).
#define CA_O_PATH 010000000

// openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved as
// if `root_fd` were "/" (".." and absolute symlinks stay inside). -1/ENOSYS on
// kernels before 5.6.
int ca_openat_in_root(int root_fd, const char *path, int flags, int mode);

// mknodat(2) taking the major/minor numbers (makedev is a macro).
int ca_mknodat(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor);

// The archive_read_open callback signatures, spelled out so Swift closures
// can be converted to them.
typedef la_ssize_t (*ca_read_fn)(struct archive *, void *client, const void **buffer);

// archive_read_open with only a read callback.
int ca_read_open(struct archive *a, void *client, ca_read_fn reader);

// copy_file_range(2) between the current offsets of two fds (in-kernel copy,
// reflinks where the filesystem can).
ssize_t ca_copy_file_range(int fd_in, int fd_out, size_t len);

// Gives the calling thread its own cwd and root (unshare(CLONE_FS)), so that it
// may chdir without moving the rest of the process.
int ca_unshare_fs(void);

// linkat(fd, "", newdirfd, name, AT_EMPTY_PATH): a new name for the file behind
// an O_PATH fd, without resolving any path again.
int ca_link_fd(int fd, int newdirfd, const char *name);

#endif
