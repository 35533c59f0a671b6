import os
import shutil

import pytest

from tests.replica.cluster import server_binaries, start_cluster


@pytest.fixture(scope="session")
def replica_cluster():
    """A primary and its streaming replica on free ports. Skipped without PostgreSQL's server
    binaries, failed under REQUIRE_SERVICES=1 (CI)."""
    if server_binaries() is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("PostgreSQL server binaries (initdb, pg_basebackup) are missing")
        pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed")
    cluster = start_cluster()
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)
