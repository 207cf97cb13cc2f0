"""``migrate`` creates the order system's group: the operator adds the order system's user to it in admin."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from core.authentication import INTEGRATION_GROUP

migration = importlib.import_module("orders.migrations.0010_integration_group")


def test_the_migration_names_the_group_the_api_reads():
    assert migration.INTEGRATION_GROUP == INTEGRATION_GROUP


@pytest.mark.django_db
def test_the_migration_creates_the_group_once():
    Group.objects.filter(name=INTEGRATION_GROUP).delete()
    migration.create_group(apps, None)
    migration.create_group(apps, None)  # migrate again (another database, a squash): still one
    assert Group.objects.filter(name=INTEGRATION_GROUP).count() == 1


def test_a_squash_keeps_the_group():
    # squashmigrations optimizes the operations it joins, and an elidable operation is dropped in favour of the next
    # one: a database built from a squash of 0010 with any later migration would have no group.
    from django.db import migrations as django_migrations
    from django.db.migrations.optimizer import MigrationOptimizer

    create = migration.Migration.operations[0]
    later = django_migrations.RunSQL("SELECT 1", django_migrations.RunSQL.noop)
    assert create in MigrationOptimizer().optimize([create, later], "orders")
