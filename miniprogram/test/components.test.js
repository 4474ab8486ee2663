/** The shared components and the display rules a person reads (money typed and shown in yuan). */
const format = require('../utils/format')
const {render, text} = require('./support/load')
const {freshWx} = require('./support/wx')

beforeEach(() => {
  freshWx()
})

describe('card-face', () => {
  const card = {card_id: 3, card_no_masked: '8104 **** **** 4142', merchant: {name: '示范理发'},
    product: {name: '洗剪吹次卡', kind: 'count', style: {color: '#123456'}}, status: 'active', remaining_uses: 9}

  test('shows merchant, product, kind, masked number and the headline of its kind; tells when tapped', () => {
    const comp = render('components/card-face/index', {card})
    const shown = text(comp)
    for (const part of ['示范理发', '洗剪吹次卡', '次卡', '8104 **** **** 4142', '剩余次数', '9 次']) expect(shown).toContain(part)
    expect(shown).not.toContain('使用中')
    const selected = jest.fn()
    comp.addEventListener('select', selected) // how a parent's bind:select hears it
    comp.instance.onTap()
    expect(selected).toHaveBeenCalledTimes(1)
    expect(selected.mock.calls[0][0].detail).toEqual({cardId: 3})
  })

  test('a card that is not active carries its status; the view follows a changed card', () => {
    const comp = render('components/card-face/index', {card})
    comp.setData({card: Object.assign({}, card, {status: 'expired', remaining_uses: 2})})
    expect(text(comp)).toContain('已过期')
    expect(text(comp)).toContain('2 次')
  })
})

describe('dynamic-code', () => {
  test('groups the 18 digits for reading aloud and asks for a refresh when tapped', () => {
    const comp = render('components/dynamic-code/index', {numericCode: '967947582745342482', qrUrl: 'https://x/q.png'})
    expect(text(comp)).toContain('967947 582745 342482')
    const refresh = jest.fn()
    comp.addEventListener('refresh', refresh)
    comp.instance.onRefresh()
    expect(refresh).toHaveBeenCalledTimes(1)
  })

  test('a failed code offers a retry instead of a stale number', () => {
    const comp = render('components/dynamic-code/index', {numericCode: '', failed: true})
    expect(text(comp)).toBe('会员码获取失败，点击重试')
  })
})

describe('format', () => {
  test('fen are shown as yuan with two decimals', () => {
    expect([0, 5, 1234, -1234, 500000].map(format.yuan)).toEqual(['0.00', '0.05', '12.34', '-12.34', '5000.00'])
  })

  test('yuan typed by a person become fen; anything else is not an amount', () => {
    expect(['12', '12.3', '12.34', ' 8 ', '0.5'].map(format.fenFromYuan)).toEqual([1200, 1230, 1234, 800, 50])
    expect(['', 'abc', '12.345', '-1', '1e3', '12,5'].map(format.fenFromYuan)).toEqual([null, null, null, null, null, null])
  })

  test('times are shown in Asia/Shanghai', () => {
    expect(format.shanghaiTime('2026-12-01T16:30:00+00:00')).toBe('2026-12-02 00:30')
    expect(format.shanghaiTime('2026-12-01T17:52:55.231+08:00')).toBe('2026-12-01 17:52')
  })
})
