"""Shape of the published AWS/ApiGateway data (A8), without a stack."""
from __future__ import annotations

from collections import Counter

from streamlab.localstack.apiexec import metrics


def test_a8_one_second_becomes_counts_and_latency_distributions_per_dimension_set():
    second = metrics._Second(count=4, errors_4xx=1, errors_5xx=2,
                             latency=Counter({i: 1 for i in range(200)}), integration_latency=Counter({3: 2}))
    data = metrics._data((1700000000, "api", "dev"), second)
    dims = {tuple(d["Value"] for d in datum["Dimensions"]) for datum in data}
    assert dims == {("api",), ("api", "dev")}
    by_name = {}
    for datum in data:
        if len(datum["Dimensions"]) == 1:
            by_name.setdefault(datum["MetricName"], []).append(datum)
    assert by_name["Count"][0]["StatisticValues"]["Sum"] == 4
    assert by_name["4XXError"][0]["StatisticValues"] == {"SampleCount": 4, "Sum": 1, "Minimum": 0.0, "Maximum": 1.0}
    assert by_name["5XXError"][0]["StatisticValues"]["Sum"] == 2
    # CloudWatch takes at most 150 values per datum: 200 distinct latencies need two.
    assert [len(d["Values"]) for d in by_name["Latency"]] == [150, 50]
    assert sum(sum(d["Counts"]) for d in by_name["Latency"]) == 200
    assert by_name["IntegrationLatency"][0]["Values"] == [3.0] and by_name["IntegrationLatency"][0]["Counts"] == [2.0]
