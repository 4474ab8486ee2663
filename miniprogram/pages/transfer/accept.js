/** A friend's transfer link: accept it and the card moves into this person's wallet. */
const api = require('../../utils/api')

Page({
  data: {
    token: '',
    card: null,
    busy: false,
  },

  onLoad(query) {
    this.setData({token: query.token ? decodeURIComponent(query.token) : ''})
  },

  async onAccept() {
    if (!this.data.token || this.data.busy) return
    this.setData({busy: true})
    try {
      const card = await api.post(`/api/v1/mp/transfers/${encodeURIComponent(this.data.token)}/accept`)
      this.setData({card})
      wx.showToast({title: '领取成功', icon: 'success'})
      wx.redirectTo({url: `/pages/card/index?id=${card.card_id}`})
    } catch (err) {
      // an expired or used link: the message is shown by the api module
    } finally {
      this.setData({busy: false})
    }
  },

  onHome() {
    wx.switchTab({url: '/pages/index/index'})
  },
})
