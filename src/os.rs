//! Process-level protections set at start: files the server creates are private to its user, and
//! the open-file limit is raised so that the connection cap, not the kernel, decides when
//! connections are refused.

use std::path::Path;

/// Makes every file and directory this process creates from now on private to its user (files
/// 0600, directories 0700): the database with its WAL and SHM, media, imports and backups hold
/// customers' conversations, and other local users have no business reading them.
pub fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask(2) only swaps the process's file-creation mask; it has no failure mode and
    // touches no memory of ours.
    unsafe {
        libc::umask(0o077);
    }
}

/// Narrows files that an earlier run (or another umask) created readable by others to 0600.
/// Missing files are skipped; a failure is only logged, since the server still works.
pub fn make_private(paths: &[&Path]) {
    #[cfg(unix)]
    for path in paths {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else { continue };
        if meta.permissions().mode() & 0o077 != 0 {
            if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
                tracing::warn!(path = %path.display(), error = %e, "cannot make the file private");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = paths;
}

/// Raises the soft limit of open files to the hard limit (allowed without privileges) and
/// returns the soft limit in force afterwards; `None` where it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one rlimit into the struct we own and pass by pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // SAFETY: setrlimit reads the struct we pass; it fails (e.g. macOS refuses an
            // unlimited soft limit) without side effects, and then the old limit stays.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is u64 on Linux but not everywhere
        Some(u64::from(limit.rlim_cur))
    }
    #[cfg(not(unix))]
    None
}

/// File descriptors kept aside from the connection cap: database connections, the listener,
/// media and log files, outgoing HTTP, and the sockets that are being answered 503.
pub const RESERVED_FILES: u64 = 256;

/// The connection cap in force: the configured one, lowered when the open-file limit could not
/// hold that many connections plus [`RESERVED_FILES`].
pub fn connection_cap(configured: usize, open_file_limit: Option<u64>) -> usize {
    match open_file_limit {
        Some(limit) => {
            let fits = usize::try_from(limit.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX).max(1);
            configured.min(fits)
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_server_s_own_files() {
        assert_eq!(connection_cap(10_000, Some(1024)), 768);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(10_000, Some(100)), 1);
        assert_eq!(connection_cap(50, None), 50);
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_open_file_limit_reaches_the_hard_one() {
        let soft = raise_open_file_limit().unwrap();
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux but not everywhere
        let current = limit.rlim_cur as u64;
        assert_eq!(soft, current);
    }
}
