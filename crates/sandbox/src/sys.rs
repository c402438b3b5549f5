//! Thin wrappers over the few libc calls used on both sides of `clone()`.
//! None of them allocates, so they are safe to call in the cloned child.

use std::ffi::CStr;

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn close(fd: i32) {
    if fd >= 0 {
        // SAFETY: closing an fd we own; a stale number only yields EBADF.
        unsafe { libc::close(fd) };
    }
}

pub fn kill(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: kill takes plain integers; pid > 0 never targets a group.
        unsafe { libc::kill(pid, sig) };
    }
}

/// `pipe2(O_CLOEXEC)` as (read, write).
pub fn pipe() -> std::io::Result<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// Writes all of `buf`, retrying on EINTR and short writes. Returns errno.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a live slice; the kernel reads at most its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = buf.get(n as usize..).unwrap_or(&[]);
    }
    Ok(())
}

/// `mount(2)` with optional C strings; returns errno on failure.
pub fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), i32> {
    let p = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is either null or a NUL-terminated string that
    // outlives the call; the kernel copies what it needs.
    let rc = unsafe { libc::mount(p(src), target.as_ptr(), p(fstype), flags, p(data).cast()) };
    if rc < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

pub fn set_nonblocking(fd: i32) {
    // SAFETY: F_GETFL/F_SETFL on an fd we own; no pointers involved.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
}

/// Sleeps while `word` holds `expected` (or until a spurious wake-up; the
/// caller re-checks). A private futex: the waker shares our memory.
pub fn futex_wait(word: &std::sync::atomic::AtomicU32, expected: u32) {
    // SAFETY: the kernel reads the live atomic `word` points at; no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

/// Wakes every waiter of `word`.
pub fn futex_wake(word: &std::sync::atomic::AtomicU32) {
    // SAFETY: as for `futex_wait`; waking needs no other memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        )
    };
}

/// `open_tree(2)`'s `OPEN_TREE_CLONE` and `move_mount(2)`'s
/// `MOVE_MOUNT_F_EMPTY_PATH` (linux/mount.h).
const OPEN_TREE_CLONE: u32 = 1;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 4;

/// A detached copy of the mount at `path` (`open_tree(OPEN_TREE_CLONE)`),
/// closed on exec. Another mount namespace can attach it with
/// [`move_mount_fd`]; a plain bind of a path from another namespace fails.
pub fn open_tree_clone(path: &CStr) -> Result<std::os::fd::OwnedFd, i32> {
    owned(open_tree_at(libc::AT_FDCWD, path)?.into())
}

/// Attaches the detached mount `fd` at `target` (`move_mount(2)`).
pub fn move_mount_fd(fd: i32, target: &CStr) -> Result<(), i32> {
    // SAFETY: the empty path is a static NUL-terminated string and
    // `target` is NUL-terminated; both outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd,
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// `fsopen`/`fsconfig`/`fsmount`/`open_tree` constants (linux/mount.h).
const FSOPEN_CLOEXEC: u32 = 1;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const FSMOUNT_CLOEXEC: u32 = 1;
pub const MOUNT_ATTR_NOSUID: u32 = 0x2;
pub const MOUNT_ATTR_NODEV: u32 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u32 = 0x8;

fn owned(fd: libc::c_long) -> Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: a descriptor the kernel just created for us and nobody else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// A new, detached filesystem of type `fstype` (`fsopen` + `fsconfig` +
/// `fsmount`), with the string `options` and the mount attributes `attrs`
/// (`MOUNT_ATTR_*`). The superblock belongs to the caller's user namespace:
/// made by the executor, it names no slot uid in `/proc/self/mountinfo`.
pub fn fsmount(
    fstype: &CStr,
    options: &[(&CStr, &CStr)],
    attrs: u32,
) -> Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fstype` is NUL-terminated and outlives the call.
    let fs = owned(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })?;
    for (key, value) in options {
        // SAFETY: key and value are NUL-terminated and outlive the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        };
        if rc < 0 {
            return Err(errno());
        }
    }
    // SAFETY: integer arguments and null pointers only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if rc < 0 {
        return Err(errno());
    }
    // SAFETY: integer arguments only; returns a new descriptor or -1.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

/// Gives the root directory of the detached mount `fd` to `uid`:`uid`.
pub fn chown_mount_root(fd: i32, uid: u32) -> Result<(), i32> {
    // SAFETY: the empty path is a static NUL-terminated string.
    let rc = unsafe { libc::fchownat(fd, c"".as_ptr(), uid, uid, libc::AT_EMPTY_PATH) };
    if rc < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// A detached copy of the entry `name` of the mount `dirfd`
/// (`open_tree(OPEN_TREE_CLONE)` relative to a descriptor, or to the
/// working directory with `AT_FDCWD`). Allocates
/// nothing: the cloned child calls it. Returns the raw descriptor, which
/// the caller closes.
pub fn open_tree_at(dirfd: i32, name: &CStr) -> Result<i32, i32> {
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dirfd,
            name.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as u32,
        )
    };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(fd as i32)
    }
}
