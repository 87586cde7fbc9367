#!/usr/bin/env python3
"""Times policy changes at every gateway while a steady load runs (part of bench/scale.sh).

Keeps each gateway under a steady load of requests with an existing key (--rate per second per gateway) and
records every request's latency. Meanwhile makes --repeat changes of each kind through the admin API: a new key,
a revoked key, a disabled user, a changed grant. A change's delay is from sending the admin request until every
gateway shows it (the new key admitted, the revoked key and the disabled user's key refused with 401, the
grant's new limit in X-RateLimit-Limit). Prints one JSON object.
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.conn = None

    def request(self, method, path, token=None, body=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, response.headers, data
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt:
                    raise


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def steady_load(gateway, key, rate, stop, latencies, failures):
    client = Client(gateway)
    interval = 1.0 / rate
    next_at = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        try:
            status, _, _ = client.request("GET", "/scale/", key)
            if status != 200:
                failures.append(status)
        except OSError as error:
            failures.append(str(error))
        latencies.append(time.perf_counter() - started)
        next_at += interval
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        else:
            next_at = time.perf_counter()


def until_every_gateway(gateways, check, started, timeout=30.0):
    """Seconds from `started` until `check(client)` holds at every gateway (polled every 2 ms)."""
    clients = [Client(g) for g in gateways]
    seen = [None] * len(clients)
    deadline = time.perf_counter() + timeout
    while None in seen:
        if time.perf_counter() > deadline:
            raise SystemExit(f"a change did not reach every gateway within {timeout} s")
        for index, client in enumerate(clients):
            if seen[index] is None and check(client):
                seen[index] = time.perf_counter() - started
        time.sleep(0.002)
    return max(seen)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--gateway", action="append", required=True)
    parser.add_argument("--call-key", required=True)
    parser.add_argument("--users", required=True, help="comma-separated user ids to make changes on")
    parser.add_argument("--probe-user", required=True, help="a user whose only grant is --probe-grant")
    parser.add_argument("--probe-grant", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()

    admin = Client(args.admin)

    def call(method, path, body=None):
        status, _, data = admin.request(method, f"/api/v1{path}", args.token, body)
        if status >= 300:
            raise SystemExit(f"{method} {path}: {status} {data[:200]!r}")
        return json.loads(data) if data else None

    def gateway_status(key):
        return lambda client: client.request("GET", "/scale/", key)[0]

    def wait_admitted(key):
        until_every_gateway(args.gateway, lambda c: gateway_status(key)(c) == 200, time.perf_counter())

    users = args.users.split(",")
    probe_key = call("POST", f"/users/{args.probe_user}/keys", {"name": "probe"})["key"]
    wait_admitted(probe_key)

    stop = threading.Event()
    latencies, failures = [], []
    loaders = [threading.Thread(target=steady_load, args=(g, args.call_key, args.rate, stop, latencies, failures)) for g in args.gateway]
    for thread in loaders:
        thread.start()
    time.sleep(1)

    delays = {"new key": [], "revoked key": [], "disabled user": [], "changed grant": []}
    created = []
    for index in range(args.repeat):
        user = users[index % len(users)]
        started = time.perf_counter()
        issued = call("POST", f"/users/{user}/keys", {"name": f"probe-{index}"})
        delays["new key"].append(until_every_gateway(args.gateway, lambda c: gateway_status(issued["key"])(c) == 200, started))
        created.append(issued)
        time.sleep(0.05)
    for issued in created:
        started = time.perf_counter()
        call("DELETE", f"/keys/{issued['id']}")
        delays["revoked key"].append(until_every_gateway(args.gateway, lambda c: gateway_status(issued["key"])(c) == 401, started))
        time.sleep(0.05)
    for index in range(args.repeat):
        user = users[len(users) - 1 - index % len(users)]
        issued = call("POST", f"/users/{user}/keys", {"name": f"disable-{index}"})
        wait_admitted(issued["key"])
        started = time.perf_counter()
        call("PATCH", f"/users/{user}", {"disabled": True})
        delays["disabled user"].append(until_every_gateway(args.gateway, lambda c: gateway_status(issued["key"])(c) == 401, started))
        call("PATCH", f"/users/{user}", {"disabled": False})
        time.sleep(0.05)
    for index in range(args.repeat):
        limit = 1_000_000 + index
        started = time.perf_counter()
        call("PATCH", f"/accesses/{args.probe_grant}", {"rateLimit": {"limit": limit, "period": "1h"}})

        def shows_limit(client, limit=limit):
            _, headers, _ = client.request("GET", "/scale/", probe_key)
            return headers.get("X-RateLimit-Limit") == str(limit)

        delays["changed grant"].append(until_every_gateway(args.gateway, shows_limit, started))
        time.sleep(0.05)

    time.sleep(1)
    stop.set()
    for thread in loaders:
        thread.join()
    result = {
        kind: {"p50_ms": percentile(values, 0.5) * 1000, "p99_ms": percentile(values, 0.99) * 1000, "max_ms": max(values) * 1000}
        for kind, values in delays.items()
    }
    result["load"] = {
        "requests": len(latencies),
        "failures": len(failures),
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
