"""Reading the Prometheus text format in tests: samples by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
# sample-name suffixes of each metric type (the family name itself for gauges and untyped)
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
    "unknown": ("",),
}


def samples(text: str) -> Samples:
    """Every sample of an exposition: ``{(name, sorted labels): value}``."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(
        sample_value
        for (sample_name, sample_labels), sample_value in samples(text).items()
        if sample_name == name and wanted <= set(sample_labels)
    )


def sample_names(text: str) -> set[str]:
    """Every sample name an exposition declares, with or without samples yet.

    A labelled counter nothing has incremented yet has only its ``# HELP``/``# TYPE`` lines;
    its ``_total`` is still a name a query may use.
    """
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names
