"""An HTTPS collector for tests/tls.rs: Python's http.server behind ssl.

Usage: python3 tls_collector.py CERT_PEM KEY_PEM

Listens on 127.0.0.1 on a port the OS chooses and prints "PORT <n>" once it
accepts connections. Answers POST /v1/batch with 200 and prints the batch on
one line, "BATCH <compact JSON>", once per request, before answering; any other
request gets 404. A TLS handshake that fails (the client refused the
certificate) prints "HANDSHAKE-FAILED <reason>". Stops when stdin closes or
when killed.
"""

import gzip
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        if self.path.split("?")[0] != "/v1/batch":
            self.answer(404, b'{"error":"not found"}')
            return
        batch = json.loads(body)
        print("BATCH " + json.dumps(batch, separators=(",", ":")), flush=True)
        self.answer(200, b'{"success":true}')

    def do_GET(self):
        self.answer(404, b'{"error":"not found"}')

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        reason = sys.exc_info()[1]
        if isinstance(reason, (ssl.SSLError, ConnectionError)):
            print("HANDSHAKE-FAILED " + str(reason).replace("\n", " "), flush=True)
        else:
            super().handle_error(request, client_address)


class TlsHandler(Handler):
    """Runs the TLS handshake in the connection's own thread, so a client that
    refuses the certificate never stalls the accepting thread."""

    def setup(self):
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()


def main():
    cert, key = sys.argv[1], sys.argv[2]
    server = Server(("127.0.0.1", 0), TlsHandler)
    server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.tls.load_cert_chain(cert, key)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
