"""The SSRF guard: inside addresses are refused when an endpoint is saved and again
when a message is sent, and the request goes to the address that was checked."""

from __future__ import annotations

import socket
import threading

import pytest

from webhooks import outbound, services
from webhooks.outbound import UrlCode, UrlRefused

pytestmark = pytest.mark.django_db

INSIDE = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.5/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "https://localhost/hook",
]


@pytest.mark.parametrize("url", INSIDE)
def test_inside_addresses_are_refused(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(UrlRefused) as refused:
        outbound.target_for(url)
    assert refused.value.code == UrlCode.PRIVATE_ADDRESS


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://93.184.215.14/x", UrlCode.SCHEME),
        ("file:///etc/passwd", UrlCode.SCHEME),
        ("https://user:pw@93.184.215.14/x", UrlCode.CREDENTIALS),
        ("https://93.184.215.14:99999/x", UrlCode.INVALID),
        ("https://no-such-host.invalid/x", UrlCode.UNRESOLVABLE),
    ],
)
def test_other_bad_urls_have_their_own_codes(url, code):
    with pytest.raises(UrlRefused) as refused:
        outbound.target_for(url)
    assert refused.value.code == code


def test_a_public_address_is_accepted_and_pinned():
    target = outbound.target_for("https://93.184.215.14:8443/in?x=1")
    assert (target.ip, target.port, target.path) == ("93.184.215.14", 8443, "/in?x=1")


@pytest.fixture
def dns(monkeypatch):
    """The outside world's DNS, scripted for names under .example.test."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".example.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_with_any_inside_address_is_refused(dns):
    dns["mixed.example.test"] = ["93.184.215.14", "10.0.0.7"]
    with pytest.raises(UrlRefused) as refused:
        outbound.target_for("https://mixed.example.test/hook")
    assert refused.value.code == UrlCode.PRIVATE_ADDRESS


def test_registration_refuses_inside_addresses_with_a_stable_code(world):
    va = world["a"]
    with pytest.raises(services.ApiError) as refused:
        services.endpoint_create(scope=va.scope, url="http://169.254.169.254/")
    assert refused.value.error_code == "url_private_address"
    assert refused.value.field == "url"


def test_a_name_that_turns_inside_after_registration_is_refused_at_send_time(
    world, dns, receiver, settings
):
    """DNS rebinding: public when saved, loopback when sent: nothing reaches loopback."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    port = receiver.server.server_address[1]
    dns["rebind.example.test"] = ["93.184.215.14"]
    endpoint = services.endpoint_create(
        scope=world["a"].scope, url=f"http://rebind.example.test:{port}/hook"
    )
    dns["rebind.example.test"] = ["127.0.0.1"]
    delivery = services.endpoint_send_test(scope=world["a"].scope, endpoint_id=endpoint.pk)
    services.delivery_send(vendor_id=world["a"].vendor.pk, delivery_id=delivery.pk)
    assert receiver.received == []
    attempt = delivery.log.get()
    assert attempt.status_code is None and attempt.error.startswith("url_private_address")


def test_the_request_connects_to_the_checked_address_and_names_the_host(dns, receiver, loopback):
    """The connection goes to the resolved IP; the host name travels in Host only."""
    port = receiver.server.server_address[1]
    dns["hooks.example.test"] = ["127.0.0.1"]
    outcome = outbound.post(f"http://hooks.example.test:{port}/hook", b"{}", {"webhook-id": "m"})
    assert outcome.succeeded, outcome
    assert receiver.received[0].headers["host"] == f"hooks.example.test:{port}"


def test_with_the_guard_on_nothing_is_posted_to_loopback(receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    outcome = outbound.post(receiver.url, b"{}", {})
    assert not outcome.succeeded and outcome.error.startswith("url_private_address")
    assert receiver.received == []


def test_a_receiver_that_never_answers_times_out(loopback, settings):
    """A listener that accepts and stays silent: the read timeout ends the attempt."""
    settings.WEBHOOKS_READ_TIMEOUT = 0.3
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    try:
        outcome = outbound.post(f"http://127.0.0.1:{silent.getsockname()[1]}/", b"{}", {})
    finally:
        for s in held:
            s.close()
        silent.close()
    assert outcome.status_code is None and "timed out" in outcome.error.lower()


def test_https_to_a_pinned_address_still_checks_the_certificate(dns, loopback, tmp_path):
    """The connection goes to the IP, but TLS is checked against the URL's host name:
    a self-signed certificate is refused, and nothing is posted."""
    import ssl
    import subprocess
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example.test"),
        ],
        check=True,
        capture_output=True,
    )
    posted: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dns["hooks.example.test"] = ["127.0.0.1"]
        port = server.server_address[1]
        outcome = outbound.post(f"https://hooks.example.test:{port}/hook", b"{}", {})
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.status_code is None and "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert posted == []
