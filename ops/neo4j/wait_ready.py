"""Wait until Neo4j answers a Cypher query (not merely until its port is open).

Usage: NEO4J_URI=... NEO4J_PASSWORD=... python wait_ready.py [--timeout S] [--pid PID] [--log FILE]
                                                             [--ready-file FILE]
Exits 0 when `RETURN 1` answers, 1 on timeout or when the server process has died.
With --ready-file it first waits for the launcher to write that file (the password is set
then), so that early logins do not trip Neo4j's authentication rate limit.
"""

import argparse
import os
import sys
import time

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--log")
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    uri, password = os.environ["NEO4J_URI"], os.environ["NEO4J_PASSWORD"]
    deadline = time.monotonic() + args.timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if args.pid is not None and not _alive(args.pid):
            return _fail(f"the Neo4j process {args.pid} exited before it was ready", args.log)
        if args.ready_file and not os.path.exists(args.ready_file):
            time.sleep(0.25)
            continue
        try:
            auth = ("neo4j", password)
            with GraphDatabase.driver(uri, auth=auth, connection_timeout=2) as driver:
                with driver.session() as session:  # a plain session: no driver-side retries
                    if session.run("RETURN 1 AS ok").single(strict=True)["ok"] == 1:
                        return 0
        except (ServiceUnavailable, SessionExpired, AuthError, OSError) as exc:
            last_error = exc
        time.sleep(0.5)
    return _fail(f"Neo4j at {uri} did not answer `RETURN 1` within {args.timeout:.0f} s "
                 f"(last error: {last_error})", args.log)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _fail(message: str, log: str | None) -> int:
    print(f"[services] {message}", file=sys.stderr)
    if log and os.path.exists(log):
        with open(log, encoding="utf-8", errors="replace") as handle:
            print("".join(handle.readlines()[-30:]), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
