/** Shared by the cashier pages: who may do what, and reversing a redemption. */
const api = require('./api')

const REDEEM_ROLES = ['owner', 'manager', 'cashier']
const REVERSE_ROLES = ['owner', 'manager']
const ROLE_LABELS = {owner: '店主', manager: '店长', cashier: '收银员', finance: '财务', operations: '运营'}

function canRedeem(session) {
  return Boolean(session && REDEEM_ROLES.indexOf(session.role) >= 0)
}

function canReverse(session) {
  return Boolean(session && REVERSE_ROLES.indexOf(session.role) >= 0)
}

/** Ask for a reason (editable modal); resolves with it, or '' when the person cancels. */
function askReason() {
  return new Promise(resolve => {
    wx.showModal({
      title: '冲正此笔核销',
      editable: true,
      placeholderText: '请填写冲正原因，如：金额输错',
      confirmText: '确认冲正',
      confirmColor: '#e64340',
      success: res => resolve(res.confirm ? String(res.content || '').trim() || '收银更正' : ''),
      fail: () => resolve(''),
    })
  })
}

/**
 * Reverse a redemption (manager/owner). `keys` is the page's actionKeys for this redemption, so
 * a retry after a failure sends the same Idempotency-Key. Resolves with the reversal or null.
 */
async function reverseRedemption(redemptionId, keys) {
  const reason = await askReason()
  if (!reason) return null
  const body = {reason}
  const key = keys.keyFor({redemption: redemptionId})
  const result = await api.post(`/api/v1/merchant/redemptions/${redemptionId}/reverse`, body, {
    auth: 'staff',
    idempotencyKey: key,
  })
  keys.done()
  return result
}

module.exports = {ROLE_LABELS, canRedeem, canReverse, reverseRedemption}
