"""Fixtures shared by the service tests."""
import socket
import pytest


def free_port() -> int:
    "A TCP port on 127.0.0.1 that nothing listens on now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def endpoint():
    "A moto server (S3, Glue, Athena, IAM, KMS, ...) on 127.0.0.1 for the module's tests: its URL."
    from moto.server import ThreadedMotoServer
    port = free_port()
    srv = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    srv.start()
    yield f'http://127.0.0.1:{port}'
    srv.stop()
