# SPDX-License-Identifier: Apache-2.0
"""Unit tests of the local ECS control plane's scheduler (python3 -m unittest, run by tests/integration/
test-compare.sh): scale-out, scale-in, a task that died, a reconnect, and demand held until the agent connects."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scheduler as sched  # noqa: E402


def tasks_of(payload):
    return payload["message"]["tasks"]


def by_status(payload, status, app=None):
    return [t["arn"] for t in tasks_of(payload) if t["desiredStatus"] == status and (app is None or t["family"] == app)]


class SchedulerTest(unittest.TestCase):
    def setUp(self):
        self.s = sched.Scheduler("c1")
        self.assertIsNotNone(self.s.connect() or True)

    def running(self, app):
        return [t.arn for t in self.s.active(app)]

    def test_scale_out_starts_the_difference_in_one_payload(self):
        p = self.s.set_demand({"a": 3, "b": 2})
        self.assertEqual(len(by_status(p, "RUNNING", "a")), 3)
        self.assertEqual(len(by_status(p, "RUNNING", "b")), 2)
        self.assertEqual(by_status(p, "STOPPED"), [])
        m = p["message"]
        self.assertEqual(m["seqNum"], 1)
        self.assertTrue(all(t["arn"].startswith("arn:aws:ecs:us-east-1:000000000000:task/c1/") for t in m["tasks"]))
        self.assertEqual(len({t["arn"] for t in m["tasks"]}), 5)
        p2 = self.s.set_demand({"a": 5})
        self.assertEqual(len(by_status(p2, "RUNNING", "a")), 2)
        self.assertEqual(p2["message"]["seqNum"], 2)
        self.assertIsNone(self.s.set_demand({"a": 5}), "no change, no payload")

    def test_scale_in_stops_the_newest_tasks_with_a_higher_seqnum(self):
        first = self.s.set_demand({"a": 4})
        started = by_status(first, "RUNNING")
        p = self.s.set_demand({"a": 1})
        self.assertEqual(sorted(by_status(p, "STOPPED")), sorted(started[1:]), "last in, first out")
        self.assertEqual(by_status(p, "RUNNING"), [])
        self.assertGreater(p["message"]["seqNum"], first["message"]["seqNum"])
        self.assertEqual(self.running("a"), started[:1])
        p = self.s.set_demand({"a": 0})
        self.assertEqual(by_status(p, "STOPPED"), started[:1])

    def test_a_task_that_died_is_replaced(self):
        p = self.s.set_demand({"a": 2})
        victim, other = by_status(p, "RUNNING")
        self.assertIsNone(self.s.task_state(victim, "RUNNING"))
        r = self.s.task_state(victim, "STOPPED", {"a": 137})
        self.assertIsNotNone(r)
        new = by_status(r, "RUNNING", "a")
        self.assertEqual(len(new), 1)
        self.assertNotIn(new[0], (victim, other))
        self.assertEqual(sorted(self.running("a")), sorted([other, new[0]]))
        self.assertEqual(self.s.replaced, 1)
        # A task stopped on request is not replaced.
        p = self.s.set_demand({"a": 1})
        stopped = by_status(p, "STOPPED")
        self.assertEqual(len(stopped), 1)
        self.assertIsNone(self.s.task_state(stopped[0], "STOPPED"))
        self.assertEqual(len(self.running("a")), 1)
        self.assertEqual(self.s.replaced, 1)
        # Unknown tasks are ignored.
        self.assertIsNone(self.s.task_state("arn:aws:ecs:us-east-1:000000000000:task/c1/ffff", "STOPPED"))

    def test_a_reconnect_sends_the_desired_state_again(self):
        p = self.s.set_demand({"a": 3})
        arns = by_status(p, "RUNNING")
        p = self.s.set_demand({"a": 2})
        stopping = by_status(p, "STOPPED")
        self.s.task_state(arns[0], "RUNNING")
        self.s.disconnect()
        # Demand that changes while the agent is away is held, not lost.
        self.assertIsNone(self.s.set_demand({"a": 1, "b": 1}))
        r = self.s.connect()
        self.assertIsNotNone(r)
        self.assertGreater(r["message"]["seqNum"], p["message"]["seqNum"])
        status = {t["arn"]: t["desiredStatus"] for t in tasks_of(r)}
        self.assertEqual(status[stopping[0]], "STOPPED", "a stop not yet confirmed is sent again")
        self.assertEqual([a for a in arns if status.get(a) == "RUNNING"], arns[:1])
        self.assertEqual(len(by_status(r, "RUNNING", "b")), 1)
        self.assertEqual(len(self.running("a")), 1)
        # A task known stopped is not sent again.
        self.s.task_state(stopping[0], "STOPPED")
        self.s.disconnect()
        r = self.s.connect()
        self.assertNotIn(stopping[0], [t["arn"] for t in tasks_of(r)])

    def test_demand_before_the_first_connection_waits_for_it(self):
        s = sched.Scheduler("c2")
        self.assertIsNone(s.set_demand({"a": 2}))
        self.assertEqual(s.sent, {})
        p = s.connect()
        self.assertEqual(len(by_status(p, "RUNNING", "a")), 2)

    def test_acks_count_only_sent_messages(self):
        p = self.s.set_demand({"a": 1})
        self.s.ack("nonsense")
        self.assertEqual(self.s.acked, set())
        self.s.ack(p["message"]["messageId"])
        self.assertEqual(self.s.acked, {p["message"]["messageId"]})

    def test_bad_counts_are_refused(self):
        for bad in (-1, "3", 1.5):
            with self.assertRaises(ValueError):
                self.s.set_demand({"a": bad})

    def test_container_and_task_fields(self):
        s = sched.Scheduler("c3", container=lambda app: {"name": app, "image": "busybox:latest",
                                                         "dockerConfig": {"hostConfig": '{"NetworkMode":"none"}'}})
        s.connect()
        t = tasks_of(s.set_demand({"web": 1}))[0]
        self.assertEqual(t["family"], "web")
        self.assertEqual(t["containers"][0]["name"], "web")
        self.assertIsInstance(t["containers"][0]["dockerConfig"]["hostConfig"], str)


if __name__ == "__main__":
    unittest.main()
