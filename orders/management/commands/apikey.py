"""``manage.py apikey``: API keys (SPEC 14) for operators' scripts.

    apikey create NAME --scope SCOPE [--scope ...] [--store CODE ...] [--role manager] [--expires-days N]
    apikey list
    apikey revoke PREFIX

``create`` prints the key once, alone on the last line (``KEY=$(manage.py apikey create ... | tail -n 1)``).
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import ApplicationError
from orders import services
from orders.models import ApiKeyScope, StaffRole
from orders.selectors import api_key_by_prefix, api_keys_with_stores, stores_with_codes


class Command(BaseCommand):
    help = "API keys for POS devices and the order system: create NAME --scope ... | list | revoke PREFIX."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="make a key and print it once, on the last line")
        create.add_argument("name")
        create.add_argument("--scope", action="append", required=True, choices=ApiKeyScope.values, dest="scopes")
        create.add_argument("--store", action="append", default=[], dest="stores", help="store code (repeatable)")
        create.add_argument("--role", choices=StaffRole.values, default=StaffRole.EMPLOYEE)
        create.add_argument("--expires-days", type=int, dest="expires_days")
        commands.add_parser("list", help="every key: prefix, name, scopes, stores, state, last use")
        revoke = commands.add_parser("revoke", help="revoke a key at once")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, name, scopes, stores, role, expires_days, **options):
        found, unknown = stores_with_codes(codes=stores)
        if unknown:
            raise CommandError(f"No store with the code {unknown[0]!r}.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            api_key, plaintext = services.api_key_create(
                name=name, scopes=scopes, stores=found, role=role, expires_at=expires_at
            )
        except ApplicationError as error:
            messages = [message for errors in error.details.get("fields", {}).values() for message in errors]
            raise CommandError(" ".join(messages) or str(error.message)) from None
        bound = ", ".join(store.code for store in found) or "no store (order system)"
        expiry = api_key.expires_at.isoformat() if api_key.expires_at else "never"
        self.stdout.write(
            f"Created API key {api_key.prefix} ({api_key.name}): scopes {', '.join(api_key.scopes)}; {bound}; "
            f"expires {expiry}. The key, shown only now:"
        )
        self.stdout.write(plaintext)

    def _list(self, **options):
        now = timezone.now()
        for api_key in api_keys_with_stores():
            stores = ",".join(membership.store.code for membership in api_key.user.memberships.all()) or "-"
            if api_key.revoked_at is not None:
                state = "revoked"
            elif api_key.is_expired(now):
                state = "expired"
            else:
                state = "active"
            last_used = api_key.last_used_at.isoformat() if api_key.last_used_at else "never"
            self.stdout.write(
                f"{api_key.prefix}  {state:8}  {','.join(api_key.scopes):40}  {stores:20}  "
                f"last used {last_used}  {api_key.name}"
            )

    def _revoke(self, *, prefix, **options):
        api_key = api_key_by_prefix(prefix=prefix.split(".")[0])
        if api_key is None:
            raise CommandError(f"No API key with the prefix {prefix!r}.")
        if services.api_key_revoke(api_key=api_key):
            self.stdout.write(f"Revoked API key {api_key.prefix} ({api_key.name}).")
        else:
            self.stdout.write(f"API key {api_key.prefix} ({api_key.name}) was already revoked.")
