//! Faults under steady load: a processor killed, a node killed, PostgreSQL
//! restarted. Whatever fails, the delivery checker must find nothing
//! acknowledged lost, nothing doubled, nothing out of order, nothing missed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;
use parley_testkit::process::ParleyProcess;
use parley_testkit::services::{control, ThreeBrokers};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::client::{open, Client};
use crate::harness::{check_all, Cluster, Person};
use crate::load::{settle, Load};

/// Sends per second per client.
const PER_SECOND: u32 = 20;
/// How long the load lasts, and when in it the fault comes.
const LASTING: Duration = Duration::from_secs(10);
const FAULT_AT: Duration = Duration::from_secs(4);
/// How long the cluster may take to store and deliver everything afterwards:
/// a killed processor's partitions wait out the group's session timeout (10 s).
const SETTLE_WITHIN: Duration = Duration::from_secs(45);

/// Two processors in one group, people on a gateway node; the processor that
/// is storing is killed with SIGKILL mid-load. Its partitions move to the
/// other once the group's session times out, which stores what was accepted
/// meanwhile: every acknowledged message stored once, delivered to everyone, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_processor_killed_under_load_hands_its_partitions_over() {
    let cluster = Cluster::new().await;
    let gateway = cluster.node("gateway");
    let mut processors = vec![cluster.node("processor"), cluster.node("processor")];
    let people = register(&cluster, &gateway, &["alice", "bob", "carol"]).await;
    let rooms = cluster.rooms(&gateway, &people, 4).await;
    let after_joins = people.len() as i64 + 1;
    let load = Load::new(&rooms, PER_SECOND, LASTING);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for person in &people {
        let client = Client::connect_following(&gateway, person, &rooms, after_joins).await;
        tasks.push(load.spawn(client, vec![gateway.addr]));
    }

    // Kill the processor that stored the most in the last second: it owns
    // partitions that carry load right now.
    tokio::time::sleep_until((started + FAULT_AT - Duration::from_secs(1)).into()).await;
    let before = [cluster.stored_messages(&processors[0]).await, cluster.stored_messages(&processors[1]).await];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let now = [cluster.stored_messages(&processors[0]).await, cluster.stored_messages(&processors[1]).await];
    let victim = usize::from(now[1] - before[1] > now[0] - before[0]);
    assert!(now[victim] > before[victim], "a processor stores under load: {before:?} then {now:?}");
    processors.swap_remove(victim).kill();
    let killed_at = started.elapsed();
    let survivor = &processors[0];
    let survivor_at_kill = cluster.stored_messages(survivor).await;

    let mut clients = joined(tasks).await;
    settle(&cluster, &gateway, &people[0], &mut clients, &rooms, &[gateway.addr], SETTLE_WITHIN).await;
    let settled_at = started.elapsed();
    let report = check_all(&cluster, &gateway, &people[0], &clients.iter().collect::<Vec<_>>(), &strs(&rooms)).await;
    let survivor_after = cluster.stored_messages(survivor).await;
    eprintln!(
        "processor kill: stored {before:?} → {now:?} (killed #{victim} at {killed_at:?}); the survivor stored \
         {survivor_at_kill} → {survivor_after}; settled at {settled_at:?}\n{report}"
    );
    assert!(report.is_clean(), "{report}");
    let sent: usize = clients.iter().map(|c| c.answers.len()).sum();
    for client in &clients {
        assert_eq!((client.unknown, &client.refused), (0, &Default::default()), "{}: all acked", client.who.name);
        assert_eq!(client.accepted, client.answers.len(), "{}: every ack says `accepted`", client.who.name);
    }
    assert_eq!((report.acked, report.log_events), (sent, sent + rooms.len() * people.len()));
    assert!(survivor_after > survivor_at_kill, "the survivor took over");
}

/// Two `all` nodes with people on both; one is killed with SIGKILL under load,
/// right after a burst of sends it has not all answered. Its people reconnect
/// through the other node and resume; the unanswered sends are `unknown`, and
/// are sent again with the same `client_msg_id`: nothing lost, nothing doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_nothing_and_its_people_resume_on_the_other() {
    let cluster = Cluster::new().await;
    let mut nodes = vec![cluster.node("all"), cluster.node("all")];
    let people = register(&cluster, &nodes[0], &["alice", "bob", "carol", "dave", "erin"]).await;
    let rooms = cluster.rooms(&nodes[0], &people, 3).await;
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let after_joins = people.len() as i64 + 1;
    let load = Load::new(&rooms, PER_SECOND, LASTING);
    let started = Instant::now();
    let mut tasks = Vec::new();
    // alice and bob on the node that dies, carol and dave on the other.
    for (i, person) in people[..4].iter().enumerate() {
        let home = i / 2;
        let client = Client::connect_following(&nodes[home], person, &rooms, after_joins).await;
        tasks.push(load.spawn(client, vec![addrs[home], addrs[1 - home]]));
    }
    // erin, on the node that dies, sends two bursts and reads nothing: the
    // first has 50 ms to reach the command log (its answers may or may not
    // reach her before the connection resets), the second is unanswered at the kill.
    let mut erin = Client::connect_following(&nodes[0], &people[4], &rooms, after_joins).await;

    tokio::time::sleep_until((started + FAULT_AT).into()).await;
    for i in 0..20 {
        if i == 10 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        erin.send(&rooms[i % rooms.len()], &format!("erin-{i}"), &format!("erin bursts {i}")).await;
    }
    nodes.remove(0).kill();
    let killed_at = started.elapsed();
    let survivor = &nodes[0];

    let mut clients = joined(tasks).await;
    clients.push(erin);
    settle(&cluster, survivor, &people[0], &mut clients, &rooms, &[survivor.addr], SETTLE_WITHIN).await;
    let settled_at = started.elapsed();
    let report = check_all(&cluster, survivor, &people[0], &clients.iter().collect::<Vec<_>>(), &strs(&rooms)).await;
    eprintln!("node kill at {killed_at:?}, settled at {settled_at:?}");
    for client in &clients {
        eprintln!(
            "  {}: conn {}, {} answers, {} unknown then sent again, refused {:?}, closes {:?}",
            client.who.name,
            client.conn,
            client.answers.len(),
            client.unknown,
            client.refused,
            client.closes
        );
    }
    eprintln!("{report}");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.unknown, 0, "every unknown send was sent again and answered");
    let erin = &clients[4];
    assert!(erin.unknown > 0, "the burst was in flight at the kill");
    for client in &clients {
        assert!(client.refused.is_empty(), "{}: refused {:?}", client.who.name, client.refused);
        let moved = ["alice", "bob", "erin"].contains(&client.who.name.as_str());
        assert_eq!(client.conn > 1, moved, "{}: only the killed node's people reconnect", client.who.name);
    }
}

/// PostgreSQL restarted under load: a send is acked `accepted` (the command
/// log holds it) or refused `unavailable`, never anything else; nothing
/// acknowledged is lost, and service comes back by itself — acks again after
/// the restart, and every acknowledged message stored and delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_load_loses_nothing_and_service_returns() {
    let cluster = Cluster::alone().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let people = register(&cluster, &nodes[0], &["alice", "bob", "carol"]).await;
    let rooms = cluster.rooms(&nodes[0], &people, 3).await;
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let after_joins = people.len() as i64 + 1;
    let load = Load::new(&rooms, PER_SECOND, LASTING);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, person) in people.iter().enumerate() {
        let home = i % 2;
        let client = Client::connect_following(&nodes[home], person, &rooms, after_joins).await;
        tasks.push(load.spawn(client, vec![addrs[home], addrs[1 - home]]));
    }

    tokio::time::sleep_until((started + FAULT_AT).into()).await;
    let down = Instant::now();
    let restart = tokio::task::spawn_blocking(|| control(&["restart-postgres"]));
    // Meanwhile people come back: nobody is told to sign in again.
    let hellos = hellos_while(addrs[0], &people[0], &restart).await;
    restart.await.unwrap();
    let up = Instant::now();
    eprintln!("hellos during the restart: {hellos:?}");
    assert!(hellos.keys().all(|said| !said.contains("4001")), "a store outage is not a sign-out: {hellos:?}");

    let mut clients = joined(tasks).await;
    settle(&cluster, &nodes[0], &people[0], &mut clients, &rooms, &addrs, SETTLE_WITHIN).await;
    let settled_at = started.elapsed();
    let report = check_all(&cluster, &nodes[0], &people[0], &clients.iter().collect::<Vec<_>>(), &strs(&rooms)).await;
    eprintln!("postgres restart from {:?} to {:?}, settled at {settled_at:?}", down - started, up - started);
    for client in &clients {
        let during = client.answers.iter().filter(|(at, _)| (down..up).contains(at));
        let (acked, refused) = during.fold((0, 0), |(a, r), (_, ok)| if *ok { (a + 1, r) } else { (a, r + 1) });
        let stall = client.answers.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap_or_default();
        eprintln!(
            "  {}: {} answers ({acked} acked, {refused} refused during the restart; longest wait between two \
             {stall:?}), refused {:?}, {} unknown, conn {}, closes {:?}, refused hellos {:?}",
            client.who.name,
            client.answers.len(),
            client.refused,
            client.unknown,
            client.conn,
            client.closes,
            client.hello_refusals
        );
    }
    eprintln!("{report}");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.unknown, 0, "every unknown send was sent again and answered");
    for client in &clients {
        assert!(client.refused.keys().all(|code| code == "unavailable"), "{}: {:?}", client.who.name, client.refused);
        let acked_after = client.answers.iter().any(|(at, ok)| *ok && *at > up);
        assert!(acked_after, "{}: sends are acked again after the restart", client.who.name);
    }
}

/// Says hello to `addr` as `who`, four at a time, until `restart` is over;
/// what each hello got, counted.
async fn hellos_while<T>(addr: SocketAddr, who: &Person, restart: &JoinHandle<T>) -> BTreeMap<String, usize> {
    let hello = json!({"type": "hello", "token": who.token, "resume": {}});
    let mut said = BTreeMap::new();
    while !restart.is_finished() {
        let tries = (0..4).map(|_| tokio::time::timeout(Duration::from_secs(15), open(addr, &hello)));
        for answer in join_all(tries).await {
            let answer = match answer {
                Ok(Ok(_)) => "ready".to_owned(),
                Ok(Err(why)) => why,
                Err(_) => "nothing in 15 s".into(),
            };
            *said.entry(answer).or_default() += 1;
        }
    }
    said
}

/// Three brokers, topics replicated three times with `min.insync.replicas=2`:
/// a broker killed with SIGKILL under load loses nothing acknowledged. Sends
/// wait, or are refused `unavailable`, while the dead broker is still in
/// sync replica sets; none acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_killed_under_load_loses_nothing_acknowledged() {
    let kafka = ThreeBrokers::get();
    let cluster = Cluster::new().await.on_kafka(&kafka.brokers, 3);
    let nodes = [cluster.node("all"), cluster.node("all")];
    let people = register(&cluster, &nodes[0], &["alice", "bob", "carol"]).await;
    let rooms = cluster.rooms(&nodes[0], &people, 4).await;
    let after_joins = people.len() as i64 + 1;
    let load = Load::new(&rooms, PER_SECOND, LASTING);
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, person) in people.iter().enumerate() {
        let node = &nodes[i % nodes.len()];
        let client = Client::connect_following(node, person, &rooms, after_joins).await;
        tasks.push(load.spawn(client, addrs.clone()));
    }
    tokio::time::sleep_until((started + FAULT_AT).into()).await;
    kafka.kill(2);
    let mut clients = joined(tasks).await;
    settle(&cluster, &nodes[0], &people[0], &mut clients, &rooms, &addrs, SETTLE_WITHIN).await;
    let settled_at = started.elapsed();
    let report = check_all(&cluster, &nodes[0], &people[0], &clients.iter().collect::<Vec<_>>(), &strs(&rooms)).await;
    kafka.start(2);
    let refused: Vec<_> = clients.iter().map(|c| (&c.who.name, &c.refused)).collect();
    eprintln!("broker kill: settled at {settled_at:?}; refused {refused:?}\n{report}");
    assert!(report.is_clean(), "{report}");
    assert!(report.acked > 0);
    for client in &clients {
        // Until the controller fences the dead broker, `acks=all` waits for
        // it: sends time out and are refused, honestly, never lost.
        assert!(client.refused.keys().all(|code| code == "unavailable"), "{}: {:?}", client.who.name, client.refused);
    }
}

async fn register(cluster: &Cluster, node: &ParleyProcess, names: &[&str]) -> Vec<Person> {
    let mut people = Vec::new();
    for name in names {
        people.push(cluster.register(node, name).await);
    }
    people
}

async fn joined(tasks: Vec<JoinHandle<Client>>) -> Vec<Client> {
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.expect("the client's task"));
    }
    clients
}

fn strs(rooms: &[String]) -> Vec<&str> {
    rooms.iter().map(String::as_str).collect()
}
