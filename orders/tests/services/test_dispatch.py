"""Running a command by its code (``orders.services.package_run_command``): an unknown code is refused, and the
answer says what the command did."""

import pytest

from core.errors import ApplicationError
from core.services import app_setting_set
from orders import commands as cmd
from orders import services
from orders.models import PackageStatus


@pytest.mark.django_db
def test_unknown_command_is_a_validation_error(make_package, employee):
    package = make_package(PackageStatus.WAITING)
    for bad in ["NOPE", "", None, 5, ["READY_FOR_PICKUP"]]:
        with pytest.raises(ApplicationError) as error:
            services.package_run_command(package=package, command=bad, actor=employee, channel="api")
        assert error.value.code == "validation_error"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("codes_on", "manual", "message"),
    [(True, True, cmd.DELIVERED_MANUAL), (False, False, cmd.DELIVERED_NO_CODE)],
)
def test_the_dispatch_tells_how_a_package_was_delivered(make_package, employee, store, codes_on, manual, message):
    app_setting_set(key="IS_OTP_ENABLED", value=codes_on, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    outcome = services.package_run_command(
        package=package, command=cmd.DELIVER, actor=employee, channel="web", manual=manual
    )
    assert outcome.package.pk == package.pk and outcome.package.status == PackageStatus.DELIVERED
    assert outcome.message == message
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED


@pytest.mark.django_db
def test_the_dispatch_tells_what_other_commands_did(make_package, employee):
    package = make_package(PackageStatus.WAITING)
    outcome = services.package_run_command(
        package=package, command=cmd.COMPLETE_PACKAGING, actor=employee, channel="web"
    )
    assert (outcome.package.status, outcome.message) == (
        PackageStatus.PACKED_ALL_ITEMS,
        cmd.DONE_MESSAGES[cmd.COMPLETE_PACKAGING],
    )
