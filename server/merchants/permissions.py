"""Who among a merchant's staff may do what: one table of role → allowed actions.

Views declare the action they perform with ``@staff_action(Action.X)``; the decorator checks the
bearer token is a staff token and the role's row in ROLE_ACTIONS contains the action. Store
scoping (a cashier acts only at their store) is checked by the services that take a store id.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from server.auth import PrincipalKind, require
from server.merchants.models import StaffRole


class Action(StrEnum):
    VIEW_MERCHANT = "merchant.view"
    UPLOAD_DOCUMENTS = "merchant.documents"
    MANAGE_STORES = "stores.manage"
    VIEW_STORES = "stores.view"
    MANAGE_STAFF = "staff.manage"
    VIEW_STAFF = "staff.view"
    MANAGE_PRODUCTS = "products.manage"
    VIEW_PRODUCTS = "products.view"
    PUBLISH_PRODUCTS = "products.publish"
    MANAGE_CHANNELS = "channels.manage"
    MANAGE_BATCHES = "batches.manage"
    VIEW_BATCHES = "batches.view"
    APPROVE_AS_OPERATIONS = "batches.approve_operations"
    APPROVE_AS_FINANCE = "batches.approve_finance"
    GENERATE_CODES = "codes.generate"
    BIND_CODES = "codes.bind"
    REDEEM = "cards.redeem"
    VIEW_CARDS = "cards.view"
    REVERSE = "redemptions.reverse"
    REACTIVATE_CARDS = "cards.reactivate"
    PRINT_CARDS = "batches.print"
    SELL_CARDS = "cards.activate"
    REPORT_LOST = "cards.report_lost"
    REPLACE_CARDS = "cards.replace"
    #: Freeze and unfreeze a card (会员页的状态变更).
    MANAGE_CARDS = "cards.manage"
    VIEW_REDEMPTIONS = "redemptions.view"
    VIEW_REPORTS = "reports.view"
    VIEW_AUDIT = "audit.view"
    MANAGE_API_KEYS = "api_keys.manage"
    MANAGE_WEBHOOKS = "webhooks.manage"
    #: Run a product's test run (上线前测试) before it goes live.
    TEST_PRODUCTS = "products.test_run"
    #: Work in the console's test mode (测试模式): buy, top up and redeem test cards.
    USE_TEST_MODE = "test_mode.use"
    #: Wipe the merchant's test data.
    WIPE_TEST_DATA = "test_data.wipe"


_EVERYTHING = frozenset(Action)
_READ = frozenset({Action.VIEW_MERCHANT, Action.VIEW_STORES, Action.VIEW_PRODUCTS, Action.VIEW_BATCHES})

#: The permission table. Documented in the README; change it here and nowhere else.
ROLE_ACTIONS: dict[StaffRole, frozenset[Action]] = {
    StaffRole.OWNER: _EVERYTHING,
    StaffRole.MANAGER: _EVERYTHING - {Action.APPROVE_AS_OPERATIONS, Action.APPROVE_AS_FINANCE, Action.MANAGE_API_KEYS,
                                     Action.MANAGE_WEBHOOKS, Action.PRINT_CARDS, Action.WIPE_TEST_DATA},
    StaffRole.OPERATIONS: _READ | {
        Action.MANAGE_PRODUCTS, Action.PUBLISH_PRODUCTS, Action.MANAGE_CHANNELS, Action.MANAGE_BATCHES,
        Action.APPROVE_AS_OPERATIONS, Action.GENERATE_CODES, Action.BIND_CODES, Action.VIEW_CARDS,
        Action.VIEW_REDEMPTIONS, Action.VIEW_REPORTS, Action.PRINT_CARDS, Action.TEST_PRODUCTS, Action.USE_TEST_MODE,
    },
    StaffRole.FINANCE: _READ | {
        Action.APPROVE_AS_FINANCE, Action.VIEW_CARDS, Action.VIEW_REDEMPTIONS, Action.VIEW_REPORTS,
        Action.VIEW_AUDIT,
    },
    StaffRole.CASHIER: frozenset(
        {Action.VIEW_MERCHANT, Action.VIEW_STORES, Action.REDEEM, Action.VIEW_CARDS, Action.VIEW_REDEMPTIONS,
         Action.SELL_CARDS, Action.REPORT_LOST, Action.USE_TEST_MODE}
    ),
}


def allowed(role: str | None, action: Action) -> bool:
    return role in ROLE_ACTIONS and action in ROLE_ACTIONS[StaffRole(role)]


def roles_for(action: Action) -> frozenset[str]:
    return frozenset(role.value for role, actions in ROLE_ACTIONS.items() if action in actions)


F = TypeVar("F", bound=Callable[..., Any])


def staff_action(action: Action) -> Callable[[F], F]:
    """Guard a view: a staff token whose role may perform ``action``."""
    return require(PrincipalKind.STAFF, roles=roles_for(action))
