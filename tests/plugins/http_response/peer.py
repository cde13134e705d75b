#!/usr/bin/env python3
"""The HTTP peer of inputs.http_response's tests: Python's own http.server
(a real HTTP/1.x implementation, threaded so that slow answers overlap)
serving the files of a directory, as `python3 -m http.server` does, plus a
few routes for the cases a directory cannot make:

  /redirect/N      302 to /redirect/N-1; /redirect/0 302 to /index.html
  /loop            302 to itself (too many redirects)
  /sleep/MS        waits MS milliseconds, then 200 "slept"
  /status/CODE     CODE with the body "status CODE"
  /echo            200, the request as JSON: method, path, headers, body
  /gzip            "compressed hello" gzip-encoded when asked for gzip
  /cut             announces 1000 bytes, sends 10, closes
  /stall           announces 100 bytes, sends 5, waits 30 s
  /latin1          200 with a body that is not UTF-8

Usage: peer.py DIRECTORY. Listens on 127.0.0.1, a port the kernel picks,
and prints "ACCEPT 127.0.0.1:PORT" once it accepts connections."""
import functools
import gzip
import http.server
import json
import sys
import time
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet: the tests read stdout for the port only
        pass

    def answer(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        name = parts[1] if len(parts) > 1 else ""
        arg = parts[2] if len(parts) > 2 else ""
        if name == "redirect" and arg.isdigit():
            n = int(arg)
            target = "/index.html" if n == 0 else "/redirect/%d" % (n - 1)
            self.answer(302, b"moved\n", [("Location", target)])
        elif name == "loop":
            self.answer(302, b"again\n", [("Location", "/loop")])
        elif name == "sleep" and arg.isdigit():
            time.sleep(int(arg) / 1000.0)
            self.answer(200, b"slept\n")
        elif name == "status" and arg.isdigit():
            self.answer(int(arg), b"status %s\n" % arg.encode())
        elif name == "echo":
            self.echo()
        elif name == "gzip":
            self.compressed()
        elif name == "cut":
            self.partial(1000, b"0123456789", 0)
        elif name == "stall":
            self.partial(100, b"01234", 30)
        elif name == "latin1":
            self.answer(200, b"caf\xe9\n", [("Content-Type", "text/plain; charset=latin1")])
        else:
            return False
        return True

    def echo(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        out = {"method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        self.answer(200, json.dumps(out, sort_keys=True).encode(),
                    [("Content-Type", "application/json")])

    def compressed(self):
        text = b"compressed hello\n"
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            self.answer(200, gzip.compress(text), [("Content-Encoding", "gzip")])
        else:
            self.answer(200, text)

    def partial(self, announced, sent, wait):
        self.send_response(200)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(sent)
        self.wfile.flush()
        time.sleep(wait)
        self.close_connection = True

    def do_GET(self):
        if not self.route():
            super().do_GET()

    def do_HEAD(self):
        if not self.route():
            super().do_HEAD()

    def do_POST(self):
        if not self.route():
            self.answer(405, b"method not allowed\n")

    do_PUT = do_POST
    do_DELETE = do_POST
    do_PATCH = do_POST
    do_OPTIONS = do_POST


def main():
    handler = functools.partial(Handler, directory=sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print("ACCEPT 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
