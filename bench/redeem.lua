-- wrk script: each request redeems 1 fen from a random card by CARDNO:SECRET, with its own idempotency key.
local cards = {}
local counter = 0
local token = os.getenv("BENCH_TOKEN")
local store_id = os.getenv("BENCH_STORE_ID")
local secret = os.getenv("BENCH_SECRET")

function init(args)
  for line in io.lines(os.getenv("BENCH_CARDS")) do cards[#cards + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  counter = counter + 1
  local card = cards[math.random(#cards)]
  local body = string.format('{"code": "%s:%s", "store_id": %s, "amount_fen": 1}', card, secret, store_id)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", math.random(1e9), counter, os.time()),
  }
  return wrk.format("POST", "/api/v1/merchant/redeem", headers, body)
end
