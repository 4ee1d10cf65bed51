//! CPU time and memory of processes, read from `/proc` (Linux only).

use std::fs;

/// Clock ticks per second (`utime`/`stime` unit in `/proc/<pid>/stat`).
pub fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 on error.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of a process, in seconds (children excluded).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: fields are counted after its ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_ascii_whitespace().collect();
    // Fields 14 and 15 of the full line are 12 and 13 after the name (0-based: 11, 12).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_sec())
}

/// A `kB` line of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The three load averages of `/proc/loadavg`, e.g. `"0.52 0.61 0.70"`.
pub fn loadavg() -> Option<String> {
    let s = fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        s.split_ascii_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Busy and total jiffies of the whole machine (first line of `/proc/stat`).
pub fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is included in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Total CPU seconds of the PostgreSQL processes that serve database `db` (their
/// process title names it) plus the shared writer processes (WAL writer, background
/// writer, checkpointer). Backends that exit between two readings drop out of the sum,
/// which is why the figure is meant for a server whose pool keeps its connections.
pub fn postgres_cpu_seconds(db: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut found = false;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(comm) = fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if comm.trim_end() != "postgres" {
            continue;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let title = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let ours = title.contains(&format!(" {db} "))
            || title.contains("walwriter")
            || title.contains("background writer")
            || title.contains("checkpointer");
        if ours && let Some(s) = cpu_seconds(pid) {
            total += s;
            found = true;
        }
    }
    found.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        assert!(cpu_seconds("self").is_some());
        assert!(status_kib("self", "VmRSS").unwrap() > 0);
        let (busy, total) = machine_jiffies().unwrap();
        assert!(busy <= total);
    }
}
