"""Which webhook receiver URLs a subscription may name, judged from the text alone (no DNS at write time).

The same rules as outbound calls (``address_policy``, ``HTTP_NODE_*`` settings): https unless
``HTTP_NODE_REQUIRE_HTTPS`` is off (the local runtime), no credentials in the URL, and no host that
is visibly an address the delivery-time guard would refuse: literal IPs (also the legacy IPv4 forms
such as ``127.1`` or ``2130706433`` that resolvers accept, and Unicode look-alikes of either once
IDNA-mapped as the HTTP client maps them) and localhost names, which are loopback
unless ``HTTP_NODE_ALLOW_LOOPBACK`` is on (the local runtime). A name that resolves to a refused
address is refused by the delivery-time guard, which resolves and pins the address it calls.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workflow_service.adapters.http.address_policy import IpAddress, address_refusal

if TYPE_CHECKING:
    from workflow_service.settings.engine import HttpNodeSettings

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# Host text that inet_aton may read as an IPv4 address (decimal, octal, hex parts; 1 to 4 of them).
_LEGACY_IPV4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


def literal_address(host: str) -> IpAddress | None:
    """The IP address ``host`` spells literally (brackets, zone ids and legacy IPv4 forms included)."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text.rstrip(".")))
        except OSError:
            return None
    return None


def _is_loopback_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in _LOOPBACK_NAMES or name.endswith(".localhost")


class ReceiverUrlPolicy:
    """``webhooks.subscriptions.ReceiverUrlCheck`` under the outbound-call settings."""

    def __init__(self, settings: HttpNodeSettings) -> None:
        self._settings = settings

    def refusal(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as error:
            return f"is not a valid URL: {error}"
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            return "must be an https URL"
        if scheme != "https" and self._settings.require_https:
            return "must be an https URL: plain http is allowed only in the local runtime (HTTP_NODE_REQUIRE_HTTPS)"
        if parts.username is not None or parts.password is not None:
            return "must not carry credentials; send them with bearer_token instead"
        if not host:
            return "must name a host"
        if not host.isascii():
            # Judge the name the HTTP client will send: IDNA maps look-alikes (full-width letters,
            # ideographic full stops, circled digits) to ASCII, so 127。0。0。1 is 127.0.0.1.
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                return "names a host that is not a valid internationalized domain name"
        address = literal_address(host)
        if address is not None:
            reason = address_refusal(address, self._settings)
            return None if reason is None else f"names {address}, which is {reason}"
        if _is_loopback_name(host) and not self._settings.allow_loopback:
            return (
                f"names {host}, a loopback host, which is allowed only in the local runtime (HTTP_NODE_ALLOW_LOOPBACK)"
            )
        return None
