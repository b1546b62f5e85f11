from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import DomainError
from apps.returns.services import approve_refund, reject_refund


class Command(BaseCommand):
    help = "Approve (or with --reject, refuse) a refund that waits for approval above the role limit."

    def add_arguments(self, parser):
        parser.add_argument("refund_id", type=int)
        parser.add_argument("--reject", action="store_true", help="Refuse it; its claim is released.")
        parser.add_argument("--reason", default="")
        parser.add_argument("--actor", default="manage.py approve_refund")

    def handle(self, *args, refund_id, reject, reason, actor, **options):
        try:
            if reject:
                refund = reject_refund(refund_id=refund_id, actor=actor, reason=reason)
            else:
                refund = approve_refund(refund_id=refund_id, actor=actor)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(f"Refund {refund.pk}: {refund.status}")
