//! Cluster mode for real: `parley` processes over the PostgreSQL and Kafka of
//! `scripts/services`, each test on a scratch database and Kafka topics of its
//! own, checked with parley-bench's delivery checker.

mod harness;
mod order;
mod outages;
