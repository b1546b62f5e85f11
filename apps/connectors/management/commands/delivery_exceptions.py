from django.core.management.base import BaseCommand, CommandError

from apps.connectors.services.delivery import close_delivery_exception, retry_failed_delivery
from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.errors import DomainError
from apps.core.models import ExceptionItem


class Command(BaseCommand):
    help = "List failed deliveries in the exception queue, and retry, resolve or ignore them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="open delivery exceptions")
        retry = sub.add_parser("retry", help="send a failed delivery again")
        retry.add_argument("exception_id", type=int)
        for name in ("resolve", "ignore"):
            action = sub.add_parser(name)
            action.add_argument("exception_id", type=int)
            action.add_argument("--reason", required=name == "ignore", default="")

    def handle(self, *args, action, **options):
        try:
            if action == "list":
                return self._list()
            exception_id = options["exception_id"]
            if action == "retry":
                delivery = retry_failed_delivery(exception_id=exception_id, actor_label="cli")
                self.stdout.write(f"Delivery #{delivery.pk} is {delivery.status} again.")
            else:
                status = ExceptionStatus.RESOLVED if action == "resolve" else ExceptionStatus.IGNORED
                close_delivery_exception(exception_id=exception_id, status=status,
                                         reason=options["reason"], actor_label="cli")
                self.stdout.write(f"Exception #{exception_id} {status}.")
        except DomainError as error:
            raise CommandError(error.detail) from error

    def _list(self):
        items = ExceptionItem.objects.filter(kind=ExceptionKind.DELIVERY_FAILED, status=ExceptionStatus.OPEN)
        for item in items.order_by("created_at"):
            self.stdout.write(f"#{item.pk} {item.created_at:%Y-%m-%d %H:%M:%S} {item.title}")
            self.stdout.write(f"    {item.detail}")
        self.stdout.write(f"{items.count()} open delivery exception(s).")
