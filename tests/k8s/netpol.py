"""A small evaluator of NetworkPolicies (networking.k8s.io/v1) over rendered objects.

Answers "may this packet pass?" for TCP/UDP flows between pods of the namespace, pods of
other namespaces and outside addresses, with the API's semantics: a pod selected by no
policy of a direction is open in that direction; a selected pod admits only what some rule
of some selecting policy allows (rules add up); a flow needs the source's egress and the
destination's ingress. Numeric ports only (the manifests use no named ports in policies).
"""

from __future__ import annotations

import dataclasses
import ipaddress

from tests.k8s.manifests import Obj, of_kind, selects

NAMESPACE = "postwave"


@dataclasses.dataclass(frozen=True)
class Pod:
    """A pod by its labels and its namespace's labels."""

    labels: dict[str, str]
    namespace: str = NAMESPACE

    @property
    def namespace_labels(self) -> dict[str, str]:
        """The labels Kubernetes puts on every namespace."""
        return {"kubernetes.io/metadata.name": self.namespace}


@dataclasses.dataclass(frozen=True)
class Address:
    """An address outside the cluster's pods (the Internet, a node, cloud metadata)."""

    ip: str


Peer = Pod | Address


def _peer_matches(rule_peer: Obj, peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if not isinstance(peer, Address):
            return False
        ip = ipaddress.ip_address(peer.ip)
        block = rule_peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in block.get("except", []))
    if not isinstance(peer, Pod):
        return False
    if "namespaceSelector" in rule_peer:
        if not selects(rule_peer["namespaceSelector"], peer.namespace_labels) and rule_peer["namespaceSelector"]:
            return False
    elif peer.namespace != NAMESPACE:
        return False
    return "podSelector" not in rule_peer or not rule_peer["podSelector"] or selects(rule_peer["podSelector"], peer.labels)


def _port_matches(rule: Obj, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def _admits(policies: list[Obj], pod: Pod, direction: str, other: Peer, port: int, protocol: str) -> bool:
    if pod.namespace != NAMESPACE:
        return True  # outside the manifests' namespace: not ours to judge
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [p for p in policies if direction in p["spec"].get("policyTypes", ["Ingress"])
                 and selects(p["spec"]["podSelector"], pod.labels)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if _port_matches(rule, port, protocol) and (not peers or any(_peer_matches(p, other) for p in peers)):
                return True
    return False


def allowed(objs: list[Obj], source: Peer, destination: Peer, port: int, protocol: str = "TCP") -> bool:
    """Whether the NetworkPolicies in ``objs`` let ``source`` open ``destination:port``."""
    policies = of_kind(objs, "NetworkPolicy")
    if isinstance(source, Pod) and not _admits(policies, source, "Egress", destination, port, protocol):
        return False
    if isinstance(destination, Pod) and not _admits(policies, destination, "Ingress", source, port, protocol):
        return False
    return True
