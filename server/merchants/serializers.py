"""JSON shapes of merchants, stores, staff and documents (docs/api.md field names)."""

from __future__ import annotations

from typing import Any

from server.merchants.models import Merchant, MerchantDocument, Staff, Store
from server.timeutil import iso


def merchant_to_dict(merchant: Merchant, documents: list[MerchantDocument] | None = None) -> dict[str, Any]:
    data = {
        "merchant_id": merchant.id,
        "merchant_name": merchant.name,
        "kind": merchant.kind,
        "industry": merchant.industry,
        "region_code": merchant.region_code,
        "license_no": merchant.license_no,
        "legal_person": merchant.legal_person,
        "contact_phone": merchant.contact_phone,
        "status": merchant.status,
        "review_comment": merchant.review_comment,
        "reviewed_at": iso(merchant.reviewed_at),
        "created_at": iso(merchant.created_at),
        "wechat_pay": {"sub_mchid": merchant.wechat_sub_mchid},
    }
    if documents is not None:
        data["documents"] = [document_to_dict(d) for d in documents]
    return data


def document_to_dict(document: MerchantDocument) -> dict[str, Any]:
    return {
        "document_id": document.id,
        "kind": document.kind,
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "url": f"/api/v1/platform/documents/{document.id}",
        "created_at": iso(document.created_at),
    }


def store_to_dict(store: Store) -> dict[str, Any]:
    return {
        "store_id": store.id,
        "merchant_id": store.merchant_id,
        "name": store.name,
        "region_code": store.region_code,
        "address": store.address,
        "active": store.active,
        "created_at": iso(store.created_at),
    }


def staff_to_dict(staff: Staff) -> dict[str, Any]:
    return {
        "staff_id": staff.id,
        "merchant_id": staff.merchant_id,
        "username": staff.username,
        "role": staff.role,
        "store_id": staff.store_id,
        "active": staff.active,
        "created_at": iso(staff.created_at),
    }
