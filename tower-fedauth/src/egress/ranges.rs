//! Which addresses are *public unicast*: everything else is refused unless
//! the operator allows it. The table follows IANA's special-purpose address
//! registries (IPv4 and IPv6); IPv6 forms that carry an IPv4 address
//! (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Why an address is not public unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Special {
    /// `0.0.0.0/8`, `::/128`: "this host", connects to the local machine.
    Unspecified,
    /// `127.0.0.0/8`, `::1/128`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// RFC 6598 carrier-grade NAT: `100.64/10`.
    SharedAddressSpace,
    /// `169.254/16` (cloud metadata lives here), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`, and the deprecated site-local `fec0::/10`.
    UniqueLocal,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`,
    /// `3fff::/20`.
    Documentation,
    /// `198.18/15`, `2001:2::/48`.
    Benchmarking,
    /// Protocol and future-use blocks no IdP lives in: `192.0.0/24`,
    /// `192.88.99/24`, `240/4`, `100::/64`, `64:ff9b:1::/48`, Teredo
    /// `2001::/32`, ORCHID, SRv6 `5f00::/16`.
    Reserved,
}

impl Special {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Special::Unspecified => "unspecified",
            Special::Loopback => "loopback",
            Special::Private => "private",
            Special::SharedAddressSpace => "shared address space (CGNAT)",
            Special::LinkLocal => "link-local",
            Special::UniqueLocal => "unique-local",
            Special::Multicast => "multicast",
            Special::Broadcast => "broadcast",
            Special::Documentation => "documentation",
            Special::Benchmarking => "benchmarking",
            Special::Reserved => "reserved",
        }
    }
}

impl std::fmt::Display for Special {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const V4: &[(&str, Special)] = &[
    ("0.0.0.0/8", Special::Unspecified),
    ("10.0.0.0/8", Special::Private),
    ("100.64.0.0/10", Special::SharedAddressSpace),
    ("127.0.0.0/8", Special::Loopback),
    ("169.254.0.0/16", Special::LinkLocal),
    ("172.16.0.0/12", Special::Private),
    ("192.0.0.0/24", Special::Reserved),
    ("192.0.2.0/24", Special::Documentation),
    ("192.88.99.0/24", Special::Reserved),
    ("192.168.0.0/16", Special::Private),
    ("198.18.0.0/15", Special::Benchmarking),
    ("198.51.100.0/24", Special::Documentation),
    ("203.0.113.0/24", Special::Documentation),
    ("224.0.0.0/4", Special::Multicast),
    ("255.255.255.255/32", Special::Broadcast),
    ("240.0.0.0/4", Special::Reserved),
];

// Order matters where blocks nest: the first match names the reason.
const V6: &[(&str, Special)] = &[
    ("::/128", Special::Unspecified),
    ("::1/128", Special::Loopback),
    ("100::/64", Special::Reserved),
    ("64:ff9b:1::/48", Special::Reserved),
    ("2001::/32", Special::Reserved),
    ("2001:2::/48", Special::Benchmarking),
    ("2001:10::/28", Special::Reserved),
    ("2001:20::/28", Special::Reserved),
    ("2001:db8::/32", Special::Documentation),
    ("3fff::/20", Special::Documentation),
    ("5f00::/16", Special::Reserved),
    ("fc00::/7", Special::UniqueLocal),
    ("fe80::/10", Special::LinkLocal),
    ("fec0::/10", Special::UniqueLocal),
    ("ff00::/8", Special::Multicast),
];

static TABLE_V4: LazyLock<Vec<(Ipv4Net, Special)>> = LazyLock::new(|| {
    V4.iter()
        .filter_map(|(net, why)| net.parse().ok().map(|n| (n, *why)))
        .collect()
});

static TABLE_V6: LazyLock<Vec<(Ipv6Net, Special)>> = LazyLock::new(|| {
    V6.iter()
        .filter_map(|(net, why)| net.parse().ok().map(|n| (n, *why)))
        .collect()
});

/// `None` for a public unicast address; otherwise why it is not one.
pub fn classify(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Special> {
    TABLE_V4
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Special> {
    if let Some(embedded) = embedded_v4(ip) {
        // An IPv4 address in IPv6 clothing reaches (or is translated to)
        // that IPv4 address: judge it as such.
        return classify_v4(embedded);
    }
    let listed = TABLE_V6
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why);
    // Global unicast is allocated from `2000::/3` only; the rest of the
    // space (e.g. SIIT's `::ffff:0:a.b.c.d`) is nothing an IdP lives in.
    listed.or_else(|| (ip.segments()[0] & 0xe000 != 0x2000).then_some(Special::Reserved))
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still
/// routed to IPv4 by some stacks), NAT64 (`64:ff9b::a.b.c.d`) and 6to4
/// (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // `::` and `::1` are IPv6's own unspecified and loopback.
        [0, 0, 0, 0, 0, 0, 0, 0] | [0, 0, 0, 0, 0, 0, 0, 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Whether `ip` lies in one of `networks`.
pub(crate) fn in_any(networks: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    networks.iter().any(|net| net.contains(&ip))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is, so that an
/// allowed `127.0.0.0/8` also covers `[::ffff:127.0.0.1]`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
#[path = "ranges_tests.rs"]
mod tests;
