"""The command table (``orders.commands``): each command names a service that takes its inputs, and which
commands a user may run on a package follows its state and the user's role."""

import inspect

import pytest
from django.utils.module_loading import import_string

from core.services import app_setting_set
from orders import commands as cmd
from orders import selectors
from orders.models import PackageStatus


@pytest.mark.parametrize("code", list(cmd.COMMANDS))
def test_each_command_names_a_service_that_takes_its_inputs(code):
    command = cmd.COMMANDS[code]
    service = import_string(command.service)
    parameters = inspect.signature(service).parameters
    for name in ("package", "actor", "channel", *command.inputs):
        assert parameters[name].kind == inspect.Parameter.KEYWORD_ONLY, name


@pytest.mark.django_db
def test_available_commands_follow_state_and_role(make_package, employee, manager):
    expected_employee = {
        PackageStatus.WAITING: [cmd.COMPLETE_PACKAGING],
        PackageStatus.PACKED_ALL_ITEMS: [cmd.READY_FOR_PICKUP],
        PackageStatus.READY_FOR_CUSTOMER_PICKUP: [cmd.DELIVER, cmd.RESEND_CODE],
        PackageStatus.DELIVERED: [],
        PackageStatus.CANCELLED: [],
    }
    for state, codes in expected_employee.items():
        package = make_package(state)
        assert selectors.package_available_commands(package=package, actor=employee) == codes
        manager_codes = selectors.package_available_commands(package=package, actor=manager)
        assert manager_codes == codes + ([cmd.CANCEL] if state in cmd.COMMANDS[cmd.CANCEL].sources else [])


@pytest.mark.django_db
def test_resend_is_not_offered_when_codes_are_off(make_package, employee, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert selectors.package_available_commands(package=package, actor=employee) == [cmd.DELIVER]
