"""Fill or refresh the search words of appeals (issue #18): `manage.py search_reindex`
fills those that have none (resumable: run it again after an interruption), `--all` rewrites
every one (after a change to appeals.text). One batch per transaction, by primary key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from appeals.text import appeal_search_text

BATCH = 1000


def reindex(appeal_model, reply_model, *, everything: bool = False, out=None) -> int:
    """Write the search column batch by batch; the models are passed in so that a migration
    can use its historical ones. Returns how many appeals were written."""
    written, last = 0, 0
    while True:
        rows = appeal_model.objects.filter(pk__gt=last).order_by("pk")
        if not everything:
            rows = rows.filter(search_text="")
        batch = list(
            rows.values_list("pk", "title", "content", "enterprise_name", "is_anonymous")[:BATCH]
        )
        if not batch:
            return written
        replies: dict[int, list[str]] = {}
        for appeal_id, content in reply_model.objects.filter(
            appeal_id__in=[row[0] for row in batch]
        ).values_list("appeal_id", "content"):
            replies.setdefault(appeal_id, []).append(content)
        rewritten = [
            appeal_model(
                pk=pk,
                search_text=appeal_search_text(
                    title=title,
                    content=content,
                    enterprise_name=name,
                    is_anonymous=anonymous,
                    replies=replies.get(pk, []),
                ),
            )
            for pk, title, content, name, anonymous in batch
        ]
        # The search column only, which keeps no history (Appeal.history excludes it): one
        # UPDATE per batch (bulk_update writes no history row and sends no signal), not one
        # per appeal, which was ~150 appeals a second at 100,000.
        with transaction.atomic():
            appeal_model.objects.bulk_update(rewritten, ["search_text"], batch_size=BATCH)
        written += len(batch)
        last = batch[-1][0]
        if out is not None:
            out.write(f"{written} appeals written, up to id {last}")


class Command(BaseCommand):
    help = "Fill the search words of appeals that have none (--all: rewrite every one)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", dest="everything")

    def handle(self, *args, everything: bool = False, **options):
        from appeals.models import Appeal, Reply

        n = reindex(Appeal, Reply, everything=everything, out=self.stdout)
        self.stdout.write(f"done: {n} appeals")
