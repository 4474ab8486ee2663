/**
 * 退款: what would come back — refund, fee and the bonus that is forfeited — from
 * GET /api/v1/mp/cards/{id}/refund-quote, shown before the person confirms; then
 * POST /api/v1/mp/cards/{id}/refund with one Idempotency-Key for this request.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')

Page({
  data: {
    quote: null,
    view: null,
    reason: '',
    result: null,
    unavailable: '',
    busy: false,
  },

  onLoad(query) {
    this.cardId = String(query.card_id)
    this.keys = api.actionKeys()
    return this.load()
  },

  async load() {
    try {
      const quote = await api.get(`/api/v1/mp/cards/${this.cardId}/refund-quote`, {quiet: true})
      this.setData({
        quote,
        view: {
          refund: format.yuan(quote.refund_fen),
          fee: format.yuan(quote.fee_fen),
          forfeited: format.yuan(quote.forfeited_bonus_fen),
        },
      })
    } catch (err) {
      this.setData({unavailable: err.message})
    }
  },

  onReasonInput(event) {
    this.setData({reason: event.detail.value})
  },

  onSubmit() {
    const view = this.data.view
    if (!view || this.data.busy) return Promise.resolve()
    const forfeited = this.data.quote.forfeited_bonus_fen ? `，赠送金额 ¥${view.forfeited} 不予退还` : ''
    const fee = this.data.quote.fee_fen ? `，手续费 ¥${view.fee}` : ''
    return new Promise(resolve => {
      wx.showModal({
        title: '确认退款',
        content: `将退回 ¥${view.refund}${fee}${forfeited}。退款后此卡失效，确定退款吗？`,
        confirmText: '确认退款',
        confirmColor: '#e64340',
        success: async res => {
          if (res.confirm) await this.refund()
          resolve()
        },
        fail: () => resolve(),
      })
    })
  },

  async refund() {
    const body = {reason: this.data.reason.trim()}
    this.setData({busy: true})
    try {
      const result = await api.post(`/api/v1/mp/cards/${this.cardId}/refund`, body, {
        idempotencyKey: this.keys.keyFor(body),
      })
      this.keys.done()
      this.setData({
        result: {
          refund: format.yuan(result.refund_fen),
          status: result.status === 'succeeded' ? '已退回微信支付' : '退款处理中，1–3 个工作日原路退回',
        },
      })
    } catch (err) {
      // shown by the api module; tapping again retries with the same key
    } finally {
      this.setData({busy: false})
    }
  },

  onDone() {
    wx.switchTab({url: '/pages/index/index'})
  },
})
