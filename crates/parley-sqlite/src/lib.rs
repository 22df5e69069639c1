//! parley-sqlite
