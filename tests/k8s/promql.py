"""PromQL helpers of the Kubernetes tests: which metrics postwave exports, which metrics an
expression (alert, dashboard panel) reads."""

from __future__ import annotations

import prometheus_client
import promql_parser

from postwave import metrics


def exported_series() -> set[str]:
    """Every series name postwave.metrics defines (counters' _total, histograms' parts)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if not isinstance(value, prometheus_client.metrics.MetricWrapperBase):
            continue
        for family in value.describe():
            if family.type == "counter":
                names.add(family.name + "_total")
            elif family.type == "histogram":
                names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
            else:
                names.add(family.name)
    return names


def selectors(node) -> list:
    """Every vector selector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    found = []
    for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, (str, int, float)):
            found += selectors(child)
    for child in getattr(node, "args", None) or []:
        found += selectors(child)
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (it must parse)."""
    return {s.name for s in selectors(promql_parser.parse(expr)) if s.name}

