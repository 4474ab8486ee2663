/** 核销小票: what was taken from the card and what is left; a manager can reverse it here. */
const api = require('../../../utils/api')
const cashier = require('../../../utils/cashier')
const format = require('../../../utils/format')

function receiptView(receipt) {
  const kind = receipt.kind
  const lines = []
  if (receipt.bill_fen) lines.push({label: '消费金额', value: `¥${format.yuan(receipt.bill_fen)}`})
  if (kind === 'stored_value' || kind === 'discount') {
    lines.push({label: '应付金额', value: `¥${format.yuan(receipt.payable_fen)}`})
  }
  if (kind === 'stored_value') {
    lines.push({label: '卡内扣款', value: `¥${format.yuan(receipt.deducted_fen)}`})
    lines.push({label: '其中本金', value: `¥${format.yuan(receipt.deducted_principal_fen)}`})
    lines.push({label: '其中赠送', value: `¥${format.yuan(receipt.deducted_bonus_fen)}`})
    lines.push({label: '卡内余额', value: `¥${format.yuan(receipt.balance_fen)}`})
  }
  if (kind === 'count') {
    lines.push({label: '核销次数', value: `${receipt.uses_deducted} 次`})
    lines.push({label: '剩余次数', value: `${receipt.remaining_uses} 次`})
  }
  if (kind === 'points') {
    if (receipt.points_redeemed) lines.push({label: '积分抵扣', value: `${receipt.points_redeemed}`})
    lines.push({label: '本次积分', value: `+${receipt.points_earned}`})
    lines.push({label: '积分余额', value: `${receipt.points_balance}`})
  }
  return {
    lines,
    cardNo: receipt.card_no_masked,
    kindLabel: format.KIND_LABELS[kind] || kind,
    store: receipt.store_name || '',
    time: format.shanghaiTime(receipt.created_at),
    id: receipt.redemption_id,
  }
}

Page({
  data: {
    receipt: null,
    view: null,
    canReverse: false,
    reversed: false,
    busy: false,
  },

  onLoad() {
    this.keys = api.actionKeys()
    const receipt = getApp().globalData.receipt
    if (!receipt) return
    this.setData({receipt, view: receiptView(receipt), canReverse: cashier.canReverse(api.staffSession())})
  },

  async onReverse() {
    if (this.data.busy || this.data.reversed) return
    this.setData({busy: true})
    try {
      const result = await cashier.reverseRedemption(this.data.receipt.redemption_id, this.keys)
      if (result) {
        this.setData({reversed: true, reversedBalance: format.yuan(result.card.balance_fen)})
        wx.showToast({title: '已冲正', icon: 'success'})
      }
    } catch (err) {
      // ALREADY_REVERSED, REVERSAL_WINDOW_CLOSED: shown by the api module
    } finally {
      this.setData({busy: false})
    }
  },

  onNext() {
    wx.navigateBack()
  },
})

module.exports = {receiptView}
