"""API v1: the agents' accounts of the current administration (read-only)."""

from rest_framework import serializers, viewsets

from .models import User


class AgentAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "is_administration_admin"]
        read_only_fields = fields


class AgentAccountViewSet(viewsets.ReadOnlyModelViewSet):
    """Agents of this administration. Accounts of other administrations live in other schemas and
    can never be listed or fetched here."""

    serializer_class = AgentAccountSerializer
    queryset = User.objects.filter(is_active=True).order_by("last_name", "first_name", "email")
