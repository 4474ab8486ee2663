/**
 * Card detail (会员卡): balances, uses, points, validity, and the dynamic member code shown at the
 * counter. The code (POST /api/v1/mp/cards/{id}/codes: QR image + 18-digit number, valid 60 s) is
 * refreshed every 30 s, on every onShow and after a screenshot; while the page shows, the screen
 * stays on and bright and the code is hidden from screen capture where WeChat supports it.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')

const REFRESH_INTERVAL_MS = 30 * 1000
const REVEAL_SHOWN_MS = 60 * 1000

function quietly(fn, options) {
  try {
    if (typeof fn === 'function') fn(Object.assign({fail() {}}, options))
  } catch (err) {
    // a base library without this API: the page still works
  }
}

Page({
  data: {
    card: null,
    view: null,
    code: {qrUrl: '', numericCode: '', loading: true, failed: false},
    revealed: null,
  },

  onLoad(query) {
    this.cardId = String(query.id)
    this.timer = null
    this.onCapture = () => {
      if (!this.timer) return // not showing a code right now
      wx.showToast({title: '截图无效，会员码已刷新', icon: 'none'})
      this.refreshCode()
    }
    wx.onUserCaptureScreen(this.onCapture)
  },

  async onShow() {
    this.protectScreen()
    await this.loadCard()
    if (this.data.card && this.data.card.status === 'active') this.startRefreshing()
  },

  onHide() {
    this.stopRefreshing()
    this.releaseScreen()
    clearTimeout(this.revealTimer)
    this.setData({revealed: null})
  },

  onUnload() {
    this.stopRefreshing()
    this.releaseScreen()
    clearTimeout(this.revealTimer)
    if (wx.offUserCaptureScreen) wx.offUserCaptureScreen(this.onCapture)
  },

  async loadCard() {
    try {
      const card = await api.get(`/api/v1/mp/cards/${this.cardId}`)
      const kind = card.product && card.product.kind
      this.setData({
        card,
        view: {
          active: card.status === 'active',
          stored: kind === 'stored_value',
          count: kind === 'count',
          points: kind === 'points',
          discount: kind === 'discount',
          balance: format.yuan(card.balance_fen),
          principal: format.yuan(card.principal_fen),
          bonus: format.yuan(card.bonus_fen),
          validity: format.validityText(card),
          statusLabel: format.STATUS_LABELS[card.status] || card.status,
          topUp: kind === 'stored_value' && card.status === 'active' && Boolean(card.product.top_up && card.product.top_up.enabled),
          reportable: card.status === 'active' && Boolean(card.product.named),
          refundable: card.status === 'active' && Boolean(card.product.refund && card.product.refund.allowed) &&
            (kind === 'stored_value' || kind === 'count'),
          wechatCard: card.status === 'active' && Boolean(card.product.wechat_card && card.product.wechat_card.enabled),
        },
      })
    } catch (err) {
      // shown by the api module
    }
  },

  startRefreshing() {
    this.stopRefreshing()
    this.refreshCode()
    this.timer = setInterval(() => this.refreshCode(), REFRESH_INTERVAL_MS)
  },

  stopRefreshing() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  },

  /** A fresh single-use code; the old one simply lapses on the server after 60 s. */
  async refreshCode() {
    const seq = (this.codeSeq = (this.codeSeq || 0) + 1)
    this.setData({'code.loading': true})
    try {
      const code = await api.post(`/api/v1/mp/cards/${this.cardId}/codes`, {}, {quiet: true})
      if (seq !== this.codeSeq) return // a newer refresh already answered
      this.setData({code: {qrUrl: code.qr_png_url, numericCode: code.numeric_code, loading: false, failed: false}})
    } catch (err) {
      if (seq !== this.codeSeq) return
      this.setData({code: {qrUrl: '', numericCode: '', loading: false, failed: true}})
      if (err.code === 'CARD_NOT_ACTIVE' || err.code === 'CARD_EXPIRED') this.stopRefreshing()
      api.showError(err)
    }
  },

  onRefreshCode() {
    return this.startRefreshing()
  },

  protectScreen() {
    quietly(wx.setKeepScreenOn, {keepScreenOn: true})
    if (this.savedBrightness === undefined) {
      quietly(wx.getScreenBrightness, {
        success: res => {
          this.savedBrightness = res.value
        },
      })
    }
    quietly(wx.setScreenBrightness, {value: 1})
    quietly(wx.setVisualEffectOnCapture, {visualEffect: 'hidden'})
  },

  releaseScreen() {
    quietly(wx.setKeepScreenOn, {keepScreenOn: false})
    if (this.savedBrightness !== undefined) {
      quietly(wx.setScreenBrightness, {value: this.savedBrightness})
      this.savedBrightness = undefined
    }
    quietly(wx.setVisualEffectOnCapture, {visualEffect: 'none'})
  },

  /** Card number and secret, after the person confirms; hidden again after a minute. */
  onReveal() {
    wx.showModal({
      title: '查看卡号卡密',
      content: '卡号和卡密可用于绑卡和消费，请勿截图或告诉他人。确定查看吗？',
      confirmText: '查看',
      success: async res => {
        if (!res.confirm) return
        try {
          const secret = await api.post(`/api/v1/mp/cards/${this.cardId}/reveal`)
          this.setData({revealed: {cardNo: secret.card_no, secret: secret.secret}})
          clearTimeout(this.revealTimer)
          this.revealTimer = setTimeout(() => this.setData({revealed: null}), REVEAL_SHOWN_MS)
        } catch (err) {
          // shown by the api module
        }
      },
    })
  },

  /** Report a named card lost (挂失): it is frozen at once; the counter replaces it (补办). */
  onReportLost() {
    wx.showModal({
      title: '挂失此卡',
      content: '挂失后此卡立即冻结，不能再消费；请持身份证明到门店补办新卡，余额、次数和积分将全部转入新卡。',
      confirmText: '挂失',
      success: async res => {
        if (!res.confirm) return
        try {
          await api.post(`/api/v1/mp/cards/${this.cardId}/report-lost`)
          this.stopRefreshing()
          wx.showToast({title: '已挂失', icon: 'success'})
          await this.loadCard()
        } catch (err) {
          // shown by the api module
        }
      },
    })
  },

  /** Put the card into WeChat's card wallet (微信卡包): cardExt from the server, wx.addCard, then tell
   * the server it was added (it activates the card in WeChat and keeps its balance in sync). */
  async onAddToWeChat() {
    let params
    try {
      params = await api.get(`/api/v1/mp/cards/${this.cardId}/wechat-card`)
    } catch (err) {
      return // shown by the api module
    }
    try {
      await new Promise((resolve, reject) => wx.addCard({
        cardList: [{cardId: params.cardId, cardExt: params.cardExt}], success: resolve, fail: reject,
      }))
    } catch (err) {
      if (!(err && /cancel/.test(err.errMsg || ''))) wx.showToast({title: '添加失败，请稍后再试', icon: 'none'})
      return
    }
    try {
      await api.post(`/api/v1/mp/cards/${this.cardId}/wechat-card/added`)
      wx.showToast({title: '已添加到微信卡包', icon: 'success'})
    } catch (err) {
      // shown by the api module
    }
  },

  onTopUp() {
    wx.navigateTo({url: `/pages/topup/index?card_id=${this.cardId}`})
  },

  onTransactions() {
    wx.navigateTo({url: `/pages/transactions/index?card_id=${this.cardId}`})
  },

  onTransfer() {
    wx.navigateTo({url: `/pages/transfer/index?card_id=${this.cardId}`})
  },

  onRefund() {
    wx.navigateTo({url: `/pages/refund/index?card_id=${this.cardId}`})
  },
})

module.exports = {REFRESH_INTERVAL_MS}
