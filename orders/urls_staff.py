"""The staff pages (SPEC 10). Filled in by the staff pages work (issue #5)."""

urlpatterns: list = []
