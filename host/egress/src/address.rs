//! Which IP addresses a connector or webhook may never reach.
//!
//! The ranges are those an attacker uses to turn a webhook URL or a
//! connector into a probe of the host's network: loopback, private and
//! link-local networks, carrier-grade NAT, cloud metadata endpoints,
//! multicast and reserved space, and the IPv6 forms that embed an IPv4
//! address (mapped, compatible, NAT64, 6to4), which are judged by the IPv4
//! address inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The name of the forbidden range `ip` falls in, or none if it is public.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// Whether `ip` may be reached: public, or inside a range the operator allows.
pub fn check_address(ip: IpAddr, allowed: &[IpNet]) -> Result<(), &'static str> {
    match forbidden_range(ip) {
        Some(range) if !allowed.iter().any(|net| net.contains(&ip)) => Err(range),
        _ => Ok(()),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        _ if ip == Ipv4Addr::new(100, 100, 100, 200) => "cloud metadata",
        _ if ip == Ipv4Addr::new(168, 63, 129, 16) => "cloud metadata",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "this network",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "carrier-grade NAT",
        (192, 0, 0) => "IETF protocol assignments",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(embedded) = embedded_v4(ip) {
        return forbidden_v4(embedded);
    }
    let segments = ip.segments();
    Some(match segments {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] => "cloud metadata",
        [s, ..] if s & 0xfe00 == 0xfc00 => "unique local",
        [s, ..] if s & 0xffc0 == 0xfe80 => "link-local",
        [s, ..] if s & 0xffc0 == 0xfec0 => "site-local",
        [s, ..] if s & 0xff00 == 0xff00 => "multicast",
        [0x2001, 0x0db8, ..] => "documentation",
        [0x0100, 0, 0, 0, ..] => "discard-only",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address stands for, in the forms that route to
/// an IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_loopback() && !ip.is_unspecified() => Some(low),
        // 64:ff9b::/96, NAT64.
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 2002:AABB:CCDD::/48, 6to4.
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> Option<&'static str> {
        forbidden_range(text.parse().unwrap())
    }

    #[test]
    fn every_forbidden_ipv4_range_is_named() {
        for (ip, name) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("100.100.100.200", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.255", "carrier-grade NAT"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("192.0.2.10", "documentation"),
            ("198.18.0.1", "benchmarking"),
        ] {
            assert_eq!(range(ip), Some(name), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "2606:4700::1111",
            "2a00:1450::1",
        ] {
            assert_eq!(range(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4_are_judged() {
        for (ip, name) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("ff02::1", "multicast"),
            ("fd00:ec2::254", "cloud metadata"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a00:1", "private"),
            ("2002:7f00:1::", "loopback"),
            ("2001:db8::1", "documentation"),
        ] {
            assert_eq!(range(ip), Some(name), "{ip}");
        }
        assert_eq!(range("::ffff:8.8.8.8"), None);
        assert_eq!(range("64:ff9b::808:808"), None);
    }

    #[test]
    fn operator_cidrs_lift_the_ban_only_inside_them() {
        let allowed: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(check_address("10.2.3.4".parse().unwrap(), &allowed).is_ok());
        assert_eq!(
            check_address("192.168.0.1".parse().unwrap(), &allowed),
            Err("private")
        );
        assert!(check_address("8.8.8.8".parse().unwrap(), &[]).is_ok());
    }
}
