/**
 * 绑卡: add a card with a redemption code (兑换码) or the card number and secret of a physical
 * card, typed as CARDNO:SECRET (or in two fields) or scanned.
 */
const api = require('../../utils/api')

/** What POST /api/v1/mp/cards/bind takes, from what the person typed. */
function bindCode(mode, code, cardNo, secret) {
  if (mode === 'secret') {
    const number = String(cardNo || '').replace(/\s+/g, '')
    const pin = String(secret || '').replace(/\s+/g, '')
    return number && pin ? `${number}:${pin}` : ''
  }
  return String(code || '').replace(/\s+/g, '').toUpperCase()
}

Page({
  data: {
    mode: 'code',
    code: '',
    cardNo: '',
    secret: '',
    busy: false,
  },

  onModeChange(event) {
    this.setData({mode: event.currentTarget.dataset.mode})
  },

  onInput(event) {
    this.setData({[event.currentTarget.dataset.field]: event.detail.value})
  },

  onScan() {
    wx.scanCode({
      onlyFromCamera: false,
      scanType: ['qrCode', 'barCode'],
      success: res => {
        const text = String(res.result || '').trim()
        const pair = /^(\d{12,19})[:：](\S+)$/.exec(text)
        if (pair) this.setData({mode: 'secret', cardNo: pair[1], secret: pair[2]})
        else this.setData({mode: 'code', code: text})
      },
    })
  },

  async onSubmit() {
    const data = this.data
    const code = bindCode(data.mode, data.code, data.cardNo, data.secret)
    if (!code) {
      wx.showToast({title: data.mode === 'secret' ? '请输入卡号和卡密' : '请输入兑换码', icon: 'none'})
      return
    }
    if (data.busy) return
    this.setData({busy: true})
    try {
      const card = await api.post('/api/v1/mp/cards/bind', {code})
      this.setData({code: '', cardNo: '', secret: ''})
      wx.showToast({title: '绑定成功', icon: 'success'})
      wx.navigateTo({url: `/pages/card/index?id=${card.card_id}`})
    } catch (err) {
      // CODE_INVALID and the rate limit's message are shown by the api module
    } finally {
      this.setData({busy: false})
    }
  },
})

module.exports = {bindCode}
