//! [`EgressPolicy`]: which destinations an outgoing request may reach.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use url::{Host, Url};

use super::ranges::{Special, classify, in_any};

/// Which destinations outgoing requests may reach.
///
/// The default is the strict one: `https` to public unicast addresses.
/// An operator whose IdP, registry or directory lives on an internal
/// network allows that network (CIDR) or that exact host name; tests that
/// serve IdPs on `127.0.0.1` allow exactly that range, so they still run
/// through the policy.
///
/// ```
/// use tower_fedauth::egress::EgressPolicy;
///
/// let policy = EgressPolicy::default()
///     .allow("10.20.0.0/16").unwrap()      // the internal IdP's subnet
///     .allow("idp.corp.example").unwrap(); // or one exact host name
/// assert!(!policy.allows_http());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allow_http: bool,
    networks: Vec<IpNet>,
    hosts: Vec<String>,
    sockets: Vec<SocketAddr>,
}

/// An `allow` entry that is neither a CIDR, an IP address nor a host name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a CIDR, an IP address or a host name")]
pub struct ParseAllowError(String);

/// Why the policy refused a destination. Goes to logs, never to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The scheme is not `https` (or `http` where allowed).
    #[error("scheme `{0}` is not allowed")]
    Scheme(String),
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The host is, or resolves to, an address outside what is allowed.
    #[error("{host} is a {why} address ({ip}), not allowed by the egress policy")]
    Address {
        /// The host as written in the URL.
        host: String,
        /// The refused address.
        ip: IpAddr,
        /// What kind of address it is.
        why: Special,
    },
    /// The host name resolves to no address at all.
    #[error("{0} resolves to no address")]
    Unresolved(String),
}

impl EgressPolicy {
    /// The strict policy: `https` to public unicast addresses only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also fetch plain `http://` URLs (local IdPs, tests).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Also reach this network (e.g. `10.20.0.0/16`, `127.0.0.0/8`).
    pub fn allow_network(mut self, network: IpNet) -> Self {
        let network = network.trunc();
        if !self.networks.contains(&network) {
            self.networks.push(network);
        }
        self
    }

    /// Also reach this exact host name, whatever it resolves to. Its
    /// subdomains are not included.
    pub fn allow_host(mut self, host: &str) -> Self {
        let host = normal_host(host);
        if !self.hosts.contains(&host) {
            self.hosts.push(host);
        }
        self
    }

    /// Also reach exactly this address and port, written as an address in
    /// the URL (e.g. an in-process test IdP on `127.0.0.1:41234`): narrower
    /// than a network, which opens every port.
    pub fn allow_socket(mut self, socket: SocketAddr) -> Self {
        if !self.sockets.contains(&socket) {
            self.sockets.push(socket);
        }
        self
    }

    /// Allow a CIDR (`10.0.0.0/8`), an IP address (as a single-address
    /// network) or an exact host name: the form of the example servers'
    /// `--allow-network`.
    pub fn allow(self, entry: &str) -> Result<Self, ParseAllowError> {
        let entry = entry.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            return Ok(self.allow_network(net));
        }
        if let Ok(ip) = entry
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(self.allow_network(IpNet::from(ip)));
        }
        let valid_name = !entry.is_empty()
            && entry.len() <= 253
            && entry
                .split('.')
                .filter(|label| !label.is_empty())
                .all(|label| {
                    label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
            && entry.bytes().any(|b| b.is_ascii_alphabetic());
        if valid_name {
            Ok(self.allow_host(entry))
        } else {
            Err(ParseAllowError(entry.to_owned()))
        }
    }

    /// Whether plain `http://` is allowed.
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// The networks allowed beyond public unicast.
    pub fn networks(&self) -> &[IpNet] {
        &self.networks
    }

    /// The host names allowed whatever they resolve to.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Check what can be checked before any resolution: the scheme, and the
    /// host when it is an IP address (in any spelling the URL parser
    /// accepts: `127.1`, `2130706433`, `0x7f000001`, `[::ffff:127.0.0.1]`
    /// all parse to an address). A host name is checked on the addresses it
    /// resolves to, at connection time.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => return Err(Refusal::Scheme(other.to_owned())),
        }
        match url.host() {
            None => Err(Refusal::NoHost),
            Some(Host::Ipv4(ip)) if self.socket_allowed(IpAddr::V4(ip), url) => Ok(()),
            Some(Host::Ipv6(ip)) if self.socket_allowed(IpAddr::V6(ip), url) => Ok(()),
            Some(Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(&format!("[{ip}]"), IpAddr::V6(ip)),
            Some(Host::Domain("")) => Err(Refusal::NoHost),
            Some(Host::Domain(_)) => Ok(()),
        }
    }

    fn socket_allowed(&self, ip: IpAddr, url: &Url) -> bool {
        url.port_or_known_default()
            .is_some_and(|port| self.sockets.contains(&SocketAddr::new(ip, port)))
    }

    /// Whether `host` is allowed by name (then its addresses are not
    /// checked).
    pub(crate) fn host_allowed(&self, host: &str) -> bool {
        !self.hosts.is_empty() && self.hosts.contains(&normal_host(host))
    }

    /// Check every address `host` resolved to and keep the allowed ones:
    /// the connection goes only to those. A name none of whose addresses
    /// is allowed is refused (with the first refused address as reason).
    pub(crate) fn allowed_addrs(
        &self,
        host: &str,
        addrs: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        if self.host_allowed(host) && !addrs.is_empty() {
            return Ok(addrs);
        }
        let mut first_refusal = None;
        let allowed: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|addr| match self.check_ip(host, addr.ip()) {
                Ok(()) => true,
                Err(refusal) => {
                    first_refusal.get_or_insert(refusal);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), first_refusal) {
            (false, _) => Ok(allowed),
            (true, Some(refusal)) => Err(refusal),
            (true, None) => Err(Refusal::Unresolved(host.to_owned())),
        }
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        if in_any(&self.networks, ip) || self.host_allowed(host) {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(why) => Err(Refusal::Address {
                host: host.to_owned(),
                ip,
                why,
            }),
        }
    }
}

fn normal_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_in_every_spelling_is_refused_by_default() {
        let policy = EgressPolicy::new().allow_http(true);
        for spelling in [
            "http://127.0.0.1/keys",
            "http://127.1/keys",
            "http://2130706433/keys",
            "http://0x7f000001/keys",
            "http://0177.0.0.1/keys",
            "http://[::1]/keys",
            "http://[::ffff:127.0.0.1]/keys",
            "http://[::ffff:7f00:1]/keys",
            "http://0.0.0.0/keys",
            "http://0/keys",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://10.0.0.1/",
            "http://[64:ff9b::7f00:1]/",
        ] {
            let got = policy.check_url(&url(spelling));
            assert!(
                matches!(got, Err(Refusal::Address { .. })),
                "{spelling}: {got:?}"
            );
        }
    }

    #[test]
    fn scheme_rule() {
        let strict = EgressPolicy::new();
        assert_eq!(
            strict.check_url(&url("http://example.com/")),
            Err(Refusal::Scheme("http".into()))
        );
        assert_eq!(
            strict.check_url(&url("ftp://example.com/")),
            Err(Refusal::Scheme("ftp".into()))
        );
        assert_eq!(
            strict.check_url(&url("file:///etc/passwd")),
            Err(Refusal::Scheme("file".into()))
        );
        assert_eq!(strict.check_url(&url("https://example.com/")), Ok(()));
        assert_eq!(strict.check_url(&url("https://8.8.8.8/")), Ok(()));
        let lax = EgressPolicy::new().allow_http(true);
        assert_eq!(lax.check_url(&url("http://example.com/")), Ok(()));
    }

    #[test]
    fn allowed_networks_and_hosts() {
        let policy = EgressPolicy::new()
            .allow_http(true)
            .allow("127.0.0.0/8")
            .unwrap()
            .allow("idp.corp.example")
            .unwrap()
            .allow("10.1.2.3")
            .unwrap();
        assert_eq!(policy.check_url(&url("http://127.0.0.1:9/")), Ok(()));
        assert_eq!(policy.check_url(&url("http://127.1/")), Ok(()));
        assert_eq!(policy.check_url(&url("http://[::ffff:127.0.0.1]/")), Ok(()));
        assert_eq!(policy.check_url(&url("http://10.1.2.3/")), Ok(()));
        assert!(policy.check_url(&url("http://10.1.2.4/")).is_err());
        assert!(policy.check_url(&url("http://[::1]/")).is_err());
        let private: SocketAddr = "10.9.9.9:443".parse().unwrap();
        assert_eq!(
            policy.allowed_addrs("IDP.corp.example.", vec![private]),
            Ok(vec![private])
        );
        let refused = |host| policy.allowed_addrs(host, vec![private]).is_err();
        assert!(refused("other.corp.example"));
        assert!(refused("sub.idp.corp.example"));
    }

    #[test]
    fn an_allowed_socket_opens_one_port() {
        let policy = EgressPolicy::new()
            .allow_http(true)
            .allow_socket("127.0.0.1:4010".parse().unwrap());
        assert_eq!(policy.check_url(&url("http://127.0.0.1:4010/keys")), Ok(()));
        assert!(
            policy
                .check_url(&url("http://127.0.0.1:4011/keys"))
                .is_err()
        );
        assert!(policy.check_url(&url("http://127.0.0.1/keys")).is_err());
        assert!(policy.check_url(&url("http://localhost:4010/keys")).is_ok());
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(policy.allowed_addrs("localhost", vec![addr]).is_err());
    }

    #[test]
    fn only_allowed_addresses_are_connected_to() {
        let policy = EgressPolicy::new();
        let public: SocketAddr = "8.8.8.8:443".parse().unwrap();
        let metadata: SocketAddr = "169.254.169.254:443".parse().unwrap();
        let loopback: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(
            policy.allowed_addrs("ok.example", vec![public]),
            Ok(vec![public])
        );
        // A name that also points inside is connected to outside only.
        assert_eq!(
            policy.allowed_addrs("mixed.example", vec![metadata, public, loopback]),
            Ok(vec![public])
        );
        assert!(matches!(
            policy.allowed_addrs("inside.example", vec![metadata, loopback]),
            Err(Refusal::Address {
                why: Special::LinkLocal,
                ..
            })
        ));
        assert_eq!(
            policy.allowed_addrs("none.example", vec![]),
            Err(Refusal::Unresolved("none.example".into()))
        );
        // localhost resolving to both loopbacks, with 127.0.0.0/8 allowed:
        // the IPv4 one only.
        let local = EgressPolicy::new().allow("127.0.0.0/8").unwrap();
        let v4: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(
            local.allowed_addrs("localhost", vec![loopback, v4]),
            Ok(vec![v4])
        );
    }

    #[test]
    fn bad_allow_entries_are_refused() {
        for bad in ["", "10.0.0.0/33", "not a host", "http://x", "a/b", "..."] {
            assert!(EgressPolicy::new().allow(bad).is_err(), "{bad:?}");
        }
    }
}
