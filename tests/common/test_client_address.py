"""The client's address: the peer's, or the one a trusted proxy appended to X-Forwarded-For."""

from django.test import RequestFactory

from common.http import client_address


def _request(forwarded=None, peer="10.0.0.2"):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_peer_is_the_client_whatever_the_header_says(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(_request("198.51.100.7")) == "10.0.0.2"


def test_behind_one_proxy_the_right_most_entry_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request("192.0.2.1, 198.51.100.7")) == "198.51.100.7"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(_request("192.0.2.1, 198.51.100.7, 10.0.0.9")) == "198.51.100.7"


def test_a_request_that_did_not_pass_the_proxies_or_names_no_address_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(_request("198.51.100.7")) == "10.0.0.2"
    assert client_address(_request(None)) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request("not-an-address")) == "10.0.0.2"


def test_an_ipv6_client_is_written_in_its_normal_form(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request("2001:DB8:0:0::7")) == "2001:db8::7"
