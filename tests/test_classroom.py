"""The class-size setting (CORRUTINAS_ESCALA) and the per-student limits."""

from __future__ import annotations

import pytest

from support import osutil
from support.measure import c10k, classroom
from support.measure.classroom import ClassroomWarning
from support.osutil import cgroups


@pytest.fixture
def no_limits(monkeypatch):
    monkeypatch.setattr(classroom, "thread_budget", lambda reserve=classroom.THREAD_RESERVE: None)
    monkeypatch.setattr(classroom, "connection_budget", lambda reserve=classroom.FD_RESERVE: 10**6)
    monkeypatch.delenv(classroom.ENV, raising=False)


@pytest.mark.parametrize("raw, value", [("", 1.0), ("0.1", 0.1), ("0,25", 0.25), ("1", 1.0)])
def test_scale_reads_the_one_setting(monkeypatch, raw, value):
    monkeypatch.setenv(classroom.ENV, raw)
    assert classroom.scale() == value


@pytest.mark.parametrize("raw", ["0", "-1", "2", "mucho"])
def test_a_bad_scale_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv(classroom.ENV, raw)
    with pytest.raises(ValueError, match=classroom.ENV):
        classroom.scale()


def test_full_size_without_the_setting_and_no_warning(no_limits, recwarn):
    assert classroom.threads(5_000) == 5_000 and classroom.connections(10_000) == 10_000
    assert not [w for w in recwarn if issubclass(w.category, ClassroomWarning)]


def test_the_setting_scales_and_says_so(no_limits, monkeypatch):
    monkeypatch.setenv(classroom.ENV, "0.1")
    with pytest.warns(ClassroomWarning, match=r"500 en lugar de 5\.000 \(CORRUTINAS_ESCALA=0\.1\)"):
        assert classroom.threads(5_000) == 500
    assert classroom.scaled(3, minimum=2) == 2 and classroom.scaled(1, minimum=5) == 1


def test_threads_respect_the_budget(no_limits, monkeypatch):
    monkeypatch.setattr(classroom, "thread_budget", lambda reserve=0: 900)
    with pytest.warns(ClassroomWarning, match="pids.max"):
        assert classroom.threads(5_000) == 900


def test_connections_respect_the_budget(no_limits, monkeypatch):
    monkeypatch.setattr(classroom, "connection_budget", lambda reserve=0: 760)
    with pytest.warns(ClassroomWarning, match="ulimit -n"):
        assert classroom.connections(10_000) == 760


def test_cgroup_headroom_is_the_tightest_along_the_path(monkeypatch, tmp_path):
    inner, outer = tmp_path / "pids" / "hub" / "alumno", tmp_path / "pids" / "hub"
    inner.mkdir(parents=True)
    (inner / "pids.max").write_text("1024\n")
    (inner / "pids.current").write_text("18\n")
    (outer / "pids.max").write_text("max\n")   # unlimited reads as no limit
    (outer / "pids.current").write_text("300\n")
    monkeypatch.setattr(cgroups, "own_cgroup_dirs", lambda: [inner, outer])
    assert osutil.cgroup_pids_max() == 1024
    assert osutil.cgroup_pids_headroom() == 1024 - 18


def test_the_slider_follows_the_scale_and_the_budget(no_limits, monkeypatch):
    assert classroom.slider(10_000, 1_000, 50_000, 1_000) == {"value": 10_000, "min": 1_000, "max": 50_000,
                                                               "step": 1_000}
    monkeypatch.setattr(classroom, "connection_budget", lambda reserve=0: 800)
    assert classroom.slider(10_000, 1_000, 50_000, 1_000) == {"value": 800, "min": 800, "max": 800, "step": 1}
    monkeypatch.setenv(classroom.ENV, "0.01")
    assert classroom.slider(100, 1_000, 50_000, 1_000) == {"value": 100, "min": 10, "max": 500, "step": 10}


def test_a_cost_is_never_negative_and_says_when_it_is_noise():
    freed = c10k.cost_per_unit(100 * 2**20, 96 * 2**20, 524)
    assert freed == 0 and not freed.meaningful and "creció -4.096 KiB" in freed.why
    few = c10k.cost_per_unit(0, 50 * 2**20, 50)
    assert few == 2**20 and not few.meaningful and "solo 50 unidades" in few.why
    real = c10k.cost_per_unit(0, 60 * 2**20, 5_000)
    assert real.meaningful and real == pytest.approx(60 * 2**20 / 5_000)
    with pytest.warns(ClassroomWarning, match="corrutina: 0.0 KiB por unidad no es una medida"):
        assert not c10k.meaningful(corrutina=freed, hilo=real)
    assert c10k.meaningful(hilo=real)


def test_a_budget_below_the_minimum_never_gives_zero_and_says_so(no_limits, monkeypatch):
    monkeypatch.setattr(classroom, "thread_budget", lambda reserve=0: 0)
    with pytest.warns(ClassroomWarning, match=r"por debajo del mínimo de la lección, 10:"):
        assert classroom.threads(1_000, minimum=10) == 1  # it used to say 0
    monkeypatch.setattr(classroom, "connection_budget", lambda reserve=0: 40)
    with pytest.warns(ClassroomWarning, match=r"40 en lugar de 10\.000 .*mínimo de la lección, 100:"):
        assert classroom.connections(10_000, minimum=100) == 40


def test_the_connection_budget_counts_open_files_with_osutil(monkeypatch):
    # osutil.open_fds counts handles on Windows too (classroom's own copy said 0 there)
    monkeypatch.setattr(classroom.osutil, "fd_limit", lambda: 1_000)
    monkeypatch.setattr(classroom.osutil, "open_fds", lambda: 300)
    monkeypatch.setattr(classroom.osutil, "local_port_range", lambda: None)
    assert classroom.connection_budget(reserve=100) == 600
