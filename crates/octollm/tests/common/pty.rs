//! What the suites that run the binary under a pseudo-terminal share: a
//! scratch directory the sandbox can reach, the settings that give each
//! suite its own sandbox, and `script` (util-linux), which provides the pty.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use octollm_testkit::ports::free_port;

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh scratch directory for the suite `tag`.
pub fn scratch(tag: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("octollm-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The sandbox uid must be able to reach the mount point inside.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    Scratch(dir)
}

/// The executor settings that give the suite `tag` its own mount point,
/// cgroup and uid range (from `uid_base`) under `dir`.
pub fn sandbox_settings(dir: &Scratch, tag: &str, uid_base: u32) -> Vec<(String, String)> {
    vec![
        (
            "OCTOLLM_EXECUTOR_SANDBOX_ROOT_DIR".into(),
            dir.0.join("root").to_string_lossy().into_owned(),
        ),
        (
            "OCTOLLM_EXECUTOR_SANDBOX_CGROUP_PARENT".into(),
            format!("octollm-{tag}-{}", std::process::id()),
        ),
        (
            "OCTOLLM_EXECUTOR_SANDBOX_UID_BASE".into(),
            uid_base.to_string(),
        ),
    ]
}

/// Fails the test, never skips it, when no pty tool is there.
#[allow(dead_code)]
pub fn require_script() {
    assert!(
        Command::new("script")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "`script` (Debian's essential bsdutils package) is needed to run the binary under a pty"
    );
}

/// [`sandbox_settings`] plus a data directory of its own and an
/// orchestrator port nothing answers on, so `octollm run` starts a system
/// of its own.
#[allow(dead_code)]
pub fn own_system_settings(dir: &Scratch, tag: &str, uid_base: u32) -> Vec<(String, String)> {
    let mut s = sandbox_settings(dir, tag, uid_base);
    s.push((
        "OCTOLLM_DATA_DIR".into(),
        dir.0.join("data").to_string_lossy().into_owned(),
    ));
    s.push(("OCTOLLM_ORCHESTRATOR_PORT".into(), free_port().to_string()));
    s
}

/// `octollm run "$GOAL"` under a pty (util-linux `script`); the caller
/// sets `GOAL`.
#[allow(dead_code)]
pub fn run_under_pty(bin: &str) -> Command {
    let mut c = Command::new("script");
    c.args([
        "-q",
        "-e",
        "-c",
        &format!("{bin} run \"$GOAL\""),
        "/dev/null",
    ]);
    c
}
