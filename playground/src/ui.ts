/** Small DOM helpers: every control is made with its label, so none can be left without one. */

let counter = 0;

/** A fresh element id. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

type Attrs = Record<string, string | number | boolean | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

/** A `<div class="field">` with a `<label>` bound to `control`, and an optional hint that describes it. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLDivElement {
  if (!control.id) control.id = uid('c');
  const box = el('div', { class: 'field' }, el('label', { for: control.id, text: label }), control);
  if (hint) {
    const h = el('small', { id: uid('hint'), class: 'hint', text: hint });
    control.setAttribute('aria-describedby', h.id);
    box.append(h);
  }
  return box;
}

/** A checkbox with its label after it. */
export function checkbox(
  label: string,
  checked: boolean,
  hint?: string,
): { box: HTMLDivElement; input: HTMLInputElement } {
  const input = el('input', { type: 'checkbox', id: uid('c') });
  input.checked = checked;
  const box = el('div', { class: 'field check' }, input, el('label', { for: input.id, text: label }));
  if (hint) {
    const h = el('small', { id: uid('hint'), class: 'hint', text: hint });
    input.setAttribute('aria-describedby', h.id);
    box.append(h);
  }
  return { box, input };
}

export function select(options: readonly { value: string; label: string }[], value: string): HTMLSelectElement {
  const s = el('select', { id: uid('c') });
  for (const o of options) s.append(el('option', { value: o.value, text: o.label }));
  s.value = value;
  return s;
}

/** A range slider with the value shown in an `<output>` beside it. */
export function slider(
  label: string,
  o: { min: number; max: number; step: number; value: number; unit?: string; id?: string },
): { box: HTMLDivElement; input: HTMLInputElement } {
  const input = el('input', { type: 'range', id: o.id ?? uid('c'), min: o.min, max: o.max, step: o.step });
  input.value = String(o.value);
  const out = el('output', { for: input.id, text: `${o.value}${o.unit ?? ''}` });
  input.addEventListener('input', () => (out.textContent = `${input.value}${o.unit ?? ''}`));
  const box = el('div', { class: 'field slider' }, el('label', { for: input.id, text: label }), input, out);
  return { box, input };
}

/** A number input; `step` 'any' takes any real value. */
export function numberInput(
  value: number | null,
  o: { min?: number; max?: number; step?: number | 'any' } = {},
): HTMLInputElement {
  const input = el('input', {
    type: 'number',
    id: uid('c'),
    inputmode: 'decimal',
    step: o.step ?? 'any',
    min: o.min !== undefined && Number.isFinite(o.min) ? o.min : undefined,
    max: o.max !== undefined && Number.isFinite(o.max) ? o.max : undefined,
  });
  input.value = value === null ? '' : String(value);
  return input;
}

/** A number input's value: null when empty, NaN when not a number (the library names the option then). */
export function readNumber(input: HTMLInputElement): number | null {
  const t = input.value.trim();
  return t === '' ? null : Number(t);
}

/** Yields to the browser so it can paint and handle input between chunks of work. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}
