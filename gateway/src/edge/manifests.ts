import { watch, type FSWatcher } from 'node:fs';
import { readManifests, type Manifest, type PersistedOperation } from '@carwash/compose/manifests';
import type { Logger } from '@carwash/subgraph-kit';

export type { Manifest, PersistedOperation };

/** Changes to the folder within this window are reloaded once (editors write a file in several steps). */
const RELOAD_DEBOUNCE_MS = 100;

/**
 * The trusted-document manifests (`<dir>/<client>.json`), loaded at start and reloaded when the folder
 * changes (fs.watch), without a restart. A file that fails to parse on reload keeps that client's previous
 * manifest (a half-written deploy must not lock a partner out); a removed file removes the client's list.
 */
export class ManifestStore {
  private manifests = new Map<string, Manifest>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.reload();
  }

  /** The client's manifest, or undefined when it has none. */
  get(client: string): Manifest | undefined {
    return this.manifests.get(client);
  }

  /** Operations per client, for logs and tests. */
  summary(): Record<string, number> {
    return Object.fromEntries([...this.manifests].map(([c, m]) => [c, m.operations.size]));
  }

  /** Starts watching the folder; a missing folder is watched for nothing (no manifests). */
  watch(): void {
    try {
      this.watcher = watch(this.dir, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS);
      });
      this.watcher.on('error', (err) => this.logger.warn({ err }, 'persisted-query folder watch failed'));
    } catch (err) {
      this.logger.warn(
        { err, dir: this.dir },
        'persisted-query folder cannot be watched; manifests stay as loaded',
      );
    }
  }

  /** Called after every reload (tests wait on it). */
  onReload(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reload(): void {
    const { manifests, problems } = readManifests(this.dir);
    for (const p of problems) {
      const previous = this.manifests.get(p.client);
      if (previous) manifests.set(p.client, previous);
      this.logger.error({ client: p.client, problem: p.message }, 'trusted-document manifest not loaded');
    }
    this.manifests = manifests;
    this.logger.info({ manifests: this.summary() }, 'trusted-document manifests loaded');
    for (const l of this.listeners) l();
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
