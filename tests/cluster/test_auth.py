"""TCP access to a daemon: the bearer token (missing or wrong: UNAUTHENTICATED,
counted, logged without the token), the refusal to listen beyond loopback
without one, TLS with a CA made here, and mutual TLS."""

import os
import subprocess
import sys
import textwrap

import grpc
import pytest

from sejits.v1 import specializer_pb2, specializer_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import Daemon, daemon_binary, free_port  # noqa: E402

TOKEN = "correct-horse-battery-staple-4711"
CLIENT = textwrap.dedent("""
    import numpy as np, sejits

    @sejits.elementwise
    def scaled_sum(a, b):
        return 3.0 * a + b

    a = np.linspace(-2.0, 2.0, 101)
    assert np.array_equal(scaled_sum(a, a), 3.0 * a + a)
    print("ok")
""")


def run_client(tmp_path, address, **settings):
    """A fresh process calling one kernel through `address` with SEJITS_* settings."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = dict(os.environ, SEJITS_DAEMON=address, SEJITS_AUTOSTART="0", SEJITS_FALLBACK="error",
               SEJITS_CACHE_DIR=str(tmp_path / "client-cache"), SEJITS_TUNING="off")
    for name in ("SEJITS_TOKEN", "SEJITS_TLS_CA", "SEJITS_TLS_CERT", "SEJITS_TLS_KEY"):
        env.pop(name, None)
    env.update({f"SEJITS_{name.upper()}": str(value) for name, value in settings.items()})
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)


def stats_call(target, metadata=()):
    with grpc.insecure_channel(target) as channel:
        return specializer_pb2_grpc.SpecializerStub(channel).GetStats(specializer_pb2.GetStatsRequest(), timeout=5,
                                                                      metadata=list(metadata))


@pytest.fixture(scope="module")
def token_daemon(tmp_path_factory):
    instance = Daemon(tmp_path_factory.mktemp("token-daemon"), tcp=True, token=TOKEN).start()
    yield instance
    instance.stop()


def test_missing_and_wrong_tokens_are_unauthenticated_and_counted(token_daemon):
    before = token_daemon.stats().unauthenticated
    for metadata in ((), (("authorization", "Bearer not-the-token"),), (("authorization", TOKEN),)):
        with pytest.raises(grpc.RpcError) as refused:
            stats_call(token_daemon.tcp_target, metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert stats_call(token_daemon.tcp_target, [("authorization", f"Bearer {TOKEN}")]).pid == token_daemon.process.pid
    assert token_daemon.stats().unauthenticated == before + 3
    log = token_daemon.log_text()
    assert "auth: refused a call from ipv4:127.0.0.1" in log
    assert TOKEN not in log and "not-the-token" not in log


def test_a_client_with_the_token_runs_kernels_and_one_without_is_told_why(token_daemon, tmp_path):
    good = run_client(tmp_path / "good", token_daemon.tcp_address, token=TOKEN)
    assert good.returncode == 0 and good.stdout.strip() == "ok", good.stderr
    assert list((tmp_path / "good" / "client-cache" / "artifacts").rglob("*.so")), "a TCP client fetches its artifacts"
    bad = run_client(tmp_path / "bad", token_daemon.tcp_address)
    assert bad.returncode != 0
    assert "UNAUTHENTICATED" in bad.stderr and "requires a bearer token" in bad.stderr


def test_unix_socket_clients_need_no_token(token_daemon, tmp_path):
    result = run_client(tmp_path, token_daemon.address)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("flags, message", [
    ([], "accepts connections from other machines: give --token_file"),
    (["--tls_cert=/nonexistent.pem"], "--tls_cert and --tls_key go together"),
])
def test_the_daemon_refuses_unsafe_or_incomplete_tcp_settings(tmp_path, flags, message):
    command = [daemon_binary(), "--listen_unix=none", f"--listen_tcp=0.0.0.0:{free_port()}", f"--cache_dir={tmp_path}",
               *flags]
    if flags:
        (tmp_path / "token").write_text(TOKEN)
        command.append(f"--token_file={tmp_path / 'token'}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


# ---- TLS -----------------------------------------------------------------------


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def issue(directory, name, subject, ca="ca"):
    """A key and a certificate for `subject` signed by the test CA, valid for 127.0.0.1 and localhost."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
            f"/CN={subject}", cwd=directory)
    (directory / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=directory)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=sejits test CA", cwd=directory)
    issue(directory, "server", "localhost")
    issue(directory, "client", "sejits test client")
    return directory


def test_tls_with_a_private_ca(pki, tmp_path):
    daemon = Daemon(tmp_path / "daemon", tcp=True, token=TOKEN).start(
        f"--tls_cert={pki / 'server.pem'}", f"--tls_key={pki / 'server.key'}")
    try:
        good = run_client(tmp_path / "good", daemon.tcp_address, token=TOKEN, tls_ca=pki / "ca.pem")
        assert good.returncode == 0 and good.stdout.strip() == "ok", good.stderr
        plain = run_client(tmp_path / "plain", daemon.tcp_address, token=TOKEN)
        assert plain.returncode != 0
        assert f"no daemon answers at {daemon.tcp_address}" in plain.stderr and "SEJITS_TLS_CA" in plain.stderr
    finally:
        daemon.stop()


def test_mutual_tls_requires_a_client_certificate(pki, tmp_path):
    daemon = Daemon(tmp_path / "daemon", tcp=True, token=TOKEN).start(
        f"--tls_cert={pki / 'server.pem'}", f"--tls_key={pki / 'server.key'}", f"--tls_client_ca={pki / 'ca.pem'}")
    try:
        with_certificate = run_client(tmp_path / "with", daemon.tcp_address, token=TOKEN, tls_ca=pki / "ca.pem",
                                      tls_cert=pki / "client.pem", tls_key=pki / "client.key")
        assert with_certificate.returncode == 0, with_certificate.stderr
        without = run_client(tmp_path / "without", daemon.tcp_address, token=TOKEN, tls_ca=pki / "ca.pem")
        assert without.returncode != 0 and "no daemon answers" in without.stderr
    finally:
        daemon.stop()
