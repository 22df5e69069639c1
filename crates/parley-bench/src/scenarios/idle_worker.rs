//! Who holds `idle`'s sessions: this process, or children of this binary
//! (the hidden `idle-worker` command), so that N can pass one process's
//! open-file limit.
//!
//! A child talks one line at a time. The parent writes `{"tokens": [...]}`,
//! then `open K`; the child opens K more sessions and answers `opened TOTAL`
//! or `error MESSAGE`. At EOF on stdin the child drops its sockets and exits 0,
//! so a parent that dies (even by SIGKILL) takes its children's sessions with it.
//!
//! Every held session is read by a task of its own, which answers the
//! server's pings: the server closes a socket silent for 40 s, and a step
//! whose sessions were closed under it would measure nothing. A session
//! that ends fails the next step.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures::{future, stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::task::JoinHandle;

use crate::load::client::{self, Ws};
use crate::load::procstat::Proc;
use crate::load::source_address;

/// How a process opens its sessions; the arguments of `idle-worker`.
#[derive(Debug, Clone, Args)]
pub struct IdleWorkerArgs {
    /// The server's WebSocket URL.
    #[arg(long)]
    pub ws_url: String,
    /// The server's address (the URL's host and port, resolved).
    #[arg(long)]
    pub server: SocketAddr,
    /// Sessions connecting and saying hello at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Spread the client sockets over 127.0.0.1 ..= 127.0.0.K.
    #[arg(long, default_value_t = 1)]
    pub source_addresses: u8,
    /// The global index of this process's first session: source addresses
    /// spread by global index, as if one process held them all.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
}

/// The first line a child reads: its session `j` says hello with `tokens[j % len]`.
#[derive(Serialize, Deserialize)]
struct Setup {
    tokens: Vec<String>,
}

/// Sessions open in this process, the next one being global session `offset + len`.
pub struct Sessions {
    dial: IdleWorkerArgs,
    tokens: Vec<String>,
    /// The task reading each session, in the order they opened.
    open: Vec<JoinHandle<()>>,
    /// Sessions that ended (closed by the server, or broken).
    ended: Arc<AtomicUsize>,
}

impl Sessions {
    pub fn new(dial: IdleWorkerArgs, tokens: Vec<String>) -> Sessions {
        Sessions { dial, tokens, open: Vec::new(), ended: Arc::default() }
    }

    /// Opens `k` more (connect, `hello`, `ready`), `connect_concurrency` at a
    /// time; returns how many are open. Fails if any session has ended.
    pub async fn open(&mut self, k: usize) -> anyhow::Result<usize> {
        let Sessions { dial, tokens, open, ended } = self;
        anyhow::ensure!(k == 0 || !tokens.is_empty(), "no token to say hello with");
        let first = open.len();
        let opened: Vec<anyhow::Result<Ws>> = stream::iter(first..first + k)
            .map(|j| {
                let token = tokens[j % tokens.len()].clone();
                let source = source_address(dial.source_addresses, dial.offset + j);
                let (addr, url) = (dial.server, dial.ws_url.as_str());
                async move {
                    let mut ws = client::connect(addr, url, source).await?;
                    client::hello(&mut ws, Some(token), None).await?;
                    Ok(ws)
                }
            })
            .buffer_unordered(dial.connect_concurrency.max(1))
            .collect()
            .await;
        let (mut failed, mut first_error) = (0usize, None);
        for result in opened {
            match result {
                Ok(ws) => open.push(tokio::spawn(keep(ws, ended.clone()))),
                Err(error) => {
                    failed += 1;
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error.context(format!("{failed} of {k} idle sessions did not open")));
        }
        match ended.load(Relaxed) {
            0 => Ok(open.len()),
            gone => bail!("{gone} of {} idle sessions ended while held", open.len()),
        }
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        for task in &self.open {
            task.abort();
        }
    }
}

/// Reads `ws` until it ends — reading is what answers the server's pings —
/// and counts the end.
async fn keep(mut ws: Ws, ended: Arc<AtomicUsize>) {
    while let Some(Ok(_)) = ws.next().await {}
    ended.fetch_add(1, Relaxed);
}

/// The `idle-worker` command: holds sessions for the parent on the other end of stdin.
pub async fn run(args: IdleWorkerArgs) -> anyhow::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let setup = lines.next_line().await?.context("no setup line on stdin")?;
    let setup: Setup = serde_json::from_str(&setup).context("reading the setup line")?;
    let mut sessions = Sessions::new(args, setup.tokens);
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        let answer = match line.strip_prefix("open ").map(|k| k.trim().parse::<usize>()) {
            Some(Ok(k)) => match sessions.open(k).await {
                Ok(total) => format!("opened {total}\n"),
                Err(error) => format!("error {}\n", format!("{error:#}").replace('\n', " ")),
            },
            _ => format!("error unknown command: {line}\n"),
        };
        stdout.write_all(answer.as_bytes()).await?;
        stdout.flush().await?;
    }
    Ok(())
}

/// A child's answer to `open K`: the sessions it holds, or its error.
fn parse_answer(line: &str) -> anyhow::Result<usize> {
    if let Some(total) = line.strip_prefix("opened ") {
        return total.trim().parse().with_context(|| format!("a garbled answer: {line}"));
    }
    match line.strip_prefix("error ") {
        Some(message) => bail!("{message}"),
        None => bail!("an unexpected answer: {line}"),
    }
}

/// One child, seen from the parent.
pub struct Worker {
    child: Child,
    pid: u32,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    open: usize,
}

impl Worker {
    /// Starts `idle-worker` and sends it its tokens. It is killed if dropped,
    /// so an error in the parent leaves no sessions behind; its stderr is ours.
    async fn start(dial: &IdleWorkerArgs, tokens: Vec<String>) -> anyhow::Result<Worker> {
        let exe = std::env::current_exe().context("finding this binary")?;
        let mut child = tokio::process::Command::new(exe)
            .arg("idle-worker")
            .args(["--ws-url", &dial.ws_url, "--server", &dial.server.to_string()])
            .args(["--connect-concurrency", &dial.connect_concurrency.to_string()])
            .args(["--source-addresses", &dial.source_addresses.to_string()])
            .args(["--offset", &dial.offset.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting an idle worker")?;
        let pid = child.id().context("the idle worker's pid")?;
        let mut stdin = child.stdin.take().context("the idle worker's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the idle worker's stdout")?).lines();
        let mut setup = serde_json::to_string(&Setup { tokens })?;
        setup.push('\n');
        stdin.write_all(setup.as_bytes()).await.with_context(|| format!("sending idle worker {pid} its tokens"))?;
        Ok(Worker { child, pid, stdin, stdout, open: 0 })
    }

    async fn open(&mut self, k: usize) -> anyhow::Result<()> {
        let pid = self.pid;
        let answer = match self.ask(&format!("open {k}\n")).await {
            Ok(Some(answer)) => answer,
            Ok(None) => bail!("idle worker {pid} ended without answering ({})", self.exit().await),
            Err(error) => bail!("idle worker {pid} is gone: {error} ({})", self.exit().await),
        };
        let total = parse_answer(&answer).with_context(|| format!("idle worker {pid}"))?;
        anyhow::ensure!(total == self.open + k, "idle worker {pid} holds {total} sessions, not {}", self.open + k);
        self.open = total;
        Ok(())
    }

    /// Writes `line` and reads the answer; `None` when the child closed its stdout.
    async fn ask(&mut self, line: &str) -> std::io::Result<Option<String>> {
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        self.stdout.next_line().await
    }

    /// How a child that stopped answering ended, given a few seconds to.
    async fn exit(&mut self) -> String {
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(error)) => format!("its exit unknown: {error}"),
            Err(_) => "still running".to_owned(),
        }
    }

    /// Closes its stdin, so it drops its sockets, and waits `within` for it to exit.
    async fn close(self, within: Duration) {
        let Worker { mut child, pid, stdin, .. } = self;
        drop(stdin);
        match tokio::time::timeout(within, child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(status) => eprintln!("idle worker {pid} exited badly: {status:?}"),
            Err(_) => {
                eprintln!("idle worker {pid} did not exit within {} s: killing it", within.as_secs());
                let _ = child.kill().await;
            }
        }
    }
}

/// Where the sessions live: one code path opens them in steps, either way.
pub enum Holder {
    /// One process: this one.
    Here(Sessions),
    /// Several: child `c` holds a contiguous range of the global sessions.
    Children(Vec<Worker>),
}

impl Holder {
    /// Ready to open `sessions` over `processes`, saying hello with the
    /// tokens round robin (global session `i` uses `tokens[i % len]`).
    pub async fn start(
        dial: IdleWorkerArgs,
        tokens: &[String],
        sessions: usize,
        processes: usize,
    ) -> anyhow::Result<Holder> {
        if processes <= 1 {
            return Ok(Holder::Here(Sessions::new(dial, tokens.to_vec())));
        }
        let mut workers = Vec::with_capacity(processes);
        let mut offset = 0;
        for count in split(sessions, processes) {
            let dial = IdleWorkerArgs { offset, ..dial.clone() };
            workers.push(Worker::start(&dial, rotation(tokens, offset, count)).await?);
            offset += count;
        }
        Ok(Holder::Children(workers))
    }

    /// Opens `k` more sessions; children open their shares at once.
    pub async fn open(&mut self, k: usize) -> anyhow::Result<()> {
        match self {
            Holder::Here(sessions) => sessions.open(k).await.map(drop),
            Holder::Children(workers) => {
                let open: usize = workers.iter().map(|w| w.open).sum();
                let shares = shares(open, open + k, workers.len());
                future::try_join_all(workers.iter_mut().zip(shares).map(|(w, share)| w.open(share))).await?;
                Ok(())
            }
        }
    }

    /// The RSS of the processes holding the sessions, summed.
    pub fn client_rss_kib(&self) -> u64 {
        let rss = |p: Proc| p.sample().map_or(0, |s| s.rss_kib);
        match self {
            Holder::Here(_) => rss(Proc::Myself),
            Holder::Children(workers) => workers.iter().map(|w| rss(Proc::Pid(w.pid))).sum(),
        }
    }

    /// Drops every session; children are given a few seconds to exit.
    pub async fn close(self) {
        if let Holder::Children(workers) = self {
            future::join_all(workers.into_iter().map(|w| w.close(Duration::from_secs(30)))).await;
        }
    }
}

/// `n` over `parts` as evenly as possible, the first ones taking one more.
fn split(n: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts).map(|c| n / parts + usize::from(c < n % parts)).collect()
}

/// Each part's share of going from `from` to `to` sessions in all: the
/// difference of the two even splits, so every step is as even as it can be
/// and the totals end at `split(to, parts)`, the children's ranges.
fn shares(from: usize, to: usize, parts: usize) -> Vec<usize> {
    split(to, parts).into_iter().zip(split(from, parts)).map(|(after, before)| after - before).collect()
}

/// The tokens of global sessions `offset ..`, so that local session `j`
/// uses `tokens[(offset + j) % len]`: no more than `count` of them.
fn rotation(tokens: &[String], offset: usize, count: usize) -> Vec<String> {
    (offset..offset + count.min(tokens.len())).map(|i| tokens[i % tokens.len()].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_evenly_with_the_remainder_first() {
        assert_eq!(split(200, 2), [100, 100]);
        assert_eq!(split(10, 3), [4, 3, 3]);
        assert_eq!(split(2, 3), [1, 1, 0]);
        assert_eq!(split(5, 0), [5]);
    }

    #[test]
    fn every_step_is_shared_evenly_and_ends_at_the_ranges() {
        for (steps, processes) in [(&[0, 3, 6, 10][..], 3), (&[0, 100, 200][..], 2), (&[0, 1, 2, 5, 7][..], 4)] {
            let mut held = vec![0; processes];
            for pair in steps.windows(2) {
                let share = shares(pair[0], pair[1], processes);
                assert_eq!(share.iter().sum::<usize>(), pair[1] - pair[0]);
                assert!(share.iter().max().unwrap() - share.iter().min().unwrap() <= 1, "{share:?}");
                held.iter_mut().zip(&share).for_each(|(h, s)| *h += s);
            }
            assert_eq!(held, split(*steps.last().unwrap(), processes));
        }
    }

    #[test]
    fn a_rotation_gives_each_local_session_its_global_token() {
        let tokens: Vec<String> = ["a", "b", "c"].map(String::from).into();
        let (offset, count) = (2, 5);
        let local = rotation(&tokens, offset, count);
        for j in 0..count {
            assert_eq!(local[j % local.len()], tokens[(offset + j) % tokens.len()]);
        }
        assert_eq!(rotation(&tokens, 4, 2), ["b", "c"]);
    }

    #[test]
    fn reads_the_answers() {
        assert_eq!(parse_answer("opened 100").unwrap(), 100);
        assert_eq!(parse_answer("error connecting: refused").unwrap_err().to_string(), "connecting: refused");
        assert!(parse_answer("hello").is_err());
        assert!(parse_answer("opened many").is_err());
    }
}
