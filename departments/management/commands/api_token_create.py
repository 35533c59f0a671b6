from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from departments.roles import Role
from departments.tokens import api_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a user acting in one role; prints the key once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--name", required=True)

    def handle(self, *args, user, role, name, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"no user {user!r}")
        try:
            _token, key = api_token_issue(actor=None, user=account, role=Role(role), name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
