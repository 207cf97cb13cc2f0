"""Admin search that finds what the staff pages' search finds (``StaffSearchMixin``); the notifications and
otp admins use it too."""

from django.core import checks
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.admin import uuid_prefix_q
from core.text import text_nfc
from orders.selectors import row_search

# The search fields of an admin with StaffSearchMixin: none, only its own search (get_search_results).
STAFF_SEARCH = "(StaffSearchMixin.get_search_results)"
# The ids searched through a relation, as the search box's help names them (StaffSearchMixin.id_paths).
ID_PATH_HELP = {"package__": _("package id or its first 8 characters")}


class StaffSearchMixin:
    """Admin search that finds what the staff search finds (``orders.selectors``): the customer's name without
    case, accents or apostrophes, Turkish letters included ("çiçek", "CICEK" and "ÇİÇEK" find "Çiçek", "isil"
    finds "IŞIL"), phone digits in any format ("(0532) 111-22-33"), the customer's e-mail, the order number with
    ``İ``/``ı`` typed for ``I`` (Turkish keyboards), and a row by its id or the first 8 characters of it.

    ``customer_path``/``order_path``/``id_paths``: the lookups to the customer, the order and the UUIDs searched
    by id from the listed model (``""`` for the model itself, None for none); ``search_parts`` adds more.

    Each part is a query of its own that an index answers on PostgreSQL (trigram indexes on the order number,
    the folded name, the phone and the e-mail; the keys), and the list keeps the rows whose id one of them
    found (``orders.selectors.row_search``); Django's own joined ``icontains`` search is never run
    (docs/performance.md). So these admins declare no ``search_fields`` (the system check ``orders.E001`` refuses
    one): the mixin shows the search box itself, and under it what the search looks at (``search_help_text``).
    """

    customer_path: str | None = None
    order_path: str | None = None
    id_paths: tuple[str, ...] = ()
    #: What ``search_parts`` finds, as the help under the search box lists it (e.g. ``_("user name")``).
    search_parts_help: tuple = ()

    def search_parts(self, term: str) -> list[QuerySet]:
        """More querysets of the listed model whose rows the search finds (each answered by an index)."""
        return []

    def get_search_fields(self, request):
        # Django shows a list's search box (and lets autocomplete ask it) when the admin has search fields. The
        # search is get_search_results below, which reads none: this names it rather than listing fields.
        return (STAFF_SEARCH,)

    @property
    def search_help_text(self):
        """What the search box finds, in the reader's language (Django shows it under the box)."""
        what = []
        if self.order_path is not None:
            what.append(_("order number"))
        if self.customer_path is not None:
            what.append(_("customer's name, phone or e-mail"))
        for id_path in self.id_paths:
            what.append(_("id or its first 8 characters") if not id_path else ID_PATH_HELP[id_path])
        what.extend(self.search_parts_help)
        return _("Searches by %(what)s.") % {"what": "; ".join(str(part) for part in what)}

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.search_fields:
            errors.append(
                checks.Error(
                    f"{type(self).__name__} declares search_fields, which its search (StaffSearchMixin) never reads.",
                    hint="Remove search_fields; to search more, add a search_parts query (and search_parts_help).",
                    obj=type(self),
                    id="orders.E001",
                )
            )
        return errors

    def get_search_results(self, request, queryset, search_term):
        term = text_nfc(search_term).strip()
        if not term:
            return queryset, False
        # A row by its id (or its short id) is a condition on the listed table itself; through a package, a part.
        direct, parts = None, list(self.search_parts(term))
        for id_path in self.id_paths:
            by_id = uuid_prefix_q(term, f"{id_path}pk")
            if by_id is not None and id_path:
                parts.append(self.model._default_manager.filter(by_id))
            elif by_id is not None:
                direct = by_id if direct is None else direct | by_id
        search = row_search(
            self.model,
            term,
            order_path=self.order_path,
            customer_path=self.customer_path,
            customer_email=True,
            direct=direct,
            parts=parts,
        )
        return queryset.filter(search.condition()), False
