"""JSON shapes of channels and batches: as the merchant sees them, and as a consumer sees an offer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.cards.face_links import FaceLinks
from server.cards.serializers import product_summary
from server.issuance.models import Batch, BatchApproval, Channel
from server.products.validation import batch_warnings
from server.timeutil import iso

if TYPE_CHECKING:  # the services build on these serializers (their events), not the other way round
    from server.issuance.codes import CodeCounts
    from server.issuance.services import Offer


def channel_to_dict(channel: Channel) -> dict[str, Any]:
    return {
        "channel_id": channel.id,
        "merchant_id": channel.merchant_id,
        "name": channel.name,
        "kind": channel.kind,
        "allow_coupon_stacking": channel.allow_coupon_stacking,
        "cost_per_card_fen": channel.cost_per_card_fen,
        "created_at": iso(channel.created_at),
    }


def batch_to_dict(batch: Batch, approvals: list[BatchApproval], codes: CodeCounts | None = None) -> dict[str, Any]:
    """The merchant's view; ``warnings`` are the MOFCOM real-name / bank-transfer thresholds that apply."""
    data = {
        "batch_id": batch.id,
        "merchant_id": batch.merchant_id,
        "product_id": batch.product_id,
        "channel_id": batch.channel_id,
        "name": batch.name,
        "quantity": batch.quantity,
        "price_fen": batch.price_fen,
        "issue_method": batch.issue_method,
        "per_user_limit": batch.per_user_limit,
        "sale_start": iso(batch.sale_start),
        "sale_end": iso(batch.sale_end),
        "region_codes": batch.region_codes,
        "status": batch.status,
        "issued_count": batch.issued_count,
        "remaining": batch.quantity - batch.issued_count,
        "codes_generated": batch.codes_generated,
        "approvals": [{"role": a.role, "staff_id": a.staff_id, "at": iso(a.created_at)} for a in approvals],
        "warnings": [w.to_dict() for w in batch_warnings(batch.price_fen, batch.quantity, batch.per_user_limit)],
        "created_by": batch.created_by,
        "created_at": iso(batch.created_at),
    }
    if codes is not None:
        data["codes"] = {"unused": codes.unused, "bound": codes.bound, "void": codes.void}
    return data


def offer_to_dict(offer: Offer, links: FaceLinks) -> dict[str, Any]:
    """A batch as the mini-program shows it before a claim, purchase or bind."""
    batch = offer.batch
    return {
        "batch_id": batch.id,
        "name": batch.name,
        "price_fen": batch.price_fen,
        "issue_method": batch.issue_method,
        "remaining": batch.quantity - batch.issued_count,
        "status": batch.status,
        "per_user_limit": batch.per_user_limit,
        "sale_start": iso(batch.sale_start),
        "sale_end": iso(batch.sale_end),
        "region_codes": batch.region_codes,  # where its cards can be used (empty: everywhere)
        "product": {**product_summary(offer.product), "face_image_url": links.product(offer.product.id)},
        "merchant": {"merchant_id": offer.merchant.id, "name": offer.merchant.name},
    }
