"""API v1 reports (DESIGN.md, "The back office"): the channel report for finance staff keys."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_query import refuse_unknown
from apps.core.api_views import require_role
from apps.core.enums import ApiRole
from apps.core.openapi import error_responses
from apps.reports.periods import EARLIEST, LATEST, MAX_REPORT_DAYS, report_range
from apps.reports.selectors import channel_report

READERS = {ApiRole.FINANCE}


def _figures(name: str, **extra):
    return inline_serializer(name, fields={
        "orders": serializers.IntegerField(), "units": serializers.IntegerField(),
        "gross_sales": serializers.IntegerField(help_text="The totals of the orders placed, minor units."),
        "discounts": serializers.IntegerField(), "tax": serializers.IntegerField(),
        "tips": serializers.IntegerField(),
        "refunds": serializers.IntegerField(help_text="Refunds made that day, minor units."),
        "net_sales": serializers.IntegerField(help_text="gross_sales - refunds."),
        "average_ticket": serializers.IntegerField(help_text="gross_sales / orders, rounded half up."),
        "oversold_units": serializers.IntegerField(), **extra})


CHANNEL_REPORT = inline_serializer("ChannelReport", fields={
    "rows": serializers.ListField(child=_figures(
        "ChannelReportRow", day=serializers.DateField(help_text="The location's business day."),
        location=serializers.CharField(), channel=serializers.CharField())),
    "totals": _figures(
        "ChannelReportTotals",
        refund_rate=serializers.CharField(help_text="refunds / gross_sales in percent, two decimals."),
        oversell_rate=serializers.CharField(help_text="oversold_units / units in percent, two decimals."),
        previous_period=_figures("ChannelReportPreviousPeriod", **{
            "from": serializers.DateField(), "to": serializers.DateField()})),
})


def _day_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                            required=True, description=f"{description} ({EARLIEST} to {LATEST}).")


class ChannelReportApi(APIView):
    @extend_schema(operation_id="reports_channels", parameters=[
        _day_parameter("from", "The first business day"),
        _day_parameter("to", f"The last business day; at most {MAX_REPORT_DAYS} days after `from`"),
    ], responses={200: CHANNEL_REPORT, **error_responses(
        s403="`forbidden` (finance staff keys only)",
        s422="`required`, `invalid`, `invalid_range`, `unknown_parameter`")})
    def get(self, request):
        require_role(request, READERS, action="read reports")
        refuse_unknown(request.query_params, {"from", "to"})
        first, last = report_range(request.query_params, required=True)
        return Response(channel_report(first=first, last=last).document)
