use std::net::IpAddr;

use super::*;

fn class(ip: &str) -> Option<Special> {
    classify(ip.parse::<IpAddr>().unwrap())
}

#[test]
fn every_special_ipv4_range_is_refused_at_its_edges() {
    for (net, why) in V4 {
        let net: Ipv4Net = net.parse().unwrap();
        for ip in [net.network(), net.broadcast()] {
            let got = classify(IpAddr::V4(ip));
            // 255.255.255.255 is the broadcast address inside 240/4.
            if ip == Ipv4Addr::BROADCAST {
                assert_eq!(got, Some(Special::Broadcast), "{ip}");
            } else {
                assert_eq!(got, Some(*why), "{ip} in {net}");
            }
        }
    }
}

#[test]
fn every_special_ipv6_range_is_refused_at_its_edges() {
    for (net, why) in V6 {
        let net: Ipv6Net = net.parse().unwrap();
        for ip in [net.network(), net.broadcast()] {
            let got = classify(IpAddr::V6(ip));
            assert!(got.is_some(), "{ip} in {net} must be refused");
            if embedded_v4(ip).is_none() {
                assert_eq!(got, Some(*why), "{ip} in {net}");
            }
        }
    }
}

#[test]
fn named_ranges() {
    let cases = [
        ("0.0.0.0", Special::Unspecified),
        ("127.0.0.1", Special::Loopback),
        ("127.255.255.254", Special::Loopback),
        ("10.1.2.3", Special::Private),
        ("172.16.0.1", Special::Private),
        ("172.31.255.255", Special::Private),
        ("192.168.1.1", Special::Private),
        ("100.64.0.1", Special::SharedAddressSpace),
        ("100.127.255.255", Special::SharedAddressSpace),
        ("169.254.169.254", Special::LinkLocal),
        ("224.0.0.1", Special::Multicast),
        ("239.255.255.250", Special::Multicast),
        ("255.255.255.255", Special::Broadcast),
        ("192.0.2.1", Special::Documentation),
        ("198.51.100.7", Special::Documentation),
        ("203.0.113.9", Special::Documentation),
        ("198.18.0.1", Special::Benchmarking),
        ("198.19.255.255", Special::Benchmarking),
        ("192.0.0.170", Special::Reserved),
        ("192.88.99.1", Special::Reserved),
        ("240.0.0.1", Special::Reserved),
        ("::", Special::Unspecified),
        ("::1", Special::Loopback),
        ("fe80::1", Special::LinkLocal),
        ("febf::1", Special::LinkLocal),
        ("fc00::1", Special::UniqueLocal),
        ("fd12:3456::1", Special::UniqueLocal),
        ("fec0::1", Special::UniqueLocal),
        ("ff02::1", Special::Multicast),
        ("2001:db8::1", Special::Documentation),
        ("3fff::1", Special::Documentation),
        ("2001:2::1", Special::Benchmarking),
        ("2001::1", Special::Reserved),
        ("100::1", Special::Reserved),
        ("64:ff9b:1::1", Special::Reserved),
        ("5f00::1", Special::Reserved),
        // Outside 2000::/3: not allocated for global unicast.
        ("4000::1", Special::Reserved),
        ("::ffff:0:7f00:1", Special::Reserved),
    ];
    for (ip, why) in cases {
        assert_eq!(class(ip), Some(why), "{ip}");
    }
}

#[test]
fn ipv4_in_ipv6_forms_are_judged_by_the_ipv4_address() {
    let cases = [
        // IPv4-mapped
        ("::ffff:127.0.0.1", Some(Special::Loopback)),
        ("::ffff:10.0.0.1", Some(Special::Private)),
        ("::ffff:169.254.169.254", Some(Special::LinkLocal)),
        ("::ffff:0.0.0.0", Some(Special::Unspecified)),
        ("::ffff:8.8.8.8", None),
        // IPv4-compatible (deprecated)
        ("::127.0.0.1", Some(Special::Loopback)),
        ("::192.168.0.1", Some(Special::Private)),
        ("::8.8.8.8", None),
        // NAT64 well-known prefix
        ("64:ff9b::7f00:1", Some(Special::Loopback)),
        ("64:ff9b::a9fe:a9fe", Some(Special::LinkLocal)),
        ("64:ff9b::808:808", None),
        // 6to4
        ("2002:7f00:1::1", Some(Special::Loopback)),
        ("2002:a00:1::", Some(Special::Private)),
        ("2002:c0a8:101::1", Some(Special::Private)),
        ("2002:808:808::1", None),
    ];
    for (ip, want) in cases {
        assert_eq!(class(ip), want, "{ip}");
    }
}

#[test]
fn public_unicast_passes() {
    for ip in [
        "8.8.8.8",
        "1.1.1.1",
        "20.190.128.1",
        "172.15.255.255",
        "172.32.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "169.253.255.255",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
        "2001:4860:4860::8888",
    ] {
        assert_eq!(class(ip), None, "{ip}");
    }
}

#[test]
fn allowed_networks_cover_the_mapped_form_too() {
    let nets: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
    assert!(in_any(&nets, "127.0.0.1".parse().unwrap()));
    assert!(in_any(&nets, "::ffff:127.0.0.1".parse().unwrap()));
    assert!(!in_any(&nets, "::1".parse().unwrap()));
    assert!(!in_any(&nets, "10.0.0.1".parse().unwrap()));
    let v6: Vec<IpNet> = vec!["fd00::/8".parse().unwrap()];
    assert!(in_any(&v6, "fd00::5".parse().unwrap()));
    assert!(!in_any(&v6, "127.0.0.1".parse().unwrap()));
}
