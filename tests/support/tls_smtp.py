#!/usr/bin/env python3
"""Minimal SMTP receiver with TLS for tests (stdlib only).

usage: tls_smtp.py MODE PORT CERT KEY OUTDIR
  MODE tls       implicit TLS from the first byte (port 465 style)
  MODE starttls  plain greeting, offers STARTTLS and requires it before MAIL
Accepts AUTH PLAIN/LOGIN with any credentials. Each message is written to
OUTDIR/<n>.eml (the DATA, dot-unstuffed, CRLF), envelope to OUTDIR/<n>.env.
Prints "ready" on stdout once listening.
"""
import os, socket, ssl, sys, threading

mode, port, cert, key, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
counter = [0]
lock = threading.Lock()


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
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"):
                exts = ["250-tls-smtp", "250-AUTH PLAIN LOGIN", "250-8BITMIME"]
                if mode == "starttls" and not tls:
                    exts.append("250-STARTTLS")
                exts.append("250 SMTPUTF8")
                conn.sendall(("\r\n".join(exts) + "\r\n").encode())
            elif up == "STARTTLS" and mode == "starttls" and not tls:
                send("220 go ahead")
                conn = ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile("rb")
                tls = True
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
