//! glibc's allocator, set for a long-running process whose big allocations are short-lived.
//!
//! The initial list of a watch (tens of MB of JSON at 10,000 tasks, parsed into a Vec as large)
//! is freed right after it is read. glibc raises its mmap threshold to the size of each large
//! block freed (up to 32 MiB), so after the first list every later one of that size comes from the
//! heap, and freed heap memory is given back only from its top: the RSS kept what one list
//! needed on top of what the cache holds (`docs/performance.md`, Memory at 10,000 tasks). Fixed
//! thresholds keep blocks over 128 KiB in their own mappings, given back when freed, and trim the
//! heap's free top past 128 KiB; fewer arenas keep less free memory apart. glibc's own
//! environment variables (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_ARENA_MAX`)
//! still win: a setting they make is left alone.

/// A glibc `mallopt` parameter, the environment variable that sets it, and our value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub param: Param,
    pub env: &'static str,
    pub value: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    MmapThreshold,
    TrimThreshold,
    ArenaMax,
}

const KIB: i32 = 1024;

pub const MMAP_THRESHOLD: Setting = Setting {
    param: Param::MmapThreshold,
    env: "MALLOC_MMAP_THRESHOLD_",
    value: 128 * KIB,
};

pub const TRIM_THRESHOLD: Setting = Setting {
    param: Param::TrimThreshold,
    env: "MALLOC_TRIM_THRESHOLD_",
    value: 128 * KIB,
};

/// At most 2 arenas (glibc allows 8 per core): each arena keeps its own free memory, and the
/// controller's few threads allocate too little to contend for one.
pub const ARENA_MAX: Setting = Setting {
    param: Param::ArenaMax,
    env: "MALLOC_ARENA_MAX",
    value: 2,
};

/// The settings to apply: ours, except those the environment already sets for glibc.
pub fn settings_to_apply(env_has: impl Fn(&str) -> bool) -> Vec<Setting> {
    [MMAP_THRESHOLD, TRIM_THRESHOLD, ARENA_MAX]
        .into_iter()
        .filter(|setting| !env_has(setting.env))
        .collect()
}

/// Applies [`settings_to_apply`] before any thread starts (glibc reads them once per call, so
/// later allocations follow them). Returns what was applied; elsewhere than glibc, nothing.
pub fn tune() -> Vec<Setting> {
    let settings = settings_to_apply(|name| std::env::var_os(name).is_some());
    settings.into_iter().filter(|setting| apply(*setting)).collect()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply(setting: Setting) -> bool {
    let param = match setting.param {
        Param::MmapThreshold => libc::M_MMAP_THRESHOLD,
        Param::TrimThreshold => libc::M_TRIM_THRESHOLD,
        Param::ArenaMax => libc::M_ARENA_MAX,
    };
    // SAFETY: mallopt only changes the allocator's parameters; it takes the arena lock itself and
    // is called here before the runtime's threads exist.
    unsafe { libc::mallopt(param, setting.value) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply(_setting: Setting) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_are_set_when_the_environment_sets_none() {
        assert_eq!(
            settings_to_apply(|_| false),
            vec![MMAP_THRESHOLD, TRIM_THRESHOLD, ARENA_MAX]
        );
    }

    #[test]
    fn a_threshold_set_in_the_environment_is_left_to_glibc() {
        let applied = settings_to_apply(|name| name == "MALLOC_MMAP_THRESHOLD_");
        assert_eq!(applied, vec![TRIM_THRESHOLD, ARENA_MAX]);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_each() {
        // Each a separate test process under nextest, a thread of this one under cargo test:
        // mallopt is process-wide, and these values are the ones the operator runs with.
        for setting in [MMAP_THRESHOLD, TRIM_THRESHOLD, ARENA_MAX] {
            assert!(apply(setting), "{:?} rejected", setting.param);
        }
    }
}
