import { isSbmpError, SbmpError } from '../../core/errors.js';
import { checkInteger } from './options.js';

/**
 * Start-up phases, run in this order:
 * - `pre-init`: configuration, metrics registry, tracer;
 * - `core-init`: store, pools, fan-out hub, plugins, listening socket;
 * - `post-init`: health stream, heartbeat, periodic tasks.
 */
export type LifecyclePhase = 'pre-init' | 'core-init' | 'post-init';
export const LIFECYCLE_PHASES: readonly LifecyclePhase[] = Object.freeze([
  'pre-init',
  'core-init',
  'post-init',
]);

/** Hooks embedding code can register; each start-up hook runs right after its phase. */
export type LifecycleHookName = 'onConfigLoaded' | 'onServiceBound' | 'onRuntimeReady' | 'onShutdown';
const HOOK_AFTER_PHASE: Readonly<Record<LifecyclePhase, LifecycleHookName>> = {
  'pre-init': 'onConfigLoaded',
  'core-init': 'onServiceBound',
  'post-init': 'onRuntimeReady',
};

export type LifecycleStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** One named unit of start-up. `stop` undoes `start`; a `start` that throws cleans up after itself. */
export interface LifecycleStep<C = void> {
  /** Unique within the lifecycle; named in errors (`details.step`). */
  readonly name: string;
  start(context: C): unknown;
  stop?(context: C): unknown;
  /** How to fix a failed start, appended to the error message (e.g. "pass --store memory"). */
  readonly hint?: string;
}

export type LifecycleHook<C = void> = (context: C) => unknown;

export interface LifecycleOptions {
  /** Longest one step's `start` or one start-up hook may take, in ms. Default 30,000. */
  readonly startTimeoutMs?: number;
  /** Longest one step's `stop` or one `onShutdown` hook may take, in ms. Default 5,000. */
  readonly stopTimeoutMs?: number;
}

export const DEFAULT_START_TIMEOUT_MS = 30_000;
export const DEFAULT_STOP_TIMEOUT_MS = 5000;

/** One thing that failed while stopping: `phase` is the step's phase, or `shutdown` for an `onShutdown` hook. */
export interface StopFailure {
  readonly phase: LifecyclePhase | 'shutdown';
  readonly step: string;
  readonly error: SbmpError;
}

interface Registered<C> {
  readonly phase: LifecyclePhase;
  readonly step: LifecycleStep<C>;
}

/** What a bounded call resolves to when it ran out of time; nothing a step throws can be one. */
class Timeout {}

/**
 * Runs start-up in phases and shutdown in reverse, so that a process is either fully started or
 * not at all, and stops loudly:
 *
 *   pre-init steps -> onConfigLoaded -> core-init steps -> onServiceBound
 *     -> post-init steps -> onRuntimeReady                           (status: running)
 *   shutdown: onShutdown hooks (last registered first) -> started steps' stop (last started first)
 *
 * A step or start-up hook that throws or outlasts `startTimeoutMs` stops start-up: the steps
 * already started are stopped in reverse order, and `start()` rejects with an `SbmpError`
 * naming the phase, the step and the cause (`details: { phase, step }`). Its code is the cause's
 * when the cause is an `SbmpError` (a `bad_config` stays `bad_config`), `timeout` for a timeout,
 * else `internal`. A start that finishes after its timeout is stopped as soon as it finishes.
 * `onShutdown` hooks run at `shutdown()` of a started lifecycle, not on a failed start-up.
 */
export class Lifecycle<C = void> {
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #steps: Registered<C>[] = [];
  readonly #hooks = new Map<LifecycleHookName, Set<LifecycleHook<C>>>();
  /** Steps whose `start` completed, in start order. */
  #started: Registered<C>[] = [];
  #status: LifecycleStatus = 'idle';
  #context: C | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: LifecycleOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new SbmpError('bad_config', 'Lifecycle options must be an object');
    }
    this.#startTimeoutMs = checkInteger(
      options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      'startTimeoutMs',
      1,
    );
    this.#stopTimeoutMs = checkInteger(options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, 'stopTimeoutMs', 1);
  }

  get status(): LifecycleStatus {
    return this.#status;
  }

  /** Adds a step to the end of `phase`. Only before `start()`; names must be unique. */
  addStep(phase: LifecyclePhase, step: LifecycleStep<C>): this {
    if (this.#status !== 'idle') {
      throw new SbmpError(
        'bad_config',
        `lifecycle steps must be added before start(); '${step?.name}' came late`,
      );
    }
    if (!LIFECYCLE_PHASES.includes(phase)) {
      throw new SbmpError(
        'bad_config',
        `phase must be one of ${LIFECYCLE_PHASES.join(', ')}, got '${phase}'`,
      );
    }
    if (step === null || typeof step !== 'object' || typeof step.name !== 'string' || step.name === '') {
      throw new SbmpError('bad_config', 'a lifecycle step needs a non-empty name');
    }
    if (typeof step.start !== 'function' || (step.stop !== undefined && typeof step.stop !== 'function')) {
      throw new SbmpError(
        'bad_config',
        `lifecycle step '${step.name}' needs a start function (and stop, if any, a function)`,
      );
    }
    if (this.#steps.some((r) => r.step.name === step.name)) {
      throw new SbmpError('bad_config', `lifecycle step '${step.name}' is already registered`);
    }
    this.#steps.push({ phase, step });
    return this;
  }

  /** After `pre-init`: the configuration is loaded. Returns a function that removes the hook. */
  onConfigLoaded(hook: LifecycleHook<C>): () => void {
    return this.#addHook('onConfigLoaded', hook);
  }

  /** After `core-init`: the store, hub and listener are bound. */
  onServiceBound(hook: LifecycleHook<C>): () => void {
    return this.#addHook('onServiceBound', hook);
  }

  /** After `post-init`: everything is running. */
  onRuntimeReady(hook: LifecycleHook<C>): () => void {
    return this.#addHook('onRuntimeReady', hook);
  }

  /** At `shutdown()`, before any step is stopped. */
  onShutdown(hook: LifecycleHook<C>): () => void {
    return this.#addHook('onShutdown', hook);
  }

  /** Runs every phase in order. Only once; a failed start-up is rolled back before this rejects. */
  start(context: C): Promise<void> {
    if (this.#status !== 'idle') {
      return Promise.reject(
        new SbmpError('bad_config', `start() runs once, on an idle lifecycle; the status is ${this.#status}`),
      );
    }
    this.#status = 'starting';
    this.#context = context;
    this.#starting = this.#runStart(context);
    return this.#starting;
  }

  /**
   * Runs the `onShutdown` hooks, then stops the started steps in reverse order, each within
   * `stopTimeoutMs`. Everything is attempted; if anything failed, rejects with `internal` whose
   * `details.failures` lists each `{ phase, step, code, message }`. Waits for a start-up in
   * progress first. Idempotent: later calls return the same promise.
   */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#runShutdown();
    return this.#stopping;
  }

  async #runStart(context: C): Promise<void> {
    for (const phase of LIFECYCLE_PHASES) {
      for (const registered of this.#steps.filter((r) => r.phase === phase)) {
        const { step } = registered;
        const outcome = await this.#bounded(() => step.start(context), this.#startTimeoutMs);
        if (outcome.ok) {
          this.#started.push(registered);
          continue;
        }
        if (outcome.late !== undefined) this.#stopWhenLate(registered, outcome.late, context);
        throw await this.#failStart(phase, step.name, outcome.error, step.hint);
      }
      const hookName = HOOK_AFTER_PHASE[phase];
      let index = 0;
      for (const hook of this.#hooksOf(hookName)) {
        const label = hookLabel(hookName, hook, ++index);
        const outcome = await this.#bounded(() => hook(context), this.#startTimeoutMs);
        if (!outcome.ok) throw await this.#failStart(phase, label, outcome.error, undefined);
      }
    }
    this.#status = 'running';
  }

  async #failStart(
    phase: LifecyclePhase,
    step: string,
    cause: unknown,
    hint: string | undefined,
  ): Promise<SbmpError> {
    const failures = await this.#stopStarted();
    this.#status = 'failed';
    const code = cause instanceof Timeout ? 'timeout' : isSbmpError(cause) ? cause.code : 'internal';
    const reason =
      cause instanceof Timeout
        ? `did not finish within ${this.#startTimeoutMs} ms`
        : cause instanceof Error
          ? cause.message
          : String(cause);
    const rollback =
      failures.length === 0 ? '' : ` (${failures.length} step(s) also failed to stop: ${describe(failures)})`;
    return new SbmpError(
      code,
      `start-up failed in ${phase} at '${step}': ${reason}${hint === undefined ? '' : `. ${hint}`}${rollback}`,
      {
        cause: cause instanceof Timeout ? undefined : cause,
        details: { phase, step, ...(failures.length === 0 ? {} : { rollbackFailures: plain(failures) }) },
      },
    );
  }

  async #runShutdown(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    if (this.#status !== 'running') {
      // Never started, or start-up failed and was rolled back already.
      this.#status = this.#status === 'idle' ? 'stopped' : this.#status;
      return;
    }
    this.#status = 'stopping';
    const context = this.#context as C;
    const failures: StopFailure[] = [];
    const hooks = [...this.#hooksOf('onShutdown')];
    for (let i = hooks.length - 1; i >= 0; i--) {
      const hook = hooks[i]!;
      const outcome = await this.#bounded(() => hook(context), this.#stopTimeoutMs);
      if (!outcome.ok) {
        failures.push({
          phase: 'shutdown',
          step: hookLabel('onShutdown', hook, i + 1),
          error: this.#stopError(outcome.error),
        });
      }
    }
    failures.push(...(await this.#stopStarted()));
    this.#status = 'stopped';
    if (failures.length > 0) {
      throw new SbmpError(
        'internal',
        `shutdown finished with ${failures.length} failure(s): ${describe(failures)}`,
        {
          cause: new AggregateError(
            failures.map((f) => f.error),
            'shutdown failures',
          ),
          details: { failures: plain(failures) },
        },
      );
    }
  }

  /** Stops every started step, last started first, each bounded; returns what failed. */
  async #stopStarted(): Promise<StopFailure[]> {
    const failures: StopFailure[] = [];
    const context = this.#context as C;
    const started = this.#started;
    this.#started = [];
    for (let i = started.length - 1; i >= 0; i--) {
      const { phase, step } = started[i]!;
      if (step.stop === undefined) continue;
      const stop = step.stop.bind(step);
      const outcome = await this.#bounded(() => stop(context), this.#stopTimeoutMs);
      if (!outcome.ok) failures.push({ phase, step: step.name, error: this.#stopError(outcome.error) });
    }
    return failures;
  }

  #stopError(cause: unknown): SbmpError {
    if (cause instanceof Timeout) {
      return new SbmpError('timeout', `did not stop within ${this.#stopTimeoutMs} ms`);
    }
    if (isSbmpError(cause)) return cause;
    return new SbmpError('internal', cause instanceof Error ? cause.message : String(cause), { cause });
  }

  /** A step whose start outlived its timeout may still finish; stop it then, so nothing is left running. */
  #stopWhenLate(registered: Registered<C>, late: Promise<unknown>, context: C): void {
    const { step } = registered;
    late.then(
      async () => {
        if (step.stop === undefined) return;
        const stop = step.stop.bind(step);
        const outcome = await this.#bounded(() => stop(context), this.#stopTimeoutMs);
        if (!outcome.ok) {
          process.emitWarning(
            `lifecycle step '${step.name}' started after its timeout and then failed to stop: ${this.#stopError(outcome.error).message}`,
            'SbmpLifecycle',
          );
        }
      },
      () => undefined,
    );
  }

  async #bounded(
    run: () => unknown,
    ms: number,
  ): Promise<{ ok: true } | { ok: false; error: unknown; late?: Promise<unknown> }> {
    const work = Promise.resolve().then(run);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Timeout>((resolve) => {
      timer = setTimeout(() => resolve(new Timeout()), ms);
    });
    try {
      const first = await Promise.race([work, timeout]);
      return first instanceof Timeout ? { ok: false, error: first, late: work } : { ok: true };
    } catch (error) {
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }

  #addHook(name: LifecycleHookName, hook: LifecycleHook<C>): () => void {
    if (typeof hook !== 'function') throw new SbmpError('bad_config', `${name} needs a function`);
    let hooks = this.#hooks.get(name);
    if (hooks === undefined) {
      hooks = new Set();
      this.#hooks.set(name, hooks);
    }
    hooks.add(hook);
    return () => hooks.delete(hook);
  }

  #hooksOf(name: LifecycleHookName): Iterable<LifecycleHook<C>> {
    return this.#hooks.get(name) ?? [];
  }
}

function hookLabel(name: LifecycleHookName, hook: LifecycleHook<never>, position: number): string {
  return hook.name === '' ? `${name} hook #${position}` : `${name} hook '${hook.name}'`;
}

function describe(failures: readonly StopFailure[]): string {
  return failures.map((f) => `${f.phase} '${f.step}': ${f.error.message}`).join('; ');
}

function plain(failures: readonly StopFailure[]): Array<Record<string, string>> {
  return failures.map((f) => ({
    phase: f.phase,
    step: f.step,
    code: f.error.code,
    message: f.error.message,
  }));
}
