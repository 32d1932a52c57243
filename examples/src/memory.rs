//! What the benchmarks report of a process's memory.

/// Peak resident set size of this process in MB (`VmHWM` of `/proc/self/status`), or NaN where
/// unavailable.
pub fn peak_rss_mb() -> f64 {
    peak_rss_mb_of_status("/proc/self/status")
}

/// Peak resident set size of the process `pid` in MB, or NaN where unavailable.
pub fn peak_rss_mb_of(pid: u32) -> f64 {
    peak_rss_mb_of_status(&format!("/proc/{pid}/status"))
}

fn peak_rss_mb_of_status(path: &str) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
