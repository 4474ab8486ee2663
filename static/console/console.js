// Kabao console scripts: live validation of the product wizard, repeatable rows (top-up tiers,
// regional discounts), sections that depend on the card kind, confirmation of risky posts, the
// cashier's scan-to-redeem page and the reversal of redemptions.
// Plain JavaScript with no dependencies, so the console works offline.
"use strict";

const VALIDATE_DELAY_MS = 300;

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

function debounce(callback, delay) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(callback, delay);
  };
}

// --- findings beside their fields ---------------------------------------------------------------

// The message list of a field path, or of the nearest enclosing path that is shown
// ("top_up.tiers[1].amount_fen" → "top_up.tiers[1]" → "top_up.tiers" → "top_up"), else the summary's.
function messageSlot(form, path) {
  let current = path;
  while (current) {
    const slot = form.querySelector(`[data-messages-for="${CSS.escape(current)}"]`);
    if (slot && slot.offsetParent !== null) return slot;
    const parent = current.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    if (parent === current) break;
    current = parent;
  }
  return form.querySelector('[data-messages-for=""]');
}

function showFindings(form, findings) {
  form.querySelectorAll("[data-messages-for]").forEach((slot) => slot.replaceChildren());
  form.querySelectorAll(".field.has-error, .field.has-warning").forEach((field) => {
    field.classList.remove("has-error", "has-warning");
  });
  const groups = [["error", findings.errors || []], ["warning", findings.warnings || []]];
  for (const [severity, list] of groups) {
    for (const finding of list) {
      const item = document.createElement("li");
      item.className = `finding finding-${severity}`;
      item.dataset.code = finding.code;
      item.dataset.field = finding.field;
      item.textContent = finding.message;
      const slot = messageSlot(form, finding.field);
      slot.appendChild(item);
      const field = slot.closest(".field");
      if (field && !field.classList.contains("has-error")) field.classList.add(`has-${severity}`);
    }
  }
  const count = form.querySelector("[data-findings-count]");
  const errors = (findings.errors || []).length;
  const warnings = (findings.warnings || []).length;
  count.classList.toggle("has-errors", errors > 0);
  count.classList.toggle("clean", errors === 0 && warnings === 0);
  count.textContent = errors || warnings
    ? `${errors} 个错误（须修改后才能提交审核），${warnings} 个提醒`
    : "校验通过，没有发现问题。";
}

function liveValidation(form) {
  let latest = 0;
  const validate = debounce(async () => {
    const request = ++latest;
    try {
      const response = await fetch(form.dataset.validateUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const findings = await response.json();
      if (request === latest) showFindings(form, findings);
    } catch (error) {
      if (request === latest) {
        form.querySelector("[data-findings-count]").textContent = "暂时无法校验，请检查网络或重新登录。";
      }
    }
  }, VALIDATE_DELAY_MS);
  form.addEventListener("input", validate);
  form.addEventListener("change", validate);
  form.addEventListener("rows-changed", validate);
}

// --- repeatable rows ----------------------------------------------------------------------------

// Rows are named prefix[i].column; after adding or removing one, renumber so that the names match
// the paths the server reports (it reads the rows in order).
function renumber(table) {
  const prefix = table.dataset.rows;
  const pattern = new RegExp(`^${prefix.replace(/[.[\]]/g, "\\$&")}\\[\\d+\\]`);
  table.querySelectorAll("[data-row]").forEach((row, index) => {
    row.querySelectorAll("[name], [data-messages-for]").forEach((element) => {
      for (const attribute of ["name", "data-messages-for"]) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(pattern, `${prefix}[${index}]`));
      }
    });
  });
  table.dispatchEvent(new Event("rows-changed", { bubbles: true }));
}

function repeatableRows(form) {
  form.querySelectorAll("[data-add-row]").forEach((button) => {
    const name = button.dataset.addRow;
    const table = form.querySelector(`[data-rows="${CSS.escape(name)}"]`);
    const template = form.querySelector(`[data-row-template="${CSS.escape(name)}"]`);
    button.addEventListener("click", () => {
      table.tBodies[0].appendChild(template.content.cloneNode(true));
      renumber(table);
      table.querySelector("[data-row]:last-child input").focus();
    });
  });
  form.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-row]");
    if (!remove) return;
    const table = remove.closest("[data-rows]");
    remove.closest("[data-row]").remove();
    renumber(table);
  });
}

// --- sections that depend on other inputs -------------------------------------------------------

function dependentSections(form) {
  const kind = form.querySelector('[name="kind"]');
  const validity = form.querySelector('[name="validity.type"]');
  const scopeRadios = form.querySelectorAll('[name="store_scope"]');
  const update = () => {
    form.querySelectorAll("[data-kinds]").forEach((section) => {
      section.hidden = !section.dataset.kinds.split(" ").includes(kind.value);
    });
    form.querySelectorAll("[data-validity]").forEach((block) => {
      block.hidden = block.dataset.validity !== validity.value;
    });
    const selected = form.querySelector('[name="store_scope"]:checked');
    form.querySelector("[data-store-list]").hidden = !selected || selected.value === "all";
  };
  kind.addEventListener("change", update);
  validity.addEventListener("change", update);
  scopeRadios.forEach((radio) => radio.addEventListener("change", update));
  update();
}

// --- money-moving posts: JSON under an Idempotency-Key ------------------------------------------

// A random UUID (v4). crypto.randomUUID exists only on HTTPS or localhost; getRandomValues everywhere.
function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Post ``body`` as JSON (a read-only look-up, or with ``headers`` an idempotent post).
async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(), ...headers },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => null);
  return { ok: response.ok, answer, replayed: response.headers.get("Idempotent-Replayed") === "true" };
}

// Post ``body`` as JSON; the server answers a repeat of ``key`` with the first answer, never twice.
// Rejects only when no answer arrived (then the same key may safely be sent again).
async function postIdempotent(url, body, key) {
  return postJson(url, body, { "Idempotency-Key": key });
}

function errorOf(answer) {
  return (answer && answer.error) || { code: "ERROR", message: "操作失败，请重试", details: {} };
}

// A message the page's script shows on top of the page, like the server's error alert.
function showPageError(message) {
  let alert = document.querySelector("[data-script-error]");
  if (!alert) {
    alert = document.createElement("div");
    alert.className = "alert alert-error";
    alert.setAttribute("role", "alert");
    alert.dataset.scriptError = "";
    document.getElementById("main").prepend(alert);
  }
  alert.textContent = message;
}

// --- scan-to-redeem -----------------------------------------------------------------------------

// A printed card's number (its barcode): 12–19 digits with a Luhn check digit. Eighteen digits are
// the member code shown in the mini-program, so that length never waits for a secret.
function isPrintedCardNo(text) {
  if (!/^[0-9]{12,19}$/.test(text) || text.length === 18) return false;
  let total = 0;
  for (let i = 0; i < text.length; i += 1) {
    let digit = Number(text[text.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    total += digit;
  }
  return total % 10 === 0;
}

// A scanner types into whatever has the focus, so the code input keeps it. Enter with a new code
// looks the card up (a preview that does not use the code up); Enter again — in the amount field,
// or on the focused confirm button — redeems it. The amount may be typed before or after the scan.
// Enter in another input goes back to the code input while it is still empty.
function startCounter(form) {
  const code = form.elements.code;
  const secret = form.elements.secret; // a printed card's secret, typed after its barcode is scanned
  const amount = form.elements.amount_fen;
  const key = form.elements.idempotency_key;
  const submit = form.querySelector("[data-confirm-redeem]");
  const cancel = form.querySelector("[data-cancel-preview]");
  const errorBox = document.querySelector("[data-redeem-error]");
  const receipt = document.querySelector("[data-receipt]");
  const panel = document.querySelector("[data-receipt-panel]");
  let busy = false;
  let previewed = null; // {code, kind} of the card shown, or null
  let confirmNext = false;

  const reveal = () => {
    const box = panel.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) panel.scrollIntoView({ block: "start", behavior: "instant" });
  };
  const showFieldsFor = (kind) => {
    form.querySelectorAll("[data-for-kinds]").forEach((field) => {
      field.hidden = Boolean(kind) && !field.dataset.forKinds.split(" ").includes(kind);
    });
  };
  const forgetPreview = () => {
    previewed = null;
    submit.textContent = "查卡（回车）";
    cancel.hidden = true;
    showFieldsFor(null);
  };
  const clearErrors = () => {
    errorBox.hidden = true;
    form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.hidden = true; });
  };
  const showError = (error) => {
    errorBox.textContent = error.message;
    errorBox.hidden = false;
    reveal();
    const fields = (error.details && error.details.fields) || {};
    for (const [name, message] of Object.entries(fields)) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) {
        slot.textContent = message;
        slot.hidden = false;
      }
    }
    // A field to correct gets the focus; a dead code is cleared for the customer's refreshed one.
    const first = Object.keys(fields).map((name) => form.elements[name]).find((input) => input && input.type !== "hidden");
    if (first && first !== code) {
      first.closest(".field").hidden = false;
      first.focus();
      first.select();
      return;
    }
    if (error.code === "CODE_INVALID" || error.code === "RATE_LIMITED") {
      code.value = "";
      forgetPreview();
    }
    code.select();
    code.focus();
  };
  const fieldsOf = () => {
    const body = {};
    for (const [name, value] of new FormData(form)) {
      if (name !== "idempotency_key" && name !== "secret") body[name] = value.trim();
    }
    if (secret && secret.value.trim() && !body.code.includes(":")) body.code = `${body.code}:${secret.value.trim()}`;
    return body;
  };

  const lookUp = async () => {
    const body = fieldsOf();
    const { ok, answer } = await postJson(form.dataset.previewUrl, { code: body.code, store_id: body.store_id });
    if (!ok) {
      receipt.replaceChildren();
      showError(errorOf(answer));
      return;
    }
    receipt.innerHTML = answer.html;
    reveal();
    const card = answer.card;
    if (card.problem) {
      forgetPreview();
      code.select();
      code.focus();
      return;
    }
    previewed = { code: body.code, kind: card.kind };
    submit.textContent = "确认核销（回车）";
    cancel.hidden = false;
    showFieldsFor(card.kind);
    if (card.needs_amount && !amount.value.trim()) {
      amount.focus();
    } else if (card.kind === "count") {
      form.elements.uses.focus();
      form.elements.uses.select();
    } else {
      confirmNext = true; // the button is disabled until the look-up ends: focused then
    }
  };

  const redeemNow = async () => {
    const { ok, answer, replayed } = await postIdempotent(form.action, fieldsOf(), key.value);
    if (ok) {
      receipt.innerHTML = answer.html;
      if (replayed) receipt.insertAdjacentHTML("beforeend", '<p class="receipt-replayed">重复提交：这是同一笔核销的小票，没有重复扣款。</p>');
      key.value = newIdempotencyKey();
      code.value = "";
      if (secret) secret.value = "";
      amount.value = "";
      form.elements.uses.value = "1";
      form.elements.redeem_points.value = "0";
      forgetPreview();
      reveal();
      code.focus();
      return;
    }
    const error = errorOf(answer);
    if (error.code === "IDEMPOTENCY_CONFLICT") {
      // The previous attempt got no answer and may have gone through: start a new one.
      key.value = newIdempotencyKey();
      error.message = "上一笔核销的结果未确认，请到「核销记录」查看；本笔请按回车重新提交。";
    }
    showError(error);
  };

  document.addEventListener("click", (event) => {
    if (!event.target.closest("input, select, textarea, button, a, label, video, dialog")) code.focus();
  });
  const editedSincePreview = () => {
    if (previewed && fieldsOf().code !== previewed.code) forgetPreview();
  };
  code.addEventListener("input", editedSincePreview);
  if (secret) secret.addEventListener("input", editedSincePreview);
  cancel.addEventListener("click", () => {
    code.value = "";
    forgetPreview();
    receipt.innerHTML = '<p class="muted receipt-waiting">等待扫码…</p>';
    code.focus();
  });
  receipt.addEventListener("click", (event) => {
    if (event.target.closest("[data-print-receipt]")) window.print();
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === code && secret && !secret.value.trim() && isPrintedCardNo(code.value.trim())) {
      event.preventDefault();  // a printed card's number: its secret comes next
      secret.focus();
      return;
    }
    if (event.key === "Enter" && event.target !== code && event.target.tagName === "INPUT" && !code.value.trim()) {
      event.preventDefault();
      code.focus();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || !code.value.trim()) {
      code.focus();
      return;
    }
    busy = true;
    submit.disabled = true;
    clearErrors();
    try {
      if (previewed && previewed.code === fieldsOf().code) {
        await redeemNow();
      } else {
        await lookUp();
      }
    } catch (failure) {
      showError({ message: "网络异常，未确认是否核销成功。请按回车重试，不会重复扣款。", details: {} });
    } finally {
      busy = false;
      submit.disabled = false;
      if (confirmNext) submit.focus();
      confirmNext = false;
    }
  });
  startCamera(form);
}

// Camera scanning where the browser has a QR BarcodeDetector (feature-detected; no library).
async function startCamera(form) {
  const button = form.querySelector("[data-camera]");
  const video = form.querySelector("[data-camera-preview]");
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  const formats = await BarcodeDetector.getSupportedFormats().catch(() => []);
  if (!formats.includes("qr_code")) return;
  const detector = new BarcodeDetector({ formats: ["qr_code"] });
  let stream = null;
  const stop = () => {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    button.textContent = "用摄像头扫码";
  };
  const scan = async () => {
    if (!stream) return;
    const found = await detector.detect(video).catch(() => []);
    if (found.length) {
      stop();
      form.elements.code.value = found[0].rawValue;
      form.requestSubmit();
    } else {
      setTimeout(scan, 200);
    }
  };
  button.hidden = false;
  button.addEventListener("click", async () => {
    if (stream) {
      stop();
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (failure) {
      showPageError("无法打开摄像头，请检查浏览器的摄像头权限，或使用扫码枪。");
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    button.textContent = "关闭摄像头";
    await video.play();
    scan();
  });
}

// --- printed cards at the counter: activate, report lost, replace ---------------------------------

// Each form posts its fields as JSON; a scanner's Enter in a card-number field moves on to the next
// empty input of the form, and submits once the form is filled.
function startCardCounter(form) {
  const errorBox = document.querySelector("[data-card-error]");
  const result = document.querySelector("[data-card-result]");
  const key = form.elements.idempotency_key;
  const submit = form.querySelector('[type="submit"]');
  let busy = false;

  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !event.target.matches("[data-scan]")) return;
    const inputs = Array.from(form.querySelectorAll("input:not([type=hidden])"));
    const next = inputs.slice(inputs.indexOf(event.target) + 1).find((input) => !input.value.trim() && !input.matches("[data-scan]"));
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || (form.dataset.confirmAction && !window.confirm(form.dataset.confirmAction))) return;
    busy = true;
    submit.disabled = true;
    errorBox.hidden = true;
    form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.hidden = true; });
    const body = {};
    for (const [name, value] of new FormData(form)) {
      if (name !== "idempotency_key" && value.trim()) body[name] = value.trim();
    }
    try {
      const { ok, answer } = await postIdempotent(form.action, body, key ? key.value : newIdempotencyKey());
      if (ok) {
        const card = answer.card;
        result.replaceChildren();
        for (const [label, text] of [["", answer.message], ["卡号", card.card_no], ["状态", card.status],
          ["余额", `¥${(card.balance_fen / 100).toFixed(2)}`], ["剩余次数", card.remaining_uses], ["积分", card.points]]) {
          const line = document.createElement("p");
          line.textContent = label ? `${label}：${text}` : text;
          result.append(line);
        }
        if (key) key.value = newIdempotencyKey();
        form.reset();
        form.querySelectorAll("input[data-scan]").forEach((input) => { input.value = ""; }); // not the prefilled number
        form.querySelector("[data-scan]").focus();
      } else {
        const error = errorOf(answer);
        if (error.code === "IDEMPOTENCY_CONFLICT" && key) key.value = newIdempotencyKey();
        errorBox.textContent = error.message;
        errorBox.hidden = false;
        for (const [name, message] of Object.entries((error.details && error.details.fields) || {})) {
          const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
          if (slot) {
            slot.textContent = message;
            slot.hidden = false;
          }
        }
      }
    } catch (failure) {
      errorBox.textContent = "网络异常，结果未确认。请按回车重试，不会重复收款或补办。";
      errorBox.hidden = false;
    } finally {
      busy = false;
      submit.disabled = false;
    }
  });
}

// --- reversal of a redemption -------------------------------------------------------------------

// Each 冲正 button opens the page's <dialog>, which asks the reason (required, kept in the audit log).
function startReversals() {
  const dialog = document.getElementById("reverse-dialog");
  if (!dialog) return;
  const form = dialog.querySelector("form");
  const reason = form.elements.reason;
  const problem = dialog.querySelector("[data-error-for=reason]");
  const confirm = dialog.querySelector("[data-confirm-reversal]");
  let button = null;
  document.querySelectorAll("[data-reverse-url]").forEach((each) => {
    each.addEventListener("click", () => {
      button = each;
      dialog.querySelector("[data-reversal-summary]").textContent = each.dataset.summary || "";
      reason.value = "";
      problem.hidden = true;
      dialog.showModal();
      reason.focus();
    });
  });
  dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      problem.textContent = "请填写冲正原因";
      problem.hidden = false;
      reason.focus();
      return;
    }
    confirm.disabled = true;
    try {
      const { ok, answer } = await postIdempotent(button.dataset.reverseUrl, { reason: reason.value.trim() },
        button.dataset.idempotencyKey);
      if (ok) {
        window.location.reload();
        return;
      }
      problem.textContent = errorOf(answer).message;
      problem.hidden = false;
    } catch (failure) {
      problem.textContent = "网络异常，请刷新页面确认是否已冲正。";
      problem.hidden = false;
    }
    confirm.disabled = false;
  });
}

// --- copy buttons (the API key shown once) -------------------------------------------------------

function startCopyButtons() {
  document.querySelectorAll("button[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copyTarget).textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = button.dataset.copiedText || "已复制";
      } catch (failure) {
        const range = document.createRange();  // no clipboard (plain http): select it for Ctrl+C
        range.selectNodeContents(document.getElementById(button.dataset.copyTarget));
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        button.textContent = "请按 Ctrl+C 复制";
      }
    });
  });
}

// --- start --------------------------------------------------------------------------------------

function startWizard(form) {
  dependentSections(form);
  repeatableRows(form);
  showFindings(form, JSON.parse(document.getElementById("initial-findings").textContent));
  if (form.dataset.validateUrl) liveValidation(form);
}

// The error summary names each field by its label and takes the cashier or manager to it.
function startErrorSummary() {
  const summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.querySelectorAll("a[data-field]").forEach((link) => {
    const name = link.dataset.field;
    const input = document.querySelector(`[name="${CSS.escape(name)}"]`)
      || document.querySelector(`[name="${CSS.escape(name.replace(/\[\d+\]$/, ""))}"]`);
    if (!input) return;
    const label = input.labels && input.labels[0];
    if (label) {
      const title = document.createElement("strong");
      title.textContent = `${label.textContent.replace(/[（(].*$/, "").trim()}：`;
      link.prepend(title);
    }
    link.addEventListener("click", (event) => {
      event.preventDefault();
      input.scrollIntoView({ block: "center" });
      input.focus();
    });
  });
  summary.focus();
}

// --- GB/T 2260 region pickers -------------------------------------------------------------------

let regionTree = null;

async function loadRegions(url) {
  if (!regionTree) {
    regionTree = fetch(url, { credentials: "same-origin" }).then((response) => response.json());
  }
  return regionTree;
}

// Names of the data's codes, for the hint beside the input (unknown districts: the city's name + code).
function regionIndex(tree) {
  const names = new Map();
  for (const province of tree.provinces) {
    names.set(province.code, { name: province.name, province });
    for (const city of province.cities) {
      names.set(city.code, { name: city.name, province, city });
      for (const district of city.districts) names.set(district.code, { name: district.name, province, city, district });
    }
  }
  return names;
}

// The same reading as server/regions region_name, for the code being typed.
function regionFullName(names, code) {
  if (!/^\d{6}$/.test(code)) return "";
  const provinceCode = `${code.slice(0, 2)}0000`;
  const cityCode = `${code.slice(0, 4)}00`;
  const province = names.get(provinceCode);
  if (!province) return code;
  let text = province.name;
  if (cityCode !== provinceCode) {
    const city = names.get(cityCode);
    if (city && city.name !== "市辖区") text += city.name;
    if (code !== cityCode) {
      const district = names.get(code);
      if (!district) return `${text}（${code}）`;
      text += district.name;
    } else if (!city) {
      return `${text}（${code}）`;
    }
  }
  return text;
}

async function startRegionPicker(picker) {
  const input = picker.querySelector("input");
  const hint = picker.querySelector("[data-region-name]");
  const selects = picker.querySelector("[data-region-selects]");
  const [provinceList, cityList, districtList] = ["province", "city", "district"].map(
    (level) => selects.querySelector(`[data-level="${level}"]`));
  const append = picker.hasAttribute("data-append");
  let tree;
  try {
    tree = await loadRegions(picker.dataset.regionsUrl);
  } catch (failure) {
    return; // the code input alone still works
  }
  const names = regionIndex(tree);
  const fill = (list, items, prompt) => {
    list.replaceChildren(new Option(prompt, ""), ...items.map((item) => new Option(item.name, item.code)));
    list.disabled = items.length === 0;
  };
  const provinceOf = () => tree.provinces.find((p) => p.code === provinceList.value);
  const cityOf = () => (provinceOf() || { cities: [] }).cities.find((c) => c.code === cityList.value);
  const chosen = () => districtList.value || cityList.value || provinceList.value;
  const codesTyped = () => input.value.split(/[,，\s]+/).filter(Boolean);
  const describe = () => {
    const codes = append ? codesTyped() : [input.value.trim()];
    hint.textContent = codes.map((code) => regionFullName(names, code)).filter(Boolean).join("、");
  };
  const showCode = (code) => {
    const entry = names.get(code) || names.get(`${code.slice(0, 4)}00`) || names.get(`${code.slice(0, 2)}0000`);
    provinceList.value = entry ? entry.province.code : "";
    fill(cityList, (provinceOf() || { cities: [] }).cities, "选择城市");
    cityList.value = entry && entry.city ? entry.city.code : "";
    fill(districtList, (cityOf() || { districts: [] }).districts, "选择区县");
    districtList.value = entry && entry.district ? entry.district.code : "";
  };
  fill(provinceList, tree.provinces, "选择省份");
  provinceList.addEventListener("change", () => {
    fill(cityList, (provinceOf() || { cities: [] }).cities, "选择城市");
    fill(districtList, [], "选择区县");
    if (!append) { input.value = chosen(); describe(); }
  });
  cityList.addEventListener("change", () => {
    fill(districtList, (cityOf() || { districts: [] }).districts, "选择区县");
    if (!append) { input.value = chosen(); describe(); }
  });
  districtList.addEventListener("change", () => {
    if (!append) { input.value = chosen(); describe(); }
  });
  const add = picker.querySelector("[data-region-add]");
  if (add) {
    add.addEventListener("click", () => {
      const code = chosen();
      if (!code) return;
      const codes = codesTyped();
      if (!codes.includes(code)) codes.push(code);
      input.value = codes.join(",");
      describe();
    });
  }
  input.addEventListener("input", () => {
    describe();
    if (!append && /^\d{6}$/.test(input.value.trim())) showCode(input.value.trim());
  });
  if (!append && input.value.trim()) {
    showCode(input.value.trim());
  } else {
    fill(cityList, [], "选择城市");
    fill(districtList, [], "选择区县");
  }
  selects.hidden = false;
  describe();
}

// On a narrow screen the sidebar folds away behind the header's 菜单 button.
function startMenuToggle() {
  const toggle = document.querySelector("[data-menu-toggle]");
  const nav = document.getElementById("main-nav");
  if (!toggle || !nav) return;
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const open = document.body.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", String(open));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  startMenuToggle();
  startErrorSummary();
  document.querySelectorAll("[data-region-picker]").forEach(startRegionPicker);
  const wizard = document.getElementById("product-form");
  if (wizard) startWizard(wizard);
  const counter = document.getElementById("redeem-form");
  if (counter) startCounter(counter);
  document.querySelectorAll("form[data-card-action]").forEach(startCardCounter);
  startReversals();
  startCopyButtons();
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // A post that moves value is sent once: a double click does not exchange twice.
  document.querySelectorAll("form[data-submit-once]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      setTimeout(() => form.querySelectorAll('[type="submit"]').forEach((button) => { button.disabled = true; }), 0);
    });
  });
});
