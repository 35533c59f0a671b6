"""The benchmarks' floor views (bench/floor.py) exist only on a server that bench/suite.py
starts with BENCH_FLOOR=1; a production server has no such route."""

import os

import pytest
from django.urls import Resolver404, resolve

pytestmark = pytest.mark.skipif(
    os.environ.get("BENCH_FLOOR") == "1", reason="this process mounts the floor views"
)


@pytest.mark.parametrize("path", ["/bench/floor/read/", "/bench/floor/write/"])
def test_the_floor_views_are_not_routed_without_bench_floor(path):
    with pytest.raises(Resolver404):
        resolve(path)


def test_the_floor_paths_answer_404(client, db):
    assert client.get("/bench/floor/read/").status_code == 404
    assert client.post("/bench/floor/write/").status_code == 404
