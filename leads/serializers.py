"""The read API's shapes. No field names the observer: the office reads that on the page, and
nobody else may know it."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.actions import lead_actions_for
from leads.models import Lead


class LeadQueryIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=Lead.Status.choices, required=False)


class ReferralOut(serializers.Serializer):
    referred_to = serializers.CharField()
    what = serializers.CharField()
    referred_at = serializers.DateTimeField()


class LeadAppealOut(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")


class LeadOut(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    status_label = serializers.CharField(source="get_status_display")
    department = serializers.CharField(source="department.name")
    has_attachment = serializers.SerializerMethodField()
    appeal = LeadAppealOut(allow_null=True)
    referral = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "kind",
            "kind_label",
            "department",
            "happened_on",
            "place",
            "description",
            "has_attachment",
            "status",
            "status_label",
            "filed_at",
            "checked_at",
            "appeal",
            "referral",
            "close_reason",
            "actions",
        ]

    def get_has_attachment(self, lead: Lead) -> bool:
        return bool(lead.attachment)

    @extend_schema_field(ReferralOut(allow_null=True))
    def get_referral(self, lead: Lead) -> dict | None:
        referral = getattr(lead, "referral", None) if lead.status == Lead.Status.REFERRED else None
        return ReferralOut(referral).data if referral else None

    def get_actions(self, lead: Lead) -> list[str]:
        return [str(a) for a in lead_actions_for(self.context["request"].user, lead)]
