#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ecs-plane: a local stand-in for the Amazon ECS control plane, so that the real ECS Agent runs on a host that
reaches no AWS. It is the one part of `make compare` that is not real.

- The ECS API (ECS_BACKEND_HOST=http://127.0.0.1:API_PORT): POST / in AWS JSON 1.1, the operation in the
  X-Amz-Target header; signatures are not checked. RegisterContainerInstance answers a container instance ARN and
  echoes every attribute the agent sent (the agent exits otherwise); DiscoverPollEndpoint answers
  http://127.0.0.1:WS_PORT (so the agent uses plain ws://); task, container and attachment state changes are
  acknowledged and fed to the scheduler; any other operation answers {}.
- The ACS websocket (WS_PORT, any path): PayloadMessages from the scheduler (scheduler.py), a HeartbeatMessage
  every 20 s (the agent drops a connection silent for a minute); the agent's AckRequest and HeartbeatAckRequest
  are recorded.
- Demand: lines "APP=N [APP=N...]" (what compare/drive.sh writes) from --demand-fifo. A change that comes while no
  agent is connected is held and sent on connection.
- --events FILE: one JSON object a line (register, connect, disconnect, demand with the messageId it produced,
  payload, ack, state): what the test checks. Human lines go to stderr, "plane: agent connected" among them.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scheduler as sched  # noqa: E402

try:
    import websockets
except ImportError:
    sys.stderr.write("plane: the python3 websockets module is missing: apt-get install python3-websockets\n")
    sys.exit(2)

HEARTBEAT_S = 20
MAX_BODY = 4 << 20


def log(msg):
    sys.stderr.write("plane: %s\n" % msg)
    sys.stderr.flush()


class Plane:
    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        cmd = json.loads(args.cmd_json) if args.cmd_json else None
        labels = dict(kv.split("=", 1) for kv in args.label)
        self.container_config = json.dumps({"Labels": labels}) if labels else "{}"
        self.cmd = cmd
        self.s = sched.Scheduler(args.cluster, region=args.region, container=self.container)
        self.ws = None
        self.events = open(args.events, "a", buffering=1) if args.events else None
        self.ws_port = 0
        self.api_port = 0

    def container(self, app):
        c = {
            "name": app,
            "image": self.args.image,
            "cpu": 0,
            "memory": 0,
            "essential": True,
            # No stopTimeout: the agent then uses its ECS_CONTAINER_STOP_TIMEOUT, the setting under comparison.
            "dockerConfig": {"hostConfig": json.dumps({"NetworkMode": "none"}), "config": self.container_config},
        }
        if self.cmd:
            c["command"] = self.cmd
        return c

    def event(self, kind, **kw):
        if self.events:
            kw.update(t=round(time.time(), 3), event=kind)
            self.events.write(json.dumps(kw, sort_keys=True) + "\n")

    # ---- sending ----
    async def send(self, payload):
        if payload is None:
            return None
        m = payload["message"]
        tasks = [{"arn": t["arn"].rsplit("/", 1)[1], "app": t["family"], "desired": t["desiredStatus"]}
                 for t in m["tasks"]]
        self.event("payload", messageId=m["messageId"], seqNum=m["seqNum"], tasks=tasks)
        ws = self.ws
        if ws is None:
            return m["messageId"]
        try:
            await ws.send(json.dumps(payload))
        except websockets.ConnectionClosed:
            log("the agent's connection closed while sending %s" % m["messageId"])
        return m["messageId"]

    def demand_line(self, line):
        demand = {}
        try:
            for word in line.split():
                app, n = word.split("=", 1)
                demand[app] = int(n)
            payload = self.s.set_demand(demand)
        except ValueError as e:
            log("ignored demand line %r: %s" % (line, e))
            return
        mid = payload["message"]["messageId"] if payload else None
        self.event("demand", demand=demand, messageId=mid, connected=self.s.connected)
        asyncio.ensure_future(self.send(payload))

    # ---- ACS websocket ----
    async def acs(self, ws, path=None):
        if self.ws is not None:
            log("a second ACS connection; the first one is replaced")
            await self.ws.close()
        self.ws = ws
        log("agent connected (%s)" % (path or getattr(ws, "path", "/")))
        self.event("connect", path=path or getattr(ws, "path", ""))
        await self.send(self.s.connect())
        beat = asyncio.ensure_future(self.heartbeats(ws))
        try:
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                    kind, body = msg.get("type"), msg.get("message") or {}
                except (ValueError, AttributeError):
                    log("unreadable ACS message: %.200r" % raw)
                    continue
                if kind == "AckRequest":
                    self.s.ack(body.get("messageId"))
                    self.event("ack", messageId=body.get("messageId"))
                elif kind == "HeartbeatAckRequest":
                    self.event("heartbeat_ack", messageId=body.get("messageId"))
                else:
                    self.event("acs", type=kind)
        except websockets.ConnectionClosed:
            pass
        finally:
            beat.cancel()
            if self.ws is ws:
                self.ws = None
                self.s.disconnect()
                log("agent disconnected")
                self.event("disconnect")

    async def heartbeats(self, ws):
        n = 0
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            n += 1
            try:
                await ws.send(json.dumps({"type": "HeartbeatMessage",
                                          "message": {"healthy": True, "messageId": "heartbeat-%d" % n}}))
            except websockets.ConnectionClosed:
                return

    # ---- ECS API ----
    def api(self, op, req):
        s = self.s
        if op == "RegisterContainerInstance":
            self.event("register", attributes=len(req.get("attributes") or []))
            log("container instance registered")
            return {"containerInstance": {
                "containerInstanceArn": s.instance_arn, "status": "ACTIVE", "agentConnected": True,
                "attributes": req.get("attributes") or [],
                "registeredResources": req.get("totalResources") or [],
                "remainingResources": req.get("totalResources") or [],
                "versionInfo": req.get("versionInfo") or {}}}
        if op == "DiscoverPollEndpoint":
            url = "http://127.0.0.1:%d" % self.ws_port
            return {"endpoint": url, "telemetryEndpoint": url, "serviceConnectEndpoint": url}
        if op == "SubmitTaskStateChange":
            codes = {c.get("containerName"): c.get("exitCode") for c in req.get("containers") or []
                     if c.get("exitCode") is not None}
            self.event("state", task=(req.get("task") or "").rsplit("/", 1)[-1], status=req.get("status"),
                       exitCodes=codes, reason=req.get("reason"))
            asyncio.ensure_future(self.send(s.task_state(req.get("task"), req.get("status"), codes)))
            return {"acknowledgment": "ok"}
        if op in ("SubmitContainerStateChange", "SubmitAttachmentStateChanges"):
            return {"acknowledgment": "ok"}
        return {}

    async def http(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for h in lines[1:]:
                    if ":" in h:
                        k, v = h.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0") or 0)
                if n < 0 or n > MAX_BODY:
                    break
                body = await reader.readexactly(n) if n else b""
                op = headers.get("x-amz-target", "").rsplit(".", 1)[-1]
                try:
                    req = json.loads(body or b"{}")
                    answer, status = self.api(op, req), "200 OK"
                except ValueError:
                    answer = {"__type": "ClientException", "message": "malformed JSON"}
                    status = "400 Bad Request"
                out = json.dumps(answer).encode()
                writer.write(("HTTP/1.1 %s\r\nContent-Type: application/x-amz-json-1.1\r\n"
                              "x-amzn-RequestId: local\r\nContent-Length: %d\r\n\r\n" % (status, len(out))).encode()
                             + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def read_fifo(path, plane, loop):
    # Reopened at EOF: each writer (drive.sh) may come and go.
    while True:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    loop.call_soon_threadsafe(plane.demand_line, line)


async def main(args):
    loop = asyncio.get_running_loop()
    plane = Plane(args, loop)
    ws_server = await websockets.serve(plane.acs, "127.0.0.1", args.ws_port, max_size=MAX_BODY)
    plane.ws_port = ws_server.sockets[0].getsockname()[1]
    api_server = await asyncio.start_server(plane.http, "127.0.0.1", args.api_port)
    plane.api_port = api_server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %d\n" % (plane.api_port, plane.ws_port))
        os.rename(tmp, args.port_file)
    log("listening: ECS API on 127.0.0.1:%d, ACS on 127.0.0.1:%d" % (plane.api_port, plane.ws_port))
    if args.demand_fifo:
        threading.Thread(target=read_fifo, args=(args.demand_fifo, plane, loop), daemon=True).start()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop
    s = plane.s
    plane.event("summary", sent=len(s.sent), acked=len(s.acked), replaced=s.replaced)
    log("stopping: %d payloads sent, %d acknowledged, %d tasks replaced" % (len(s.sent), len(s.acked), s.replaced))
    ws_server.close()
    api_server.close()


def parse_args(argv):
    p = argparse.ArgumentParser(description="A local ECS control plane for the real ECS Agent (see the top of "
                                            "this file).")
    p.add_argument("--cluster", required=True, help="cluster name ([A-Za-z0-9_-], at most 255)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--api-port", type=int, default=0, help="ECS API port (default: any free one)")
    p.add_argument("--ws-port", type=int, default=0, help="ACS websocket port (default: any free one)")
    p.add_argument("--port-file", help="write 'API_PORT WS_PORT' here once listening")
    p.add_argument("--demand-fifo", help="read demand lines 'APP=N [APP=N...]' from this FIFO")
    p.add_argument("--events", help="append one JSON line per event to this file")
    p.add_argument("--image", default="busybox:latest")
    p.add_argument("--cmd-json", help="the container's command as a JSON array")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE label on every container (repeatable)")
    args = p.parse_args(argv)
    import re
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", args.cluster):
        p.error("--cluster: %r is not a cluster name ([A-Za-z0-9_-], 1..255)" % args.cluster)
    if args.cmd_json:
        try:
            cmd = json.loads(args.cmd_json)
        except ValueError:
            cmd = None
        if not isinstance(cmd, list) or not all(isinstance(w, str) for w in cmd):
            p.error("--cmd-json: not a JSON array of strings")
    for kv in args.label:
        if "=" not in kv or kv.startswith("="):
            p.error("--label: %r is not KEY=VALUE" % kv)
    return args


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args(sys.argv[1:])))
    except OSError as e:
        log(str(e))
        sys.exit(1)
