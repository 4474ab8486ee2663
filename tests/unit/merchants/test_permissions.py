"""The role → action table."""

from server.merchants.models import StaffRole
from server.merchants.permissions import ROLE_ACTIONS, Action, allowed, roles_for


def test_every_role_has_a_row():
    assert set(ROLE_ACTIONS) == set(StaffRole)


def test_cashier_redeems_but_manages_nothing():
    assert allowed("cashier", Action.REDEEM)
    managing = [a for a in Action if a.value.endswith((".manage", "approve_operations", "approve_finance"))]
    assert managing and not any(allowed("cashier", a) for a in managing)


def test_batch_approvals_are_split_between_operations_and_finance():
    assert roles_for(Action.APPROVE_AS_OPERATIONS) == {"owner", "operations"}
    assert roles_for(Action.APPROVE_AS_FINANCE) == {"owner", "finance"}


def test_only_owners_and_managers_reverse_redemptions():
    assert roles_for(Action.REVERSE) == {"owner", "manager"}


def test_unknown_roles_may_do_nothing():
    assert not allowed("intern", Action.VIEW_STORES)
    assert not allowed(None, Action.VIEW_STORES)
