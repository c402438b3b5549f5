//! The seccomp filter: a deny list of kernel attack surface, EPERM on refusal.
//!
//! The program is a short classic-BPF deny list built once in the parent and
//! installed by the child as its very last step before `execve`, so no set-up
//! call of ours has to pass it. It is written by hand (rather than generated
//! by a rule compiler) because a deny list needs two things generators make
//! awkward: refusing the whole x32 syscall range, and answering `clone3` with
//! ENOSYS instead of EPERM (its flags live in memory seccomp cannot read, so
//! it is refused outright; ENOSYS makes libc fall back to `clone`, whose flags
//! the filter *can* check).

use libc::sock_filter;

const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const RET_EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const RET_ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

// Offsets into `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Low 32 bits of argument `i` (little-endian).
const fn off_arg(i: u32) -> u32 {
    16 + 8 * i
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Every namespace-creating clone flag.
const CLONE_NEW_MASK: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// Syscalls refused unconditionally: mounting and namespaces (the way out of
/// the filesystem view), ptrace and cross-process memory access, bpf and
/// perf (large kernel attack surface), kexec and modules, the key store,
/// io_uring (it performs I/O that seccomp never sees), and host-wide
/// administration that capabilities already forbid (defence in depth).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const DENIED: &[libc::c_long] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_userfaultfd,
    libc::SYS_fanotify_init,
    libc::SYS_name_to_handle_at,
    libc::SYS_open_by_handle_at,
    libc::SYS_acct,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_syslog,
    libc::SYS_quotactl,
    libc::SYS_vhangup,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_uselib,
];

/// Names of the refused calls, for documentation and `capabilities`.
pub const DENIED_SUMMARY: &str = "mount/umount/pivot_root/chroot/new mount API, unshare, setns, \
clone with CLONE_NEW*, clone3 (ENOSYS), ptrace, process_vm_*, pidfd_getfd, bpf, perf_event_open, \
kexec, module loading, keyctl/add_key/request_key, io_uring, userfaultfd, open_by_handle_at, \
AF_NETLINK/AF_PACKET/SOCK_RAW sockets, TIOCSTI, x32 syscalls";

/// Whether this build has a filter for the running architecture.
pub fn supported() -> bool {
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return false;
    }
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments and only reads the
    // calling thread's seccomp mode.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

#[derive(Clone, Copy)]
enum Target {
    Next,
    Allow,
    Eperm,
    Enosys,
    Kill,
    Block(usize),
}

struct Builder {
    ins: Vec<(u16, u32, Target, Target)>,
}

impl Builder {
    fn stmt(&mut self, code: u16, k: u32) {
        self.ins.push((code, k, Target::Next, Target::Next));
    }
    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) {
        self.ins.push((code, k, jt, jf));
    }
}

/// Builds the filter program. `None` on architectures without a filter.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn build() -> Option<Vec<sock_filter>> {
    let mut b = Builder { ins: Vec::new() };
    // A foreign-architecture syscall table would make every number below
    // mean something else: kill instead of guessing.
    b.stmt(LD_W_ABS, OFF_ARCH);
    b.jump(JEQ, AUDIT_ARCH, Target::Next, Target::Kill);
    b.stmt(LD_W_ABS, OFF_NR);
    #[cfg(target_arch = "x86_64")]
    {
        // x32 numbers carry bit 30 and reach the same kernel code; a deny
        // list by number would otherwise be bypassed through them.
        b.jump(JGE, 0x4000_0000, Target::Eperm, Target::Next);
    }
    for &nr in DENIED {
        b.jump(JEQ, nr as u32, Target::Eperm, Target::Next);
    }
    b.jump(JEQ, libc::SYS_clone3 as u32, Target::Enosys, Target::Next);
    b.jump(JEQ, libc::SYS_clone as u32, Target::Block(0), Target::Next);
    b.jump(JEQ, libc::SYS_socket as u32, Target::Block(1), Target::Next);
    b.jump(
        JEQ,
        libc::SYS_socketpair as u32,
        Target::Block(1),
        Target::Next,
    );
    b.jump(JEQ, libc::SYS_ioctl as u32, Target::Block(2), Target::Next);
    b.stmt(RET, RET_ALLOW);

    let mut blocks = [0usize; 3];
    // Block 0: clone creating any namespace.
    blocks[0] = b.ins.len();
    b.stmt(LD_W_ABS, off_arg(0));
    b.jump(JSET, CLONE_NEW_MASK, Target::Eperm, Target::Allow);
    // Block 1: netlink, packet and raw sockets (kernel-facing interfaces
    // with a long history of bugs; nothing legitimate here needs them).
    blocks[1] = b.ins.len();
    b.stmt(LD_W_ABS, off_arg(0));
    b.jump(JEQ, libc::AF_NETLINK as u32, Target::Eperm, Target::Next);
    b.jump(JEQ, libc::AF_PACKET as u32, Target::Eperm, Target::Next);
    b.stmt(LD_W_ABS, off_arg(1));
    b.stmt(AND, 0xf); // strip SOCK_NONBLOCK / SOCK_CLOEXEC
    b.jump(JEQ, libc::SOCK_RAW as u32, Target::Eperm, Target::Allow);
    // Block 2: terminal input injection.
    blocks[2] = b.ins.len();
    b.stmt(LD_W_ABS, off_arg(1));
    b.jump(JEQ, libc::TIOCSTI as u32, Target::Eperm, Target::Next);
    b.jump(JEQ, libc::TIOCLINUX as u32, Target::Eperm, Target::Allow);

    let allow = b.ins.len();
    let (eperm, enosys, kill) = (allow + 1, allow + 2, allow + 3);
    let mut out = Vec::with_capacity(allow + 4);
    for (i, &(code, k, jt, jf)) in b.ins.iter().enumerate() {
        let resolve = |t: Target| -> Option<u8> {
            let dest = match t {
                Target::Next => return Some(0),
                Target::Allow => allow,
                Target::Eperm => eperm,
                Target::Enosys => enosys,
                Target::Kill => kill,
                Target::Block(n) => blocks[n],
            };
            u8::try_from(dest.checked_sub(i + 1)?).ok()
        };
        out.push(sock_filter {
            code,
            jt: resolve(jt)?,
            jf: resolve(jf)?,
            k,
        });
    }
    for ret in [RET_ALLOW, RET_EPERM, RET_ENOSYS, RET_KILL] {
        out.push(sock_filter {
            code: RET,
            jt: 0,
            jf: 0,
            k: ret,
        });
    }
    Some(out)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn build() -> Option<Vec<sock_filter>> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn program_builds_with_short_jumps() {
        let prog = super::build().unwrap();
        assert!(prog.len() > 50 && prog.len() < 255);
    }
}
