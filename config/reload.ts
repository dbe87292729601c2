// Hot-reload plumbing: watch a config file, reload it after it changes, report the result. No
// signals and no applying here: the caller decides what a new config changes, and keeps the old
// one when the new one is invalid.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, resolveConfig, type Config, type ConfigOverride } from './load.js';

export type ReloadResult = { ok: true; config: Config } | { ok: false; error: ConfigError };

export interface WatchOptions {
  /** Quiet time after the last change before reloading (editors write in several steps); default 200. */
  debounceMs?: number;
  /** Environment laid over the file, as at startup; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The command line's values, laid over the file and the environment as at startup. */
  overrides?: readonly ConfigOverride[];
}

/**
 * Watches the file's directory (editors replace the file rather than write it in place, which a
 * watch on the file itself would lose), reloads `file` once changes settle and reports each
 * result. Loads never overlap; a change during a load reloads again after it. Returns stop().
 */
export function watchConfig(file: string, onChange: (result: ReloadResult) => void, options: WatchOptions = {}): () => void {
  const path = resolve(file);
  const name = basename(path);
  const debounceMs = options.debounceMs ?? 200;
  const env = options.env ?? process.env;
  let timer: NodeJS.Timeout | undefined;
  let loading = false;
  let again = false;
  let stopped = false;

  const report = (result: ReloadResult): void => {
    if (!stopped) onChange(result);
  };

  const reload = async (): Promise<void> => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      report({ ok: true, config: await resolveConfig({ file: path, env, overrides: options.overrides ?? [] }) });
    } catch (err) {
      const error = err instanceof ConfigError ? err : new ConfigError('MCDN_CONFIG_UNREADABLE', path, [{ path: '', message: String(err) }], { cause: err });
      report({ ok: false, error });
    } finally {
      loading = false;
      if (again && !stopped) {
        again = false;
        schedule();
      }
    }
  };

  function schedule(): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  }

  const watcher: FSWatcher = watch(dirname(path), (_event, changed) => {
    // Some platforms do not name the file; then any change in the directory may be it.
    if (changed === null || changed.toString() === name) schedule();
  });
  watcher.on('error', (err) => {
    report({ ok: false, error: new ConfigError('MCDN_CONFIG_UNREADABLE', path, [{ path: '', message: `cannot watch: ${err.message}` }], { cause: err }) });
    stop();
  });

  function stop(): void {
    stopped = true;
    clearTimeout(timer);
    watcher.close();
  }
  return stop;
}
