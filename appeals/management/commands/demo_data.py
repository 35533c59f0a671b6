"""`manage.py demo_data`: a realistic 宣城市 so that a newcomer sees the platform working at once.

The command checks that it may run, and prints; `appeals.demo` builds (and resets) the demo.
"""

import random
import time
import unicodedata
from collections import Counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from appeals.demo import MARKER_USERNAME, PASSWORD, City, build_demo, demo_delete
from appeals.demo.city import demo_usernames
from appeals.demo.inbox import inbox_settle
from appeals.models import Appeal, Reply
from departments.names import person_name


class Command(BaseCommand):
    help = (
        "Builds a demo 宣城市: regions, departments, categories and routing, demo logins "
        f"(password {PASSWORD}), ~200 enterprises and a few hundred appeals in every state. "
        "Runs only with DEBUG (or --force). Does nothing if the demo already exists, unless "
        "--reset (DEBUG only) is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--appeals", type=int, default=300, help="How many appeals to create (default 300)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Build the demo even when DEBUG is off (it creates a superuser with a "
            "published password: never on a real deployment).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo's users, departments, categories, regions, and the "
            "enterprises and appeals in those regions, then rebuild. Only with DEBUG=true.",
        )

    def handle(self, *args, appeals: int, reset: bool, force: bool, **options):
        if appeals < 0:
            raise CommandError("--appeals must be zero or more.")
        if reset and not settings.DEBUG:
            raise CommandError("--reset deletes data; it runs only with DJANGO_DEBUG=true.")
        if not settings.DEBUG and not force:
            raise CommandError(
                f"The demo creates logins with the password {PASSWORD}, a superuser among them; "
                "it runs only with DJANGO_DEBUG=true (or --force on a throwaway database)."
            )
        User = get_user_model()
        if not reset and User.objects.filter(username=MARKER_USERNAME).exists():
            self.stdout.write(
                f"演示数据已存在（用户 {MARKER_USERNAME} 已存在），未做任何修改。"
                "如需重建，请使用 --reset。"
            )
            return
        started = time.perf_counter()
        with transaction.atomic():
            if reset:
                self._reset()
            city = build_demo(appeal_count=appeals, out=self.stdout)
            # Meetings, grids and contacts: a hook of the engagement app, called by name.
            call_command("demo_engagement", force=True, stdout=self.stdout)
            # Its appeals notified people too: settle the inboxes again (a handful unread).
            inbox_settle(usernames=demo_usernames(), rng=random.Random(7), now=timezone.now())
        elapsed = time.perf_counter() - started
        self._summary(city, elapsed)

    def _reset(self) -> None:
        try:
            call_command("demo_engagement", delete=True, force=True, stdout=self.stdout)
            deleted = demo_delete()
        except ProtectedError as exc:
            raise CommandError(
                f"Cannot reset: data outside the demo still refers to it ({exc.args[0]})"
            ) from None
        self.stdout.write(f"已删除演示数据：{deleted} 件诉求及相关企业、单位和账号。")

    def _summary(self, city: City, elapsed: float) -> None:
        w = self.stdout.write
        counts = Counter(Appeal.objects.values_list("status", flat=True))
        w("")
        w(self.style.SUCCESS(f"演示数据已生成，用时 {elapsed:.1f} 秒。"))
        w("")
        w("诉求状态分布：")
        for status in Appeal.Status:
            label = self._pad(str(status.label), 18)
            w(f"  {label}{status.value:<14}{counts.get(status.value, 0):>5}")
        w(f"  {self._pad('合计', 32)}{sum(counts.values()):>5}")
        pending = Counter(
            Reply.objects.filter(
                state__in=[Reply.State.PENDING_HEAD, Reply.State.PENDING_OFFICE]
            ).values_list("state", flat=True)
        )
        w(
            f"  其中答复审核中：待单位负责人审核 {pending.get(Reply.State.PENDING_HEAD, 0)} 件，"
            f"待营商办审核 {pending.get(Reply.State.PENDING_OFFICE, 0)} 件"
        )
        w("")
        w(f"演示账号（密码均为 {PASSWORD}）：")
        w("  admin          超级管理员（/admin/）")
        w("  office         营商环境办（可进入 /admin/）")
        w("  leader         市领导")
        w("  supervisor     特约监督员")
        for i, user in enumerate(city.commissioners, start=1):
            w(f"  commissioner{i:<3}为企服务专员 {person_name(user)}")
        w("  <代码>_handler / <代码>_head   各单位承办人 / 单位负责人，单位代码：")
        for department in city.departments.values():
            w(f"      {department.code:<6}{department.name}")
        for i, enterprise in enumerate(city.enterprise_accounts, start=1):
            w(f"  enterprise{i:<5}企业账号：{enterprise.name}")

    @staticmethod
    def _pad(text: str, width: int) -> str:
        """Left-justify for a terminal, where each CJK character takes two columns."""
        columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
        return text + " " * max(width - columns, 0)
