"""Starting the local cloud: a port that is taken fails the start with a clear error, and leaves
nothing that would block the next start (it used to exit through werkzeug and leave the failed
cloud registered as the running one, so every later runtime in the session failed)."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from emulator.cloud import LocalCloud, LocalCloudError


def test_a_taken_port_fails_the_start_naming_it_and_the_next_start_works():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalCloudError, match=f"127.0.0.1:{port}: the port is in use"):
            LocalCloud(port=port).start()
    with LocalCloud() as cloud:
        assert cloud.port > 0 and cloud.endpoint_url.endswith(f":{cloud.port}")
        request = urllib.request.Request(f"{cloud.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
