/**
 * 转赠: make a one-time transfer token (POST /api/v1/mp/cards/{id}/transfers, valid 24 hours) and
 * share it with a friend; the card becomes theirs when they accept (pages/transfer/accept).
 */
const api = require('../../utils/api')

const ACCEPT_PAGE = '/pages/transfer/accept'

Page({
  data: {
    card: null,
    token: '',
    expiresHours: 0,
    busy: false,
  },

  async onLoad(query) {
    this.cardId = String(query.card_id)
    try {
      this.setData({card: await api.get(`/api/v1/mp/cards/${this.cardId}`)})
    } catch (err) {
      // shown by the api module
    }
  },

  onCreate() {
    if (this.data.busy) return Promise.resolve()
    return new Promise(resolve => {
      wx.showModal({
        title: '转赠这张卡',
        content: '好友领取后，卡内余额、次数和积分都归好友所有，你将不能再使用这张卡。',
        confirmText: '生成链接',
        success: async res => {
          if (res.confirm) await this.createToken()
          resolve()
        },
        fail: () => resolve(),
      })
    })
  },

  async createToken() {
    this.setData({busy: true})
    try {
      const transfer = await api.post(`/api/v1/mp/cards/${this.cardId}/transfers`)
      this.setData({token: transfer.transfer_token, expiresHours: Math.round(transfer.expires_in / 3600)})
      wx.showShareMenu({withShareTicket: false, menus: ['shareAppMessage']})
    } catch (err) {
      // NOT_TRANSFERABLE etc. shown by the api module
    } finally {
      this.setData({busy: false})
    }
  },

  onShareAppMessage() {
    const card = this.data.card
    const name = card ? `${card.merchant.name} ${card.product.name}` : '一张会员卡'
    if (!this.data.token) return {title: '卡包', path: '/pages/index/index'}
    return {
      title: `送你${name}，点开领取`,
      path: `${ACCEPT_PAGE}?token=${encodeURIComponent(this.data.token)}`,
      imageUrl: card ? card.face_image_url : undefined,
    }
  },
})
