//! Who a request comes from: its peer's address, or, when the peer is a
//! trusted proxy (`--trusted-proxy`), the client that proxy names in
//! `X-Forwarded-For`. A header from anyone else is ignored: a client could
//! write any address there.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use serde::Deserialize;

use crate::state::AppState;

/// The client's address; `None` when the request came without a peer
/// (a router driven in a test without a socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
        Ok(ClientAddr(peer.map(|peer| client_of(peer, &parts.headers, &state.config.trusted_proxies))))
    }
}

/// A trusted proxy (`--trusted-proxy`): one address (`10.0.0.1`), or a
/// network its addresses come from (`10.0.0.0/8`), as a pool of load
/// balancers may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrustedProxy(IpNet);

impl TrustedProxy {
    /// Whether `ip` (in canonical form: IPv4 rather than IPv4-mapped IPv6) is this proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl From<IpAddr> for TrustedProxy {
    fn from(ip: IpAddr) -> Self {
        TrustedProxy(IpNet::from(ip.to_canonical()))
    }
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.parse::<IpNet>() {
            // `10.1.2.3/8` is taken as the network it names.
            Ok(net) => Ok(TrustedProxy(net.trunc())),
            Err(_) => s
                .parse::<IpAddr>()
                .map(TrustedProxy::from)
                .map_err(|_| format!("{s:?} is neither an IP address nor a network such as 10.0.0.0/8")),
        }
    }
}

impl TryFrom<String> for TrustedProxy {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The rightmost address of `X-Forwarded-For` that is not a trusted proxy
/// (each proxy appends the peer it saw; what a client wrote itself is
/// further left), if `peer` is trusted; otherwise `peer`. An entry that is
/// not an address stops the walk at the last proxy that wrote one.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// `203.0.113.7`, `2001:db8::1`, or either with a port (`[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7"));
        let proxy = [ip("10.0.0.1").into()];
        assert_eq!(client_of(ip("198.51.100.2"), &headers, &proxy), ip("198.51.100.2"), "not a proxy");
        assert_eq!(client_of(ip("10.0.0.1"), &headers, &proxy), ip("203.0.113.7"), "the rightmost, not 6.6.6.6");
        assert_eq!(client_of(ip("10.0.0.1"), &HeaderMap::new(), &proxy), ip("10.0.0.1"), "no header");

        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        let proxies = [ip("10.0.0.1").into(), ip("10.0.0.2").into()];
        assert_eq!(client_of(ip("10.0.0.1"), &headers, &proxies), ip("203.0.113.7"), "through two proxies");

        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7, junk"));
        assert_eq!(client_of(ip("10.0.0.1"), &headers, &proxy), ip("10.0.0.1"), "junk names nobody");
        assert_eq!(client_of(ip("::ffff:10.0.0.1"), &HeaderMap::new(), &proxy), ip("10.0.0.1"), "v4 in v6");
    }

    #[test]
    fn a_trusted_proxy_is_an_address_or_a_network() {
        let parse = |s: &str| s.parse::<TrustedProxy>();
        let pool = [parse("10.0.0.0/8").unwrap(), parse("fd00::/8").unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7, 10.9.8.7"));
        assert_eq!(client_of(ip("10.1.2.3"), &headers, &pool), ip("203.0.113.7"), "through two of the pool");
        assert_eq!(client_of(ip("fd12::1"), &headers, &pool), ip("203.0.113.7"));
        assert_eq!(client_of(ip("11.0.0.1"), &headers, &pool), ip("11.0.0.1"), "outside the network");
        assert_eq!(parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse(" ::ffff:127.0.0.1 ").unwrap().to_string(), "127.0.0.1/32");
        assert!(parse("10.0.0.0/33").is_err() && parse("proxy.example").is_err());
    }
}
