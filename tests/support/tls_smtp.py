#!/usr/bin/env python3
"""Minimal SMTP receiver with TLS for tests (stdlib only).

usage: tls_smtp.py MODE PORT CERT KEY OUTDIR [INTROSPECTION_URL]
  MODE tls       implicit TLS from the first byte (port 465 style)
  MODE starttls  plain greeting, offers STARTTLS and requires it before MAIL
Without INTROSPECTION_URL accepts AUTH PLAIN/LOGIN with any credentials.
With it, offers only AUTH XOAUTH2 OAUTHBEARER, checks each token at that
RFC 7662 endpoint (active and its "email" equal to the SASL user), answers a
bad token with the error challenge (334 + JSON) then 535, requires AUTH
before MAIL, and logs each AUTH to OUTDIR/auth.log ("ok USER" / "fail USER"). Each message is written to
OUTDIR/<n>.eml (the DATA, dot-unstuffed, CRLF), envelope to OUTDIR/<n>.env.
Prints "ready" on stdout once listening.
"""
import base64, json, os, socket, ssl, sys, threading, urllib.parse, urllib.request

mode, port, cert, key, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
introspect = sys.argv[6] if len(sys.argv) > 6 else None
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
counter = [0]
lock = threading.Lock()


def token_user(mech, raw):
    """(user, token) from an XOAUTH2 or OAUTHBEARER initial response."""
    text = raw.decode("utf-8", "replace")
    fields = text.split("\x01")
    user, token = None, None
    if mech == "OAUTHBEARER":
        gs2 = fields[0].split(",")
        for g in gs2:
            if g.startswith("a="):
                user = g[2:].replace("=2C", ",").replace("=3D", "=")
    for f in fields:
        if f.startswith("user="):
            user = f[5:]
        elif f.lower().startswith("auth=bearer "):
            token = f[12:]
    return user, token


def token_ok(user, token):
    if not user or not token:
        return False
    data = urllib.parse.urlencode({"token": token}).encode()
    try:
        with urllib.request.urlopen(introspect, data=data, timeout=10) as r:
            v = json.loads(r.read())
    except Exception:
        return False
    return v.get("active") is True and v.get("email") == user


def log_auth(line):
    with lock:
        with open(os.path.join(outdir, "auth.log"), "a") as f:
            f.write(line + "\n")


def handle(conn):
    try:
        if mode == "tls":
            conn = ctx.wrap_socket(conn, server_side=True)
        f = conn.makefile("rb")
        tls = mode == "tls"

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        send("220 tls-smtp ready")
        mail_from, rcpts = None, []
        authed = False
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"):
                auth = "250-AUTH XOAUTH2 OAUTHBEARER" if introspect else "250-AUTH PLAIN LOGIN"
                exts = ["250-tls-smtp", auth, "250-8BITMIME"]
                if mode == "starttls" and not tls:
                    exts.append("250-STARTTLS")
                exts.append("250 SMTPUTF8")
                conn.sendall(("\r\n".join(exts) + "\r\n").encode())
            elif up == "STARTTLS" and mode == "starttls" and not tls:
                send("220 go ahead")
                conn = ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile("rb")
                tls = True
            elif up.startswith("AUTH") and introspect:
                parts = cmd.split()
                mech = parts[1].upper() if len(parts) > 1 else ""
                if mech not in ("XOAUTH2", "OAUTHBEARER"):
                    send("504 5.5.4 mechanism not supported")
                    continue
                if len(parts) > 2:
                    b64 = parts[2]
                else:
                    send("334 ")
                    b64 = f.readline().decode().strip()
                try:
                    user, token = token_user(mech, base64.b64decode(b64))
                except Exception:
                    user, token = None, None
                if token_ok(user, token):
                    authed = True
                    log_auth("ok %s %s" % (mech, user))
                    send("235 2.7.0 Authentication successful")
                else:
                    log_auth("fail %s %s" % (mech, user))
                    err = base64.b64encode(json.dumps({"status": "401", "schemes": "bearer"}).encode()).decode()
                    send("334 " + err)
                    f.readline()
                    send("535 5.7.8 Authentication credentials invalid")
            elif up.startswith("AUTH"):
                parts = cmd.split()
                if len(parts) == 2 and parts[1].upper() == "LOGIN":
                    send("334 VXNlcm5hbWU6"); f.readline()
                    send("334 UGFzc3dvcmQ6"); f.readline()
                elif len(parts) == 2:
                    send("334 "); f.readline()
                send("235 2.7.0 ok")
            elif up.startswith("MAIL FROM:"):
                if not tls:
                    send("530 5.7.0 Must issue a STARTTLS command first")
                    continue
                if introspect and not authed:
                    send("530 5.7.0 Authentication required")
                    continue
                mail_from, rcpts = cmd[10:].strip(), []
                send("250 ok")
            elif up.startswith("RCPT TO:"):
                rcpts.append(cmd[8:].strip())
                send("250 ok")
            elif up == "DATA":
                send("354 go")
                data = []
                while True:
                    l = f.readline()
                    if not l or l == b".\r\n":
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data.append(l)
                with lock:
                    counter[0] += 1
                    n = counter[0]
                with open(os.path.join(outdir, "%d.env" % n), "w") as e:
                    e.write(mail_from + "\n" + "\n".join(rcpts) + "\n")
                tmp = os.path.join(outdir, "%d.tmp" % n)
                with open(tmp, "wb") as m:
                    m.write(b"".join(data))
                os.rename(tmp, os.path.join(outdir, "%d.eml" % n))
                send("250 queued")
            elif up == "RSET":
                mail_from, rcpts = None, []
                send("250 ok")
            elif up == "NOOP":
                send("250 ok")
            elif up == "QUIT":
                send("221 bye")
                return
            else:
                send("502 5.5.2 not implemented")
    except (ssl.SSLError, OSError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
