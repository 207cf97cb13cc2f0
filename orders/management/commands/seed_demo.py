"""Demo data of SPEC 11: two stores, five logins, customers, packages in every state. Idempotent."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from orders import services
from orders.models import Channel, Order, PackageStatus, StaffMembership, StaffRole, Store
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


class Command(BaseCommand):
    help = "Load the demo stores, users, customers and packages (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo12345", help="password of every demo login")

    @transaction.atomic
    def handle(self, *args, password, **options):
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

        created = 0
        for store_code in stores:
            for index, state in enumerate(STATES):
                number = f"DEMO-{store_code}-{index + 1:03d}"
                if Order.objects.filter(order_number=number).exists():
                    continue
                name, phone, email, language = CUSTOMERS[(index + (store_code == "ANK01")) % len(CUSTOMERS)]
                order, _ = services.order_intake(
                    order_number=number,
                    customer={"name": name, "phone": phone, "email": email, "language": language},
                    store_code=store_code,
                    packages=[{"items": [{"sku": s, "name": n, "quantity": q} for s, n, q in ITEMS[: 1 + index % 3]]}],
                )
                self._walk(order.packages.get(), state)
                created += 1
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new orders)."))

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
