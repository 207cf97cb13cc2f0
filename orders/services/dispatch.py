"""The one dispatch of a package command by its code (SPEC 3.2): the API's command endpoint and the staff pages' row
buttons run every command through ``package_run_command``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from orders import commands as cmd
from orders.models import Package
from orders.services.actors import Actor
from orders.services.delivery import DeliveryOutcome


@dataclass(frozen=True)
class CommandOutcome:
    """What a command did: the package as it is now, and what the caller is told (the API's ``message``, the
    staff pages' notice)."""

    package: Package
    message: Promise


def package_run_command(
    *,
    package: Package,
    command: Any,
    actor: Actor | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
    reason: str = "",
    collected_by: Any = None,
) -> CommandOutcome:
    """Run the command whose code is ``command`` with the service its table entry names (``orders.commands``),
    passing the inputs that service takes. Raises ``validation_error`` for an unknown code, else what the service
    raises (its locks, transaction and refusals are the service's). A delivery's message says how the package was
    handed over (with the code, after manual confirmation, or at a store without codes)."""
    if not isinstance(command, str) or command not in cmd.COMMANDS:
        raise ApplicationError(
            "validation_error",
            _("Unknown command."),
            {"fields": {"command": [str(_("Choose one of: %s.") % ", ".join(cmd.COMMANDS))]}},
        )
    entry = cmd.COMMANDS[command]
    given = {"otp_value": otp_value, "manual": manual, "reason": reason, "collected_by": collected_by}
    service = import_string(entry.service)
    result = service(package=package, actor=actor, channel=channel, **{name: given[name] for name in entry.inputs})
    if isinstance(result, DeliveryOutcome):
        message = cmd.delivery_message(code_required=result.code_required, manual=result.manual)
        return CommandOutcome(package=result.package, message=message)
    return CommandOutcome(package=result, message=cmd.DONE_MESSAGES[entry.code])
