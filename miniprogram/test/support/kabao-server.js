/**
 * A real Kabao server for the contract test: a temporary SQLite database, `db upgrade`, `demo`,
 * then `flask run` on a free port with the WeChat simulator (the embedded default of `make run`).
 * `stop()` kills it; the process is also killed if the test process exits first.
 */
const {execFile, spawn} = require('child_process')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const http = require('http')

const REPO = path.resolve(__dirname, '../../..')
const FLASK = process.env.KABAO_FLASK || path.join(REPO, '.venv/bin/flask')

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const {port} = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

function flask(args, env) {
  return new Promise((resolve, reject) => {
    execFile(FLASK, ['--app', 'wsgi'].concat(args), {cwd: REPO, env, timeout: 60000}, (err, stdout, stderr) => {
      if (err) reject(new Error(`flask ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

function healthy(baseUrl) {
  return new Promise(resolve => {
    const req = http.get(`${baseUrl}/healthz`, res => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.setTimeout(2000, () => req.destroy())
  })
}

/** Parse what `flask demo` prints: the staff logins and the batch ids by issue method. */
function parseDemo(output) {
  const logins = {}
  for (const match of output.matchAll(/merchant (\w+)\s*: (\S+) \/ (\S+)/g)) {
    logins[match[1]] = {username: match[2], password: match[3]}
  }
  const batches = {}
  for (const match of output.matchAll(/(claim|purchase|code) batch (\d+): .*\((?:[\d.]+) 元, active\)/g)) {
    if (!batches[match[1]]) batches[match[1]] = match[2]
  }
  return {logins, batches}
}

async function startKabao() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kabao-contract-'))
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const env = Object.assign({}, process.env, {
    APP_ENV: 'development',
    WECHAT_SIMULATOR: '1',
    DATABASE_URL: `sqlite:///${path.join(dir, 'kabao.sqlite3')}`,
    PUBLIC_BASE_URL: baseUrl,
    FLASK_DEBUG: '0',
  })
  delete env.REDIS_URL
  const log = []
  let child = null
  const stop = () => new Promise(resolve => {
    const finish = () => {
      fs.rmSync(dir, {recursive: true, force: true})
      resolve()
    }
    if (!child || child.exitCode !== null || child.signalCode !== null) return finish()
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(force)
      finish()
    })
    child.kill('SIGTERM')
  })
  const killOnExit = () => child && child.exitCode === null && child.kill('SIGKILL')
  process.once('exit', killOnExit)
  try {
    await flask(['db', 'upgrade'], env)
    const demo = parseDemo(await flask(['demo'], env))
    child = spawn(FLASK, ['--app', 'wsgi', 'run', '--host', '127.0.0.1', '--port', String(port), '--with-threads'], {
      cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', chunk => log.push(chunk.toString()))
    child.stderr.on('data', chunk => log.push(chunk.toString()))
    const deadline = Date.now() + 30000
    while (!(await healthy(baseUrl))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`Kabao did not start on ${baseUrl}:\n${log.join('').slice(-3000)}`)
      }
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    return {baseUrl, demo, log, stop, pid: child.pid}
  } catch (err) {
    await stop()
    throw err
  }
}

module.exports = {parseDemo, startKabao}
