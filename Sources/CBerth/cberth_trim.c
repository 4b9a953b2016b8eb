// Giving memory back while idle, for the long-lived processes: berthd and one
// berth-shim per container.
//
// Why the shim trims at all: every shim maps the same pages of its binary, so
// each page of berth-shim a shim keeps mapped is one more mapping for the
// kernel to visit whenever it walks that page's reverse map (reclaim, and
// access sampling such as DAMON's, which walks every mapping of a sampled
// page). With thousands of containers that cost grows with each one. An idle
// shim needs a handful of pages; the rest are dropped from its page tables
// and stay in the page cache, where the next shim finds them.
//
// Two facts shape the code:
// - A fault maps more than the page it needs: the kernel maps up to
//   fault_around_bytes (64 KB) of page-cache pages around it, and a large folio
//   whole. So the trim must be the last thing before the wait, or the code that
//   runs after it maps most of it back (cb_poll_trimmed).
// - Writable private mappings of the binary (.data, and the relocated
//   read-only data) hold two kinds of page: ones never written, which are the
//   page-cache page mapped directly, and copies made on the first write, which
//   are the process's own data. Only the first kind may be dropped. The
//   kernel's pagemap tells them apart (bit 61: file page), and only a
//   single-threaded caller can rely on that answer: no other thread can write
//   the page between the check and the drop.
#define _GNU_SOURCE
#include "cberth.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int cb_malloc_trim(void) { return malloc_trim(0); }

// Threads in this process (field 20 of /proc/self/stat); 0 when unknown.
static long thread_count(void) {
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');  // the command name may contain spaces
    if (p == NULL) return 0;
    long value = 0;
    // After ") ": state(3) ppid(4) ... num_threads(20): skip 17 fields.
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld", &value) != 1) return 0;
    return value;
}

#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_FILE (1ULL << 61)

// The ranges to drop, gathered first and dropped last: the drops are raw
// system calls from one function, so that nothing after them (stdio, the
// close of /proc files, other libc functions) maps pages back.
struct ranges {
    unsigned long lo[256], hi[256];
    int count;
    long total;
};

static void drop(struct ranges *r) {
    for (int i = 0; i < r->count; i++)
        if (syscall(SYS_madvise, r->lo[i], r->hi[i] - r->lo[i], MADV_DONTNEED) == 0) r->total += (long)(r->hi[i] - r->lo[i]);
    r->count = 0;
}

static void add(struct ranges *r, unsigned long lo, unsigned long hi) {
    if (r->count == 256) drop(r);  // more runs than room: drop these now
    r->lo[r->count] = lo;
    r->hi[r->count] = hi;
    r->count++;
}

// Adds the runs of pages in [lo, hi) that are the page-cache page itself
// (present, file page: never written by this process).
static void add_unwritten_pages(struct ranges *r, int pagemap, unsigned long lo, unsigned long hi, long page) {
    uint64_t entries[512];
    unsigned long run = 0;  // start of the current run of droppable pages, 0 when none
    unsigned long at = lo;  // pages below this one have been looked at
    while (at < hi) {
        size_t want = (hi - at) / page;
        if (want > 512) want = 512;
        ssize_t got = pread(pagemap, entries, want * sizeof entries[0], (off_t)(at / page * sizeof entries[0]));
        if (got <= 0) break;
        size_t count = (size_t)got / sizeof entries[0];
        for (size_t i = 0; i < count; i++, at += page) {
            int droppable = (entries[i] & PAGEMAP_PRESENT) && (entries[i] & PAGEMAP_FILE);
            if (droppable && run == 0) run = at;
            if (!droppable && run != 0) { add(r, run, at); run = 0; }
        }
    }
    if (run != 0) add(r, run, at);
}

static void gather(struct ranges *r, int unwritten_data) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL) { r->total = -1; return; }
    long page = sysconf(_SC_PAGESIZE);
    int pagemap = -1;
    if (unwritten_data && thread_count() == 1) pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    char line[4096];
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
        // Private mappings of a file only: not the heap, stack, vdso or anonymous memory.
        if (perms[3] != 'p' || strchr(line, '/') == NULL) continue;
        if (strcmp(perms, "r-xp") == 0) {
            add(r, lo, hi);  // text is never written: every page is the page-cache page
        } else if (pagemap >= 0 && perms[0] == 'r') {
            add_unwritten_pages(r, pagemap, lo, hi, page);
        }
    }
    fclose(maps);
    if (pagemap >= 0) close(pagemap);
}

long cb_trim_mappings(int unwritten_data) {
    struct ranges r = {.count = 0, .total = 0};
    gather(&r, unwritten_data);
    if (r.total < 0) return -1;
    drop(&r);
    return r.total;
}

int cb_poll_trimmed(struct pollfd *fds, unsigned long count, int timeout_ms) {
    cb_trim_mappings(1);
    return (int)syscall(SYS_poll, fds, count, timeout_ms);
}
