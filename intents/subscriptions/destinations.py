"""Where webhooks may go: to public addresses only, unless ``OPENINTENT_WEBHOOKS_ALLOW_PRIVATE`` is on.

Whoever may create a subscription names the URL the server POSTs to. Without a check, a key holder could make the
server call its own loopback, the private network around it or a cloud metadata endpoint (169.254.169.254), and
read the outcome in the delivery's status and error. So a URL whose host resolves to any address that is not public
(loopback, private, link-local, multicast, reserved, unspecified, shared; IPv4, IPv6, and IPv4 inside IPv6) is
refused when the subscription is created, and again at every delivery. A delivery then connects to the very address
it checked, with the URL's name in the Host header and TLS's SNI: a name that resolves to a public address for the
check and to a private one a moment later (DNS rebinding) cannot turn the request.

A name that does not resolve when the subscription is created is accepted: it says nothing about where it will
point, and every delivery checks it anyway. Development and the tests, whose receivers listen on 127.0.0.1, turn
``OPENINTENT_WEBHOOKS_ALLOW_PRIVATE`` on; then nothing is resolved here and httpx connects as it would.
"""

import ipaddress
import socket

import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
# What resolving a URL's host can raise: the resolver's errors, and a URL or name that cannot be resolved at all.
UNRESOLVABLE = (OSError, ValueError, httpx.InvalidURL)


class Refused(Exception):
    """The URL's host resolves to an address webhooks may not go to."""


def kind_of(address):
    """What makes ``address`` not public ("loopback", "private"…), or None for a public address."""
    # An IPv4 address written as IPv6 (::ffff:a.b.c.d, or 6to4's 2002:a.b.c.d::) reaches that IPv4 address.
    embedded = address.ipv4_mapped or address.sixtofour if address.version == 6 else None
    if embedded is not None:
        return kind_of(embedded)
    for kind, test in [
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private or getattr(address, "is_site_local", False)),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    ]:
        if test:
            return kind
    return None


def resolve(url):
    """The URL's host and the addresses it resolves to, in the resolver's order. Raises one of ``UNRESOLVABLE``
    when the name does not resolve."""
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or DEFAULT_PORTS.get(parsed.scheme, 80)
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is no part of the address.
    addresses = [ipaddress.ip_address(sockaddr[0].split("%")[0]) for *_, sockaddr in found]
    return host, list(dict.fromkeys(addresses))


def check(addresses, host):
    """Raise Refused naming the first of ``addresses`` (those ``host`` resolved to) that is not public."""
    for address in addresses:
        kind = kind_of(address)
        if kind is not None:
            via = "" if literal(host) == address else f" resolves to {address}, which"
            article = "an" if kind[0] in "aeiou" else "a"
            raise Refused(
                f"The host {host}{via} is {article} {kind} address: webhooks go to public addresses only "
                "(OPENINTENT_WEBHOOKS_ALLOW_PRIVATE allows others)"
            )


def literal(host):
    """``host`` as an IP address, when it is written as one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url):
    """At creation: refuse a URL whose host resolves to an address that is not public. A name that does not resolve
    passes (each delivery checks it again)."""
    try:
        host, addresses = resolve(url)
    except UNRESOLVABLE:
        return
    check(addresses, host)


def pinned_requests(url):
    """At delivery: ``(url, headers, extensions)`` for httpx, one per public address the URL's host resolves to, in
    the resolver's order, each connecting to that address while naming the host. Raises Refused (or one of
    ``UNRESOLVABLE`` when the name does not resolve)."""
    parsed = httpx.URL(url)
    host, addresses = resolve(url)
    check(addresses, host)
    # The URL's own host[:port], as a client that resolved it itself would send it.
    headers = {"Host": parsed.netloc.decode("ascii")}
    extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
    return [(str(parsed.copy_with(host=str(address))), headers, extensions) for address in addresses]
