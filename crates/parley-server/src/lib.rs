//! parley-server
