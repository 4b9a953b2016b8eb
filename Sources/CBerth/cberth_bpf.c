// bpf(2) for the cgroup v2 device filter: load a BPF_PROG_TYPE_CGROUP_DEVICE
// program (built in Swift, Cgroups/V2/DeviceFilterProgram.swift) and attach it
// to a cgroup directory. Kept apart from cberth.c: only this file needs the
// kernel's bpf header.
#define _GNU_SOURCE
#include "cberth.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

static int load(const uint64_t *insns, unsigned int count, char *log_buf, unsigned int log_size, int named) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = count;
    // Device programs call no GPL-only helper; the string only has to be present.
    attr.license = (uint64_t)(uintptr_t)"Apache";
    if (log_buf != NULL && log_size > 0) {
        log_buf[0] = 0;
        attr.log_buf = (uint64_t)(uintptr_t)log_buf;
        attr.log_size = log_size;
        attr.log_level = 1;
    }
    if (named) strncpy(attr.prog_name, "berth_devices", sizeof attr.prog_name - 1);
    return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
}

int cb_bpf_load_device_program(const uint64_t *insns, unsigned int count, char *log_buf, unsigned int log_size) {
    int fd = load(insns, count, NULL, 0, 1);
    // Kernels before 4.15 know no program names.
    if (fd < 0 && errno == EINVAL) fd = load(insns, count, NULL, 0, 0);
    if (fd < 0 && errno != EPERM && log_buf != NULL) {
        // Again with the verifier's log, only to explain the failure (a log
        // too small for a successful load would itself fail with ENOSPC).
        int saved = errno;
        int again = load(insns, count, log_buf, log_size, 0);
        if (again >= 0) return again;
        errno = saved;
    }
    return fd;
}

int cb_bpf_attach_device_program(int prog_fd, int cgroup_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    // ALLOW_MULTI: programs a parent attached (systemd's, say) keep running too;
    // a device is usable only if every program allows it.
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    return (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
}

// Not bpf, but the other cgroup notification Swift's Glibc module leaves out:
// eventfd(2) for the v1 memory.oom_control notification (cgroup.event_control).
#include <sys/eventfd.h>

int cb_eventfd_cloexec(void) { return eventfd(0, EFD_CLOEXEC); }
