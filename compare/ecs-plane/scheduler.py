# SPDX-License-Identifier: Apache-2.0
"""The local ECS control plane's scheduler: what the ECS service scheduler does for a service's desired count,
for one container instance. Pure state, no I/O: it turns demand changes, task state changes and (re)connections
of the agent into ACS PayloadMessages (plain dicts), so that it can be unit-tested without an agent.

One service per app; each task of it is one container named after the app. A scale-in stops the app's most
recently started tasks first (last in, first out): the choice is ours, the real service scheduler balances across
zones first, which does not apply to one host. A task that stops without having been asked to is replaced."""

import itertools
import time

RUNNING = "RUNNING"
STOPPED = "STOPPED"


class Task:
    def __init__(self, arn, app, serial):
        self.arn = arn
        self.app = app
        self.serial = serial  # creation order, for last-in-first-out scale-in
        self.desired = RUNNING
        self.known = None  # last status the agent reported (PENDING, RUNNING, STOPPED)
        self.died = False  # stopped without being asked to
        self.exit_codes = {}


class Scheduler:
    def __init__(self, cluster, region="us-east-1", account="000000000000", container=None, instance_arn=None):
        """container: a function (app) -> the ACS container dict of that app's task (name, image, command...)."""
        self.cluster = cluster
        self.region = region
        self.account = account
        self.container = container or (lambda app: {"name": app, "image": "busybox:latest"})
        self.instance_arn = instance_arn or "arn:aws:ecs:%s:%s:container-instance/%s/%s" % (
            region, account, cluster, "0" * 32)
        self.desired = {}  # app -> desired count
        self.tasks = {}  # arn -> Task
        self.connected = False
        self.seq = 0
        self._serial = itertools.count(1)
        self._msg = itertools.count(1)
        self.sent = {}  # messageId -> number of tasks in it
        self.acked = set()
        self.replaced = 0

    # ---- queries ----
    def active(self, app):
        """Tasks of an app that are meant to run (desired RUNNING)."""
        return sorted((t for t in self.tasks.values() if t.app == app and t.desired == RUNNING),
                      key=lambda t: t.serial)

    def cluster_arn(self):
        return "arn:aws:ecs:%s:%s:cluster/%s" % (self.region, self.account, self.cluster)

    # ---- inputs ----
    def set_demand(self, demand):
        """demand: {app: count}. Returns the payload to send now, or None (nothing changed, or not connected:
        the change is kept and sent with the next connection)."""
        for app, n in demand.items():
            if not isinstance(n, int) or n < 0:
                raise ValueError("%s: %r is not a count" % (app, n))
            self.desired[app] = n
        return self._converge(list(demand))

    def task_state(self, arn, status, exit_codes=None):
        """The agent reported a task's status (SubmitTaskStateChange). Returns a payload or None."""
        t = self.tasks.get(arn)
        if t is None:
            return None
        t.known = status
        if exit_codes:
            t.exit_codes.update(exit_codes)
        if status == STOPPED and t.desired == RUNNING:
            # It stopped on its own: the service scheduler marks it stopped and starts a replacement.
            t.desired = STOPPED
            t.died = True
            self.replaced += 1
            return self._converge([t.app])
        return None

    def connect(self):
        """The agent (re)connected: every task not yet known to be stopped is sent again with its desired status,
        and any demand held while it was away is carried out."""
        self.connected = True
        changed = [t for t in self.tasks.values() if t.known != STOPPED]
        payload = self._converge(list(self.desired), resend=changed)
        return payload

    def disconnect(self):
        self.connected = False

    def ack(self, message_id):
        if message_id in self.sent:
            self.acked.add(message_id)

    # ---- internals ----
    def _new_task(self, app):
        serial = next(self._serial)
        arn = "arn:aws:ecs:%s:%s:task/%s/%032x" % (self.region, self.account, self.cluster, serial)
        t = Task(arn, app, serial)
        self.tasks[arn] = t
        return t

    def _converge(self, apps, resend=()):
        if not self.connected:
            return None
        changed = {t.arn: t for t in resend}
        for app in apps:
            active = self.active(app)
            want = self.desired.get(app, 0)
            for t in active[want:]:  # the newest beyond the desired count
                t.desired = STOPPED
                changed[t.arn] = t
            for _ in range(want - len(active)):
                t = self._new_task(app)
                changed[t.arn] = t
        if not changed:
            return None
        return self._payload(list(changed.values()))

    def _payload(self, tasks):
        self.seq += 1
        mid = "payload-%d" % next(self._msg)
        self.sent[mid] = len(tasks)
        return {
            "type": "PayloadMessage",
            "message": {
                "messageId": mid,
                "clusterArn": self.cluster_arn(),
                "containerInstanceArn": self.instance_arn,
                "generatedAt": int(time.time()),
                "seqNum": self.seq,
                "tasks": [self._task_json(t) for t in sorted(tasks, key=lambda t: t.serial)],
            },
        }

    def _task_json(self, t):
        return {
            "arn": t.arn,
            "taskClusterArn": self.cluster_arn(),
            "family": t.app,
            "version": "1",
            "desiredStatus": t.desired,
            "launchType": "EC2",
            "networkMode": "none",
            "containers": [self.container(t.app)],
        }
