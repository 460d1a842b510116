"""The http(s) witness sink's URL: its name (no credentials, no key), the path it posts to, basic authentication and a pinned key."""

import base64

import pytest

from governance.checkpoints.cosign import cosigner_key_generate
from governance.checkpoints.sinks import CheckpointSinkError, checkpoint_sink_from_url
from governance.checkpoints.witness_sink import WitnessSink


def test_http_and_https_urls_make_witness_sinks_through_the_registry():
    assert isinstance(checkpoint_sink_from_url("http://127.0.0.1:8470/"), WitnessSink)
    assert isinstance(checkpoint_sink_from_url("https://witness.example/"), WitnessSink)


def test_the_name_leaves_out_credentials_and_the_pinned_key_and_the_path_gets_add_checkpoint():
    vkey = cosigner_key_generate("witness.example/w1").vkey()
    sink = WitnessSink(f"https://user:s%40cret@witness.example:8443/audit/#{vkey}")
    assert sink.name == "https://witness.example:8443/audit/"
    assert sink.path == "/audit/add-checkpoint"
    assert sink.authorization == "Basic " + base64.b64encode(b"user:s@cret").decode()
    assert sink.key.vkey() == vkey


@pytest.mark.parametrize("url", ["http://witness:port/", "http:///", "http://witness/?x=1"])
def test_a_malformed_witness_url_is_refused_without_echoing_credentials(url):
    with pytest.raises(CheckpointSinkError, match="a witness sink is http"):
        WitnessSink(url.replace("://", "://user:secret@", 1))
    try:
        WitnessSink(url.replace("://", "://user:secret@", 1))
    except CheckpointSinkError as error:
        assert "secret" not in str(error)


def test_a_fragment_that_is_not_a_witness_vkey_is_refused_naming_the_sink():
    log_vkey = "example.com/log+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode()
    with pytest.raises(CheckpointSinkError, match="http://witness.example/: the #fragment is not a witness vkey"):
        WitnessSink(f"http://witness.example/#{log_vkey}")
