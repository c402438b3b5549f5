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
//!
//! Sockets are the one allowlist inside it: `socket` and `socketpair` pass
//! only for AF_UNIX (stream, datagram, seqpacket) and AF_INET/AF_INET6 TCP,
//! plus UDP when the sandbox is configured with `allow_udp`. Family, type
//! and protocol are checked together.

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
inotify/fanotify/dnotify (F_NOTIFY), every socket but AF_UNIX stream/dgram/seqpacket and \
AF_INET/AF_INET6 TCP (UDP only with allow_udp; no raw, packet, MPTCP, SCTP, netlink, vsock), \
TIOCSTI, x32 syscalls";

/// File-watching calls, refused unconditionally: the sandbox's `/usr` is a
/// bind mount of the host's, and an inotify or fanotify mark there reports
/// every access by the host and by other sandboxes (see docs/security.md,
/// "Sockets, UDP and file watching"). `fcntl(F_NOTIFY)` (dnotify) is the
/// same thing through another door and is refused in the `fcntl` block.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const DENIED_WATCH: &[libc::c_long] = &[
    #[cfg(target_arch = "x86_64")]
    libc::SYS_inotify_init,
    libc::SYS_inotify_init1,
    libc::SYS_inotify_add_watch,
    libc::SYS_fanotify_init,
    libc::SYS_fanotify_mark,
];

/// `type` bits of `socket()` that are flags, not the type.
const SOCK_FLAGS: u32 = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u32;

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
    Block(Block),
}

/// Argument checks reached from the syscall dispatch. Every jump in a
/// classic BPF program goes forward, so a block may only jump to blocks
/// declared (and emitted) after it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Block {
    /// `clone` creating any namespace.
    Clone,
    /// `socket` / `socketpair`: dispatch on the address family.
    Socket,
    /// AF_UNIX: the socket type.
    Unix,
    /// AF_UNIX: the protocol (0 or PF_UNIX).
    UnixProtocol,
    /// AF_INET / AF_INET6: the socket type.
    Inet,
    /// AF_INET / AF_INET6 stream: the protocol must be TCP.
    InetStream,
    /// AF_INET / AF_INET6 datagram (only with `allow_udp`): UDP.
    InetDgram,
    /// `ioctl`: terminal input injection.
    Ioctl,
    /// `fcntl`: directory notification (dnotify).
    Fcntl,
}

const BLOCKS: usize = 9;

struct Builder {
    ins: Vec<(u16, u32, Target, Target)>,
    starts: [Option<usize>; BLOCKS],
}

impl Builder {
    fn stmt(&mut self, code: u16, k: u32) {
        self.ins.push((code, k, Target::Next, Target::Next));
    }
    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) {
        self.ins.push((code, k, jt, jf));
    }
    /// Marks the start of `block` at the next instruction.
    fn block(&mut self, block: Block) {
        self.starts[block as usize] = Some(self.ins.len());
    }
    /// `block`: a socket's protocol (argument 2) must be the type's default
    /// (0) or `protocol`, so nothing else rides on an allowed type.
    fn protocol_block(&mut self, block: Block, protocol: u32) {
        self.block(block);
        self.stmt(LD_W_ABS, off_arg(2));
        self.jump(JEQ, 0, Target::Allow, Target::Next);
        self.jump(JEQ, protocol, Target::Allow, Target::Eperm);
    }
}

/// A program refusing everything: what [`build`] returns if the real one
/// cannot be encoded (a jump out of the 8-bit range). The unit tests keep
/// that from ever shipping; this keeps it from ever failing open.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn kill_everything() -> Vec<sock_filter> {
    vec![sock_filter {
        code: RET,
        jt: 0,
        jf: 0,
        k: RET_KILL,
    }]
}

/// Builds the filter program. `None` on architectures without a filter.
/// `allow_udp` lets AF_INET/AF_INET6 datagram (UDP) sockets through.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn build(allow_udp: bool) -> Option<Vec<sock_filter>> {
    Some(assemble(allow_udp).unwrap_or_else(kill_everything))
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn assemble(allow_udp: bool) -> Option<Vec<sock_filter>> {
    use Target::{Allow, Enosys, Eperm, Kill, Next};
    let mut b = Builder {
        ins: Vec::new(),
        starts: [None; BLOCKS],
    };
    // A foreign-architecture syscall table would make every number below
    // mean something else: kill instead of guessing.
    b.stmt(LD_W_ABS, OFF_ARCH);
    b.jump(JEQ, AUDIT_ARCH, Next, Kill);
    b.stmt(LD_W_ABS, OFF_NR);
    #[cfg(target_arch = "x86_64")]
    {
        // x32 numbers carry bit 30 and reach the same kernel code; a deny
        // list by number would otherwise be bypassed through them.
        b.jump(JGE, 0x4000_0000, Eperm, Next);
    }
    for &nr in DENIED.iter().chain(DENIED_WATCH) {
        b.jump(JEQ, nr as u32, Eperm, Next);
    }
    b.jump(JEQ, libc::SYS_clone3 as u32, Enosys, Next);
    for (nr, block) in [
        (libc::SYS_clone, Block::Clone),
        (libc::SYS_socket, Block::Socket),
        (libc::SYS_socketpair, Block::Socket),
        (libc::SYS_ioctl, Block::Ioctl),
        (libc::SYS_fcntl, Block::Fcntl),
    ] {
        b.jump(JEQ, nr as u32, Target::Block(block), Next);
    }
    b.stmt(RET, RET_ALLOW);

    b.block(Block::Clone);
    b.stmt(LD_W_ABS, off_arg(0));
    b.jump(JSET, CLONE_NEW_MASK, Eperm, Allow);

    // Sockets: an allowlist of (family, type, protocol) checked together,
    // so no family can borrow another's type (SOCK_PACKET on AF_INET) and
    // no protocol rides on an allowed type (MPTCP, SCTP on SOCK_STREAM).
    // Every other family (netlink, packet, vsock, ...) is refused: the
    // network namespace does not isolate all of them (AF_VSOCK).
    b.block(Block::Socket);
    b.stmt(LD_W_ABS, off_arg(0));
    b.jump(JEQ, libc::AF_UNIX as u32, Target::Block(Block::Unix), Next);
    b.jump(JEQ, libc::AF_INET as u32, Target::Block(Block::Inet), Next);
    b.jump(
        JEQ,
        libc::AF_INET6 as u32,
        Target::Block(Block::Inet),
        Eperm,
    );

    // The type with SOCK_NONBLOCK / SOCK_CLOEXEC cleared; any other high
    // bit leaves a value matching no allowed type.
    b.block(Block::Unix);
    b.stmt(LD_W_ABS, off_arg(1));
    b.stmt(AND, !SOCK_FLAGS);
    let unix_protocol = Target::Block(Block::UnixProtocol);
    b.jump(JEQ, libc::SOCK_STREAM as u32, unix_protocol, Next);
    b.jump(JEQ, libc::SOCK_DGRAM as u32, unix_protocol, Next);
    b.jump(JEQ, libc::SOCK_SEQPACKET as u32, unix_protocol, Eperm);

    b.protocol_block(Block::UnixProtocol, libc::AF_UNIX as u32);

    b.block(Block::Inet);
    b.stmt(LD_W_ABS, off_arg(1));
    b.stmt(AND, !SOCK_FLAGS);
    let dgram = if allow_udp {
        Target::Block(Block::InetDgram)
    } else {
        Eperm
    };
    b.jump(
        JEQ,
        libc::SOCK_STREAM as u32,
        Target::Block(Block::InetStream),
        Next,
    );
    b.jump(JEQ, libc::SOCK_DGRAM as u32, dgram, Eperm);

    b.protocol_block(Block::InetStream, libc::IPPROTO_TCP as u32);
    if allow_udp {
        b.protocol_block(Block::InetDgram, libc::IPPROTO_UDP as u32);
    }

    b.block(Block::Ioctl);
    b.stmt(LD_W_ABS, off_arg(1));
    b.jump(JEQ, libc::TIOCSTI as u32, Eperm, Next);
    b.jump(JEQ, libc::TIOCLINUX as u32, Eperm, Allow);

    b.block(Block::Fcntl);
    b.stmt(LD_W_ABS, off_arg(1));
    b.jump(JEQ, libc::F_NOTIFY as u32, Eperm, Allow);

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
                Target::Block(n) => b.starts[n as usize]?,
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
pub fn build(_allow_udp: bool) -> Option<Vec<sock_filter>> {
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A classic-BPF interpreter for the subset the builder emits, run on a
    /// `seccomp_data` laid out as the kernel does (nr, arch, ip, args).
    fn eval(prog: &[sock_filter], nr: libc::c_long, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&(nr as u32).to_le_bytes());
        data.extend_from_slice(&AUDIT_ARCH.to_le_bytes());
        data.extend_from_slice(&0u64.to_le_bytes());
        for a in args {
            data.extend_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let ins = prog[pc];
            pc += 1;
            match ins.code {
                LD_W_ABS => {
                    let o = ins.k as usize;
                    acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                AND => acc &= ins.k,
                RET => return ins.k,
                JEQ | JGE | JSET => {
                    let taken = match ins.code {
                        JEQ => acc == ins.k,
                        JGE => acc >= ins.k,
                        _ => acc & ins.k != 0,
                    };
                    pc += usize::from(if taken { ins.jt } else { ins.jf });
                }
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn socket(prog: &[sock_filter], family: i32, ty: i32, proto: i32) -> u32 {
        eval(
            prog,
            libc::SYS_socket,
            [family as u64, ty as u64, proto as u64, 0, 0, 0],
        )
    }

    #[test]
    fn program_builds_with_short_jumps() {
        for udp in [false, true] {
            let prog = assemble(udp).unwrap();
            assert!(prog.len() > 50 && prog.len() < 255);
            assert_eq!(build(udp).unwrap().len(), prog.len());
        }
    }

    #[test]
    fn sockets_are_an_allowlist_of_family_type_and_protocol() {
        let (a, e) = (RET_ALLOW, RET_EPERM);
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        for udp in [false, true] {
            let p = assemble(udp).unwrap();
            let u = if udp { a } else { e };
            for fam in [libc::AF_INET, libc::AF_INET6] {
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM, 0), a);
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM | flags, 0), a);
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM, libc::IPPROTO_TCP), a);
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM, 262), e, "MPTCP");
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM, 132), e, "SCTP");
                assert_eq!(socket(&p, fam, libc::SOCK_SEQPACKET, 0), e, "SCTP");
                assert_eq!(socket(&p, fam, libc::SOCK_DGRAM, 0), u);
                assert_eq!(socket(&p, fam, libc::SOCK_DGRAM | flags, 0), u);
                assert_eq!(socket(&p, fam, libc::SOCK_DGRAM, libc::IPPROTO_UDP), u);
                assert_eq!(socket(&p, fam, libc::SOCK_DGRAM, libc::IPPROTO_ICMP), e);
                assert_eq!(socket(&p, fam, libc::SOCK_DGRAM, 136), e, "UDP-Lite");
                assert_eq!(socket(&p, fam, libc::SOCK_RAW, 1), e);
                assert_eq!(socket(&p, fam, libc::SOCK_RAW | flags, 1), e);
                assert_eq!(socket(&p, fam, 10, 0), e, "SOCK_PACKET");
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM | 0x100, 0), e);
                // Only the low 32 bits reach the kernel's `int`, and only
                // they are checked.
                let high = (1u64 << 32) | libc::AF_INET as u64;
                let args = [high, libc::SOCK_STREAM as u64, 0, 0, 0, 0];
                assert_eq!(eval(&p, libc::SYS_socket, args), a);
            }
            for ty in [libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_SEQPACKET] {
                assert_eq!(socket(&p, libc::AF_UNIX, ty, 0), a);
                assert_eq!(socket(&p, libc::AF_UNIX, ty | flags, 0), a);
                let pair = [libc::AF_UNIX as u64, ty as u64, 0, 0, 0, 0];
                assert_eq!(eval(&p, libc::SYS_socketpair, pair), a);
            }
            assert_eq!(socket(&p, libc::AF_UNIX, libc::SOCK_RAW, 0), e);
            assert_eq!(socket(&p, libc::AF_UNIX, libc::SOCK_STREAM, 2), e);
            for fam in [
                libc::AF_VSOCK,
                libc::AF_NETLINK,
                libc::AF_PACKET,
                libc::AF_BLUETOOTH,
                libc::AF_ALG,
                libc::AF_XDP,
                libc::AF_TIPC,
                libc::AF_RDS,
                libc::AF_KEY,
                0,
            ] {
                assert_eq!(socket(&p, fam, libc::SOCK_STREAM, 0), e, "family {fam}");
                assert_eq!(socket(&p, fam, libc::SOCK_DGRAM, 0), e, "family {fam}");
                let pair = [fam as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0];
                assert_eq!(eval(&p, libc::SYS_socketpair, pair), e);
            }
        }
    }

    #[test]
    // The ioctl request type is u64 on some targets and not on others.
    #[allow(clippy::unnecessary_cast)]
    fn watching_calls_are_refused_and_other_calls_untouched() {
        let p = assemble(false).unwrap();
        let none = [0u64; 6];
        for nr in DENIED_WATCH.iter().chain(DENIED) {
            assert_eq!(eval(&p, *nr, none), RET_EPERM, "syscall {nr}");
        }
        let fcntl = |cmd: i32| eval(&p, libc::SYS_fcntl, [3, cmd as u64, 0, 0, 0, 0]);
        assert_eq!(fcntl(libc::F_NOTIFY), RET_EPERM);
        assert_eq!(fcntl(libc::F_GETFL), RET_ALLOW);
        assert_eq!(fcntl(libc::F_SETFD), RET_ALLOW);
        let ioctl = |req: u64| eval(&p, libc::SYS_ioctl, [0, req, 0, 0, 0, 0]);
        assert_eq!(ioctl(libc::TIOCSTI as u64), RET_EPERM);
        assert_eq!(ioctl(libc::TIOCGWINSZ as u64), RET_ALLOW);
        assert_eq!(eval(&p, libc::SYS_clone3, none), RET_ENOSYS);
        let clone = |flags: i32| eval(&p, libc::SYS_clone, [flags as u64, 0, 0, 0, 0, 0]);
        assert_eq!(clone(libc::SIGCHLD), RET_ALLOW);
        assert_eq!(clone(libc::CLONE_NEWUSER | libc::SIGCHLD), RET_EPERM);
        for nr in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_openat,
            libc::SYS_bind,
        ] {
            assert_eq!(eval(&p, nr, none), RET_ALLOW, "syscall {nr}");
        }
        #[cfg(target_arch = "x86_64")]
        assert_eq!(eval(&p, 0x4000_0000 + libc::SYS_getpid, none), RET_EPERM);
    }
}
