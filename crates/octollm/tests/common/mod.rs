//! What the test suites that start `octollm up` as a process share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use octollm_testkit::ports::free_port;
use octollm_testkit::unique_name;

/// Child processes a test started, killed and reaped when it ends however
/// it ends, and then the scratch directory they worked in, if it has one:
/// a failing test leaves nothing running.
#[derive(Default)]
pub struct Running {
    pub children: Vec<Child>,
    pub dir: Option<PathBuf>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `octollm up` on the embedded default (no PostgreSQL, no Redis) with its
/// four ports, its own data directory and a sandbox of its own: the uid
/// range from `uid_base`, a fresh cgroup parent and root directory, so
/// suites running at once never share a slot. Logs and stderr are the
/// caller's to set.
pub fn up_command(bin: &str, data_dir: &Path, ports: &[u16; 4], uid_base: u32) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["up", "--data-dir", &data_dir.display().to_string()])
        .env("OCTOLLM_ORCHESTRATOR_PORT", ports[0].to_string())
        .env("OCTOLLM_REFLEX_PORT", ports[1].to_string())
        .env("OCTOLLM_PLANNER_PORT", ports[2].to_string())
        .env("OCTOLLM_EXECUTOR_PORT", ports[3].to_string())
        // Callers that do not talk to the gateway still need it off 8004.
        .env("OCTOLLM_GATEWAY_PORT", free_port().to_string())
        .env("OCTOLLM_EXECUTOR_SANDBOX_UID_BASE", uid_base.to_string())
        .env(
            "OCTOLLM_EXECUTOR_SANDBOX_CGROUP_PARENT",
            unique_name("octollm-up"),
        )
        .env(
            "OCTOLLM_EXECUTOR_SANDBOX_ROOT_DIR",
            data_dir.join("sandbox-root").display().to_string(),
        )
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null());
    cmd
}
