/** 交易记录: a card's transactions, newest first, a page at a time (cursor paging). */
const api = require('../../utils/api')
const format = require('../../utils/format')

const PAGE_SIZE = 20

function signed(fen) {
  return (fen > 0 ? '+' : '') + format.yuan(fen)
}

function describe(item) {
  const parts = []
  if (item.principal_fen) parts.push(`本金 ${signed(item.principal_fen)}`)
  if (item.bonus_fen) parts.push(`赠送 ${signed(item.bonus_fen)}`)
  if (item.uses) parts.push(`次数 ${item.uses > 0 ? '+' : ''}${item.uses}`)
  if (item.points) parts.push(`积分 ${item.points > 0 ? '+' : ''}${item.points}`)
  return {
    id: item.id,
    title: format.TRANSACTION_LABELS[item.type] || item.type,
    amounts: parts.join('  '),
    balanceAfter: format.yuan(item.balance_after_fen),
    store: item.store_name || '',
    time: format.shanghaiTime(item.created_at),
  }
}

Page({
  data: {
    items: [],
    nextCursor: null,
    loading: false,
    finished: false,
  },

  onLoad(query) {
    this.cardId = String(query.card_id)
    return this.loadMore(true)
  },

  async onPullDownRefresh() {
    try {
      await this.loadMore(true)
    } finally {
      wx.stopPullDownRefresh()
    }
  },

  onReachBottom() {
    return this.loadMore(false)
  },

  async loadMore(reset) {
    if (this.data.loading || (!reset && this.data.finished)) return
    this.setData({loading: true})
    try {
      const page = await api.get(`/api/v1/mp/cards/${this.cardId}/transactions`, {
        query: {limit: PAGE_SIZE, cursor: reset ? null : this.data.nextCursor},
      })
      const items = (page.items || []).map(describe)
      this.setData({
        items: reset ? items : this.data.items.concat(items),
        nextCursor: page.next_cursor || null,
        finished: !page.next_cursor,
      })
    } catch (err) {
      // shown by the api module; pulling again retries
    } finally {
      this.setData({loading: false})
    }
  },
})
