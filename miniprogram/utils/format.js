/** Display helpers: money is integer fen everywhere, shown as yuan with two decimals. */

function yuan(fen) {
  const value = Number(fen) || 0
  const sign = value < 0 ? '-' : ''
  const abs = Math.abs(value)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** "12.5" / "12" / "12.50" yuan typed by a person → fen, or null when it is not an amount. */
function fenFromYuan(text) {
  const match = /^\s*(\d{1,7})(?:\.(\d{0,2}))?\s*$/.exec(String(text === undefined || text === null ? '' : text))
  if (!match) return null
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'))
}

/** An ISO time with offset shown in Asia/Shanghai as "2026-12-01 17:52". */
function shanghaiTime(iso) {
  if (!iso) return ''
  const date = new Date(iso)
  if (isNaN(date.getTime())) return ''
  const shanghai = new Date(date.getTime() + 8 * 3600 * 1000)
  const pad = n => String(n).padStart(2, '0')
  return `${shanghai.getUTCFullYear()}-${pad(shanghai.getUTCMonth() + 1)}-${pad(shanghai.getUTCDate())} ` +
    `${pad(shanghai.getUTCHours())}:${pad(shanghai.getUTCMinutes())}`
}

/** "123456789012345678" → "123456 789012 345678" for reading aloud at the counter. */
function groupDigits(code) {
  return String(code || '').replace(/(\d{6})(?=\d)/g, '$1 ')
}

const KIND_LABELS = {stored_value: '储值卡', count: '次卡', points: '积分卡', discount: '折扣卡'}
const STATUS_LABELS = {
  active: '使用中',
  frozen: '已冻结',
  expired: '已过期',
  refunded: '已退款',
  transferred: '已转赠',
  inactive: '未激活',
  replaced: '已补办',
}
const TRANSACTION_LABELS = {
  issue: '开卡',
  top_up: '充值',
  redeem: '消费',
  reverse: '冲正退回',
  refund: '退款',
  transfer: '转赠',
  expire: '过期',
  adjust: '调整',
  replace: '补办转卡',
}

function validityText(card) {
  const validity = (card.product && card.product.validity) || {}
  if (card.expires_at) return `有效期至 ${shanghaiTime(card.expires_at).slice(0, 10)}`
  if (validity.type === 'permanent' || !validity.type) return '长期有效'
  if (validity.type === 'relative') return `激活后 ${validity.days} 天内有效`
  if (validity.type === 'fixed') return `${validity.start || ''} 至 ${validity.end || ''}`
  return ''
}

/** The headline figure of a card by its kind: balance, uses, points or discount. */
function headline(card) {
  const kind = card.product && card.product.kind
  if (kind === 'stored_value') return {label: '余额', value: `¥${yuan(card.balance_fen)}`}
  if (kind === 'count') return {label: '剩余次数', value: `${card.remaining_uses || 0} 次`}
  if (kind === 'points') return {label: '积分', value: `${card.points || 0}`}
  if (kind === 'discount') {
    const percent = card.product.discount_percent
    return {label: '折扣', value: percent ? `${percent / 10} 折` : '会员价'}
  }
  return {label: '', value: ''}
}

module.exports = {
  KIND_LABELS,
  STATUS_LABELS,
  TRANSACTION_LABELS,
  fenFromYuan,
  groupDigits,
  headline,
  shanghaiTime,
  validityText,
  yuan,
}
