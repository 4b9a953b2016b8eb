// Pinned network namespaces for berthd (docs/networking.md): a new netns is
// made on a short-lived thread (unshare affects only the calling thread, so
// berthd's other threads stay in the host's namespace) and pinned by a bind
// mount of that thread's ns file, as containerd/CRI and podman do.
#define _GNU_SOURCE
#include "cberth.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

struct netns_job { const char *path; int err; };

// Brings "lo" up in the calling thread's network namespace: for berthd's
// pinned namespaces and for the runtime's init in a new one (as runc does).
int cb_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) { ifr.ifr_flags |= IFF_UP | IFF_RUNNING; rc = ioctl(s, SIOCSIFFLAGS, &ifr); }
    int err = rc == 0 ? 0 : errno;
    close(s);
    return err;
}

static void *netns_thread(void *arg) {
    struct netns_job *job = arg;
    if (unshare(CLONE_NEWNET) != 0) { job->err = errno; return NULL; }
    if ((job->err = cb_loopback_up()) != 0) return NULL;
    if (mount("/proc/thread-self/ns/net", job->path, NULL, MS_BIND, NULL) != 0) job->err = errno;
    return NULL;
}

int cb_netns_create(const char *path) {
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return -errno;
    close(fd);
    struct netns_job job = { path, 0 };
    pthread_t t;
    int rc = pthread_create(&t, NULL, netns_thread, &job);
    if (rc != 0) { unlink(path); return -rc; }
    pthread_join(t, NULL);
    if (job.err != 0) { umount2(path, MNT_DETACH); unlink(path); return -job.err; }
    return 0;
}
