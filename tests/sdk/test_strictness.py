"""Answers that are not the OpenIntent server's (a redirect, a proxy's HTML page, JSON of another shape) raise
UnexpectedResponseError instead of becoming empty models; and the HTTP client is the caller's to configure: TLS
verification, a proxy, or their own httpx client. Both clients run every test against a local scripted peer."""

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from openintent import (
    AsyncOpenIntentClient,
    Intent,
    OpenIntentClient,
    OpenIntentConnectionError,
    UnexpectedResponseError,
)

from .conftest import AsyncAdapter, Clients
from .peer import Peer

INTENT = {"id": "i1", "title": "T", "version": 2, "status": "active"}


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.stop()


@pytest.fixture(params=["sync", "async"])
def make(request, peer):
    made = Clients(peer.url, request.param)
    yield lambda url=None, **options: made("peer-key", "me", url=url, max_retries=0, **options)
    made.close()


def test_a_redirect_is_not_followed_and_names_where_it_points(peer, make):
    peer.answer((301, b"", {"Location": "https://elsewhere.example/api/v1/intents"}))
    with pytest.raises(UnexpectedResponseError) as caught:
        make().create_intent("Moved")
    assert caught.value.status_code == 301 and caught.value.location == "https://elsewhere.example/api/v1/intents"
    assert "base_url" in str(caught.value) and [r["method"] for r in peer.requests] == ["POST"]


def test_an_html_page_is_not_an_intent(peer, make):
    page = b"<!doctype html><html><body>Please sign in to the corporate proxy</body></html>"
    peer.answer((200, page, {"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(UnexpectedResponseError) as caught:
        make().get_intent("i1")
    assert caught.value.content_type.startswith("text/html") and caught.value.response is None
    assert "text/html" in str(caught.value) and "corporate proxy" in str(caught.value)


@pytest.mark.parametrize("body", [{}, {"title": "no id"}, [INTENT], "i1", {"detail": "ok"}])
def test_json_that_is_not_the_expected_object(peer, make, body):
    peer.answer((200, body, {}))
    with pytest.raises(UnexpectedResponseError) as caught:
        make().get_intent("i1")
    assert caught.value.status_code == 200 and caught.value.response == body


@pytest.mark.parametrize("body", [{}, {"items": []}, {"intents": "none"}, "x"])
def test_a_list_answer_must_be_an_array_or_its_envelope(peer, make, body):
    peer.answer((200, body, {}))
    with pytest.raises(UnexpectedResponseError):
        make().get_children("i1")


def test_expected_answers_still_read(peer, make):
    peer.answer((200, INTENT, {}), (200, {"children": [INTENT]}, {}), (200, [INTENT], {}), (204, b"", {}))
    client = make()
    assert client.get_intent("i1").id == "i1"
    assert [i.id for i in client.get_children("i1")] == ["i1"]
    assert [i.id for i in client.get_children("i1")] == ["i1"]
    assert client.release_lease("i1", "l1") is None
    peer.answer((200, b"\x00\x01raw bytes", {"Content-Type": "application/octet-stream"}))
    assert client.download_attachment("i1", "a1") == b"\x00\x01raw bytes"


def test_a_proxy_carries_every_request(peer, make):
    peer.answer((200, INTENT, {}))
    client = make(url="http://openintent.invalid", proxy=peer.url, trust_env=False)
    assert client.get_intent("i1").id == "i1"
    [request] = peer.requests
    assert request["path"] == "http://openintent.invalid/api/v1/intents/i1"
    assert request["headers"]["X-API-Key"] == "peer-key"


def test_the_callers_own_httpx_client(peer):
    seen = []
    own = httpx.Client(event_hooks={"request": [seen.append]}, headers={"X-Team": "risk"})
    peer.answer((200, INTENT, {}))
    client = OpenIntentClient(peer.url, "peer-key", "me", http_client=own)
    assert client.get_intent("i1").id == "i1"
    assert str(seen[0].url) == f"{peer.url}/api/v1/intents/i1"
    headers = peer.requests[0]["headers"]
    assert headers["X-API-Key"] == "peer-key" and headers["X-Agent-ID"] == "me" and headers["X-Team"] == "risk"
    client.close()
    assert not own.is_closed  # its owner closes it
    own.close()
    with pytest.raises(TypeError):
        OpenIntentClient(peer.url, "k", "me", http_client=httpx.AsyncClient())


def test_the_callers_own_async_httpx_client(peer):
    import asyncio

    loop = asyncio.new_event_loop()
    own = httpx.AsyncClient(headers={"X-Team": "risk"})
    peer.answer((200, INTENT, {}))
    client = AsyncAdapter(AsyncOpenIntentClient(peer.url, "peer-key", "me", http_client=own), loop)
    assert isinstance(client.get_intent("i1"), Intent)
    assert peer.requests[0]["headers"]["X-Team"] == "risk"
    client.close()
    assert not own.is_closed
    loop.run_until_complete(own.aclose())
    loop.close()
    with pytest.raises(TypeError):
        AsyncOpenIntentClient(peer.url, "k", "me", http_client=httpx.Client())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and its PEM file (which, being its own issuer, is its CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openintent-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def tls_peer(certificate):
    server = Peer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.url = server.url.replace("http://", "https://")
    yield server
    server.stop()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_tls_verification_is_configurable(tls_peer, certificate, flavour):
    made = Clients(tls_peer.url, flavour)
    try:
        with pytest.raises(OpenIntentConnectionError):
            made("k", "me", max_retries=0).get_intent("i1")
        tls_peer.answer((200, INTENT, {}), (200, INTENT, {}), (200, INTENT, {}))
        assert made("k", "me", verify=False).get_intent("i1").id == "i1"
        assert made("k", "me", verify=str(certificate[0])).get_intent("i1").id == "i1"
        context = ssl.create_default_context(cafile=str(certificate[0]))
        assert made("k", "me", verify=context).get_intent("i1").id == "i1"
    finally:
        made.close()


class TLSForwarder:
    """A TLS front for the live server, as a TLS-terminating proxy would be: HTTPS and WSS in, plain HTTP out."""

    def __init__(self, target_url, certificate):
        host, port = target_url.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(*certificate)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closed:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(raw,), daemon=True).start()

    def serve(self, raw):
        try:
            front = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()  # a client that refused our certificate
            return
        back = socket.create_connection(self.target)
        threading.Thread(target=self.pump, args=(back, front), daemon=True).start()
        self.pump(front, back)

    @staticmethod
    def pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def stop(self):
        self.closed = True
        self.listener.close()


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_streams_over_tls_take_the_clients_verify(live_server_url, certificate, transport):
    front = TLSForwarder(live_server_url, certificate)
    made = Clients(f"https://127.0.0.1:{front.port}", "sync")
    try:
        context = ssl.create_default_context(cafile=str(certificate[0]))
        client = made("agent-research-key", "agent-research", verify=context)
        intent = client.create_intent("Over TLS")
        start = client.get_events(intent.id, limit=1)[0].id
        client.log_event(intent.id, "note", {"over": "tls"})
        with client.subscribe_sse(intent.id, last_event_id=start, transport=transport) as stream:
            event = next(iter(stream))
        assert event.data["payload"] == {"over": "tls"}

        unverified = made("agent-research-key", "agent-research", max_retries=0)
        with pytest.raises(OpenIntentConnectionError):
            unverified.get_intent(intent.id)
        with (
            pytest.raises(OpenIntentConnectionError),
            unverified.subscribe_sse(intent.id, max_reconnects=0, transport=transport) as stream,
        ):
            next(iter(stream))
        lax = made("agent-research-key", "agent-research", verify=False)
        with lax.subscribe_sse(intent.id, last_event_id=start, transport=transport) as stream:
            assert next(iter(stream)).data["payload"] == {"over": "tls"}
    finally:
        made.close()
        front.stop()
