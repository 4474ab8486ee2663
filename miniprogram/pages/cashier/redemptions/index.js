/**
 * 核销记录: today's and recent redemptions at the store (a cashier sees only their own store);
 * a manager or owner can reverse one still within the reversal window.
 */
const api = require('../../../utils/api')
const cashier = require('../../../utils/cashier')
const format = require('../../../utils/format')

function row(item) {
  return {
    id: item.redemption_id,
    cardNo: item.card_no_masked,
    amount: item.kind === 'count' ? `${item.uses_deducted} 次` : `¥${format.yuan(item.deducted_fen || item.bill_fen)}`,
    time: format.shanghaiTime(item.created_at),
    reversed: item.status === 'reversed',
  }
}

Page({
  data: {
    items: [],
    nextCursor: null,
    canReverse: false,
    loading: false,
    busyId: null,
  },

  onLoad(query) {
    this.storeId = query.store_id || ''
    this.keys = {}
    this.setData({canReverse: cashier.canReverse(api.staffSession())})
    return this.load(true)
  },

  async onPullDownRefresh() {
    try {
      await this.load(true)
    } finally {
      wx.stopPullDownRefresh()
    }
  },

  onReachBottom() {
    if (this.data.nextCursor) return this.load(false)
    return Promise.resolve()
  },

  async load(reset) {
    if (this.data.loading) return
    this.setData({loading: true})
    try {
      const page = await api.get('/api/v1/merchant/redemptions', {
        auth: 'staff',
        query: {limit: 20, store_id: this.storeId, cursor: reset ? null : this.data.nextCursor},
      })
      const items = (page.items || []).map(row)
      this.setData({items: reset ? items : this.data.items.concat(items), nextCursor: page.next_cursor || null})
    } catch (err) {
      // shown by the api module
    } finally {
      this.setData({loading: false})
    }
  },

  async onReverse(event) {
    const id = Number(event.currentTarget.dataset.id)
    if (this.data.busyId) return
    this.keys[id] = this.keys[id] || api.actionKeys()
    this.setData({busyId: id})
    try {
      const result = await cashier.reverseRedemption(id, this.keys[id])
      if (result) {
        const items = this.data.items.map(item => (item.id === id ? Object.assign({}, item, {reversed: true}) : item))
        this.setData({items})
        wx.showToast({title: '已冲正', icon: 'success'})
      }
    } catch (err) {
      // shown by the api module
    } finally {
      this.setData({busyId: null})
    }
  },
})
