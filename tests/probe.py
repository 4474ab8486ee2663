"""A probe blueprint for testing cross-cutting machinery (auth policy, idempotency, parsing)
through the Flask client before the domain endpoints that use it exist in a given test module.
"""

from __future__ import annotations

from flask import jsonify

from server.auth import PrincipalKind, current_principal, require
from server.db import db
from server.idempotency import idempotent
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, post_journal
from server.schemas import Blueprint, Fen, Schema, StrictInt

blueprint = Blueprint("probe", __name__, url_prefix="/probe")


class CreditSchema(Schema):
    card_id = StrictInt(required=True)
    amount_fen = Fen(required=True)


@blueprint.route("/staff", methods=["GET"])
@require(PrincipalKind.STAFF)
def staff_only():
    return jsonify(staff_id=current_principal().id)


@blueprint.route("/managers", methods=["GET"])
@require(PrincipalKind.STAFF, roles={"owner", "manager"})
def managers_only():
    return jsonify(ok=True)


@blueprint.route("/credit", methods=["POST"])
@require(PrincipalKind.STAFF)
@idempotent
@blueprint.arguments(CreditSchema)
def credit(body):
    """Credit a card's principal from clearing: a minimal money-moving endpoint."""
    principal = current_principal()
    journal = post_journal(
        db.session,
        merchant_id=principal.merchant_id,
        kind=JournalKind.ADJUST,
        postings=[
            Posting(card_account(body["card_id"], CardBucket.PRINCIPAL), body["amount_fen"]),
            Posting(merchant_account(principal.merchant_id, MerchantAccount.WECHAT_CLEARING), -body["amount_fen"]),
        ],
        actor_type=ActorType.STAFF,
        actor_id=principal.id,
    )
    return jsonify(journal_id=journal.id), 201
