"""Data: the address blocks an outbound request may never reach, whatever Python version runs it.

A dated snapshot of the IANA IPv4 and IPv6 Special-Purpose Address Registries
(https://www.iana.org/assignments/iana-ipv4-special-registry, .../iana-ipv6-special-registry), plus the
ranges the registries leave to other documents (multicast, reserved, site-local). Every registry entry
is listed, also those IANA marks globally reachable (anycast relays, AS112): no workflow calls them on
purpose, and a smaller deny-list would have to be re-derived at each registry revision. When IANA adds
an entry, add it here with the new date; tests/unit/adapters/test_address_policy.py checks each entry.

``(cidr, name)`` pairs; loopback and private networks are listed apart, because settings may allow them.
"""

from __future__ import annotations

SNAPSHOT_DATE = "2025-01-10"

LOOPBACK = (
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
)
PRIVATE = (
    ("10.0.0.0/8", "private-use"),
    ("172.16.0.0/12", "private-use"),
    ("192.168.0.0/16", "private-use"),
    ("fc00::/7", "unique-local"),
)
METADATA = (
    ("169.254.0.0/16", "link-local (the instance metadata service lives at 169.254.169.254)"),
    ("fe80::/10", "link-scoped unicast"),
    ("fd00:ec2::254/128", "the AWS instance metadata service over IPv6"),
)
SPECIAL_PURPOSE = (
    # IPv4 Special-Purpose Address Registry
    ("0.0.0.0/8", "this network: unspecified addresses"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT; another cloud's metadata service)"),
    ("192.0.0.0/24", "IETF protocol assignments (incl. 192.0.0.192, a cloud metadata address)"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.31.196.0/24", "AS112-v4"),
    ("192.52.193.0/24", "AMT"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast"),
    ("192.175.48.0/24", "direct delegation AS112 service"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("255.255.255.255/32", "limited broadcast"),
    # IPv6 Special-Purpose Address Registry
    ("::/128", "the unspecified address"),
    ("64:ff9b::/96", "IPv4-IPv6 translation (NAT64)"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
    ("100::/64", "discard-only address block"),
    ("100:0:0:1::/64", "dummy IPv6 prefix"),
    ("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHIDv2, ...)"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("2620:4f:8000::/48", "direct delegation AS112 service"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6) SIDs"),
    ("fec0::/10", "deprecated site-local"),
    ("ff00::/8", "multicast"),
)
# IPv6 outside the global unicast allocation is not routed on the internet.
IPV6_GLOBAL_UNICAST = "2000::/3"
# IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
IPV4_MAPPED = "::ffff:0:0/96"
