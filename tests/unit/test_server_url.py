"""Unparseable server URLs are configuration errors with Go's url.Parse wording, never a crash
(found by the argv fuzzer: `-s '['`)."""

from __future__ import annotations

import pytest

from pyvirtctl.errors import ConfigError
from pyvirtctl.kube.config import GlobalFlags, load_config


def _empty(tmp_path) -> str:
    kc = tmp_path / "kubeconfig"
    kc.write_text("")
    return str(kc)


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("[", 'host must be a URL or a host:port pair: parse "http://[": missing \']\' in host'),
        ("http://[::1", 'host must be a URL or a host:port pair: parse "http://[::1": missing \']\' in host'),
        ("http://a:99999", 'host must be a URL or a host:port pair: parse "http://a:99999": port out of range 0-65535'),
    ],
)
def test_bad_server_url(server, message, tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(GlobalFlags(kubeconfig=_empty(tmp_path), server=server), env={})
    assert info.value.message == message


@pytest.mark.parametrize(("server", "url"), [("127.0.0.1:6443", "http://127.0.0.1:6443"),
                                             ("https://h:443/prefix/", "https://h:443/prefix/")])
def test_good_server_url(server, url, tmp_path):
    assert load_config(GlobalFlags(kubeconfig=_empty(tmp_path), server=server), env={}).server.startswith(url)
