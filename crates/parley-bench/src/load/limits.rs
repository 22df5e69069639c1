//! What the machine lets one run open: each client process's open files,
//! the server's, and the ephemeral ports of the client's source addresses.
//! Checked before anything connects, so a run too large for them fails
//! saying which limit or flag to raise instead of with a connect error.

use anyhow::bail;

use super::target::Target;

/// Files a process holds besides its sessions: stdio, the runtime, REST.
pub const SPARE_FILES: u64 = 64;
/// Files the server keeps for other than connections: it takes no more
/// connections than its open-file limit less this (HEADROOM in
/// crates/parley-server/src/connections/cap.rs).
const SERVER_SPARE_FILES: u64 = 128;
const PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// `sessions` held by `processes` client processes over `source_addresses`
/// loopback addresses. `can_spread`: the scenario takes `--processes`.
pub fn client(sessions: usize, processes: usize, source_addresses: u8, can_spread: bool) -> anyhow::Result<()> {
    let open_files = rlimit::Resource::NOFILE.get_soft().ok();
    let ports = std::fs::read_to_string(PORT_RANGE).ok().and_then(|text| port_range_size(&text));
    feasible(sessions, processes, open_files, source_addresses, ports, can_spread)
}

/// A server started here (or named by `--server-pid`) must hold every
/// session too; one reached only by URL is not checked.
pub fn target(target: &Target, sessions: usize) -> anyhow::Result<()> {
    target.pid.map_or(Ok(()), |pid| server(pid, sessions))
}

/// The server `pid` must hold every session too.
pub fn server(pid: u32, sessions: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok();
    if let Some(limit) = limits.as_deref().and_then(open_file_limit) {
        let needed = sessions as u64 + SERVER_SPARE_FILES;
        anyhow::ensure!(
            needed <= limit,
            "the server (pid {pid}) may open {limit} files (its ulimit -n), and {sessions} sessions need {needed}: \
             raise its limit, or spread the sessions over a cluster's nodes"
        );
    }
    Ok(())
}

/// Fails, saying what to change, when a process would need more sockets than
/// its open-file limit (`None`: unknown), or the source addresses more
/// ephemeral ports than they have (`ports` each; `None`: unknown).
fn feasible(
    sessions: usize,
    processes: usize,
    open_files: Option<u64>,
    source_addresses: u8,
    ports: Option<u64>,
    can_spread: bool,
) -> anyhow::Result<()> {
    let sessions = sessions as u64;
    if let Some(limit) = open_files {
        let each = sessions.div_ceil(processes.max(1) as u64) + SPARE_FILES;
        if each > limit {
            let needed = sessions.div_ceil(limit.saturating_sub(SPARE_FILES).max(1));
            let fix = if can_spread {
                format!("use --processes {needed} or more")
            } else {
                "this scenario holds every session in one process: raise ulimit -n, or use fewer sessions".to_owned()
            };
            bail!(
                "{sessions} sessions in {processes} client process(es) need {each} open files each, \
                 above the open-file limit of {limit} (ulimit -n): {fix}"
            );
        }
    }
    if let Some(ports) = ports {
        let addresses = u64::from(source_addresses.max(1));
        if sessions > addresses * ports {
            let needed = sessions.div_ceil(ports.max(1));
            bail!(
                "{sessions} sessions need more than the {} ephemeral ports of {addresses} source address(es) \
                 ({ports} each, {PORT_RANGE}): use --source-addresses {needed} or more",
                addresses * ports
            );
        }
    }
    Ok(())
}

/// The soft limit on open files in a `/proc/<pid>/limits`.
fn open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// `32768\t60999` → 28,232 ports.
fn port_range_size(text: &str) -> Option<u64> {
    let mut bounds = text.split_whitespace().map(|n| n.parse::<u64>());
    let (low, high) = (bounds.next()?.ok()?, bounds.next()?.ok()?);
    (high >= low).then(|| high - low + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasibility_names_the_flag_to_raise() {
        let ports = Some(28_232);
        assert!(feasible(19_000, 2, Some(20_000), 1, ports, true).is_ok());
        assert!(feasible(19_950, 1, Some(20_000), 1, None, true).is_err());
        let error = feasible(50_000, 1, Some(20_000), 2, ports, true).unwrap_err().to_string();
        assert!(error.contains("--processes 3"), "{error}");
        let error = feasible(60_000, 4, Some(20_000), 2, ports, true).unwrap_err().to_string();
        assert!(error.contains("--source-addresses 3"), "{error}");
        assert!(feasible(60_000, 4, Some(20_000), 3, ports, true).is_ok());
        assert!(feasible(1_000_000, 1, None, 1, None, true).is_ok());
        let error = feasible(25_000, 1, Some(20_000), 1, ports, false).unwrap_err().to_string();
        assert!(error.contains("raise ulimit -n") && !error.contains("--processes"), "{error}");
    }

    #[test]
    fn reads_the_open_file_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             95360                95360                processes\n\
                      Max open files            20000                20000                files\n";
        assert_eq!(open_file_limit(limits), Some(20_000));
        assert_eq!(open_file_limit("Max open files            unlimited            unlimited            files"), None);
        assert_eq!(open_file_limit(""), None);
    }

    #[test]
    fn reads_the_port_range() {
        assert_eq!(port_range_size("32768\t60999\n"), Some(28_232));
        assert_eq!(port_range_size("1024 1024"), Some(1));
        assert_eq!(port_range_size("60999 32768"), None);
        assert_eq!(port_range_size(""), None);
    }
}
