// epoll for berthd's ShimMonitor: one registration per descriptor, so an event
// costs the same with 10 shims as with 2000 (poll(2) walked every descriptor,
// each shim's pidfd included, at every wake-up). A 64-bit tag per descriptor
// tells the caller what became ready; struct epoll_event is packed on x86-64,
// which is why it stays on this side.
#define _GNU_SOURCE
#include "cberth.h"

#include <errno.h>
#include <sys/epoll.h>

int cb_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cb_epoll_add(int ep, int fd, uint64_t tag) {
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}


int cb_epoll_wait(int ep, uint64_t *tags, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(ep, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) tags[i] = evs[i].data.u64;
    return n;
}
