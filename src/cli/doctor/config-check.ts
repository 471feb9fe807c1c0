import { isSbmpError } from '../../core/errors.js';
import { resolveServeSettings, SERVE_ENV, type ServeFlags, type ServeSettings } from '../serve-config.js';
import { type CheckResult, type DoctorInput, fail, formatBytes, messageOf, pass } from './check.js';

export interface LoadedConfig {
  readonly result: CheckResult;
  /**
   * The settings the other checks use. Resolved without the memory limit of the flags and the
   * environment, which the memory check parses on its own, so a bad size fails that check
   * instead of hiding every other one.
   */
  readonly settings: ServeSettings | undefined;
}

/**
 * The `config` check: loads and validates the settings exactly as `sbmp serve` does, through
 * its loader (defaults < config file < `SBMP_*` environment < flags).
 */
export async function loadConfig(
  input: DoctorInput,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<LoadedConfig> {
  const flags: ServeFlags = {
    ...(input.config === undefined ? {} : { config: input.config }),
    ...(input.host === undefined ? {} : { host: input.host }),
    ...(input.port === undefined ? {} : { port: input.port }),
    ...(input.store === undefined ? {} : { store: input.store }),
  };
  let settings: ServeSettings | undefined;
  try {
    settings = await resolveServeSettings(flags, { ...env, [SERVE_ENV.memoryLimit]: undefined });
  } catch {
    settings = undefined;
  }
  const configFile = input.config ?? nonEmpty(env[SERVE_ENV.config]);
  try {
    const full = await resolveServeSettings(
      input.memoryLimit === undefined ? flags : { ...flags, memoryLimit: input.memoryLimit },
      env,
    );
    const limits = Object.keys(full.limits);
    const source = configFile === undefined ? 'no config file' : `loaded ${configFile}`;
    const parts = [
      `host ${full.host}`,
      `port ${full.port}`,
      `store ${full.store}`,
      ...(full.memoryLimitBytes === undefined ? [] : [`memory limit ${formatBytes(full.memoryLimitBytes)}`]),
      ...(limits.length === 0 ? [] : [`limits ${limits.join(', ')}`]),
    ];
    return { result: pass('config', `${source}: ${parts.join(', ')}`), settings };
  } catch (error) {
    const option = isSbmpError(error) ? error.details?.option : undefined;
    const where =
      configFile === undefined
        ? 'the flags or SBMP_* variables'
        : `${configFile}, the flags or SBMP_* variables`;
    const what = typeof option === 'string' ? `'${option}'` : 'the setting named above';
    return {
      result: fail(
        'config',
        `the configuration does not validate: ${messageOf(error)}`,
        `correct ${what} in ${where} (sbmp serve --help lists the settings)`,
      ),
      settings,
    };
  }
}

/** The memory limit as the user gave it, by `sbmp serve`'s precedence: flag, then environment. */
export function memoryLimitText(
  input: DoctorInput,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return input.memoryLimit ?? nonEmpty(env[SERVE_ENV.memoryLimit]);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
