"""mitmproxy addon for the benchmark: send every decrypted request to the local bench upstream.

Edge does the same through its originOverrides setting, so both proxies do equal work:
decrypt, re-encrypt, and forward to 127.0.0.1.
"""
import os

PORT = int(os.environ["BENCH_UPSTREAM_PORT"])


def requestheaders(flow):
    # requestheaders, not request: with stream_large_bodies on (so SSE is not buffered, as in Edge),
    # the request hook only fires after the body has already been streamed upstream.
    flow.request.host = "127.0.0.1"
    flow.request.port = PORT
