"""Two attempts on one message at the same moment: one sends, the other skips (PostgreSQL row locks)."""

import time

from core.testing import requires_postgres, run_in_threads
from notifications import sending
from notifications.backends import FileBackend
from notifications.models import DeliveryStatus, Message
from orders import services
from orders.models import PackageStatus


class SlowFileBackend(FileBackend):
    """The file backend, slow enough that a parallel attempt arrives while the first still sends."""

    calls = 0

    def send(self, message):
        type(self).calls += 1
        time.sleep(0.5)
        return super().send(message)


@requires_postgres
def test_parallel_attempts_send_a_message_once(transactional_db, settings, make_package, manager, outbox_dir):
    settings.NOTIFY_SMS_BACKEND = "notifications.tests.test_concurrency.SlowFileBackend"
    package = make_package(PackageStatus.WAITING)
    # Committed, so queued on commit and sent eagerly; then made pending again to race on it.
    services.package_cancel(package=package, actor=manager, channel="web", reason="out of stock")
    message = Message.objects.get(channel="sms", event="cancelled")
    for path in (outbox_dir / "sms").glob("*.json"):
        path.unlink()
    SlowFileBackend.calls = 0
    Message.objects.filter(pk=message.pk).update(status=DeliveryStatus.PENDING, attempts=0, sent_at=None)

    outcomes = run_in_threads(lambda i: sending.message_send_attempt(message_id=message.pk), 4)

    assert SlowFileBackend.calls == 1
    assert len(list((outbox_dir / "sms").glob("*.json"))) == 1
    assert sorted(o.status if o else "skipped" for o in outcomes) == ["sent", "skipped", "skipped", "skipped"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (DeliveryStatus.SENT, 1)
