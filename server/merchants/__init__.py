"""Merchants, their stores and staff: onboarding, roles and what each role may do."""
