"""Process counters and gauges, rendered in Prometheus' text format for /metrics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Metrics:
    counters: Counter[str] = field(default_factory=Counter)
    gauges: dict[str, float] = field(default_factory=dict)

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        self.counters[_key(name, labels)] += amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self.gauges[_key(name, labels)] = value

    def get(self, name: str, **labels: str) -> float:
        key = _key(name, labels)
        return self.counters.get(key, 0) or self.gauges.get(key, 0.0)

    def render(self) -> str:
        lines: list[str] = []
        typed: set[str] = set()
        for kind, values in (("counter", dict(self.counters)), ("gauge", self.gauges)):
            for key in sorted(values):
                base = key.split("{", 1)[0]
                if base not in typed:
                    lines.append(f"# TYPE {base} {kind}")
                    typed.add(base)
                lines.append(f"{key} {values[key]}")
        return "\n".join(lines) + "\n"


def _key(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
