"""The floor of the stack: the cheapest Django views that still do a benchmark's kind of work,
on the same server, settings and middleware as the real pages. Every figure in bench/README.md
is also given as a ratio to one of these.

- read:  GET  /bench/floor/read/?after=N  one 50-row page of appeals_appeal by primary key
  (an indexed range), rendered through a template;
- write: POST /bench/floor/write/         one INSERT into bench_floor_write, a throwaway table
  that bench/suite.py creates with raw SQL in the benchmark database (no model, no migration).

config/urls.py mounts these only when BENCH_FLOOR=1 is in the environment (bench/suite.py sets it
for the gunicorn it starts); a production server never has the routes.
"""

from django.db import connection
from django.http import HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from appeals.models import Appeal

PAGE = 50
WRITE_TABLE = "bench_floor_write"
CREATE_WRITE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {WRITE_TABLE} "
    "(id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), note text)"
)

_TEMPLATE = engines["django"].from_string(
    "<!doctype html><table>{% for a in rows %}<tr><td>{{ a.pk }}</td><td>{{ a.number }}</td>"
    "<td>{{ a.title }}</td><td>{{ a.status }}</td><td>{{ a.filed_at }}</td></tr>"
    "{% endfor %}</table>"
)


def floor_read(request):
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    rows = (
        Appeal.objects.filter(pk__gt=after)
        .order_by("pk")
        .only("pk", "number", "title", "status", "filed_at")[:PAGE]
    )
    return HttpResponse(_TEMPLATE.render({"rows": rows}, request))


@csrf_exempt
@require_POST
def floor_write(request):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {WRITE_TABLE} (note) VALUES (%s)",  # noqa: S608 (a constant name)
            [request.POST.get("note", "")[:200]],
        )
    return HttpResponse("ok", status=201)


urlpatterns = [
    path("read/", floor_read, name="bench_floor_read"),
    path("write/", floor_write, name="bench_floor_write"),
]
