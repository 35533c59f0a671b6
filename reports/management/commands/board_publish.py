from django.core.management.base import BaseCommand

from reports.boards import board_publish


class Command(BaseCommand):
    help = "Publish a live board snapshot now (beat does it every five minutes)."

    def handle(self, *args, **options):
        snapshot = board_publish()
        totals = snapshot.data["totals"]
        self.stdout.write(
            f"board published: {totals['open']} open "
            f"({totals['red']} red, {totals['yellow']} yellow, {totals['green']} green)"
        )
