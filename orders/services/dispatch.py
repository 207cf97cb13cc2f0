"""One entry point for every package command by its code (SPEC 3.2), and the commands a user may run."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from orders import commands as cmd
from orders.models import Package
from orders.services.actors import Actor
from orders.services.delivery import package_deliver
from orders.services.transitions import (
    package_cancel,
    package_complete_packaging,
    package_mark_ready,
    package_resend_code,
)

_SERVICES = {
    cmd.COMPLETE_PACKAGING: lambda **kw: package_complete_packaging(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"]
    ),
    cmd.READY_FOR_PICKUP: lambda **kw: package_mark_ready(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"]
    ),
    cmd.DELIVER: lambda **kw: (
        package_deliver(
            package=kw["package"],
            actor=kw["actor"],
            channel=kw["channel"],
            otp_value=kw["otp_value"],
            manual=kw["manual"],
        ).package
    ),
    cmd.RESEND_CODE: lambda **kw: package_resend_code(package=kw["package"], actor=kw["actor"], channel=kw["channel"]),
    cmd.CANCEL: lambda **kw: package_cancel(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"], reason=kw["reason"]
    ),
}


def package_run_command(
    *,
    package: Package,
    command: Any,
    actor: Actor | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
    reason: str = "",
) -> Package:
    """Run the command named by its code (SPEC 3.2); an unknown code is a ``validation_error``."""
    if not isinstance(command, str) or command not in cmd.COMMANDS:
        raise ApplicationError(
            "validation_error",
            _("Unknown command."),
            {"fields": {"command": [str(_("Choose one of: %s.") % ", ".join(cmd.COMMANDS))]}},
        )
    return _SERVICES[command](
        package=package, actor=actor, channel=channel, otp_value=otp_value, manual=manual, reason=reason
    )
