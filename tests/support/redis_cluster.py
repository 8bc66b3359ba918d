"""A Redis Cluster of a test run's own: 3 masters + 3 replicas on free ports, in a temporary directory.

Started with `redis-server --cluster-enabled yes` and joined with `redis-cli --cluster create ...
--cluster-replicas 1`, as an operator would (Debian's redis-server package has both). Every node
runs without persistence (a test cluster's data is thrown away) and with a short node timeout, so a
killed master's replica is promoted in about two seconds (`kill_master`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.cluster

from gateway.keys import Keys
from tests.support.servers import free_port

MASTERS = 3
# A master unreachable this long is failed over to its replica; 2 s keeps the failover test short
# while staying well above a loaded test machine's scheduling hiccups.
NODE_TIMEOUT_MS = 2_000
START_SECONDS = 20.0  # for every node to answer, and then for the cluster to agree it is whole


def cluster_binaries() -> tuple[str, str] | None:
    """(redis-server, redis-cli), or None when this machine lacks one of them."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    return (server, cli) if server is not None and cli is not None else None


class _NodeExited(RuntimeError):
    """A node's process ended before it answered: most often, its port was taken meanwhile."""


@dataclass
class ClusterNode:
    port: int
    bus_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class RedisCluster:
    """The cluster's processes. `start()` returns once every node reports `cluster_state:ok`;
    `stop()` ends every process it started, whatever state they are in."""

    server_binary: str
    cli_binary: str
    # 1: the suite's cluster; 2: a shard keeps a replica after a failover (IMQL_REDIS_WAIT_REPLICAS=1
    # can still be met), as production clusters are advised to run (docs/scaling.md)
    replicas_per_master: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="imql-cluster-")))
    nodes: list[ClusterNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        """IMQL_REDIS_URL for it: any one node (the first master)."""
        return f"redis://{self.nodes[0].address}/0"

    def start(self) -> None:
        # a free port may be taken by another process before its node binds it (the suite runs
        # in parallel, beside other servers): a node that exits at once is retried on new ports
        for attempt in range(3):
            try:
                self._start_once()
                return
            except _NodeExited:
                if attempt == 2:
                    raise

    def _start_once(self) -> None:
        ports: set[int] = set()
        while len(ports) < 2 * MASTERS * (1 + self.replicas_per_master):
            ports.add(free_port())
        ordered = sorted(ports)
        half = len(ordered) // 2
        # the cluster bus gets a port of its own: port + 10000, Redis's default, may be taken or > 65535
        self.nodes = [ClusterNode(port=p, bus_port=b) for p, b in zip(ordered[:half], ordered[half:], strict=True)]
        try:
            for node in self.nodes:
                self._launch(node)
            for node in self.nodes:
                self._wait_answering(node)
            create = [self.cli_binary, "--cluster", "create", *(n.address for n in self.nodes)]
            create += ["--cluster-replicas", str(self.replicas_per_master), "--cluster-yes"]
            done = subprocess.run(create, capture_output=True, text=True, timeout=START_SECONDS, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}\n{done.stderr}")
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _launch(self, node: ClusterNode) -> None:
        args = [self.server_binary, "--port", str(node.port), "--bind", "127.0.0.1"]
        args += ["--cluster-enabled", "yes", "--cluster-port", str(node.bus_port)]
        args += ["--cluster-config-file", f"nodes-{node.port}.conf", "--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        args += ["--repl-diskless-sync-delay", "0"]  # a replica syncs at once, not after 5 s of waiting for others
        node.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_answering(self, node: ClusterNode) -> None:
        deadline = time.monotonic() + START_SECONDS
        while self.command(node, b"PING") != b"+PONG":
            if not node.alive:
                raise _NodeExited(f"cluster node on port {node.port} exited at start (its port taken?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster node on port {node.port} did not start")
            time.sleep(0.05)

    def wait_healthy(self, timeout: float = START_SECONDS) -> None:
        """Until every live node says `cluster_state:ok` (all slots served), every live node sees
        the same masters serving the same slots (after a pause or a failover, a node's view may lag
        the others': a client reading the topology from it would be misled), and every master's
        live replicas have all its writes."""
        deadline = time.monotonic() + timeout
        while not all(b"cluster_state:ok" in self.command(n, b"CLUSTER INFO") for n in self.nodes if n.alive):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        while len({self._masters_seen_by(n) for n in self.nodes if n.alive}) != 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster's nodes do not agree on which masters serve the slots")
            time.sleep(0.1)
        for master in self.masters():
            self.wait_in_sync(master, deadline - time.monotonic(), self.replicas_per_master)

    def wait_in_sync(self, master: ClusterNode, timeout: float = START_SECONDS, expected: int = 1) -> None:
        """Until `expected` replicas of the master are online and have acknowledged all its writes."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.command(master, b"INFO replication").decode()
            offset = re.search(r"master_repl_offset:(\d+)", info)
            replicas = re.findall(r"slave\d+:ip=[^,]+,port=\d+,state=(\w+),offset=(\d+)", info)
            if (
                offset
                and len(replicas) >= expected
                and all(s == "online" and o == offset.group(1) for s, o in replicas)
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replicas of {master.address} did not catch up: {replicas}")
            time.sleep(0.05)

    def _masters_seen_by(self, node: ClusterNode) -> frozenset[tuple[str, str]]:
        """(address, slot ranges) of each master serving slots, as `node` sees the cluster
        (CLUSTER NODES: id, address@bus, flags, master, ping, pong, epoch, link, slots...)."""
        served = set()
        for line in self.command(node, b"CLUSTER NODES").decode(errors="replace").splitlines():
            fields = line.split()
            if len(fields) > 8 and "master" in fields[2].split(",") and "fail" not in fields[2]:
                served.add((fields[1].split("@")[0], " ".join(fields[8:])))
        return frozenset(served)

    def masters(self) -> list[ClusterNode]:
        """The live nodes that serve slots now (after a failover, the promoted replicas)."""
        return [n for n in self.nodes if n.alive and b"role:master" in self.command(n, b"INFO replication")]

    def node_at(self, port: int) -> ClusterNode:
        return next(n for n in self.nodes if n.port == port)

    def replicas_of(self, master: ClusterNode) -> list[ClusterNode]:
        """The live replicas a master reports (INFO replication: slave0:ip=...,port=...)."""
        found = re.findall(rb"slave\d+:ip=[^,]+,port=(\d+)", self.command(master, b"INFO replication"))
        return [self.node_at(int(port)) for port in found]

    def pause(self, node: ClusterNode) -> None:
        """SIGSTOP: its connections stay open and nothing is answered (resume well within
        NODE_TIMEOUT_MS, or the cluster fails it over)."""
        assert node.proc is not None
        os.kill(node.proc.pid, signal.SIGSTOP)

    def resume(self, node: ClusterNode) -> None:
        assert node.proc is not None
        os.kill(node.proc.pid, signal.SIGCONT)

    def kill_master(self, node: ClusterNode) -> None:
        """SIGKILL one master, as a machine dies: its replica is promoted after NODE_TIMEOUT_MS."""
        assert node.proc is not None
        node.proc.kill()
        node.proc.wait(10)

    def restart(self, node: ClusterNode) -> None:
        """Start a node that was killed again, on its port, with its cluster config (nodes-<port>.conf:
        it rejoins as the node it was; without persistence, a master comes back empty)."""
        assert not node.alive
        self._launch(node)
        self._wait_answering(node)

    @staticmethod
    def command(node: ClusterNode, line: bytes) -> bytes:
        """One inline command's raw reply (b"" when the node does not answer)."""
        try:
            with socket.create_connection(("127.0.0.1", node.port), timeout=1) as s:
                s.sendall(line + b"\r\n")
                reply = s.recv(65536)
                if reply.startswith(b"$"):  # a bulk string: read until all of it is here
                    size = int(reply[1 : reply.index(b"\r\n")])
                    while len(reply) < size + len(str(size)) + 5:
                        more = s.recv(65536)
                        if not more:
                            break
                        reply += more
                return reply.strip()
        except OSError:
            return b""

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                os.kill(node.proc.pid, signal.SIGCONT)  # a paused one cannot exit
                node.proc.terminate()
        for node in self.nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(10)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait(10)
                node.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def delete_app_keys(url: str, app: int, *, cluster: bool) -> None:
    """Delete every key of one app (a test's SDKAppID), on a single Redis or on every master."""
    client: redis.Redis | redis.cluster.RedisCluster = (
        redis.cluster.RedisCluster.from_url(url) if cluster else redis.Redis.from_url(url)
    )
    try:
        for pattern in Keys(app).scan_patterns():
            # a cluster client's scan_iter walks every master
            found = list(client.scan_iter(match=pattern, count=1000))
            if cluster:
                pipe = client.pipeline()  # one DEL per key, sent to each key's master in one batch
                for key in found:
                    pipe.delete(key)
                pipe.execute()
            else:
                for start in range(0, len(found), 500):
                    client.delete(*found[start : start + 500])
    finally:
        client.close()
