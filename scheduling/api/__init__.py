"""REST API v1 of an administration (DRF): serializers, views and routes. Every endpoint decides what
the agent may see and do through ``scheduling.policy``."""
