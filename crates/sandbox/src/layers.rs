//! The sandbox layers, and which of them this host can provide.

use crate::cgroup::CgroupSupport;
use crate::{landlock, seccomp, SandboxConfig, SandboxError};

/// One independent protection. Names are stable: they appear in provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    UserNs,
    MountNs,
    PidNs,
    NetNs,
    IpcNs,
    UtsNs,
    CgroupNs,
    PivotRoot,
    ReadonlyRoot,
    UnprivilegedUid,
    CapsDropped,
    NoNewPrivs,
    Landlock,
    LandlockNet,
    Seccomp,
    CgroupMemory,
    CgroupPids,
    CgroupCpu,
    Rlimits,
    CleanEnv,
    OutputCaps,
    Timeout,
}

impl Layer {
    pub const ALL: [Layer; 22] = [
        Layer::UserNs,
        Layer::MountNs,
        Layer::PidNs,
        Layer::NetNs,
        Layer::IpcNs,
        Layer::UtsNs,
        Layer::CgroupNs,
        Layer::PivotRoot,
        Layer::ReadonlyRoot,
        Layer::UnprivilegedUid,
        Layer::CapsDropped,
        Layer::NoNewPrivs,
        Layer::Landlock,
        Layer::LandlockNet,
        Layer::Seccomp,
        Layer::CgroupMemory,
        Layer::CgroupPids,
        Layer::CgroupCpu,
        Layer::Rlimits,
        Layer::CleanEnv,
        Layer::OutputCaps,
        Layer::Timeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Layer::UserNs => "userns",
            Layer::MountNs => "mountns",
            Layer::PidNs => "pidns",
            Layer::NetNs => "netns",
            Layer::IpcNs => "ipcns",
            Layer::UtsNs => "utsns",
            Layer::CgroupNs => "cgroupns",
            Layer::PivotRoot => "pivot_root",
            Layer::ReadonlyRoot => "readonly_root",
            Layer::UnprivilegedUid => "unprivileged_uid",
            Layer::CapsDropped => "caps_dropped",
            Layer::NoNewPrivs => "no_new_privs",
            Layer::Landlock => "landlock",
            Layer::LandlockNet => "landlock_net",
            Layer::Seccomp => "seccomp",
            Layer::CgroupMemory => "cgroup_memory",
            Layer::CgroupPids => "cgroup_pids",
            Layer::CgroupCpu => "cgroup_cpu",
            Layer::Rlimits => "rlimits",
            Layer::CleanEnv => "clean_env",
            Layer::OutputCaps => "output_caps",
            Layer::Timeout => "timeout",
        }
    }

    /// Layers the sandbox may run without, in degraded mode only. The others
    /// are structural: without them there is no sandbox at all, so a host
    /// lacking them cannot execute anything.
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            Layer::Landlock
                | Layer::LandlockNet
                | Layer::Seccomp
                | Layer::CgroupMemory
                | Layer::CgroupPids
                | Layer::CgroupCpu
                | Layer::CgroupNs
        )
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the host offers, found once at start-up.
#[derive(Debug, Clone)]
pub struct HostSupport {
    /// Landlock ABI version, 0 when Landlock is unavailable.
    pub landlock_abi: u32,
    pub seccomp: bool,
    pub cgroups: CgroupSupport,
    pub user_namespaces: bool,
    /// Whether overlayfs can be mounted inside a user namespace (Linux 5.11
    /// and later, with the filesystem built in or loaded).
    pub overlay_in_userns: bool,
}

/// Whether this kernel mounts overlayfs in a user namespace.
fn overlay_in_userns() -> bool {
    let listed = std::fs::read_to_string("/proc/filesystems").is_ok_and(|s| {
        s.lines()
            .any(|l| l.split_whitespace().last() == Some("overlay"))
    });
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    listed && version >= (5, 11)
}

impl HostSupport {
    pub fn probe() -> HostSupport {
        HostSupport {
            landlock_abi: landlock::abi_version(),
            seccomp: seccomp::supported(),
            cgroups: CgroupSupport::probe(),
            user_namespaces: std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .is_some_and(|n| n > 0),
            overlay_in_userns: overlay_in_userns(),
        }
    }

    /// The layers a sandbox with `config` would have here, predicted
    /// without setting anything up: as [`layers`](Self::layers), without the
    /// CPU layer when no quota is asked for, and with a cgroup controller
    /// this process may not create groups under counted missing.
    pub fn readiness(&self, config: &SandboxConfig) -> Readiness {
        let mut r = self.wanted(crate::cgroup::cpu_quota_us(config.cpu_limit).is_some());
        for (layer, dir) in [
            (Layer::CgroupMemory, &self.cgroups.memory),
            (Layer::CgroupPids, &self.cgroups.pids),
            (Layer::CgroupCpu, &self.cgroups.cpu),
        ] {
            if !dir.as_ref().is_some_and(|d| d.delegated()) {
                r.lose(layer);
            }
        }
        r
    }

    /// [`layers`](Self::layers) for a sandbox that does (`want_cpu`) or
    /// does not enforce a CPU quota: without one the CPU layer is neither in
    /// force nor missing.
    pub(crate) fn wanted(&self, want_cpu: bool) -> Readiness {
        let (mut layers, mut missing) = self.layers();
        if !want_cpu {
            layers.retain(|l| *l != Layer::CgroupCpu);
            missing.retain(|l| *l != Layer::CgroupCpu);
        }
        Readiness { layers, missing }
    }

    /// Splits [`Layer::ALL`] into (available, missing) on this host.
    pub fn layers(&self) -> (Vec<Layer>, Vec<Layer>) {
        let mut have = Vec::new();
        let mut missing = Vec::new();
        for layer in Layer::ALL {
            let ok = match layer {
                Layer::Landlock => self.landlock_abi >= 1,
                Layer::LandlockNet => self.landlock_abi >= 4,
                Layer::Seccomp => self.seccomp,
                Layer::CgroupMemory => self.cgroups.memory.is_some(),
                Layer::CgroupPids => self.cgroups.pids.is_some(),
                Layer::CgroupCpu => self.cgroups.cpu.is_some(),
                Layer::CgroupNs => std::path::Path::new("/proc/self/ns/cgroup").exists(),
                Layer::UserNs => self.user_namespaces,
                _ => true,
            };
            if ok {
                have.push(layer);
            } else {
                missing.push(layer);
            }
        }
        (have, missing)
    }
}

/// The layers a sandbox runs with, and the wanted ones it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub layers: Vec<Layer>,
    pub missing: Vec<Layer>,
}

impl Readiness {
    /// Moves a layer that is in force to the missing ones.
    pub(crate) fn lose(&mut self, layer: Layer) {
        if self.layers.contains(&layer) {
            self.layers.retain(|l| *l != layer);
            self.missing.push(layer);
        }
    }

    /// Whether a sandbox may run like this: never without a structural
    /// layer, and without an optional one only when `allow_degraded`.
    pub fn verdict(&self, allow_degraded: bool) -> Result<(), SandboxError> {
        let structural: Vec<Layer> = self
            .missing
            .iter()
            .copied()
            .filter(|l| !l.is_optional())
            .collect();
        if !structural.is_empty() {
            return Err(SandboxError::Unavailable(structural));
        }
        if !self.missing.is_empty() && !allow_degraded {
            return Err(SandboxError::Unavailable(self.missing.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structural_layers_are_never_optional_and_the_rest_only_when_allowed() {
        let without = |missing: Vec<Layer>| Readiness {
            layers: Layer::ALL
                .iter()
                .copied()
                .filter(|l| !missing.contains(l))
                .collect(),
            missing,
        };
        assert!(without(vec![]).verdict(false).is_ok());
        let seccomp = without(vec![Layer::Seccomp]);
        assert!(seccomp.verdict(false).is_err());
        assert!(seccomp.verdict(true).is_ok());
        let userns = without(vec![Layer::UserNs, Layer::Seccomp]);
        match userns.verdict(true) {
            Err(SandboxError::Unavailable(l)) => assert_eq!(l, vec![Layer::UserNs]),
            other => panic!("{other:?}"),
        }
        let mut r = without(vec![]);
        r.lose(Layer::CgroupPids);
        r.lose(Layer::CgroupPids);
        assert_eq!(r.missing, vec![Layer::CgroupPids]);
        assert!(!r.layers.contains(&Layer::CgroupPids));
    }
}
