"""`manage.py demo_engagement`: the demo city's meetings, grids and contacts (engagement.demo).
`demo_data` calls it after building the city, and with --delete before a reset."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from engagement.demo import engagement_demo_build, engagement_demo_delete


class Command(BaseCommand):
    help = "Builds (or with --delete removes) the demo city's meetings, grids and contacts."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, delete: bool, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("The demo runs only with DJANGO_DEBUG=true (or --force).")
        with transaction.atomic():
            if delete:
                n = engagement_demo_delete()
                self.stdout.write(f"已删除演示恳谈会 {n} 场及网格、对接记录。")
            else:
                engagement_demo_build(out=self.stdout)
