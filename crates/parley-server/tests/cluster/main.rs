//! Cluster mode for real: `parley` processes over the PostgreSQL and Kafka of
//! `scripts/services`, each test on a scratch database and Kafka topics of its
//! own, checked with parley-bench's delivery checker.

mod changes;
mod client;
mod faults;
mod harness;
mod load;
mod names;
mod order;
mod outages;
mod presence;
mod webhooks;
