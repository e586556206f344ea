/** The playground: picks the backend (WASM, else pure TS, shown in the page) and wires the two tabs. */
import { loadBackend, VERSION, type BackendName } from 'downhill';
import { initMnist } from './mnist';
import { initPaths } from './paths';
import { byId } from './ui';
import './style.css';

export interface BackendChoice {
  name: BackendName;
  /** Why WebAssembly is not used, or null. */
  fallback: string | null;
}

/** WebAssembly, unless it fails to load (or `?backend=js` asks for the TypeScript mirror). */
async function chooseBackend(): Promise<BackendChoice> {
  const status = byId<HTMLParagraphElement>('backend');
  const asked = new URLSearchParams(location.search).get('backend');
  let choice: BackendChoice;
  if (asked === 'js') {
    choice = { name: 'js', fallback: 'asked for by ?backend=js' };
  } else {
    try {
      await loadBackend('wasm');
      choice = { name: 'wasm', fallback: null };
    } catch (e) {
      choice = { name: 'js', fallback: `WebAssembly failed to load: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  const backend = await loadBackend(choice.name);
  const info = backend.info();
  status.dataset.backend = choice.name;
  if (choice.fallback === null) {
    status.textContent = `downhill ${VERSION} on WebAssembly (${info.simd}, ${info.threads} thread${info.threads === 1 ? '' : 's'})`;
  } else {
    status.classList.add('warn');
    status.textContent = `downhill ${VERSION} on its pure-TypeScript backend (same numbers, slower): ${choice.fallback}`;
  }
  return choice;
}

/** A tablist as WAI-ARIA describes it: arrows, Home and End move between tabs; one tab stop. */
function initTabs(onShow: (panel: string) => void): void {
  const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role="tab"]'));
  const show = (tab: HTMLButtonElement, focus: boolean) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      byId(t.getAttribute('aria-controls') as string).hidden = !on;
    }
    if (focus) tab.focus();
    onShow(tab.getAttribute('aria-controls') as string);
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => show(tab, false));
    tab.addEventListener('keydown', (e) => {
      const to =
        e.key === 'ArrowRight'
          ? (i + 1) % tabs.length
          : e.key === 'ArrowLeft'
            ? (i - 1 + tabs.length) % tabs.length
            : e.key === 'Home'
              ? 0
              : e.key === 'End'
                ? tabs.length - 1
                : -1;
      if (to < 0) return;
      e.preventDefault();
      show(tabs[to], true);
    });
  });
}

async function main(): Promise<void> {
  const backend = await chooseBackend();
  const paths = initPaths(backend.name);
  const mnist = initMnist(backend.name);
  initTabs((panel) => {
    if (panel === 'panel-paths') paths.shown();
    else mnist.shown();
  });
  paths.shown();
}

main().catch((e: unknown) => {
  const status = byId<HTMLParagraphElement>('backend');
  status.classList.add('warn');
  status.textContent = `The playground could not start: ${e instanceof Error ? e.message : String(e)}`;
  throw e;
});
