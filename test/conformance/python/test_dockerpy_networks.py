"""docker-py (Debian python3-docker) against one daemon named by DOCKER_HOST.

Spawned by test/conformance/dockerpy.test.ts once per daemon (weftd and dockerd). Each test
asserts what docker-py must be able to do, and records what it saw in RECORD (written to
$CONFORMANCE_OUT as JSON) so that the node test can compare the two daemons' answers.
"""
import json
import os

import docker
import pytest
from docker.types import IPAMConfig, IPAMPool

RECORD = {}


def record(key, value):
    RECORD[key] = value


@pytest.fixture(scope="module")
def client():
    c = docker.from_env(version=os.environ.get("DOCKERPY_API_VERSION", "1.41"))
    yield c
    for name in ("pyc1", "pyc2"):
        try:
            c.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
    c.networks.prune()
    out = os.environ.get("CONFORMANCE_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(RECORD, f, indent=1, sort_keys=True)


def error_of(fn):
    try:
        fn()
    except docker.errors.APIError as e:
        return {"class": type(e).__name__, "status": e.status_code, "explanation": e.explanation}
    return None


def test_create_get_list(client):
    net = client.networks.create("pynet", driver="bridge", labels={"app": "py"}, check_duplicate=True)
    record("create.attrs", client.networks.get(net.id).attrs)
    record("get.by_name", client.networks.get("pynet").name)
    record("get.by_prefix", client.networks.get(net.id[:10]).name)
    record("list.names", sorted(n.name for n in client.networks.list()))
    record("list.by_label", [n.name for n in client.networks.list(filters={"label": "app=py"})])
    record("list.by_names", sorted(n.name for n in client.networks.list(names=["pynet", "bridge"])))
    record("list.by_ids", [n.name for n in client.networks.list(ids=[net.id])])
    record("list.greedy", sorted((n.name, len(n.attrs["Containers"])) for n in client.networks.list(greedy=True)))
    record("get.missing", error_of(lambda: client.networks.get("nosuchnet")))
    record("create.dup", error_of(lambda: client.networks.create("pynet", check_duplicate=True)))


def test_api_create_network_ipam(client):
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="10.60.0.0/16", iprange="10.60.5.0/24", gateway="10.60.0.1", aux_addresses={"r": "10.60.0.2"})])
    r = client.api.create_network("pyipam", driver="bridge", ipam=ipam, internal=True, labels={"x": "1"}, enable_ipv6=False, attachable=True,
                                  options={"com.docker.network.bridge.enable_icc": "false"}, check_duplicate=True)
    record("api.create.keys", sorted(r.keys()))
    record("api.inspect", client.api.inspect_network("pyipam"))
    record("api.inspect.verbose", client.api.inspect_network("pyipam", verbose=True, scope="local"))
    record("api.inspect.scope_swarm", error_of(lambda: client.api.inspect_network("pyipam", scope="swarm")))
    v6 = IPAMConfig(pool_configs=[IPAMPool(subnet="fd00:60::/64")])
    client.api.create_network("py6", enable_ipv6=True, ipam=v6, check_duplicate=True)
    record("api.inspect.v6", client.api.inspect_network("py6")["IPAM"])
    record("api.bad_subnet", error_of(lambda: client.api.create_network("pybad", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.60.0.0/40")]))))


def test_connect_disconnect(client):
    c1 = client.containers.run("alpine", "sleep 1000", name="pyc1", detach=True, network="pynet")
    c2 = client.containers.create("alpine", "sleep 1000", name="pyc2")
    client.api.connect_container_to_network(c1.id, "pyipam", aliases=["db", "store"], links=[("pyc2", "other")], ipv4_address="10.60.5.9",
                                            link_local_ips=["169.254.9.9"])
    net = client.networks.get("pyipam")
    net.connect(c2, aliases=["c2alias"])
    net.reload()
    record("network.containers", sorted(c.name for c in net.containers))
    c1.reload()
    c2.reload()
    record("c1.networks", c1.attrs["NetworkSettings"]["Networks"])
    record("c2.networks", c2.attrs["NetworkSettings"]["Networks"])
    record("connect.host", error_of(lambda: client.networks.get("host").connect(c1)))
    record("connect.twice", error_of(lambda: net.connect(c1)))
    record("rm.in_use", error_of(lambda: client.api.remove_network("pyipam")))
    record("rm.bridge", error_of(lambda: client.networks.get("bridge").remove()))
    net.disconnect(c1)
    net.disconnect(c2, force=True)
    net.reload()
    record("after.disconnect", [c.name for c in net.containers])
    record("disconnect.again", error_of(lambda: net.disconnect(c1)))


def test_prune(client):
    client.networks.create("pyprune", labels={"p": "1"}, check_duplicate=True)
    r = client.networks.prune(filters={"label": "p=1"})
    record("prune.label", r)
    r = client.networks.prune(filters={"until": "1h"})
    record("prune.until", r)
    record("prune.bad", error_of(lambda: client.networks.prune(filters={"driver": "bridge"})))
