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

if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    handler = token_handler(*sys.argv[3:7]) if mode == "token" else Fake
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.serve_forever()
