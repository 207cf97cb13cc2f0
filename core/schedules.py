"""The periodic tasks that beat runs (SPEC 6, 7): name -> (task, every N seconds).

``manage.py setup_schedules`` writes them into django-celery-beat's tables once; after that the
schedules are administrators' to edit in Django admin (an edited interval is left alone).
"""

SCHEDULES: dict[str, tuple[str, int]] = {}

# Customer messages and webhook deliveries still pending after NOTIFY_RELAY_AFTER_SECONDS (SPEC 7).
SCHEDULES["notifications-outbox-relay"] = ("notifications.outbox_relay", 60)

# No-shows (SPEC 6): expire unclaimed packages, send pickup reminders, end restrictions (orders.tasks).
SCHEDULES["orders-expire-unclaimed-packages"] = ("orders.expire_unclaimed_packages", 60)
SCHEDULES["orders-send-pickup-reminders"] = ("orders.send_pickup_reminders", 60)
SCHEDULES["orders-refresh-trust-tiers"] = ("orders.refresh_trust_tiers", 300)
