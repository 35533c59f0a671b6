"""The journeys' guard sees what it must: a console error, an uncaught exception, a request to
another host (which it also refuses), a missing static file; and lets a form shown again with
its errors (HTTP 400) pass."""

import pytest

from tests.browser.support import CHINESE, expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# The guard's workings, not a reader's journey: once, in Chinese.
JOURNEY_LANGUAGES = [CHINESE]


def test_the_guard_catches_script_errors_failed_files_and_requests_to_other_hosts(journey):
    page = journey.page()
    page.goto(journey.url("/"))
    expect(page.get_by_role("link", name="我要提诉求").first).to_be_visible()
    journey.assert_clean()

    page.evaluate("console.error('console-boom')")
    page.evaluate("setTimeout(() => { throw new Error('thrown-boom'); })")
    page.evaluate("fetch('https://elsewhere.example.com/lib.js').catch(() => {})")
    page.evaluate("fetch('/static/js/missing.js')")
    page.wait_for_timeout(300)

    seen = "\n".join(journey.problems)
    assert "console-boom" in seen
    assert "thrown-boom" in seen
    # The Content-Security-Policy stops the request before it leaves the page; the guard sees
    # the browser's report of that, or the request itself where no policy applies.
    assert "request outside the site: https://elsewhere.example.com/lib.js" in seen or (
        "elsewhere.example.com/lib.js" in seen and "Content Security Policy" in seen
    )
    assert "HTTP 404 for " in seen and "/static/js/missing.js" in seen
    journey.problems.clear()  # seen on purpose: the fixture's own check must pass

    page.goto(journey.url("/track/"))
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("该字段是必填项。").first).to_be_visible()
    journey.assert_clean()
