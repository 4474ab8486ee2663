/**
 * 收银核销: scan the member code (wx.scanCode) or type the 18-digit number, enter the bill or the
 * number of uses, redeem (POST /api/v1/merchant/redeem, one Idempotency-Key per redemption).
 * Store-bound staff (every cashier) redeem only at their own store; HQ staff pick a store.
 */
const api = require('../../../utils/api')
const cashier = require('../../../utils/cashier')
const format = require('../../../utils/format')

const LOGIN_PAGE = '/pages/cashier/login/index'

/** What the cashier typed or scanned → the `code` the server takes. */
function normalizeCode(text) {
  const code = String(text || '').trim()
  return /^[\d\s]+$/.test(code) ? code.replace(/\s+/g, '') : code
}

Page({
  data: {
    session: null,
    roleLabel: '',
    canReverse: false,
    stores: [],
    storeIndex: 0,
    storeLocked: false,
    code: '',
    mode: 'amount',
    amountText: '',
    usesText: '1',
    pointsText: '',
    busy: false,
  },

  onLoad() {
    this.keys = api.actionKeys()
  },

  onShow() {
    const session = api.staffSession()
    if (!session) {
      this.setData({session: null})
      wx.navigateTo({url: LOGIN_PAGE})
      return Promise.resolve()
    }
    const storeLocked = session.store_id !== null && session.store_id !== undefined
    this.setData({
      session,
      roleLabel: cashier.ROLE_LABELS[session.role] || session.role,
      storeLocked,
      canReverse: cashier.canReverse(session),
    })
    // A store-bound login can redeem at its store even before (or without) the list of stores.
    if (storeLocked && !this.data.stores.length) this.setData({stores: [{store_id: session.store_id, name: '本门店'}]})
    return this.loadStores(session)
  },

  async loadStores(session) {
    try {
      const page = await api.get('/api/v1/merchant/stores', {auth: 'staff', query: {limit: 100}})
      let stores = (page.items || []).filter(store => store.active !== false)
      if (this.data.storeLocked) stores = stores.filter(store => store.store_id === session.store_id)
      if (this.data.storeLocked && !stores.length) return
      this.setData({stores, storeIndex: Math.min(this.data.storeIndex, Math.max(stores.length - 1, 0))})
    } catch (err) {
      // shown by the api module
    }
  },

  onStoreChange(event) {
    this.setData({storeIndex: Number(event.detail.value)})
  },

  onModeChange(event) {
    this.setData({mode: event.currentTarget.dataset.mode})
  },

  onInput(event) {
    this.setData({[event.currentTarget.dataset.field]: event.detail.value})
  },

  onScan() {
    return new Promise(resolve => {
      wx.scanCode({
        onlyFromCamera: true,
        scanType: ['qrCode', 'barCode'],
        success: res => {
          this.setData({code: String(res.result || '').trim()})
          resolve()
        },
        fail: () => resolve(),
      })
    })
  },

  /** The redeem body, or a message saying what is missing. */
  redeemBody() {
    const store = this.data.stores[this.data.storeIndex]
    const code = normalizeCode(this.data.code)
    if (!code) return {error: '请扫码或输入会员码'}
    if (!store) return {error: '请选择门店'}
    const body = {code, store_id: store.store_id}
    if (this.data.mode === 'uses') {
      const uses = Number(this.data.usesText)
      if (!Number.isInteger(uses) || uses < 1) return {error: '请输入核销次数'}
      body.uses = uses
    } else {
      const amount = format.fenFromYuan(this.data.amountText)
      if (amount === null || amount <= 0) return {error: '请输入消费金额'}
      body.amount_fen = amount
      if (this.data.pointsText) {
        const points = Number(this.data.pointsText)
        if (!Number.isInteger(points) || points < 0) return {error: '积分抵扣需为整数'}
        if (points) body.redeem_points = points
      }
    }
    return {body}
  },

  async onRedeem() {
    if (this.data.busy) return
    const {body, error} = this.redeemBody()
    if (error) {
      wx.showToast({title: error, icon: 'none'})
      return
    }
    this.setData({busy: true})
    try {
      const receipt = await api.post('/api/v1/merchant/redeem', body, {
        auth: 'staff',
        idempotencyKey: this.keys.keyFor(body),
      })
      this.keys.done()
      const store = this.data.stores[this.data.storeIndex]
      getApp().globalData.receipt = Object.assign({store_name: store.name}, receipt)
      this.setData({code: '', amountText: '', usesText: '1', pointsText: ''})
      wx.navigateTo({url: `/pages/cashier/receipt/index?id=${receipt.redemption_id}`})
    } catch (err) {
      // INSUFFICIENT_BALANCE, CODE_INVALID, …: shown by the api module; a retry reuses the key
    } finally {
      this.setData({busy: false})
    }
  },

  onHistory() {
    const store = this.data.stores[this.data.storeIndex]
    wx.navigateTo({url: `/pages/cashier/redemptions/index?store_id=${store ? store.store_id : ''}`})
  },

  onLogout() {
    api.clearStaffSession()
    this.setData({session: null})
    wx.navigateTo({url: LOGIN_PAGE})
  },
})

module.exports = {normalizeCode}
