"""Reference data for other systems and for filing forms."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny

from departments.selectors import active_categories, active_departments, regions
from departments.serializers import CategoryOut, DepartmentOut, RegionOut


@extend_schema(tags=["reference"])
class CategoryListApi(generics.ListAPIView):
    """The appeal categories (public: the filing form offers them)."""

    permission_classes = [AllowAny]
    serializer_class = CategoryOut
    filter_backends: list[type] = []

    def get_queryset(self):
        return active_categories().prefetch_related("co_departments").order_by("sort_order", "pk")


@extend_schema(tags=["reference"])
class RegionListApi(generics.ListAPIView):
    """Regions: the city, its counties and districts, towns and streets (public)."""

    permission_classes = [AllowAny]
    serializer_class = RegionOut
    filter_backends: list[type] = []

    def get_queryset(self):
        return regions()


@extend_schema(tags=["reference"])
class DepartmentListApi(generics.ListAPIView):
    """Active departments (for staff tools routing appeals)."""

    serializer_class = DepartmentOut
    filter_backends: list[type] = []

    def get_queryset(self):
        return active_departments()
