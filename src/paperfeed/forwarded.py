"""The client's address behind trusted reverse proxies (X-Forwarded-For), computed by the app itself.

Each proxy appends the address it saw to X-Forwarded-For; whatever stands to the left of our own proxies'
entries was written by the client and proves nothing. So the client is the right-most address of the chain
(the entries, then the TCP peer) that is not one of our proxies. Forwarded headers count only when the TCP
peer is a trusted proxy: without one, anyone could name a fresh address in every request and never reach a
per-address rate limit. The ASGI server must not rewrite the peer itself (`paperfeed serve` starts uvicorn
with proxy headers off), or the app would see the header's address as the peer.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 32  # a longer header is noise; only its right end matters


def parse_networks(values: Iterable[str]) -> list[str]:
    """Each address or CIDR network normalised (`10.0.0.0/8`, `::1/128`); ValueError on anything else."""
    out = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            out.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return out


@functools.lru_cache(maxsize=16)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _host(value: str) -> str:
    """An X-Forwarded-For entry without a port (`1.2.3.4:80`, `[::1]:80`), IPv6 brackets removed."""
    value = value.strip().strip('"')
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _trusted(host: str, networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # not an address (a unix socket, "unknown"): never one of our proxies
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d
    return any(address in net for net in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[str], *, trust_peer: bool = False
) -> str:
    """The client's address from the TCP peer and the X-Forwarded-For header values.

    `trusted` lists our proxies (addresses or CIDR networks). `trust_peer` (the old `trust_proxy` switch)
    counts the TCP peer as a proxy whatever its address, so the last header entry is the client.
    """
    peer = peer or "unknown"
    networks = _networks(tuple(trusted))
    if not (trust_peer or _trusted(peer, networks)):
        return peer
    hops = [_host(h) for value in forwarded_for for h in value.split(",") if h.strip()][-MAX_HOPS:]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    # Every entry is one of our proxies (or there is none): the left-most one is as far as we can see.
    return hops[0][:64] if hops else peer
