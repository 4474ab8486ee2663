/** 我的卡包: every card of the person, with its face and headline balance. */
const api = require('../../utils/api')

Page({
  data: {
    cards: [],
    loading: true,
    failed: false,
  },

  onShow() {
    return this.load()
  },

  async onPullDownRefresh() {
    try {
      await this.load()
    } finally {
      wx.stopPullDownRefresh()
    }
  },

  async load() {
    this.setData({loading: true, failed: false})
    try {
      const body = await api.get('/api/v1/mp/cards')
      this.setData({cards: body.items || [], loading: false})
    } catch (err) {
      this.setData({loading: false, failed: true})
    }
  },

  onSelectCard(event) {
    wx.navigateTo({url: `/pages/card/index?id=${event.detail.cardId}`})
  },

  onBind() {
    wx.switchTab({url: '/pages/bind/index'})
  },
})
