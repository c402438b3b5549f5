//! The execution's root filesystem.
//!
//! The fresh tmpfs the executor made for this run (see [`crate::mounts`])
//! gets the directories, files, symlinks and mounts the plan lists (system
//! directories as read-only overlays, device nodes from the kit), plus
//! `/proc`, `/tmp` and `/workspace`; `pivot_root` then makes it `/`, the old
//! root is detached so no host mount stays visible, and `/` is remounted
//! read-only. It is separate because it is the one step that decides what
//! of the host the command can see.

use std::ffi::CStr;

use super::{check, rc, ChildFds, Stage};
use crate::mounts::{EMPTY_DIR, SOURCE};
use crate::plan::{BindKind, RootPlan, RunPlan};
use crate::sys::{self, errno, mount, write_all};

/// statvfs flags of `path` as mount flags. A bind mount made inside a user
/// namespace inherits "locked" flags from its source (nosuid, nodev, noexec,
/// atime mode); a remount that does not repeat them fails with EPERM.
fn locked_flags(path: &CStr) -> libc::c_ulong {
    // SAFETY: statvfs fills a zeroed, properly sized struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated; `st` is valid for writes.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } < 0 {
        return 0;
    }
    let f = st.f_flag;
    let mut out = 0;
    for (st_bit, ms_bit) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_bit != 0 {
            out |= ms_bit;
        }
    }
    out
}

/// Creates `path` (or keeps it when it exists) and gives it exactly `mode`:
/// the umask inherited from the server must not decide what the copy allows.
fn mkdir(path: &CStr, mode: u32) -> Result<(), i32> {
    // SAFETY: NUL-terminated path.
    let r = unsafe { libc::mkdir(path.as_ptr(), mode) };
    if r < 0 && errno() != libc::EEXIST {
        return Err(errno());
    }
    // SAFETY: NUL-terminated path; chmod reads nothing else.
    rc(unsafe { libc::chmod(path.as_ptr(), mode) })
}

/// Writes `body` to a new file with exactly `mode` (no umask).
fn write_file(path: &CStr, body: &[u8], mode: u32) -> Result<(), i32> {
    // SAFETY: NUL-terminated path; the returned fd is closed below.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: fchmod on the fd just opened.
    let r = write_all(fd, body).and_then(|()| rc(unsafe { libc::fchmod(fd, mode) }));
    sys::close(fd);
    r
}

/// Hides what of the fresh `/proc` names the host: `/dev/null` bound
/// read-only over files, the kit's empty directory (read-only) over
/// directories. Paths this kernel does not have are skipped; any other
/// failure is fatal.
fn mask_proc(root: &RootPlan, fds: &ChildFds) {
    for path in &root.proc_masks {
        // SAFETY: lstat fills a zeroed, properly sized struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is NUL-terminated; `st` is valid for writes.
        if unsafe { libc::lstat(path.as_ptr(), &mut st) } < 0 {
            let e = errno();
            if e == libc::ENOENT {
                continue;
            }
            super::fail(fds, Stage::MaskProc, e);
        }
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
            clone_from_kit(fds, Stage::MaskProc, root.kit.fd(), EMPTY_DIR, path, flags);
        } else {
            bind_file_read_only(&root.null_dev, path, fds);
        }
    }
}

/// Binds the file `src` over `target`, read-only, nosuid, nodev, noexec
/// (keeping the source's locked flags, or the remount fails with EPERM).
fn bind_file_read_only(src: &CStr, target: &CStr, fds: &ChildFds) {
    check(
        fds,
        Stage::MaskProc,
        mount(Some(src), target, None, libc::MS_BIND, None),
    );
    let flags = libc::MS_REMOUNT
        | libc::MS_BIND
        | libc::MS_RDONLY
        | libc::MS_NOSUID
        | libc::MS_NODEV
        | libc::MS_NOEXEC
        | locked_flags(src);
    check(fds, Stage::MaskProc, mount(None, target, None, flags, None));
}

/// Shows `init` as PID 1's command line: its argument strings are the
/// server's (its path, flags, perhaps a config path). A read-only bind of a
/// file we write, whose source is then unlinked so the root holds no trace.
fn mask_init_cmdline(root: &RootPlan, fds: &ChildFds) {
    let body = root.init_name.as_bytes_with_nul();
    check(
        fds,
        Stage::MaskProc,
        write_file(&root.init_cmdline, body, 0o444),
    );
    for target in &root.init_cmdline_targets {
        bind_file_read_only(&root.init_cmdline, target, fds);
    }
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::MaskProc,
        rc(unsafe { libc::unlink(root.init_cmdline.as_ptr()) }),
    );
}

/// Binds `src` at `dst` (both existing): read-only and without device
/// nodes, or writable and without execution; never set-uid. The flags the
/// source's mount locks are kept, or the remount would fail.
fn bind(fds: &ChildFds, stage: Stage, src: &CStr, dst: &CStr, read_only: bool) {
    check(
        fds,
        stage,
        mount(Some(src), dst, None, libc::MS_BIND | libc::MS_REC, None),
    );
    let mut flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_NOSUID | locked_flags(src);
    if read_only {
        flags |= libc::MS_RDONLY | libc::MS_NODEV;
    } else {
        flags |= libc::MS_NOEXEC;
    }
    check(fds, Stage::Remount, mount(None, dst, None, flags, None));
}

/// Attaches a clone of the kit's entry `name` at `dst` with exactly the
/// mount flags `flags` (a fresh clone locks none).
fn clone_from_kit(
    fds: &ChildFds,
    stage: Stage,
    kit: i32,
    name: &CStr,
    dst: &CStr,
    flags: libc::c_ulong,
) {
    let fd = match sys::open_tree_at(kit, name) {
        Ok(fd) => fd,
        Err(e) => super::fail(fds, stage, e),
    };
    let attached = sys::move_mount_fd(fd, dst);
    sys::close(fd);
    check(fds, stage, attached);
    let flags = libc::MS_REMOUNT | libc::MS_BIND | flags;
    check(fds, Stage::Remount, mount(None, dst, None, flags, None));
}

/// Attaches the detached mount `fd` at `dst`, then makes it read-only
/// without device nodes, or writable without execution; never set-uid.
fn attach(fds: &ChildFds, fd: i32, dst: &CStr, read_only: bool) {
    check(fds, Stage::Workspace, sys::move_mount_fd(fd, dst));
    let mut flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_NOSUID | locked_flags(dst);
    if read_only {
        flags |= libc::MS_RDONLY | libc::MS_NODEV;
    } else {
        flags |= libc::MS_NOEXEC | libc::MS_NODEV;
    }
    check(fds, Stage::Remount, mount(None, dst, None, flags, None));
}

pub(super) fn build_root(root: &RootPlan, run: &RunPlan, fds: &ChildFds) {
    // Nothing we mount may propagate back to the host.
    check(
        fds,
        Stage::MakePrivate,
        mount(
            None,
            &root.in_root,
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
        ),
    );
    check(
        fds,
        Stage::RootTmpfs,
        sys::move_mount_fd(run.root_fd, &root.root),
    );
    // Overlays name their mount point relative to the root (see
    // `plan::system_dir`).
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::RootTmpfs,
        rc(unsafe { libc::chdir(root.root.as_ptr()) }),
    );
    for (d, mode) in &root.dirs {
        check(fds, Stage::Mkdir, mkdir(d, *mode));
    }
    for f in &root.files {
        check(fds, Stage::WriteFile, write_file(&f.path, &f.body, f.mode));
    }
    for (target, link) in &root.symlinks {
        // SAFETY: both strings are NUL-terminated.
        check(
            fds,
            Stage::Symlink,
            rc(unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) }),
        );
    }
    for b in &root.binds {
        match &b.kind {
            BindKind::Overlay { options } => check(
                fds,
                Stage::Bind,
                mount(
                    Some(SOURCE),
                    &b.dst,
                    Some(c"overlay"),
                    libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
                    Some(options),
                ),
            ),
            BindKind::HostDir { src } => bind(fds, Stage::Bind, src, &b.dst, true),
            BindKind::KitNode { name } => {
                check(fds, Stage::Bind, write_file(&b.dst, b"", 0o644));
                // Read-only refuses changes to the node, not reading or
                // writing the device.
                let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC;
                clone_from_kit(fds, Stage::Bind, root.kit.fd(), name, &b.dst, flags);
            }
        }
    }
    let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    check(
        fds,
        Stage::Proc,
        mount(
            Some(c"proc"),
            &root.proc_dir,
            Some(c"proc"),
            proc_flags,
            None,
        ),
    );
    mask_proc(root, fds);
    mask_init_cmdline(root, fds);
    // The executor made `/tmp` (and a fresh `/workspace`) nosuid, nodev and
    // noexec already (see `crate::mounts::RunMounts`): attaching is all.
    check(
        fds,
        Stage::Tmp,
        sys::move_mount_fd(run.tmp_fd, &root.tmp_dir),
    );
    match &run.workspace {
        // The task's own workspace, its inputs read-only on top; the inputs'
        // mount point is part of the workspace (see `crate::workspace`).
        Some((dir, inputs)) => {
            attach(fds, *dir, &root.ws_dir, false);
            attach(fds, *inputs, &root.ws_in_dir, true);
        }
        None => check(
            fds,
            Stage::Workspace,
            sys::move_mount_fd(run.fresh_ws_fd, &root.ws_dir),
        ),
    }

    // pivot_root(".", ".") stacks the old root on top of the new one; the
    // detach then removes every host mount from this namespace's view.
    // SAFETY: NUL-terminated paths only.
    check(
        fds,
        Stage::PivotRoot,
        rc(unsafe { libc::chdir(root.root.as_ptr()) }),
    );
    // SAFETY: NUL-terminated paths only.
    check(
        fds,
        Stage::PivotRoot,
        rc(unsafe {
            libc::syscall(libc::SYS_pivot_root, root.dot.as_ptr(), root.dot.as_ptr()) as libc::c_int
        }),
    );
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::DetachOldRoot,
        rc(unsafe { libc::umount2(root.dot.as_ptr(), libc::MNT_DETACH) }),
    );
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::DetachOldRoot,
        rc(unsafe { libc::chdir(root.in_root.as_ptr()) }),
    );
    check(
        fds,
        Stage::ReadonlyRoot,
        mount(
            None,
            &root.in_root,
            None,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            None,
        ),
    );
}
