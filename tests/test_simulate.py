"""The ideal-time simulation (support.measure.simulate) on graphs whose answer is known by hand."""

from __future__ import annotations

import math

import pytest

from support.labsite import SiteGraph
from support.measure.simulate import ideal_time, simulate


def chain(n):
    return [[i + 1] if i + 1 < n else [] for i in range(n)]


def star(n):
    return [list(range(1, n))] + [[] for _ in range(n - 1)]


@pytest.mark.parametrize("depth", [1, 2, 7])
@pytest.mark.parametrize("concurrency", [1, 5, 100])
def test_chain_costs_one_latency_per_page_whatever_the_concurrency(depth, concurrency):
    result = simulate(chain(depth), concurrency, 0.5)
    assert result.seconds == pytest.approx(depth * 0.5)
    assert result.pages == depth
    assert result.max_in_flight == 1


@pytest.mark.parametrize("n, c", [(2, 1), (10, 3), (101, 10), (100, 10), (50, 1000)])
def test_star_fills_the_slots_in_rounds(n, c):
    assert ideal_time(star(n), c, 0.2) == pytest.approx(math.ceil((n - 1) / c) * 0.2 + 0.2)


def test_unlimited_slots_cost_one_latency_per_level():
    graph = SiteGraph(pages=300, links=2)
    depths = graph.depths()
    result = simulate(graph, concurrency=300, latency=0.1)
    assert result.pages == 300
    assert result.seconds == pytest.approx((max(depths) + 1) * 0.1)


def test_one_slot_fetches_every_page_in_bfs_order():
    graph = SiteGraph(pages=60)
    result = simulate(graph, concurrency=1, latency=0.01)
    assert result.seconds == pytest.approx(60 * 0.01)
    # BFS order: the depth of the pages never decreases along the fetch order.
    depths = graph.depths()
    assert [depths[p] for p in result.order] == sorted(depths[p] for p in result.order)
    assert sorted(result.order) == list(range(60))


def test_links_are_known_only_when_a_page_arrives():
    # Root links to 1..4; 1 links to 5, which links to 6. With 2 slots:
    # t=0: 0. t=1: 1, 2. t=2: 3, 4 (5, found at t=2, queues behind them).
    # t=3: 5. t=4: 6 (found only when 5 arrives). The crawl ends at t=5.
    graph = {0: [1, 2, 3, 4], 1: [5], 5: [6]}
    result = simulate(graph, concurrency=2, latency=1.0)
    assert result.order == (0, 1, 2, 3, 4, 5, 6)
    assert result.seconds == pytest.approx(5.0)
    assert result.max_in_flight == 2


def test_the_ideal_is_between_the_two_lower_bounds_and_the_sequential_time():
    graph = SiteGraph(pages=2000)
    depth = max(graph.depths())
    for c in (1, 10, 100, 1000):
        t = ideal_time(graph, c, 0.2)
        assert max(math.ceil(2000 / c), depth + 1) * 0.2 <= t + 1e-9
        assert t <= 2000 * 0.2 + 1e-9
    assert ideal_time(graph, 100, 0.2) > ideal_time(graph, 1000, 0.2)


def test_zero_latency_and_per_page_latency():
    assert ideal_time(star(10), 3, 0.0) == 0.0
    # Page-dependent latency: the slowest leaf decides.
    assert ideal_time(star(4), 10, lambda p: 0.1 * p) == pytest.approx(0.0 + 0.3)


def test_only_reachable_pages_are_counted_and_bad_arguments_fail():
    assert simulate({0: [1], 2: [0]}, 4, 1.0).pages == 2
    with pytest.raises(ValueError):
        simulate(chain(3), 0, 1.0)
    with pytest.raises(ValueError):
        simulate(chain(3), 1, -1.0)


def test_cpu_cost_per_page_on_one_processor():
    # A chain pays latency + CPU at every level.
    assert ideal_time(chain(4), 10, 0.5) == pytest.approx(2.0)
    assert simulate(chain(4), 10, 0.5, cpu=0.1).seconds == pytest.approx(4 * 0.6)
    # A star: the leaves all arrive at 2L + c and queue for the one processor.
    n, L, c = 11, 1.0, 0.01
    assert simulate(star(n), 100, L, cpu=c).seconds == pytest.approx(2 * L + c + (n - 1) * c)
    # CPU cost only ever makes the crawl slower, and the order stays BFS.
    graph = SiteGraph(pages=500)
    fast, slow = simulate(graph, 50, 0.1), simulate(graph, 50, 0.1, cpu=0.001)
    assert slow.seconds > fast.seconds and slow.pages == fast.pages == 500
    with pytest.raises(ValueError):
        simulate(chain(3), 1, 1.0, cpu=-0.1)
