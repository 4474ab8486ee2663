/**
 * The package as WeChat DevTools would see it: every page listed in app.json has its four files,
 * every page and component compiles through the official WXML compiler and renders, and the
 * JSON files WeChat reads are valid.
 */
const fs = require('fs')
const os = require('os')
const path = require('path')
const simulate = require('miniprogram-simulate')
const {ROOT, render} = require('./support/load')

const appJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))

function componentsIn(dir) {
  return fs.readdirSync(path.join(ROOT, dir))
    .filter(name => fs.existsSync(path.join(ROOT, dir, name, 'index.json')))
    .map(name => `${dir}/${name}/index`)
}

describe('app.json', () => {
  test.each(appJson.pages)('page %s has its .js, .json, .wxml and .wxss', page => {
    for (const ext of ['js', 'json', 'wxml', 'wxss']) {
      expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true)
    }
  })

  test('every page folder on disk is listed in app.json, and the tab bar points at listed pages', () => {
    const onDisk = []
    const walk = dir => {
      for (const name of fs.readdirSync(path.join(ROOT, dir))) {
        const rel = `${dir}/${name}`
        if (fs.statSync(path.join(ROOT, rel)).isDirectory()) walk(rel)
        else if (rel.endsWith('.wxml')) onDisk.push(rel.slice(0, -'.wxml'.length))
      }
    }
    walk('pages')
    expect(onDisk.sort()).toEqual(appJson.pages.slice().sort())
    for (const tab of appJson.tabBar.list) expect(appJson.pages).toContain(tab.pagePath)
  })

  test('project.config.json, sitemap.json and every page and component .json are valid JSON', () => {
    const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'))
    expect(project.compileType).toBe('miniprogram')
    expect(project.appid).toBe('touristappid')
    JSON.parse(fs.readFileSync(path.join(ROOT, 'sitemap.json'), 'utf8'))
    for (const file of appJson.pages.concat(componentsIn('components'))) {
      const json = JSON.parse(fs.readFileSync(path.join(ROOT, `${file}.json`), 'utf8'))
      for (const used of Object.values(json.usingComponents || {})) {
        expect(fs.existsSync(path.join(ROOT, `${used}.json`))).toBe(true)
      }
    }
  })
})

describe('WXML compiles and renders', () => {
  const components = componentsIn('components')
  test.each(components)('component %s', component => {
    const comp = render(component)
    expect(comp.dom).toBeTruthy()
  })

  test.each(appJson.pages)('page %s', page => {
    const comp = render(page)
    expect(comp.instance).toBeTruthy()
  })

  test.each(appJson.pages.concat(components))('every event handler named in %s.wxml exists', file => {
    const wxml = fs.readFileSync(path.join(ROOT, `${file}.wxml`), 'utf8')
    const handlers = Array.from(wxml.matchAll(/\b(?:bind|catch):?[a-z]+="([A-Za-z_]\w*)"/g), match => match[1])
    const comp = render(file)
    for (const name of handlers) expect([name, typeof comp.instance[name]]).toEqual([name, 'function'])
  })

  test('the compiler refuses broken WXML (so the checks above can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kabao-wxml-'))
    try {
      fs.writeFileSync(path.join(dir, 'broken.json'), '{"component": true}')
      fs.writeFileSync(path.join(dir, 'broken.js'), 'Component({})')
      fs.writeFileSync(path.join(dir, 'broken.wxss'), '')
      fs.writeFileSync(path.join(dir, 'broken.wxml'), '<view wx:if="{{a}}"><text>unclosed</view>')
      expect(() => simulate.render(simulate.load(path.join(dir, 'broken'), {rootPath: dir}))).toThrow(/编译 .wxml 文件错误/)
    } finally {
      fs.rmSync(dir, {recursive: true, force: true})
    }
  })
})
