export interface SoakOptions { seconds: number; warmupSeconds: number; connections: number; log: (msg: string) => void }
export async function runSoak(_o: SoakOptions): Promise<void> {}
