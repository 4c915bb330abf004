"""Incidents, their append-only timeline and remediation actions (後續處理)."""
