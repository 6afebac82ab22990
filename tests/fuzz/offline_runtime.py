"""``python -m tests.fuzz.offline_runtime --port P``: the local runtime with no DNS and no traffic off this machine.

The fuzzer writes workflows whose http_request and LLM nodes name arbitrary hosts. The runtime's own
settings already refuse loopback, private networks and plain http (the fuzz test sets them); this
launcher adds what settings cannot: host names are never looked up (only IP literals resolve, so a
fuzzed name fails at once instead of waiting on a resolver), and a socket may connect only to
loopback, so a public IP literal that passes the address policy is still never contacted.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def literal_only_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    """``socket.getaddrinfo`` for IP literals and ``localhost``; any other name fails as unknown, with no lookup."""
    if host in (None, "localhost"):
        return _real_getaddrinfo("127.0.0.1" if host else host, port, *args, **kwargs)
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, f"name lookups are disabled in the fuzz run: {text[:60]}") from None
    return _real_getaddrinfo(host, port, *args, **kwargs)


def _refusal(address: Any) -> OSError | None:
    if not isinstance(address, tuple):
        return None  # AF_UNIX paths stay on this machine
    try:
        if ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback:
            return None
    except ValueError:
        pass
    return ConnectionRefusedError(f"the fuzz run connects only to loopback, not {address[0]}")


def loopback_only_connect(self: socket.socket, address: Any) -> None:
    refusal = _refusal(address)
    if refusal is not None:
        raise refusal
    _real_connect(self, address)


def loopback_only_connect_ex(self: socket.socket, address: Any) -> int:
    if _refusal(address) is not None:
        return 111  # ECONNREFUSED
    return _real_connect_ex(self, address)


def install() -> None:
    socket.getaddrinfo = literal_only_getaddrinfo
    socket.socket.connect = loopback_only_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = loopback_only_connect_ex  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from local.__main__ import main

    main()
