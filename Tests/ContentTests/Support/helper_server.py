#!/usr/bin/env python3
"""Test helpers for the registry client, standard library only.

  helper_server.py token PORT KEY CERT USER PASSWORD
      A bearer token server for docker-registry's `auth: token:` (RS256 JWT with an x5c
      header, signed by `openssl dgst`). Anonymous requests get pull; USER:PASSWORD gets
      pull and push; wrong credentials get 401.

  helper_server.py fake PORT
      A misbehaving registry: /v2/schema1/... serves a schema 1 manifest, /v2/bad/blobs/...
      serves bytes that do not match the digest asked for, /v2/redirect/blobs/... answers
      with a 307 to /storage/blob (as registries backed by object storage do).

  helper_server.py proxy PORT UPSTREAM_PORT RATE LOG
      A registry front for fault tests: forwards every request to 127.0.0.1:UPSTREAM_PORT,
      sends blob bodies at RATE bytes per second (0: as fast as possible), and appends one
      line per request to LOG once its body is sent: "METHOD PATH range=RANGE sent=BYTES".
"""
import base64, hashlib, http.server, json, subprocess, sys, time, urllib.parse, uuid

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

REDIRECT_BODY = b"served after a redirect\n" * 1000

def token_handler(key, cert, user, password):
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(u.query)
            auth = self.headers.get("Authorization")
            if auth is not None and auth != good:
                self.send_response(401); self.send_header("Content-Type", "application/json"); self.end_headers()
                self.wfile.write(b'{"details":"incorrect username or password"}'); return
            access = []
            for scope in q.get("scope", []):
                for s in scope.split(" "):
                    parts = s.split(":")
                    if len(parts) < 3: continue
                    wanted = parts[-1].split(",")
                    allowed = ["pull", "push"] if auth == good else ["pull"]
                    access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                                   "actions": [a for a in wanted if a in allowed]})
            now = int(time.time())
            claims = {"iss": "berth-test-issuer", "sub": user if auth else "", "aud": q.get("service", [""])[0],
                      "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
            signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
            sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, "-binary"], input=signing_input.encode(),
                                 check=True, capture_output=True).stdout
            token = signing_input + "." + b64url(sig)
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    return H

class Fake(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, status, body=b"", ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items(): self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        p = self.path
        if p == "/v2/":
            return self.reply(200, b"{}")
        if p.startswith("/v2/schema1/") and "/manifests/" in p:
            body = json.dumps({"schemaVersion": 1, "name": "schema1", "tag": "latest", "architecture": "amd64",
                               "fsLayers": [], "history": []}).encode()
            return self.reply(200, body, "application/vnd.docker.distribution.manifest.v1+prettyjws")
        if p.startswith("/v2/bad/") and "/blobs/" in p:
            return self.reply(200, b"these are not the bytes you are looking for\n" * 1000, "application/octet-stream")
        if p.startswith("/v2/redirect/") and "/blobs/" in p:
            return self.reply(307, b"", "text/plain", {"Location": "/storage/blob?signature=abc"})
        if p.startswith("/storage/blob"):
            if self.headers.get("Authorization"):
                return self.reply(400, b"storage does not take registry credentials", "text/plain")
            return self.reply(200, REDIRECT_BODY, "application/octet-stream")
        return self.reply(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}')

def proxy_handler(upstream, rate, log):
    import http.client

    class P(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn = http.client.HTTPConnection("127.0.0.1", upstream)
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("connection", "transfer-encoding"):
                    self.send_header(k, v.replace(f"127.0.0.1:{upstream}", f"127.0.0.1:{self.server.server_port}"))
            if r.getheader("Content-Length") is None and self.command != "HEAD":
                data = r.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                sent = len(data)
            else:
                self.end_headers()
                sent = 0
                slow = rate > 0 and "/blobs/" in self.path and self.command == "GET"
                chunk = max(rate // 20, 1024) if slow else 1 << 16
                while self.command != "HEAD":
                    data = r.read(chunk)
                    if not data: break
                    self.wfile.write(data); self.wfile.flush()
                    sent += len(data)
                    if slow: time.sleep(len(data) / rate)
            conn.close()
            with open(log, "a") as f:
                f.write(f"{self.command} {self.path.split('?')[0]} range={self.headers.get('Range', '-')} sent={sent}\n")
        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward
    return P

if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "token": handler = token_handler(*sys.argv[3:7])
    elif mode == "proxy": handler = proxy_handler(int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else: handler = Fake
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.serve_forever()
