"""The periodic tasks that beat runs (SPEC 6, 7): name -> (task, every N seconds).

``manage.py setup_schedules`` writes them into django-celery-beat's tables once; after that the
schedules are administrators' to edit in Django admin (an edited interval is left alone).
"""

SCHEDULES: dict[str, tuple[str, int]] = {}
