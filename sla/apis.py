"""The working calendar of a year, for systems that compute deadlines the same way."""

from datetime import date, timedelta

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from sla.calendar import is_confirmed, is_working_day


class CalendarYearApi(APIView):
    """Holidays on weekdays and working weekend days (调休) of one year, and whether the
    year's official schedule has been entered. A year after the package data that the office
    has not confirmed shows its statutory holidays, provisionally, with `confirmed: false`."""

    permission_classes = [AllowAny]

    @extend_schema(
        tags=["reference"],
        operation_id="calendar_year",
        responses=inline_serializer(
            "CalendarYear",
            {
                "year": serializers.IntegerField(),
                "confirmed": serializers.BooleanField(),
                "holidays": serializers.ListField(child=serializers.DateField()),
                "working_weekends": serializers.ListField(child=serializers.DateField()),
            },
        ),
    )
    def get(self, request, year: int):
        if not 2000 <= year <= 2100:
            raise exceptions.NotFound
        day, end = date(year, 1, 1), date(year, 12, 31)
        holidays, working_weekends = [], []
        while day <= end:
            working = is_working_day(day)
            if day.weekday() < 5 and not working:
                holidays.append(day)
            elif day.weekday() >= 5 and working:
                working_weekends.append(day)
            day += timedelta(days=1)
        return Response(
            {
                "year": year,
                "confirmed": is_confirmed(year),
                "holidays": holidays,
                "working_weekends": working_weekends,
            }
        )
