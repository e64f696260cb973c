import type { Command } from 'commander';
import { register as registerPool } from './pool.ts';
import { register as registerChallenge } from './challenge.ts';
import { register as registerEvaluate } from './evaluate.ts';
import { register as registerBaselines } from './baselines.ts';
import { register as registerVerify } from './verify.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerAudit } from './audit.ts';
import { register as registerSql } from './sql.ts';
import { register as registerWorkspace } from './workspace.ts';
import { register as registerStrategy } from './strategy.ts';
import { register as registerServe } from './serve.ts';
import { register as registerWorker } from './worker.ts';
import { register as registerSubmit } from './submit.ts';
import { register as registerRemote } from './remote.ts';
import { register as registerCache } from './cache.ts';
import { register as registerEmbed } from './embed.ts';

/** Every subcommand's register function, in help order. Add one line per new command file. */
export const commands: ((program: Command) => void)[] = [
  registerPool,
  registerChallenge,
  registerEvaluate,
  registerBaselines,
  registerVerify,
  registerDemo,
  registerAudit,
  registerEmbed,
  registerSql,
  registerWorkspace,
  registerStrategy,
  registerServe,
  registerWorker,
  registerSubmit,
  registerRemote,
  registerCache,
];
