"""Writes the sandbox's seccomp filter, as the BPF program the kernel loads, to stdout.

Run by the system python3 (`python3 -I seccomp_filter.py`), which Debian's python3-seccomp
binds; bubblewrap loads the result with `--seccomp FD` right before it runs the command.
Everything not listed here is allowed: the filter removes kernel surface untrusted code
has no use for, it is not an allow-list.
"""

import errno
import sys

import seccomp

CLONE_NEWUSER = 0x10000000

# Each answered with EPERM, as if the process lacked the privilege (most of them need one
# the script never has; the filter also closes them should a kernel bug hand one out).
DENIED = [
    # Kernel keyrings are not namespaced: keys of other users' sessions leak through them.
    "add_key", "keyctl", "request_key",
    # Tracing and introspection of other processes, and of the kernel.
    "ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open", "bpf",
    "kcmp", "lookup_dcookie", "syslog",
    # Mounts and namespaces: the sandbox's view of the system is fixed once it starts.
    "mount", "umount2", "pivot_root", "chroot", "setns",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    # io_uring bypasses the per-call filter and has been a steady source of kernel bugs.
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # Page-fault handling in user space widens races in the kernel.
    "userfaultfd",
    # File handles skip the path checks that keep the sandbox's root in place.
    "open_by_handle_at", "name_to_handle_at",
    # Kernel modules, kexec, and machine-wide state.
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "iopl", "ioperm", "uselib", "vhangup",
    "fanotify_init", "nfsservctl",
]


def add(flt, action, name, *args):
    """Adds a rule unless this architecture lacks the call (older names, arch-specific ones)."""
    try:
        seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    except (ValueError, RuntimeError):
        return
    flt.add_rule(action, name, *args)


def build():
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    eperm = seccomp.ERRNO(errno.EPERM)
    new_user = seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    # A new user namespace would hand the script every capability inside it, and with them
    # the kernel surface (mounts, netfilter, ...) the rest of this list keeps closed.
    add(flt, eperm, "clone", new_user)
    add(flt, eperm, "unshare", new_user)
    # clone3 passes its flags in memory, which seccomp cannot inspect; ENOSYS makes glibc
    # fall back to clone, whose flags are checked above.
    add(flt, seccomp.ERRNO(errno.ENOSYS), "clone3")
    for name in DENIED:
        add(flt, eperm, name)
    return flt


if __name__ == "__main__":
    build().export_bpf(sys.stdout)
