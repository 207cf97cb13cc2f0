"""The outbox rows a command writes, published after commit (SPEC 7, 8).

The rows themselves are written by ``notifications.services`` inside the command's transaction; this module only
decides how their sending is queued once that transaction commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from notifications.services import message_enqueue, webhook_enqueue

logger = logging.getLogger(__name__)


@dataclass
class Outbox:
    """The outbox rows a command wrote, queued after commit in one publish (``queue_on_commit``)."""

    message_ids: list[Any] = field(default_factory=list)
    delivery_ids: list[Any] = field(default_factory=list)

    def queue_on_commit(self) -> None:
        outbox_queue_on_commit(message_ids=self.message_ids, delivery_ids=self.delivery_ids)


def outbox_queue_on_commit(*, message_ids: list[Any], delivery_ids: list[Any] = ()) -> None:
    """After commit, publish ONE task for the outbox rows of a command or a batch instead of one send
    task per row: a publish costs about a millisecond, as much as the rest of a delivery's writes.
    One row gets its own send task; more get ``orders.outbox_fan_out``, which queues the per-row
    sends on a worker. If the broker is unreachable the rows stay ``pending`` for the outbox relay."""
    if not message_ids and not delivery_ids:
        return
    if len(message_ids) + len(delivery_ids) == 1:
        if message_ids:
            transaction.on_commit(lambda: message_enqueue(message_ids[0]))
        else:
            transaction.on_commit(lambda: webhook_enqueue(delivery_ids[0]))
        return

    def publish() -> None:
        from orders import tasks

        try:
            tasks.outbox_fan_out.delay([str(pk) for pk in message_ids], [str(pk) for pk in delivery_ids])
        except Exception:  # any broker failure: the relay sends the pending rows later
            logger.warning(
                "could not queue %s outbox rows; the relay will send them",
                len(message_ids) + len(delivery_ids),
                exc_info=True,
            )

    transaction.on_commit(publish)
