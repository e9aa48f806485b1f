import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPUs this process may use: the cgroup v2 quota (containers) when one is set, else the CPUs Node can schedule on.
 * onnxruntime runs 1.7× slower with more threads than cores (performance-notes "onnxruntime-node, CPU").
 */
export function cpuQuota(): number {
  const cores = availableParallelism();
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== 'max') {
      const limit = Math.floor(Number(quota) / Number(period));
      if (Number.isFinite(limit) && limit >= 1) return Math.min(limit, cores);
    }
  } catch {
    // no cgroup v2 quota file: not in a limited container
  }
  return cores;
}
