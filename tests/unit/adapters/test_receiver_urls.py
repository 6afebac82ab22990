"""Write-time checks of webhook receiver URLs: what the text shows, judged like outbound calls."""

from __future__ import annotations

import pytest

from workflow_service.adapters.http.receiver_urls import ReceiverUrlPolicy, literal_address
from workflow_service.settings.engine import HttpNodeSettings

DEPLOYED = ReceiverUrlPolicy(HttpNodeSettings())
LOCAL = ReceiverUrlPolicy(HttpNodeSettings(HTTP_NODE_ALLOW_LOOPBACK=True, HTTP_NODE_REQUIRE_HTTPS=False))


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in",
        "https://example.com:8443/x?y=1",
        "https://93.184.216.34/",
        "https://[2606:4700::1]/",
        "https://b\u00fccher.example/",
    ],
)
def test_public_https_receivers_are_allowed_everywhere(url):
    assert DEPLOYED.refusal(url) is None and LOCAL.refusal(url) is None


@pytest.mark.parametrize(
    ("url", "because"),
    [
        ("http://hooks.example.com/in", "https"),
        ("https://127.0.0.1/", "loopback"),
        ("https://localhost:8080/", "loopback host"),
        ("https://LOCALHOST./", "loopback host"),
        ("https://a.b.localhost/", "loopback host"),
        ("https://0x7f000001/", "loopback"),
        ("https://0177.0.0.1/", "loopback"),
        ("https://10.0.0.1/", "private"),
        ("https://[fd00::1]/", "unique-local"),
        ("https://[fe80::1%25eth0]/", "link-local"),
        ("https://169.254.169.254/", "metadata"),
        ("https://0.0.0.0/", "special-purpose"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://bob:secret@example.com/", "credentials"),
        # Unicode look-alikes, judged as the HTTP client's IDNA mapping will send them
        ("https://127\u30020\u30020\u30021/", "loopback"),
        ("https://\u2460\u2461\u2466.0.0.1/", "loopback"),
        ("https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/", "loopback host"),
        ("https://\uff11\uff10.0.0.1/", "private"),
        ("https://" + "\u00fc" * 70 + ".example/", "not a valid internationalized domain name"),
    ],
)
def test_refused_when_deployed(url, because):
    refusal = DEPLOYED.refusal(url)
    assert refusal is not None and because in refusal


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://localhost/x", "http://[::1]:1/"])
def test_the_local_runtime_allows_loopback_over_http(url):
    assert LOCAL.refusal(url) is None


@pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://172.16.0.1/", "http://[::ffff:10.0.0.1]/"])
def test_the_local_runtime_still_refuses_metadata_and_private_addresses(url):
    assert LOCAL.refusal(url) is not None


@pytest.mark.parametrize("host", ["cafe.example", "deadbeef", "1.2.3.4.5", "example.com"])
def test_names_that_only_look_numeric_are_left_to_the_delivery_time_guard(host):
    assert literal_address(host) is None
