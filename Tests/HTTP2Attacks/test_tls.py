"""The TLS listener (`execbox-http2-testserver --tls-cert --tls-key`) against Python's `ssl` and an
sslyze configuration scan: TLS 1.2+ only, forward-secret AEAD suites only for 1.2, no compression,
no renegotiation, ALPN preferring h2, and a well-behaved HTTP/2 client served over TLS."""

import socket
import ssl

import h2.config
import h2.connection
import h2.events
import pytest


def _context(cafile, alpn=("h2", "http/1.1")):
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(list(alpn))
    return context


def _connect(server, context, host="localhost"):
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def test_alpn_prefers_h2_and_the_certificate_verifies(tls_server, tls_pair):
    cert, _ = tls_pair
    with _connect(tls_server, _context(cert, ("http/1.1", "h2"))) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.compression() is None


def test_http11_by_alpn_gets_the_http1_pipeline(tls_server, tls_pair):
    cert, _ = tls_pair
    with _connect(tls_server, _context(cert, ("http/1.1",))) as tls:
        assert tls.selected_alpn_protocol() == "http/1.1"
        tls.sendall(b"GET /v1/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := tls.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 404")
    assert b'"code":"not_found"' in response


def test_no_alpn_means_http11(tls_server, tls_pair):
    cert, _ = tls_pair
    context = ssl.create_default_context(cafile=cert)
    with _connect(tls_server, context) as tls:
        assert tls.selected_alpn_protocol() is None
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert tls.recv(65536).startswith(b"HTTP/1.1 404")


def test_h2_get_over_tls(tls_server, tls_pair):
    cert, _ = tls_pair
    with _connect(tls_server, _context(cert, ("h2",))) as tls:
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        connection.send_headers(
            1,
            [(":method", "GET"), (":path", "/hello"), (":scheme", "https"), (":authority", "localhost")],
            end_stream=True,
        )
        tls.sendall(connection.data_to_send())
        body, status, ended = b"", None, False
        while not ended:
            data = tls.recv(65536)
            assert data, "the server closed the connection"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers)[b":status"]
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    connection.acknowledge_received_data(len(event.data), event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
            tls.sendall(connection.data_to_send())
    assert status == b"200"
    assert body == b"hello\n"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_protocol_versions_are_refused(tls_server, version):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    with pytest.raises(ssl.SSLError):
        _connect(tls_server, context).close()


# RSA key exchange (CBC and GCM), ECDHE with CBC.
@pytest.mark.parametrize(
    "cipher", ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256"]
)
def test_tls12_without_forward_secret_aead_is_refused(tls_server, cipher):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(cipher)
    with pytest.raises(ssl.SSLError):
        _connect(tls_server, context).close()


def test_untrusted_certificate_is_rejected_by_a_verifying_client(tls_server):
    with pytest.raises(ssl.SSLCertVerificationError):
        _connect(tls_server, ssl.create_default_context()).close()


def test_garbage_instead_of_a_client_hello_closes_and_the_server_lives_on(tls_server, tls_pair):
    raw = socket.create_connection(("127.0.0.1", tls_server.port), timeout=10)
    raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00" * 64)
    raw.settimeout(10)
    try:
        while raw.recv(65536):
            pass
    except ConnectionResetError:
        pass
    raw.close()
    cert, _ = tls_pair
    with _connect(tls_server, _context(cert)) as tls:
        assert tls.selected_alpn_protocol() == "h2"


@pytest.mark.time_limit(180)
def test_sslyze_scan(tls_server):
    sslyze = pytest.importorskip("sslyze")
    location = sslyze.ServerNetworkLocation(hostname="localhost", port=tls_server.port, ip_address="127.0.0.1")
    commands = {
        sslyze.ScanCommand.SSL_2_0_CIPHER_SUITES,
        sslyze.ScanCommand.SSL_3_0_CIPHER_SUITES,
        sslyze.ScanCommand.TLS_1_0_CIPHER_SUITES,
        sslyze.ScanCommand.TLS_1_1_CIPHER_SUITES,
        sslyze.ScanCommand.TLS_1_2_CIPHER_SUITES,
        sslyze.ScanCommand.TLS_1_3_CIPHER_SUITES,
        sslyze.ScanCommand.TLS_COMPRESSION,
        sslyze.ScanCommand.SESSION_RENEGOTIATION,
        sslyze.ScanCommand.HEARTBLEED,
        sslyze.ScanCommand.OPENSSL_CCS_INJECTION,
        sslyze.ScanCommand.TLS_FALLBACK_SCSV,
    }
    scanner = sslyze.Scanner()
    scanner.queue_scans([sslyze.ServerScanRequest(server_location=location, scan_commands=commands)])
    results = list(scanner.get_results())
    assert len(results) == 1
    result = results[0]
    assert result.scan_status == sslyze.ServerScanStatusEnum.COMPLETED, result.connectivity_error_trace
    scan = result.scan_result

    def attempt(name):
        attempt = getattr(scan, name)
        assert attempt.status == sslyze.ScanCommandAttemptStatusEnum.COMPLETED, (name, attempt.error_trace)
        return attempt.result

    old_versions = ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites", "tls_1_1_cipher_suites")
    for name in old_versions:
        assert attempt(name).accepted_cipher_suites == [], name
    accepted12 = [suite.cipher_suite.name for suite in attempt("tls_1_2_cipher_suites").accepted_cipher_suites]
    assert accepted12, "TLS 1.2 must be served"
    for name in accepted12:
        assert name.startswith("TLS_ECDHE_"), name
        assert "_GCM_" in name or "CHACHA20_POLY1305" in name, name
    assert attempt("tls_1_3_cipher_suites").accepted_cipher_suites
    assert attempt("tls_compression").supports_compression is False
    renegotiation = attempt("session_renegotiation")
    assert renegotiation.is_vulnerable_to_client_renegotiation_dos is False
    assert renegotiation.supports_secure_renegotiation is True
    assert attempt("heartbleed").is_vulnerable_to_heartbleed is False
    assert attempt("openssl_ccs_injection").is_vulnerable_to_ccs_injection is False
    assert attempt("tls_fallback_scsv").supports_fallback_scsv is True


def test_records_dribbled_a_byte_at_a_time_are_reassembled(tls_server, tls_pair):
    """Partial records: every ciphertext byte of the handshake and the request in its own segment."""
    cert, _ = tls_pair
    context = _context(cert, ("http/1.1",))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    raw = socket.create_connection(("127.0.0.1", tls_server.port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def dribble():
        for byte in outgoing.read():
            raw.sendall(bytes([byte]))

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            dribble()
            data = raw.recv(65536)
            assert data, "the server closed during the handshake"
            incoming.write(data)
    dribble()
    assert tls.selected_alpn_protocol() == "http/1.1"
    tls.write(b"GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    dribble()
    response = b""
    while not response.endswith(b"}"):
        try:
            response += tls.read(65536)
        except ssl.SSLWantReadError:
            data = raw.recv(65536)
            if not data:
                break
            incoming.write(data)
    raw.close()
    assert response.startswith(b"HTTP/1.1 404")
