"""Named personas and loop helpers shared by every test.

Two departments (A leads by default, B co-handles), each with a handler and a head; the office;
a commissioner; an enterprise with one account. `walk_to(appeal, Appeal.Status.REPLIED)` moves
an appeal along the loop with these people.
"""

import os
import tempfile

import pytest

# Hypothesis keeps its example database and caches here rather than in the project root.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "qihu-hypothesis")
)
pytest.register_assert_rewrite("tests.workflow")

from celery._state import _set_task_join_will_block  # noqa: E402

from appeals.models import Appeal, Enterprise  # noqa: E402
from departments.models import Category, Department, Membership  # noqa: E402
from departments.roles import Role  # noqa: E402
from departments.services import membership_add  # noqa: E402
from tests import workflow  # noqa: E402
from tests.factories import (  # noqa: E402
    CategoryFactory,
    DepartmentFactory,
    EnterpriseFactory,
    RegionFactory,
    UserFactory,
)

# With pytest-xdist (`bin/test -n 2 --dist loadgroup`, as CI runs it), the tests that share
# something outside their own database run one after another on one worker: a fixed Redis
# database (tests/workers.py, tests/deploy/test_shared_limits.py), processes of their own
# (run-prod, a worker, a streaming replica), or Chromium (two browsers at once on two cores
# make the journeys' waits flaky).
SERIAL_GROUPS = {
    "tests/integration/": "services",
    "tests/deploy/": "services",
    "tests/replica/": "services",
    "tests/security/test_faults.py": "services",
    "tests/browser/": "browser",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.nodeid.split("::")[0]
        for prefix, group in SERIAL_GROUPS.items():
            if path.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
                break


# A transactional test (`django_db(transaction=True)`, `live_server`) ends with Django's flush
# of every table: with `serialized_rollback` the database is left empty, without it post_migrate
# makes content types and permissions again under new ids; either way the rows the migrations
# wrote (role groups, the office's permissions, SLA policies, tags) are gone. In one process
# pytest-django runs the transactional tests after the others, but a pytest-xdist worker runs
# what it is sent in the order it is sent (loadgroup sends the big groups first), so a test that
# rolls back can come after one that flushed. Such a test first gets the migrated rows back, as
# Django's `serialized_rollback` loads them (`_test_serialized_contents`, with their own ids).
_flushed = False
_db_blocker = None
_migrated_rows = None  # the serialized rows, as a JSON string


def _marker_transaction(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(
        marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    )


def _flushes(item) -> bool:
    return _marker_transaction(item) or not {"transactional_db", "live_server"}.isdisjoint(
        getattr(item, "fixturenames", ())
    )


def _rolls_back(item) -> bool:
    uses_db = item.get_closest_marker("django_db") or "db" in getattr(item, "fixturenames", ())
    return bool(uses_db) and not _flushes(item)


@pytest.fixture(scope="session", autouse=True)
def _keep_db_blocker(django_db_blocker):
    global _db_blocker
    _db_blocker = django_db_blocker


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, and the migrated rows, as serialized for `serialized_rollback` (here
    even when no test of the run asks for it)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    global _migrated_rows
    connection = connections[DEFAULT_DB_ALIAS]
    _migrated_rows = getattr(connection, "_test_serialized_contents", None)
    if _migrated_rows is None:
        with django_db_blocker.unblock():
            _migrated_rows = connection.creation.serialize_db_to_string()
    return django_db_setup


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    global _flushed
    if _flushed and _rolls_back(item):
        from django.contrib.contenttypes.models import ContentType
        from django.core.management import call_command
        from django.db import DEFAULT_DB_ALIAS, connections

        with _db_blocker.unblock():
            # As TransactionTestCase does: no post_migrate (it would make the content types
            # again, under ids other than the serialized ones), sequences left where they are.
            call_command(
                "flush",
                verbosity=0,
                interactive=False,
                database=DEFAULT_DB_ALIAS,
                reset_sequences=False,
                inhibit_post_migrate=True,
            )
            connections[DEFAULT_DB_ALIAS].creation.deserialize_db_from_string(_migrated_rows)
        ContentType.objects.clear_cache()
        _flushed = False


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    global _flushed
    if _flushes(item):
        _flushed = True


@pytest.fixture(autouse=True)
def _celery_runs_tasks_inline():
    """Tasks dispatched after commit run in the test process instead of going to a broker."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _nothing_published_yet(monkeypatch):
    """Each test's process has published nothing yet: a message an earlier test published a
    moment ago would make this test's filing share a drain (appeals.services.notify._publish)."""
    from appeals.services import notify

    monkeypatch.setattr(notify, "_published", notify._Published())


@pytest.fixture
def sms_outbox(settings):
    """The SMS sent while the test runs, as (phone, text), kept in memory."""
    from appeals.sms import LocmemBackend

    settings.SMS_BACKEND = "appeals.sms.LocmemBackend"
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    """Each test reads the policies and steps of its own database (core.snapshots): a copy
    kept from an earlier test would hold rows its rollback took away."""
    from core.snapshots import snapshots_forget

    snapshots_forget()
    yield
    snapshots_forget()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 hasher costs a few hundred milliseconds per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def city(db):
    """宣城市, the city region the departments sit in."""
    return RegionFactory(code="341800", name="宣城市", level="city")


@pytest.fixture
def office(db):
    """A user of the business-environment office (营商办): configures, reviews, closes."""
    return UserFactory(username="office", first_name="营商办", roles=[Role.OFFICE])


@pytest.fixture
def commissioner(db):
    """A service commissioner (为企服务专员): triages, routes, declines, merges, follows up."""
    return UserFactory(username="commissioner", first_name="专员", roles=[Role.COMMISSIONER])


@pytest.fixture
def dept_a(city) -> Department:
    """市住建局: the lead department of the default walk through the loop."""
    return DepartmentFactory(code="dept-a", name="市住建局", region=city)


@pytest.fixture
def dept_b(city) -> Department:
    """市自然资源规划局: a second department, co-handler or outsider to dept_a's work."""
    return DepartmentFactory(code="dept-b", name="市自然资源规划局", region=city)


def _member(username: str, department: Department, role: Membership.Role):
    user = UserFactory(username=username)
    membership_add(user=user, department=department, role=role)
    return user


@pytest.fixture
def handler_a(dept_a):
    """A handler (承办人) of dept_a: signs, replies, returns for dept_a."""
    return _member("handler_a", dept_a, Membership.Role.HANDLER)


@pytest.fixture
def head_a(dept_a):
    """The head (单位负责人) of dept_a: first reviewer of dept_a's say-no replies."""
    return _member("head_a", dept_a, Membership.Role.HEAD)


@pytest.fixture
def handler_b(dept_b):
    """A handler of dept_b."""
    return _member("handler_b", dept_b, Membership.Role.HANDLER)


@pytest.fixture
def head_b(dept_b):
    """The head of dept_b (not a reviewer of dept_a's replies)."""
    return _member("head_b", dept_b, Membership.Role.HEAD)


@pytest.fixture
def enterprise(db) -> Enterprise:
    """宣城示范科技有限公司, an enterprise with a valid credit code."""
    return EnterpriseFactory(name="宣城示范科技有限公司")


@pytest.fixture
def enterprise_user(enterprise):
    """An enterprise account (group enterprise) linked to `enterprise`: files and rates."""
    user = UserFactory(username="enterprise_user", first_name="张三", roles=[Role.ENTERPRISE])
    enterprise.users.add(user)
    return user


@pytest.fixture
def category(dept_a) -> Category:
    """城市建设, a category whose default lead is dept_a."""
    return CategoryFactory(code="urban", name="城市建设", lead_department=dept_a)


@pytest.fixture
def cast(commissioner, handler_a, dept_a, category, enterprise_user) -> workflow.Cast:
    """Who walks the default loop: the commissioner routes to dept_a, handler_a signs and
    replies, enterprise_user rates."""
    return workflow.Cast(
        commissioner=commissioner,
        lead_handler=handler_a,
        lead=dept_a,
        category=category,
        rater=enterprise_user,
    )


@pytest.fixture
def file_appeal(enterprise_user):
    """file_appeal(**form) → FiledAppeal: enterprise_user files a web appeal (actor= overrides)."""

    def _file(**fields):
        fields.setdefault("actor", enterprise_user)
        return workflow.file_appeal(**fields)

    return _file


@pytest.fixture
def walk_to(cast):
    """walk_to(appeal, Appeal.Status.X, co_handlers=[…]) → the appeal, moved along the loop."""

    def _walk(appeal: Appeal, stage: str, *, co_handlers=()):
        return workflow.walk_to(appeal, stage, cast=cast, co_handlers=co_handlers)

    return _walk


@pytest.fixture
def appeal_at(file_appeal, walk_to):
    """appeal_at(Appeal.Status.X, co_handlers=[…]) → a freshly filed appeal walked to X."""

    def _at(stage: str, *, co_handlers=()):
        return walk_to(file_appeal().appeal, stage, co_handlers=co_handlers)

    return _at


@pytest.fixture(autouse=True)
def _join_allowed_after_threads():
    """Celery's eager apply_async marks "no result may be waited for here" in a process-wide
    flag and restores what it found: tasks queued from several threads at once (the
    concurrency tests) can leave it set, and a later test's `.delay().get()` in the same
    process then fails with "Never call result.get() within a task!" (seen on a pytest-xdist
    worker, where a concurrency test can run before the eager task tests)."""
    yield
    _set_task_join_will_block(False)
