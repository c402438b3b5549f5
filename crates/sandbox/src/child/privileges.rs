//! Giving up privilege, in order.
//!
//! The init first switches to uid and gid 0 of its own user namespace and
//! clears its supplementary groups (raw set*id calls, see below), before it
//! mounts anything. After forking the worker it drops its own capabilities
//! and sets `no_new_privs`. The worker,
//! just before `execve`, gives up the rest in an order where each step
//! still has what it needs:
//! 1. securebits locked (needs `CAP_SETPCAP`, so before the drop);
//! 2. every capability dropped, the bounding and ambient sets too;
//! 3. `no_new_privs` (Landlock and seccomp both require it without caps);
//! 4. Landlock, on the final paths;
//! 5. seccomp last, so none of our own set-up calls has to pass it.
//!
//! It is separate so that the order can be read, and kept, in one place.

use std::ffi::CStr;

use super::{check, rc, ChildFds, Stage};
use crate::plan::RootPlan;

/// Becomes root of the new namespace (the maps point it at the slot's
/// unprivileged host uid). Doing this before mounting avoids EOVERFLOW.
pub(super) fn become_namespace_root(fds: &ChildFds) {
    // Raw syscalls, not libc's wrappers: glibc applies set*id to every
    // thread of the process by signalling them and waiting on a futex, and
    // the threads it knows about are the server's, which do not exist here —
    // the wrapper would wait forever.
    // SAFETY: plain id-setting syscalls; setgroups with an empty list reads
    // no memory. Clearing groups drops the server's supplementary groups.
    check(
        fds,
        Stage::Ids,
        rc(unsafe { libc::syscall(libc::SYS_setresgid, 0, 0, 0) as libc::c_int }),
    );
    check(
        fds,
        Stage::Ids,
        rc(unsafe {
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) as libc::c_int
        }),
    );
    check(
        fds,
        Stage::Ids,
        rc(unsafe { libc::syscall(libc::SYS_setresuid, 0, 0, 0) as libc::c_int }),
    );
}

/// What the init gives up once the worker is forked: it keeps nothing it
/// does not need either.
pub(super) fn init_gives_up() {
    let _ = drop_caps();
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
}

/// Everything the worker gives up right before `execve`, in order.
pub(super) fn worker_gives_up(root: &RootPlan, fds: &ChildFds) {
    // Lock "root has no special powers": after this, exec as uid 0 of the
    // namespace never grants capabilities again, and nothing can undo it.
    let bits = libc::SECBIT_NOROOT
        | libc::SECBIT_NOROOT_LOCKED
        | libc::SECBIT_NO_SETUID_FIXUP
        | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
        | libc::SECBIT_KEEP_CAPS_LOCKED
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    // SAFETY: integer arguments only.
    check(
        fds,
        Stage::Securebits,
        rc(unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) }),
    );
    check(fds, Stage::DropCaps, drop_caps());
    // SAFETY: integer arguments only.
    check(
        fds,
        Stage::NoNewPrivs,
        rc(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }),
    );
    if let Some(policy) = &root.landlock {
        let rules: [(&CStr, u64); 4] = [
            (&root.in_root, policy.read_only),
            (&root.in_workspace, policy.read_write),
            (&root.in_tmp, policy.read_write),
            (&root.in_dev, policy.dev),
        ];
        check(fds, Stage::Landlock, crate::landlock::apply(policy, &rules));
    }
    if let Some(prog) = &root.seccomp {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `fprog` points at the prepared program, alive for the call;
        // the kernel copies it. no_new_privs is set, as the call requires.
        check(
            fds,
            Stage::Seccomp,
            rc(unsafe {
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const libc::sock_fprog,
                )
            }),
        );
    }
}

/// Empties the bounding, ambient, effective, permitted and inheritable sets.
fn drop_caps() -> Result<(), i32> {
    for cap in 0..64 {
        // SAFETY: integer arguments only; EINVAL past the last cap is ignored.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    // SAFETY: integer arguments only.
    rc(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    })?;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: version 3 takes a header and an array of two data structs,
    // both valid for the duration of the call.
    rc(unsafe {
        libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) as libc::c_int
    })
}
