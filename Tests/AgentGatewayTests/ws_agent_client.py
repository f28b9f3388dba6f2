#!/usr/bin/env python3
"""An agent desktop over WebSocket, written from RFC 6455 with the standard library only, so
that the gateway's WebSocket transport is checked by a client that shares none of its code.

Usage: ws_agent_client.py HOST PORT LOGIN PASSWORD

Scenario: bad input first (malformed JSON, an unknown operation, an operation before login, a
wrong password), then log in, get ready, accept the preview offer the test makes, wait for the
call, wait for wrap-up, send the disposition, log out. Prints one line per check and exits 0
only if every check passed.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Client:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /v1/agents/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise SystemExit("connection closed during the handshake")
            head += chunk
        lines = head.decode().split("\r\n")
        if " 101 " not in lines[0]:
            raise SystemExit(f"no upgrade: {lines[0]}")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        if headers.get("sec-websocket-accept") != accept:
            raise SystemExit("wrong Sec-WebSocket-Accept")
        self.next_id = 1
        self.pushes = []

    def send_text(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise SystemExit("connection closed")
            data += chunk
        return data

    def recv_message(self):
        while True:
            first, second = self.recv_exact(2)
            opcode = first & 0x0F
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.recv_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.recv_exact(8))[0]
            payload = self.recv_exact(length)
            if opcode == 0x1:
                return json.loads(payload.decode())
            if opcode == 0x8:
                raise SystemExit("server closed the connection")
            # Pings and pongs: nothing to do for this client.

    def call(self, body):
        """Sends an operation with a fresh correlation id; returns the reply, keeping pushes."""
        cid = self.next_id
        self.next_id += 1
        body = dict(body)
        body["correlationId"] = str(cid)
        self.send_text(json.dumps(body))
        return self.reply_to(cid)

    def reply_to(self, cid):
        while True:
            message = self.recv_message()
            if message.get("correlationId") == str(cid):
                return message
            self.pushes.append(message)

    def wait_push(self, key, predicate=lambda m: True):
        for i, message in enumerate(self.pushes):
            if key in message and predicate(message[key]):
                del self.pushes[i]
                return message[key]
        while True:
            message = self.recv_message()
            if key in message and predicate(message[key]):
                return message[key]
            self.pushes.append(message)


failures = []


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)
    if not condition:
        failures.append(name)


def error_code(message):
    return message.get("error", {}).get("code")


def main():
    host, port, login, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    c = Client(host, port)

    c.send_text('{"correlationId": "900", "agentLogin": ')
    reply = c.recv_message()
    check("malformed JSON is refused", error_code(reply) == "INVALID_ARGUMENT", reply)

    c.send_text('{"correlationId": "901", "agentFly": {}}')
    reply = c.reply_to(901)
    check("an unknown operation is refused", error_code(reply) == "INVALID_ARGUMENT", reply)

    reply = c.call({"agentSetReady": {}})
    check("an operation before login is refused", error_code(reply) == "NOT_LOGGED_IN", reply)

    reply = c.call({"agentLogin": {"login": login, "password": password + "x"}})
    check("a wrong password is refused", error_code(reply) == "LOGIN_FAILED", reply)

    reply = c.call({"agentLogin": {"login": login, "password": password}})
    check("login", "agentLoggedIn" in reply, reply)
    agent = reply.get("agentLoggedIn", {}).get("agent")

    reply = c.call({"agentExtendWrapUp": {"seconds": 10}})
    check("extend wrap-up while not ready is refused", error_code(reply) == "INVALID_STATE", reply)

    reply = c.call({"agentSetReady": {}})
    check("ready", reply.get("agentAck", {}).get("status", {}).get("state") == "available", reply)
    print(f"READY {agent}", flush=True)

    offer = c.wait_push("agentOffer")
    check("offer shows the contact", offer.get("contact", {}).get("phone") == "+15551234567", offer)

    reply = c.call({"agentOfferAnswer": {"request": "someone-elses-request", "accept": True}})
    check("another agent's request is refused", error_code(reply) == "FORBIDDEN", reply)

    reply = c.call({"agentOfferAnswer": {"request": offer["request"], "accept": True}})
    check("accept", reply.get("agentAck", {}).get("status", {}).get("state") == "reserved", reply)

    call = c.wait_push("agentCall")
    attempt = call.get("contact", {}).get("attempt")
    check("connected to the call", call.get("request") == offer["request"] and attempt, call)

    c.wait_push("agentStatus", lambda s: s.get("state") == "wrap-up")
    reply = c.call({"agentDisposition": {"attempt": attempt, "disposition": "sale", "notes": "keen"}})
    check("disposition", reply.get("agentAck", {}).get("status", {}).get("state") == "available", reply)

    reply = c.call({"agentLogout": {}})
    check("logout", reply.get("agentAck", {}).get("status", {}).get("state") == "logged-out", reply)
    print("DONE", flush=True)
    sys.exit(1 if failures else 0)


main()
