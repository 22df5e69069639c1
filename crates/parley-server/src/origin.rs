//! Which web origins may use the session cookie: the server's own (its
//! `--public-url`, else the listen address's) and the `--allowed-origin`s.
//! `Host` is never consulted: a client chooses it, so it proves nothing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// `http` or `https`: nothing else serves a browser page that can call Parley.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A web origin, `scheme://host[:port]`, as browsers send it in `Origin`:
/// no path (not even `/`), no user, query or fragment. The host is kept in
/// lowercase and the port always known, so two origins compare field by
/// field (`https://a.example` is `https://a.example:443`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: Scheme,
    host: String,
    port: u16,
}

impl Origin {
    pub fn new(scheme: Scheme, host: &str, port: u16) -> Origin {
        Origin { scheme, host: host.to_ascii_lowercase(), port }
    }

    /// The origin a client reaches `addr` by, for an IP address.
    fn of_ip(scheme: Scheme, ip: IpAddr, port: u16) -> Origin {
        let host = match ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        Origin::new(scheme, &host, port)
    }

    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }
}

impl FromStr for Origin {
    type Err = String;

    /// Exactly an origin: `Origin: http://a.example/` (a trailing slash) or
    /// `http://a.example/x` is not one, and is refused rather than trimmed.
    fn from_str(s: &str) -> Result<Origin, String> {
        let bad = |why: &str| format!("{s:?} is not an origin (scheme://host[:port]): {why}");
        let (scheme, authority) = match s.split_once("://") {
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            _ => return Err(bad("the scheme must be http or https")),
        };
        if authority.contains(['/', '?', '#', '@', '\\']) || authority.chars().any(|c| c.is_whitespace()) {
            return Err(bad("nothing may follow the host and port"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(rest) => {
                let (inside, after) = rest.split_once(']').ok_or_else(|| bad("an unclosed [IPv6 address]"))?;
                let ip: Ipv6Addr = inside.parse().map_err(|_| bad("not an IPv6 address"))?;
                let port = match after {
                    "" => None,
                    _ => Some(after.strip_prefix(':').ok_or_else(|| bad("nothing may follow the host and port"))?),
                };
                (format!("[{ip}]"), port)
            }
            None => {
                let (host, port) = match authority.split_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (authority, None),
                };
                if host.is_empty() || host.contains(':') {
                    return Err(bad("no host"));
                }
                (host.to_owned(), port)
            }
        };
        let port = match port {
            None => scheme.default_port(),
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().map_err(|_| bad("the port is out of range"))?
            }
            Some(_) => return Err(bad("the port is not a number")),
        };
        Ok(Origin::new(scheme, &host, port))
    }
}

impl fmt::Display for Origin {
    /// The browser's form: the default port left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// `--public-url` or an `--allowed-origin`, as configured. A single
/// trailing `/` is accepted here (it is how URLs are written, and the
/// setting is the operator's, not a client's); a path is not, since Parley
/// is served at the root of its origin.
pub fn parse_setting(raw: &str) -> Result<Origin, String> {
    let raw = raw.trim();
    raw.strip_suffix('/').unwrap_or(raw).parse()
}

/// The origins whose requests may use the session cookie.
#[derive(Debug, Clone)]
pub struct Origins {
    own: Vec<Origin>,
    allowed: Vec<Origin>,
}

impl Origins {
    /// The public URL alone, if set; otherwise what the bound address is
    /// reached by over plain http ([`Origins::of_listen_address`]).
    pub fn new(public_url: Option<&Origin>, bound: SocketAddr, allowed: &[Origin]) -> Origins {
        let own = match public_url {
            Some(url) => vec![url.clone()],
            None => Origins::of_listen_address(bound),
        };
        Origins { own, allowed: allowed.to_vec() }
    }

    /// `http://<ip>:<port>` of the listen address. A loopback address is
    /// also `localhost`; an unspecified one (`0.0.0.0`, `[::]`) is taken as
    /// reached from this machine only (`localhost`, `127.0.0.1`, and for
    /// `[::]` also `[::1]`): from elsewhere its name is not known here, and
    /// `--public-url` says it.
    pub fn of_listen_address(bound: SocketAddr) -> Vec<Origin> {
        let (ip, port) = (bound.ip(), bound.port());
        let http = |ip: IpAddr| Origin::of_ip(Scheme::Http, ip, port);
        let localhost = Origin::new(Scheme::Http, "localhost", port);
        match ip {
            IpAddr::V4(v4) if v4.is_unspecified() => vec![http(Ipv4Addr::LOCALHOST.into()), localhost],
            IpAddr::V6(v6) if v6.is_unspecified() => {
                vec![http(Ipv4Addr::LOCALHOST.into()), http(Ipv6Addr::LOCALHOST.into()), localhost]
            }
            ip if ip.is_loopback() => vec![http(ip), localhost],
            ip => vec![http(ip)],
        }
    }

    /// The server's own origins (the public URL, or the listen address's).
    pub fn own(&self) -> &[Origin] {
        &self.own
    }

    /// Whether `Origin: <header>` is one of ours or an allowed one, exactly.
    pub fn allows(&self, header: &str) -> bool {
        match header.parse::<Origin>() {
            Ok(origin) => self.own.iter().chain(&self.allowed).any(|o| *o == origin),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        s.parse().unwrap()
    }

    #[test]
    fn origins_parse_exactly() {
        assert_eq!(origin("https://Chat.Example.com"), Origin::new(Scheme::Https, "chat.example.com", 443));
        assert_eq!(origin("https://chat.example.com:443"), origin("https://chat.example.com"));
        assert_eq!(origin("http://[::1]:8080"), Origin::new(Scheme::Http, "[::1]", 8080));
        assert_eq!(origin("http://[::1]").to_string(), "http://[::1]");
        assert_eq!(origin("https://a.example:8443").to_string(), "https://a.example:8443");
        for bad in [
            "http://a.example/",
            "http://a.example/x",
            "http://a.example:",
            "http://a.example:99999",
            "http://a.example:8o",
            "ftp://a.example",
            "a.example",
            "http://",
            "http://user@a.example",
            "http://a.example?x",
            "http://[::1",
            "http://[nope]:80",
            "http://::1:80",
            "null",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_public_url_may_end_in_one_slash_but_has_no_path() {
        assert_eq!(parse_setting("https://chat.example.com/").unwrap(), origin("https://chat.example.com"));
        assert!(parse_setting("https://chat.example.com/chat").is_err());
        assert!(parse_setting("https://chat.example.com//").is_err());
    }

    #[test]
    fn the_public_url_is_the_only_own_origin() {
        let public = origin("https://chat.example.com");
        let origins = Origins::new(Some(&public), "127.0.0.1:8080".parse().unwrap(), &[]);
        assert!(origins.allows("https://chat.example.com"));
        assert!(origins.allows("https://chat.example.com:443"));
        assert!(!origins.allows("https://chat.example.com/"));
        assert!(!origins.allows("http://chat.example.com"));
        assert!(!origins.allows("https://chat.example.com:8443"));
        assert!(!origins.allows("http://127.0.0.1:8080"));
    }

    #[test]
    fn without_one_the_listen_address_counts_over_plain_http() {
        let loopback = Origins::new(None, "127.0.0.1:8080".parse().unwrap(), &[origin("https://app.example")]);
        for yes in ["http://127.0.0.1:8080", "http://localhost:8080", "http://LOCALHOST:8080", "https://app.example"] {
            assert!(loopback.allows(yes), "{yes}");
        }
        for no in [
            "https://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8081",
            "http://127.0.0.1",
            "http://[::1]:8080",
            "http://evil.example",
            "https://app.example/",
            "",
        ] {
            assert!(!loopback.allows(no), "{no}");
        }
        let lan = Origins::new(None, "192.168.1.5:80".parse().unwrap(), &[]);
        assert!(lan.allows("http://192.168.1.5") && lan.allows("http://192.168.1.5:80"));
        assert!(!lan.allows("http://localhost"));
        let any = Origins::new(None, "0.0.0.0:8080".parse().unwrap(), &[]);
        assert!(any.allows("http://127.0.0.1:8080") && any.allows("http://localhost:8080"));
        assert!(!any.allows("http://0.0.0.0:8080"));
        let any6 = Origins::new(None, "[::]:8080".parse().unwrap(), &[]);
        assert!(any6.allows("http://[::1]:8080") && any6.allows("http://127.0.0.1:8080"));
    }
}
