"""API v1 reads: locations, a location's sellable catalog, availability."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ValidationFailed
from apps.core.openapi import error_responses
from apps.inventory.models import Location
from apps.inventory.selectors import get_location, list_availability, list_sellable_catalog

LOCATION_PARAM = OpenApiParameter("location", {"type": "string", "minLength": 1, "maxLength": 16},
                                  required=True, description="Location code, e.g. OAK.", examples=[
                                      OpenApiExample("Oakland", value="OAK")])
LOCATION_ERRORS = error_responses(s422="`required` (no location), `unknown_location`")
MAX_SKUS_PER_QUERY = 200


class LocationListApi(APIView):
    @extend_schema(operation_id="locations_list", responses={200: inline_serializer("LocationList", {
        "locations": serializers.ListField(child=serializers.DictField())})})
    def get(self, request):
        locations = Location.objects.filter(is_active=True).values("code", "name", "timezone", "currency")
        return Response({"locations": list(locations)})


def _location_from_query(request) -> Location:
    code = request.query_params.get("location", "").strip()
    if not code:
        raise ValidationFailed("Say which location: ?location=CODE.", field="location",
                               extra={"code": "required"})
    return get_location(code)


class CatalogApi(APIView):
    @extend_schema(operation_id="catalog_list", parameters=[LOCATION_PARAM],
                   responses={200: inline_serializer("Catalog", {
                       "location": serializers.CharField(),
                       "variants": serializers.ListField(child=serializers.DictField())}),
                       **LOCATION_ERRORS})
    def get(self, request):
        location = _location_from_query(request)
        return Response({"location": location.code, "variants": list_sellable_catalog(location)})


class AvailabilityApi(APIView):
    @extend_schema(operation_id="availability_list", parameters=[
        LOCATION_PARAM,
        OpenApiParameter("sku", str, required=False, examples=[OpenApiExample("Two", value="BURRITO,TACO")],
                         description=f"Comma-separated SKUs, at most {MAX_SKUS_PER_QUERY}; all if absent."),
    ], responses={200: inline_serializer("Availability", {
        "location": serializers.CharField(),
        "availability": serializers.ListField(child=serializers.DictField())}),
        **error_responses(s422="`required` (no location), `unknown_location`, `invalid` (an empty or too "
                               "long `sku` list), `unknown_sku` (with `skus`)")})
    def get(self, request):
        location = _location_from_query(request)
        raw = request.query_params.get("sku")
        skus = None
        if raw is not None:
            skus = sorted({s.strip() for s in raw.split(",") if s.strip()})
            if not skus:
                raise ValidationFailed("sku lists no SKUs.", field="sku")
            if len(skus) > MAX_SKUS_PER_QUERY:
                raise ValidationFailed(f"Ask for at most {MAX_SKUS_PER_QUERY} SKUs at once.", field="sku")
        rows = list_availability(location=location, skus=skus)
        if skus is not None:
            found = {row["sku"] for row in rows}
            unknown = [sku for sku in skus if sku not in found]
            if unknown:
                raise ValidationFailed(f"Not stocked at {location.code}: {', '.join(unknown)}.",
                                       field="sku", extra={"code": "unknown_sku", "skus": unknown})
        return Response({"location": location.code,
                         "availability": [{"sku": r["sku"], "available": r["available"],
                                           "is_86d": r["is_86d"]} for r in rows]})
