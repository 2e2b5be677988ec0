() => {
  // chipqa's page behaviour, loaded once by Gradio (mount_gradio_app js=...).
  //  - Questions go through a queue: Enter, Ask, the examples and "Ask again" add to it; the next question
  //    is handed to the hidden #pending-q / #run-q pair when the previous answer is done (layout.py).
  //  - [n] markers and bold figures show their source card: in the side panel on a wide screen, directly
  //    under the answer when the panel sits below the chat (a phone).
  //  - Copy puts the answer and its sources on the clipboard; Edit puts the resolved question in the box.
  const state = {queue: [], busy: false};
  const $ = (sel) => document.querySelector(sel);
  // Gradio scopes custom CSS under its container, so the busy flag goes on the chat column inside it.
  const root = () => document.getElementById('chat-col') || document.body;

  const setValue = (textarea, value) => {
    textarea.value = value;
    textarea.dispatchEvent(new Event('input', {bubbles: true}));
  };

  const renderQueue = () => {
    const list = document.getElementById('queued-list');
    if (!list) return;
    list.replaceChildren(...state.queue.map((q, i) => {
      const chip = document.createElement('span');
      chip.className = 'qa-queued';
      chip.textContent = `Queued: ${q}`;
      const drop = document.createElement('button');
      drop.type = 'button';
      drop.textContent = '✕';
      drop.title = 'Remove from the queue';
      drop.dataset.drop = String(i);
      chip.appendChild(drop);
      return chip;
    }));
  };

  const pump = () => {
    if (state.busy || !state.queue.length) return;
    const pending = $('#pending-q textarea');
    const run = $('#run-q');
    if (!pending || !run) { setTimeout(pump, 200); return; }
    const question = state.queue.shift();
    state.busy = true;
    root().classList.add('qa-busy');
    renderQueue();
    setValue(pending, question);
    setTimeout(() => run.click(), 0);
  };

  const submit = (question) => {
    question = (question || '').trim();
    if (!question) return;
    state.queue.push(question);
    renderQueue();
    pump();
  };

  const done = () => {
    state.busy = false;
    root().classList.remove('qa-busy');
    setTimeout(pump, 50);
  };

  const submitBox = () => {
    const box = $('#question textarea');
    if (!box) return;
    const question = box.value;
    setValue(box, '');
    submit(question);
  };

  const copy = async (button) => {
    const text = button.dataset.copy || '';
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    button.classList.add('copied');
    button.textContent = 'Copied';
    setTimeout(() => { button.classList.remove('copied'); button.textContent = 'Copy'; }, 1500);
  };

  const stacked = () => {
    const panel = document.getElementById('sources');
    const chat = document.getElementById('chat');
    if (!panel || !chat) return false;
    return panel.getBoundingClientRect().top >= chat.getBoundingClientRect().bottom - 5;
  };

  const show = (el) => {
    const turn = el.dataset.turn, n = el.dataset.n;
    const panel = document.getElementById('sources');
    if (!panel || !turn || !n) return;
    const card = panel.querySelector(`.src-turn[data-turn="${turn}"] .src-card[data-n="${n}"]`);
    const bubble = el.closest('.qa-answer');
    const inline = bubble && bubble.querySelector('.qa-inline');
    if (stacked() && card && inline) {
      const copyOf = card.cloneNode(true);
      copyOf.removeAttribute('id');
      copyOf.classList.add('active');
      inline.replaceChildren();
      const close = document.createElement('button');
      close.type = 'button';
      close.className = 'qa-inline-close';
      close.textContent = 'Hide source';
      inline.append(close, copyOf);
      inline.hidden = false;
      // The chatbot scrolls itself to the bottom 300 ms after an answer lands; reveal the card after that too.
      const reveal = (behavior) => { if (inline.isConnected) inline.scrollIntoView({block: 'start', behavior}); };
      reveal('smooth');
      setTimeout(() => reveal('auto'), 400);
      setTimeout(() => reveal('auto'), 900);
      return;
    }
    panel.querySelectorAll('.src-turn')
      .forEach(t => t.classList.toggle('src-hidden', t.dataset.turn !== turn));
    panel.querySelectorAll('.src-card.active').forEach(c => c.classList.remove('active'));
    if (card) {
      card.classList.add('active');
      card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    }
  };

  document.addEventListener('keydown', (ev) => {
    const box = ev.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.closest('#question')) return;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      submitBox();
    }
  }, true);

  document.addEventListener('click', (ev) => {
    const target = ev.target;
    if (!(target instanceof Element)) return;
    const hit = (sel) => target.closest(sel);
    let el;
    if ((el = hit('#ask'))) { ev.preventDefault(); submitBox(); }
    else if ((el = hit('button.example, button.qa-again'))) { ev.preventDefault(); submit(el.dataset.q); }
    else if ((el = hit('button.qa-edit'))) {
      const box = $('#question textarea');
      if (box) { setValue(box, el.dataset.q || ''); box.focus(); }
    }
    else if ((el = hit('button.qa-copy'))) { ev.preventDefault(); copy(el); }
    else if ((el = hit('.qa-queued button[data-drop]'))) {
      state.queue.splice(Number(el.dataset.drop), 1);
      renderQueue();
    }
    else if ((el = hit('.qa-inline-close'))) {
      const inline = el.closest('.qa-inline');
      if (inline) { inline.hidden = true; inline.replaceChildren(); }
    }
    else if ((el = hit('.cite[data-n], .fig[data-n], .show-src[data-n]'))) { ev.preventDefault(); show(el); }
  });

  window.chipqa = {submit, done, state};
}
