// Collects a test response: its status, headers, text and the JSON it parses
// to (undefined when empty or not JSON). Shared by the HTTP and HTTPS clients.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface ReadResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

export function readResponse(res: IncomingMessage): Promise<ReadResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
    });
    res.on('error', reject);
  });
}
