/**
 * Top-up (充值): the product's tiers with their bonus (充300送50), or a custom amount within the
 * product's limits and the card's legal cap. On the tap we ask for the subscribe message first
 * (WeChat only delivers it when asked from a tap, before paying), then create the order and pay.
 */
const api = require('../../utils/api')
const config = require('../../config')
const format = require('../../utils/format')
const pay = require('../../utils/pay')

function requestSubscribe() {
  const ids = [config.subscribeTemplateIds.topUp, config.subscribeTemplateIds.redemption].filter(Boolean)
  if (!ids.length || typeof wx.requestSubscribeMessage !== 'function') return Promise.resolve()
  return new Promise(resolve => {
    // The person's choice never blocks the top-up.
    wx.requestSubscribeMessage({tmplIds: ids, success: resolve, fail: resolve})
  })
}

Page({
  data: {
    options: null,
    tiers: [],
    selected: -1,
    customText: '',
    customError: '',
    amountFen: 0,
    bonusFen: 0,
    summary: '',
    busy: false,
  },

  onLoad(query) {
    this.cardId = String(query.card_id)
    this.keys = api.actionKeys()
    return this.load()
  },

  async load() {
    try {
      const options = await api.get(`/api/v1/mp/cards/${this.cardId}/top-up-options`)
      const tiers = (options.tiers || []).map(tier => ({
        amountFen: tier.amount_fen,
        bonusFen: tier.bonus_fen,
        amount: format.yuan(tier.amount_fen),
        bonus: tier.bonus_fen ? format.yuan(tier.bonus_fen) : '',
        disabled: tier.within_cap === false,
      }))
      const limits = options.allow_custom
        ? `可输入 ${format.yuan(options.min_fen || 1)} – ${format.yuan(options.max_fen || options.room_fen)} 元`
        : ''
      this.setData({options, tiers, limits, room: format.yuan(options.room_fen)})
    } catch (err) {
      // shown by the api module
    }
  },

  onSelectTier(event) {
    const index = Number(event.currentTarget.dataset.index)
    const tier = this.data.tiers[index]
    if (!tier || tier.disabled) return
    this.setData({selected: index, customText: '', customError: ''})
    this.choose(tier.amountFen, tier.bonusFen)
  },

  onCustomInput(event) {
    const text = event.detail.value
    this.setData({customText: text, selected: -1})
    const amount = format.fenFromYuan(text)
    const error = this.customError(amount, text)
    this.setData({customError: error})
    if (error || amount === null) this.choose(0, 0)
    else this.choose(amount, this.bonusFor(amount))
  },

  /** The client-side check of a custom amount; the server checks again (AMOUNT_NOT_ALLOWED). */
  customError(amount, text) {
    const options = this.data.options
    if (!text) return ''
    if (amount === null || amount <= 0) return '请输入正确的金额'
    if (options.min_fen && amount < options.min_fen) return `最低充值 ${format.yuan(options.min_fen)} 元`
    if (options.max_fen && amount > options.max_fen) return `最高充值 ${format.yuan(options.max_fen)} 元`
    if (amount + this.bonusFor(amount) > options.room_fen) {
      return `超过本卡余额上限，最多还可充入 ${format.yuan(options.room_fen)} 元（含赠送）`
    }
    return ''
  },

  /** A custom amount earns the bonus of the highest tier it reaches (as the server computes it). */
  bonusFor(amount) {
    let bonus = 0
    for (const tier of this.data.tiers) if (tier.amountFen <= amount) bonus = Math.max(bonus, tier.bonusFen)
    return bonus
  },

  choose(amountFen, bonusFen) {
    this.setData({
      amountFen,
      bonusFen,
      summary: amountFen ? `支付 ¥${format.yuan(amountFen)}${bonusFen ? `，赠送 ¥${format.yuan(bonusFen)}` : ''}` : '',
    })
  },

  async onPay() {
    const amountFen = this.data.amountFen
    if (!amountFen || this.data.busy) return
    this.setData({busy: true})
    try {
      await requestSubscribe()
      const order = await api.post(`/api/v1/mp/cards/${this.cardId}/top-ups`, {amount_fen: amountFen}, {
        idempotencyKey: this.keys.keyFor({amount_fen: amountFen}),
      })
      await pay.payOrder(order)
      this.keys.done()
      wx.showToast({title: '充值成功', icon: 'success'})
      wx.navigateBack()
    } catch (err) {
      if (err instanceof pay.PaymentCancelled) wx.showToast({title: '已取消支付', icon: 'none'})
    } finally {
      this.setData({busy: false})
    }
  },
})
