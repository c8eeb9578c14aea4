import { TrackerError } from './errors.js';
import { httpAnnounce, httpScrape, type HttpTrackerOptions } from './http/client.js';
import type { AnnounceRequest, AnnounceResult, ScrapeResult } from './types.js';
import { UdpTrackerClient, type UdpTrackerClientOptions } from './udp/client.js';

/** What a TrackerSet needs from the network: one announce or scrape to one tracker URL. */
export interface TrackerTransport {
  announce(url: string, req: AnnounceRequest, signal?: AbortSignal): Promise<AnnounceResult>;
  scrape(url: string, infoHashes: readonly Buffer[], signal?: AbortSignal): Promise<ScrapeResult>;
  close(): Promise<void>;
}

export interface TrackerClientOptions {
  readonly http?: Omit<HttpTrackerOptions, 'signal'>;
  readonly udp?: UdpTrackerClientOptions;
}

export function schemeOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return m?.[1]?.toLowerCase() ?? '';
}

/**
 * Dispatches by URL scheme to HTTP(S) (undici) or UDP (one shared socket per family).
 * Other schemes (wss: WebTorrent trackers) fail with TRACKER_UNSUPPORTED.
 */
export class TrackerClient implements TrackerTransport {
  private readonly udp: UdpTrackerClient;
  constructor(private readonly opts: TrackerClientOptions = {}) {
    this.udp = new UdpTrackerClient(opts.udp);
  }

  announce(url: string, req: AnnounceRequest, signal?: AbortSignal): Promise<AnnounceResult> {
    const scheme = schemeOf(url);
    if (scheme === 'http' || scheme === 'https') return httpAnnounce(url, req, { ...this.opts.http, ...(signal ? { signal } : {}) });
    if (scheme === 'udp') return this.udp.announce(url, req, signal ? { signal } : {});
    return Promise.reject(new TrackerError('TRACKER_UNSUPPORTED', `unsupported tracker scheme ${JSON.stringify(scheme)}`, { url }));
  }

  scrape(url: string, infoHashes: readonly Buffer[], signal?: AbortSignal): Promise<ScrapeResult> {
    const scheme = schemeOf(url);
    if (scheme === 'http' || scheme === 'https') return httpScrape(url, infoHashes, { ...this.opts.http, ...(signal ? { signal } : {}) });
    if (scheme === 'udp') return this.udp.scrape(url, infoHashes, signal ? { signal } : {});
    return Promise.reject(new TrackerError('TRACKER_UNSUPPORTED', `unsupported tracker scheme ${JSON.stringify(scheme)}`, { url }));
  }

  /** Resolves the UDP tracker's address (for displays); HTTP resolution happens inside undici. */
  resolveUdp(url: string): ReturnType<UdpTrackerClient['resolve']> {
    return this.udp.resolve(url);
  }

  close(): Promise<void> {
    return this.udp.close();
  }
}
