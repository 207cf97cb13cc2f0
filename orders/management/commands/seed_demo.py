"""Demo data of SPEC 11: two stores, five logins, customers, packages in every state. Idempotent.

Local runs only: it makes ``admin`` a superuser with the demo password, so with DEBUG off (production)
it refuses unless ``--force`` says the installation is a throwaway one.

A rerun tops the packages up: packages leave their demo state (a newcomer delivers the ready ones,
the no-show sweep cancels them when their hold ends), so each run adds, under new order numbers,
whatever a store is missing of ``STATES`` and nothing else.
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

from core.errors import ApplicationError
from orders import services
from orders.models import Channel, Order, Package, PackageStatus, StaffMembership, StaffRole, Store
from orders.selectors import INTEGRATION_GROUP

STORES = [("IST01", "Istanbul Kanyon"), ("ANK01", "Ankara Armada")]
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


class Command(BaseCommand):
    help = "Load the demo stores, users, customers and packages (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo12345", help="password of every demo login")
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
        stores = {}
        for code, name in STORES:
            stores[code], _ = Store.objects.update_or_create(code=code, defaults={"name": name, "is_active": True})
        integration, _ = Group.objects.get_or_create(name=INTEGRATION_GROUP)
        users = {}
        for username, superuser, memberships in USERS:
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.is_superuser = user.is_staff = superuser
            user.is_active = True
            user.email = f"{username}@example.com"
            user.set_password(password)
            user.save()
            for code, role in memberships:
                StaffMembership.objects.update_or_create(user=user, store=stores[code], defaults={"role": role})
            users[username] = user
        users["oms"].groups.add(integration)

        now = timezone.now()
        created = []
        for store_code, store in stores.items():
            for state in self._missing_states(store_code, now):
                order = self._add_order(store, state)
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
            try:
                order, _ = services.order_intake(
                    order_number=f"DEMO-{store.code}-{index + 1:03d}",
                    customer={"name": name, "phone": phone, "email": email, "language": language},
                    store_code=store.code,
                    packages=[{"items": [{"sku": s, "name": n, "quantity": q} for s, n, q in ITEMS[: 1 + index % 3]]}],
                )
            except ApplicationError as error:
                if error.code != "customer_restricted":
                    raise
                continue
            self._walk(order.packages.get(), state)
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
