"""Runbooks: what to do, attached to services and alert conditions."""
