// @ts-check
/**
 * Stryker ignorer for the mutation run (stryker.config.mjs): mutants in text that only people
 * read are reported as "Ignored", each with the reason below, instead of counting as survivors.
 * No rule of the dispatcher reads this text back, so no check of the core can see it change.
 * Text a test does read (live-settings' refusals) is not matched here and stays mutated.
 *
 * Each entry: where the text sits → why it is only for people. Keep SURVIVORS.md's count in step.
 */
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

const VIEW = 'src/shared/dispatch/view.ts';

/** @param {import('@babel/core').NodePath} path @returns {string | undefined} */
function textReason(path) {
  const parent = path.parentPath;
  if (!parent) return undefined;
  const node = path.node;
  const p = parent.node;
  const name = (/** @type {any} */ n) => (n?.type === 'Identifier' ? n.name : n?.type === 'StringLiteral' ? n.value : undefined);

  // { summary: `...` } on decisions: the activity / timer summary Temporal Web shows.
  if (p.type === 'ObjectProperty' && p.value === node && name(p.key) === 'summary')
    return 'user text: a decision summary, shown by Temporal Web only (workflows/work.ts passes it to executeWithOptions/sleep)';
  // { message: '...' } on outcomes, events and failSweep: the words of a progress line or error.
  if (p.type === 'ObjectProperty' && p.value === node && name(p.key) === 'message')
    return 'user text: an outcome/event message; the core branches on ok/verdict, never on the message';
  // const summary = `...`, const why = ..., const report = ...: text built for one of the above.
  if (p.type === 'VariableDeclarator' && p.init === node && ['summary', 'why', 'report', 'NO_NODE_IN_SERVICE'].includes(name(p.id) ?? ''))
    return `user text: ${name(p.id)} only feeds a summary, a failure message or the waiting-for line`;
  if (p.type === 'CallExpression' && p.arguments.includes(/** @type {any} */ (node))) {
    const index = p.arguments.indexOf(/** @type {any} */ (node));
    const callee = p.callee;
    const method = callee.type === 'MemberExpression' ? name(callee.property) : undefined;
    // step.warn(`...`): a warning line for the sweep's output; nothing reads warnings back.
    if (method === 'warn') return 'user text: a warning line (state.warnings), only printed';
    // step.wakeAt(at, summary) and later(at, summary) in timers.ts: the timer's summary.
    if ((method === 'wakeAt' || name(callee) === 'later') && index === 1) return 'user text: a timer summary, shown by Temporal Web only';
    // failSweep(step, message, errorType): the message (errorType stays mutated).
    if (name(callee) === 'failSweep' && index === 1) return 'user text: the failure message of a failed sweep (its errorType stays mutated)';
  }
  // throw new Error(`...`): which error is thrown is behaviour; its wording is for people.
  if (p.type === 'NewExpression' && p.arguments.includes(/** @type {any} */ (node)) && ['Error', 'RangeError', 'TypeError'].includes(name(p.callee) ?? ''))
    return 'user text: the wording of an error (that it is thrown stays mutated)';
  if (p.type === 'AssignmentExpression' && p.right === node && p.left.type === 'MemberExpression') {
    // state.waitingFor = ...: read only by detailsOf (view.ts), the Temporal Web line.
    if (name(p.left.property) === 'waitingFor') return 'user text: waitingFor is read only by view.ts (the Temporal Web details line)';
    // steering.quarantined[node] = `failed N probes...`: the core only asks whether the entry exists.
    const object = p.left.object;
    if (p.left.computed && object.type === 'MemberExpression' && ['quarantined', 'leftOut'].includes(name(object.property) ?? ''))
      return 'user text: the reason a node is out; the core only tests the entry against undefined';
  }
  return undefined;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'user-text', {
    /** @param {import('@babel/core').NodePath} path */
    shouldIgnore(path) {
      if (path.node.type === 'Program') {
        const file = /** @type {any} */ (path.hub)?.file?.opts?.filename ?? '';
        if (file.replaceAll('\\', '/').endsWith(VIEW))
          return 'user text: view.ts is what `rigsweep watch`/`status` and Temporal Web show, derived from the state and never read back by the core';
        return undefined;
      }
      return textReason(path);
    },
  }),
];
