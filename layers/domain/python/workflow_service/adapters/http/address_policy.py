"""Which IP addresses an outbound request may reach, decided from a fixed table.

Python's ``ipaddress`` flags (``is_global``, ``is_private``, ``is_reserved``) come from tables that
change between releases: on 3.11, 192.0.0.192 (a cloud metadata address), 192.0.0.8 and
192.88.99.0/24 count as global, while 3.12 (the Lambda runtime) refuses them. Tests run on one
version and production on another, so the guard must not depend on either: every decision comes
from ``special_purpose_addresses`` (a dated snapshot of the IANA registries). IPv4-mapped IPv6
addresses are judged as the IPv4 address they carry; NAT64 and 6to4 are refused outright (the
address they lead to is chosen by a gateway this service cannot see).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from workflow_service.adapters.http import special_purpose_addresses as registry

if TYPE_CHECKING:
    from workflow_service.settings.engine import HttpNodeSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Block = tuple[Network, str]


def _blocks(entries: tuple[tuple[str, str], ...]) -> tuple[Block, ...]:
    # Most specific first, so a refusal names the narrowest block (255.255.255.255 is inside 240.0.0.0/4).
    blocks = [(ipaddress.ip_network(cidr), name) for cidr, name in entries]
    return tuple(sorted(blocks, key=lambda block: -block[0].prefixlen))


LOOPBACK = _blocks(registry.LOOPBACK)
PRIVATE = _blocks(registry.PRIVATE)
METADATA = _blocks(registry.METADATA)
SPECIAL_PURPOSE = _blocks(registry.SPECIAL_PURPOSE)
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network(registry.IPV6_GLOBAL_UNICAST)
_IPV4_MAPPED = ipaddress.ip_network(registry.IPV4_MAPPED)


def _block_of(address: IpAddress, blocks: tuple[Block, ...]) -> str | None:
    for network, name in blocks:
        if address.version == network.version and address in network:
            return f"{name}, {network}"
    return None


def address_refusal(address: IpAddress, settings: HttpNodeSettings) -> str | None:
    """Why ``address`` may not be called under ``settings``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address in _IPV4_MAPPED:
        carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        refusal = address_refusal(carried, settings)
        return None if refusal is None else f"{refusal} (carried by {address})"
    if (block := _block_of(address, METADATA)) is not None:
        return f"link-local or a cloud metadata address ({block}), which is never allowed"
    if (block := _block_of(address, LOOPBACK)) is not None:
        return (
            None if settings.allow_loopback else f"loopback ({block}), which is not allowed (HTTP_NODE_ALLOW_LOOPBACK)"
        )
    if (block := _block_of(address, PRIVATE)) is not None:
        if settings.allow_private_networks:
            return None
        return f"a private network address ({block}), which is not allowed (HTTP_NODE_ALLOW_PRIVATE_NETWORKS)"
    if (block := _block_of(address, SPECIAL_PURPOSE)) is not None:
        return f"a special-purpose address ({block}), which is never allowed"
    if isinstance(address, ipaddress.IPv6Address) and address not in _IPV6_GLOBAL_UNICAST:
        return f"outside IPv6 global unicast space ({_IPV6_GLOBAL_UNICAST}), which is never allowed"
    return None
