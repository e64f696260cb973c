/**
 * Default limits of a strategy run. A pool's ids fit many times over: the output caps stop a
 * strategy that prints without bound long before it takes the machine's memory.
 */
import type { StrategyLimits } from './types.ts';

export const DEFAULT_STRATEGY_LIMITS: Readonly<StrategyLimits> = {
  timeoutMs: 60_000,
  memoryMb: 1024,
  maxRows: 2_000_000,
  maxOutputBytes: 64 * 1024 * 1024,
};

export function strategyLimits(overrides: Partial<StrategyLimits> = {}): StrategyLimits {
  return { ...DEFAULT_STRATEGY_LIMITS, ...overrides };
}
