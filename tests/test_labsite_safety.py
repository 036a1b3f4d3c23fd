"""The labsite's safety: path traversal in every encoding reaches no file, it listens
on 127.0.0.1 only, and its command line refuses bad faults in one line."""

from __future__ import annotations

import socket

import psutil
import pytest
import requests
from raw_http import raw_request

from support.labsite import LabSite

# --------------------------------------------------------------------------
# Safety: traversal in every encoding, loopback only, nothing on stderr
# --------------------------------------------------------------------------

TRAVERSALS = [
    b"/../../../../etc/passwd", b"/page/../../../etc/passwd", b"/page/1/../../../../etc/passwd",
    b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd", b"/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", b"/page/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"/..%2f..%2f..%2fetc%2fpasswd", b"/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    b"/..\\..\\..\\etc\\passwd", b"/%5c..%5c..%5cetc%5cpasswd", b"/page\\..\\..\\etc\\passwd",
    b"/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", b"/%c0%af..%c0%afetc%c0%afpasswd", b"/%e0%80%ae%e0%80%ae/etc/passwd",
    b"/%ef%bc%8e%ef%bc%8e/etc/passwd", b"/..;/..;/etc/passwd", b"//etc/passwd", b"/./././etc/passwd",
    b"/etc/passwd%00", b"/page/1%00/../../etc/passwd", b"/page/1\x00/../../etc/passwd",
    b"/trampa/1/../../../etc/passwd", b"/cadena/1/%2e%2e", b"/bucle/..%2f..%2fetc%2fpasswd",
    b"/pyproject.toml", b"/support/labsite.py", b"/../pyproject.toml", b"/%2e%2e/pyproject.toml",
    b"http://127.0.0.1/../../etc/passwd", b"file:///etc/passwd",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode("latin-1").replace("\x00", "NUL") for t in TRAVERSALS])
def test_path_traversal_reaches_no_file(make_site, target, capfd):
    site = make_site(pages=10, faults={"trap": 0.2, "redirect_chain": 0.2, "redirect_loop": 0.2})
    status, _, body = raw_request(site, target)
    assert status in (400, 404), status
    assert b"root:" not in body and b"[build-system]" not in body and b"import" not in body
    assert raw_request(site, b"/")[0] == 200  # and the server is fine
    assert capfd.readouterr().err == ""  # and it said nothing on stderr


def test_listens_on_127_0_0_1_only(make_site):
    site = make_site(pages=5)
    assert site.addresses and {host for host, *_ in site.addresses} == {"127.0.0.1"}
    for conn in psutil.Process().net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == site.port:
            assert conn.laddr.ip == "127.0.0.1", conn
    # Another loopback address and every other address of this machine are refused.
    others = {"127.0.0.2"} | {a.address for addrs in psutil.net_if_addrs().values() for a in addrs
                              if a.family == socket.AF_INET and a.address != "127.0.0.1"}
    for address in others:
        with pytest.raises(OSError):
            socket.create_connection((address, site.port), timeout=1).close()
    assert raw_request(site, b"/")[0] == 200


def test_command_line_takes_faults_and_options():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "support.labsite", "--pages", "10", "--fault", "error500=0.3",
                             "--fault", "redirect_chain=0.2", "--fault-option", "chain_length=3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        same = LabSite(pages=10, faults={"error500": 0.3, "redirect_chain": 0.2}, fault_options={"chain_length": 3})
        assert len(same.faulty_pages("error500")) == 3
        for page in same.faulty_pages("error500"):
            assert requests.get(f"{url}page/{page}", timeout=5).status_code == 500
        chained = requests.get(f"{url}page/{same.faulty_pages('redirect_chain')[0]}", timeout=5)
        assert chained.status_code == 200 and len(chained.history) == 3
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.parametrize("args", [["--fault", "lento=0.1"], ["--fault", "drip=mucho"],
                                  ["--fault-option", "drip_secs=3"], ["--fault-option", "chain_length=x"]])
def test_command_line_rejects_bad_faults_in_one_line(args):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "support.labsite", "--pages", "10", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("python -m support.labsite: error:")
