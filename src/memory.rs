//! Resident memory of the executable's own code (issue 17, docs/PERFORMANCE.md).
//!
//! Almost all of the server's resident memory after start-up is its own machine code,
//! not data: start-up (argument parsing, migrations, templates, TLS roots, building the
//! router of every route) runs code spread over most of the 14 MiB `.text`, and the
//! kernel maps each touched page together with its neighbours ("fault-around"). Once
//! the server serves, most of that code never runs again. [`release_startup_code`]
//! tells the kernel so: the pages of the executable's code leave this process's
//! resident set and come back, from the page cache (a minor fault, no disk read), only
//! when they run again. Heap, stacks and relocated data are never touched.

/// Drops the executable's read-only, never-written mappings from the resident set.
/// Best effort: without `/proc`, or if the kernel refuses, nothing changes.
pub fn release_startup_code() {
    #[cfg(target_os = "linux")]
    for (start, len) in clean_executable_mappings() {
        // SAFETY: `clean_executable_mappings` lists only whole, page-aligned mappings of
        // the executable file that are not writable and hold no private (anonymous)
        // page, so their contents are exactly the file's: MADV_DONTNEED makes the
        // kernel forget the mapped pages and read them back from the file (page cache)
        // on the next access, with the same contents. Relocated data (RELRO) holds
        // private pages and is never listed.
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}

/// `(start, length)` of each mapping of the running executable that is read-only and has
/// no anonymous (copied-on-write) page, from `/proc/self/smaps`.
#[cfg(target_os = "linux")]
fn clean_executable_mappings() -> Vec<(usize, usize)> {
    let (Ok(exe), Ok(smaps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/smaps"),
    ) else {
        return Vec::new();
    };
    let exe = exe.to_string_lossy();
    let mut out = Vec::new();
    // The mapping being read: Some((start, end)) while it qualifies so far.
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            // A mapping header: "start-end perms offset dev inode path".
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            current = (path == exe && !perms.contains('w') && end > start)
                .then_some((start, end - start));
            continue;
        }
        // "Anonymous:" comes once per mapping, after its header.
        if first == "Anonymous:"
            && let Some(mapping) = current.take()
            && fields.next() == Some("0")
        {
            out.push(mapping);
        }
    }
    out
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lists_only_clean_read_only_mappings_of_the_executable() {
        let mappings = clean_executable_mappings();
        // The test binary has at least its code mapping, read-only and never written.
        assert!(!mappings.is_empty());
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        for (start, _) in &mappings {
            let line = maps
                .lines()
                .find(|l| l.starts_with(&format!("{start:x}-")))
                .unwrap_or_default();
            assert!(
                !line.split_whitespace().nth(1).unwrap_or("w").contains('w'),
                "{line}"
            );
        }
        // Dropping them keeps the process working: this code runs from those pages.
        release_startup_code();
        assert_eq!(clean_executable_mappings().len(), mappings.len());
    }
}
