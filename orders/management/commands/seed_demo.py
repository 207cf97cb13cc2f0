"""Demo data of SPEC 11: two stores, five logins, customers, packages in every state. Idempotent.

Local runs only: it makes ``admin`` a superuser with the demo password, so with DEBUG off (production)
it refuses unless ``--force`` says the installation is a throwaway one.

``dev.py start`` runs it on every start, so a rerun creates only what is missing: a demo store or login
that exists is left as the operator left it (name, active flag, roles, e-mail, password; a new password
hash would also end every session and revoke every API token). Only an explicit ``--password`` sets the
password of the demo logins that exist.

A rerun tops the packages up: packages leave their demo state (a newcomer delivers the ready ones,
the no-show sweep cancels them when their hold ends), so each run adds, under new order numbers,
whatever an active store is missing of ``STATES`` and nothing else. What cannot be added (a deactivated
store, restricted customers, a store setting that refuses a step) is skipped with a line on stderr.
"""

import re
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from core.authentication import INTEGRATION_GROUP
from core.errors import ApplicationError
from orders import services
from orders.models import Channel, Customer, Order, Package, PackageStatus, StaffMembership, StaffRole, Store

STORES = [("IST01", "Istanbul Kanyon"), ("ANK01", "Ankara Armada")]
# Shown on the customers' pickup pass (SPEC 13); set on a store this command creates.
STORE_DETAILS = {
    "IST01": {
        "address": "Büyükdere Cd. No:185, Levent\n34394 Şişli, İstanbul",
        "opening_hours": "Every day 10:00–22:00",
    },
    "ANK01": {
        "address": "Eskişehir Yolu No:6, Söğütözü\n06510 Çankaya, Ankara",
        "opening_hours": "Every day 10:00–22:00",
    },
}
USERS = [
    # username, superuser, memberships
    ("admin", True, []),
    ("ayse", False, [("IST01", StaffRole.EMPLOYEE)]),
    ("mehmet", False, [("ANK01", StaffRole.EMPLOYEE)]),
    ("zeynep", False, [("IST01", StaffRole.MANAGER), ("ANK01", StaffRole.MANAGER)]),
    ("oms", False, []),
]
CUSTOMERS = [
    ("Elif Yılmaz", "+905321112233", "elif@example.com", "tr"),
    ("Can Demir", "+905332223344", "can@example.com", "tr"),
    ("Deniz Kaya", "+905443334455", "deniz@example.com", "en"),
    ("Ahmet Şahin", "+905554445566", "ahmet@example.com", "tr"),
    ("Selin Öztürk", "+905365556677", "selin@example.com", "en"),
]
ITEMS = [("SKU-1001", "Running shoes", 1), ("SKU-2002", "Denim jacket", 1), ("SKU-3003", "Cotton T-shirt", 3)]
# The state each demo package is walked to, through the real commands.
STATES = [
    PackageStatus.WAITING,
    PackageStatus.PACKED_ALL_ITEMS,
    PackageStatus.READY_FOR_CUSTOMER_PICKUP,
    PackageStatus.READY_FOR_CUSTOMER_PICKUP,
    PackageStatus.DELIVERED,
    PackageStatus.CANCELLED,
]
# A ready package whose hold ends sooner than this is about to be cancelled by the no-show sweep
# (``dev.py start`` seeds before beat starts): it does not count as one a newcomer can still verify.
READY_MARGIN = timedelta(hours=1)
DEFAULT_PASSWORD = "demo12345"


class Command(BaseCommand):
    help = "Load the demo stores, users, customers and packages (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help=f"set this password on every demo login, also the existing ones (default: {DEFAULT_PASSWORD}, "
            "for the logins created now only)",
        )
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (a throwaway installation, never production)"
        )

    @transaction.atomic
    def handle(self, *args, password, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it would make 'admin' a superuser with the demo password. "
                "Use it on a local run (DEBUG on), or pass --force on an installation that is not production."
            )
        stores = {code: self._store(code, name) for code, name in STORES}
        for username, superuser, memberships in USERS:
            self._user(username, superuser, memberships, stores=stores, password=password)

        now = timezone.now()
        created = []
        for store in stores.values():
            store_code = store.code  # as the operator spelt it
            missing = self._missing_states(store_code, now)
            if missing and not store.is_active:
                self.stderr.write(f"{store_code}: no demo packages added: the store is deactivated (admin, Stores).")
                continue
            for state in missing:
                try:
                    order = self._add_order(store, state)
                except ApplicationError as error:
                    self.stderr.write(f"{store_code}: no {state} demo package added: {error.message}")
                    continue
                if order is None:
                    self.stderr.write(
                        f"{store_code}: no {state} demo package added: every demo customer is restricted "
                        "(forgive their no-shows in admin, Customers)."
                    )
                    continue
                created.append((order, state))
                self.stdout.write(f"  {order.order_number}  {store_code}  {state}  {order.customer.name}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({len(created)} new orders)."))
        if any(state == PackageStatus.READY_FOR_CUSTOMER_PICKUP for _order, state in created):
            where = (
                f" (the worker writes them to {settings.OUTBOX_DIR / 'sms'})"
                if settings.NOTIFY_SMS_BACKEND == "file"
                else ""
            )
            self.stdout.write(f"The pickup codes of the new ready packages go out in the customers' messages{where}.")

    def _store(self, code, name):
        """The demo store with this code (in any case, as codes are unique), created if missing, else left as is."""
        store = Store.objects.filter(code__iexact=code).first()
        if store is None:
            store = Store.objects.create(code=code, name=name, **STORE_DETAILS.get(code, {}))
            self.stdout.write(f"  store {code} created")
        return store

    def _user(self, username, superuser, memberships, *, stores, password):
        """Create the demo login if missing, with its roles; an existing one only gets an explicit ``password``."""
        user = get_user_model().objects.filter(username=username).first()
        if user is not None:
            if password is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"  {username}: password set")
            return user
        user = get_user_model()(
            username=username, email=f"{username}@example.com", is_superuser=superuser, is_staff=superuser
        )
        user.set_password(password if password is not None else DEFAULT_PASSWORD)
        user.save()
        for code, role in memberships:
            StaffMembership.objects.create(user=user, store=stores[code], role=role)
        if username == "oms":
            user.groups.add(Group.objects.get_or_create(name=INTEGRATION_GROUP)[0])
        self.stdout.write(f"  login {username} created")
        return user

    def _missing_states(self, store_code, now):
        """The demo states (with repeats) that the store's demo packages no longer cover."""
        demo = Package.objects.filter(store__code=store_code, order__order_number__startswith=f"DEMO-{store_code}-")
        have = Counter(
            demo.exclude(
                status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lte=now + READY_MARGIN
            ).values_list("status", flat=True)
        )
        return list((Counter(STATES) - have).elements())

    def _add_order(self, store, state):
        """One new demo order (the next free DEMO number) walked to ``state``; None if every customer is restricted."""
        index = self._next_index(store.code)
        offset = index + (store.code == "ANK01")
        for turn in range(len(CUSTOMERS)):
            name, phone, email, language = CUSTOMERS[(offset + turn) % len(CUSTOMERS)]
            # A demo customer that exists stays as it was left (intake would take the order's name, e-mail, language).
            known = Customer.objects.filter(phone=phone).values_list("name", "email", "language").first()
            name, email, language = known or (name, email, language)
            try:
                # A savepoint: a step the store refuses (ApplicationError) leaves no half-walked order behind.
                with transaction.atomic():
                    order, _ = services.order_intake(
                        order_number=f"DEMO-{store.code}-{index + 1:03d}",
                        customer={"name": name, "phone": phone, "email": email, "language": language},
                        store_code=store.code,
                        packages=[
                            {"items": [{"sku": s, "name": n, "quantity": q} for s, n, q in ITEMS[: 1 + index % 3]]}
                        ],
                    )
                    self._walk(order.packages.get(), state)
            except ApplicationError as error:
                if error.code != "customer_restricted":
                    raise
                continue
            return order
        return None

    def _next_index(self, store_code):
        """Index of the store's next demo order, numbered DEMO-<store>-<index + 1>: after the highest one so far."""
        numbers = Order.objects.filter(order_number__startswith=f"DEMO-{store_code}-").values_list(
            "order_number", flat=True
        )
        pattern = re.compile(rf"DEMO-{store_code}-(\d+)")
        return max((int(m[1]) for number in numbers if (m := pattern.fullmatch(number))), default=0)

    def _walk(self, package, state):
        # The system actor (None) stands in for store staff; the audit shows channel "system".
        steps = {
            PackageStatus.WAITING: [],
            PackageStatus.PACKED_ALL_ITEMS: [services.package_complete_packaging],
            PackageStatus.READY_FOR_CUSTOMER_PICKUP: [services.package_complete_packaging, services.package_mark_ready],
            PackageStatus.DELIVERED: [services.package_complete_packaging, services.package_mark_ready, "deliver"],
            PackageStatus.CANCELLED: ["cancel"],
        }[state]
        for step in steps:
            if step == "deliver":
                services.package_deliver(package=package, actor=None, channel=Channel.SYSTEM, manual=True)
            elif step == "cancel":
                services.package_cancel(package=package, actor=None, channel=Channel.SYSTEM, reason="Out of stock")
            else:
                step(package=package, actor=None, channel=Channel.SYSTEM)
