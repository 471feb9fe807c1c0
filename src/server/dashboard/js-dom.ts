/**
 * `/dashboard-dom.js`, a browser module: the few DOM helpers the dashboard's modules share.
 * Text always goes in through `textContent` or text nodes, never as markup.
 *
 * The source is a template literal: no backtick and no dollar-brace inside.
 */
export const DASHBOARD_DOM_JS = `// DOM helpers of the SBMP dashboard.

export const byId = (id) => document.getElementById(id);

/** Sets an element's text, leaving the DOM alone when it is unchanged. */
export function setText(id, text) {
  const node = byId(id);
  if (node.textContent !== text) node.textContent = text;
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Text that may also wrap after each separator: keys after '/', pool names after '.'. */
export function breakable(text, separator) {
  const fragment = document.createDocumentFragment();
  const parts = text.split(separator);
  parts.forEach((part, i) => {
    fragment.append(i < parts.length - 1 ? part + separator : part);
    if (i < parts.length - 1) fragment.append(element('wbr'));
  });
  return fragment;
}
`;
