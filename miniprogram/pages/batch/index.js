/**
 * A merchant's offer (发行批次), opened from a share or a QR code: claim a free card, or buy one
 * with WeChat Pay and wait until the server confirms the payment.
 * Query: ?id=<batch_id>, or ?scene=<batch_id> / ?scene=id%3D<batch_id> from a mini-program code.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const pay = require('../../utils/pay')

function batchIdFrom(query) {
  if (query && query.id) return String(query.id)
  const scene = query && query.scene ? decodeURIComponent(query.scene) : ''
  const match = /(?:^|[&?])(?:id|b)=(\d+)/.exec(scene) || /^(\d+)$/.exec(scene)
  return match ? match[1] : ''
}

Page({
  data: {
    batch: null,
    view: null,
    busy: false,
    failed: false,
  },

  onLoad(query) {
    this.batchId = batchIdFrom(query)
    this.purchaseKeys = api.actionKeys()
    return this.load()
  },

  async load() {
    if (!this.batchId) {
      this.setData({failed: true})
      return
    }
    try {
      const batch = await api.get(`/api/v1/mp/batches/${this.batchId}`)
      const product = batch.product || {}
      this.setData({
        batch,
        failed: false,
        view: {
          merchantName: (batch.merchant && batch.merchant.name) || '',
          price: format.yuan(batch.price_fen),
          faceValue: product.face_value_fen ? format.yuan(product.face_value_fen) : '',
          kindLabel: format.KIND_LABELS[product.kind] || '',
          validity: format.validityText({product}),
          soldOut: batch.remaining === 0,
          onSale: batch.status === 'active',
          regions: (batch.region_codes || []).join('、'),
        },
      })
      wx.setNavigationBarTitle({title: product.name || '会员卡'})
    } catch (err) {
      this.setData({failed: true})
    }
  },

  async onClaim() {
    if (this.data.busy) return
    this.setData({busy: true})
    try {
      const card = await api.post(`/api/v1/mp/batches/${this.batchId}/claim`)
      wx.showToast({title: '领取成功', icon: 'success'})
      wx.redirectTo({url: `/pages/card/index?id=${card.card_id}`})
    } catch (err) {
      // the message was shown by the api module
    } finally {
      this.setData({busy: false})
    }
  },

  async onPurchase() {
    if (this.data.busy) return
    this.setData({busy: true})
    try {
      // One key for this purchase: a retry after a failure or a cancelled payment resumes the same order.
      const order = await api.post(`/api/v1/mp/batches/${this.batchId}/purchase`, {}, {
        idempotencyKey: this.purchaseKeys.keyFor({batch: this.batchId}),
      })
      const paid = await pay.payOrder(order)
      this.purchaseKeys.done()
      wx.showToast({title: '购买成功', icon: 'success'})
      wx.redirectTo({url: `/pages/card/index?id=${paid.card_id}`})
    } catch (err) {
      if (err instanceof pay.PaymentCancelled) wx.showToast({title: '已取消支付', icon: 'none'})
    } finally {
      this.setData({busy: false})
    }
  },

  onBindCode() {
    wx.switchTab({url: '/pages/bind/index'})
  },

  onShareAppMessage() {
    const batch = this.data.batch
    return {
      title: batch ? `${batch.merchant.name}：${batch.name}` : '会员卡',
      path: `/pages/batch/index?id=${this.batchId}`,
    }
  },
})

module.exports = {batchIdFrom}
