"""Which IP addresses an outbound request may reach: a fixed table, independent of the interpreter.

Python's ``ipaddress`` flags (``is_global``, ``is_private``, ``is_reserved``) come from tables that
change between releases: on 3.11, 192.0.0.192 (a cloud metadata address), 192.0.0.8 and
192.88.99.0/24 count as global, while 3.12 (the Lambda runtime) refuses them. Tests run on one
version and production on another, so the guard must not depend on either: every decision below
comes from the tables in this module, taken from the IANA IPv4 and IPv6 Special-Purpose Address
Registries (2024 revision) and the IPv6 global unicast allocation (2000::/3).

A special-purpose block is refused even where IANA marks it "globally reachable" (the anycast relays
and AS112 servers in 192.0.0.0/24, 192.31.196.0/24, 2001::/23 ...): no workflow calls those on
purpose, and refusing costs nothing. Forms that carry an IPv4 address (``::ffff:a.b.c.d``, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the address they carry.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.settings import HttpNodeSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Configurable: reachable only when the settings allow them.
LOOPBACK = _networks("127.0.0.0/8", "::1/128")
PRIVATE = _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")

# Always refused, with the reason given for each group.
METADATA = _networks("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32", "192.0.0.192/32")
SPECIAL_PURPOSE = _networks(
    # IPv4 Special-Purpose Address Registry
    "0.0.0.0/8",  # "this network"
    "100.64.0.0/10",  # shared address space (carrier-grade NAT; Alibaba Cloud's metadata service)
    "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, dummy address, NAT64 discovery, ...)
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.31.196.0/24",  # AS112-v4
    "192.52.193.0/24",  # AMT
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "192.175.48.0/24",  # AS112 direct delegation
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved for future use, and 255.255.255.255 (limited broadcast)
    # IPv6 Special-Purpose Address Registry
    "::/128",  # unspecified
    "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation
    "100::/64",  # discard-only
    "100:0:0:1::/64",  # dummy prefix
    "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)
    "2001:db8::/32",  # documentation
    "2620:4f:8000::/48",  # AS112 direct delegation
    "3fff::/20",  # documentation
    "5f00::/16",  # SRv6 segment identifiers
    "fec0::/10",  # deprecated site-local
    "ff00::/8",  # multicast
)
# IPv6 outside global unicast space is not routable on the internet (what is inside it is refined above).
IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def _within(address: IpAddress, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (IPv4-mapped, NAT64, 6to4), or None."""
    if address in _IPV4_MAPPED or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def address_refusal(address: IpAddress, settings: HttpNodeSettings) -> str | None:
    """Why ``address`` may not be called under ``settings``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            refusal = address_refusal(carried, settings)
            return None if refusal is None else f"{refusal} (carried by {address} as {carried})"
    if _within(address, METADATA):
        return "link-local or a cloud instance metadata service address, which is never allowed"
    if _within(address, LOOPBACK):
        return None if settings.allow_loopback else "loopback, which is not allowed (HTTP_NODE_ALLOW_LOOPBACK)"
    if _within(address, PRIVATE):
        if settings.allow_private_networks:
            return None
        return "a private network address, which is not allowed (HTTP_NODE_ALLOW_PRIVATE_NETWORKS)"
    if _within(address, SPECIAL_PURPOSE):
        return "a special-purpose address (unspecified, multicast, reserved or documentation), which is never allowed"
    if isinstance(address, ipaddress.IPv6Address) and address not in IPV6_GLOBAL_UNICAST:
        return "an IPv6 address outside global unicast space (2000::/3), which is never allowed"
    return None
