/** The task registry: every task, by name. Adding a task is one file and one line here. */
import { SieveError } from '../util/errors.ts';
import { ranking } from './ranking.ts';
import { relabel } from './relabel.ts';
import { selection } from './selection.ts';
import { TASK_NAMES, type TaskDefinition, type TaskName } from './types.ts';

export * from './types.ts';

export const TASKS: Readonly<Record<TaskName, TaskDefinition>> = { selection, relabel, ranking };

export function taskOf(name: TaskName | string): TaskDefinition {
  const t = (TASKS as Record<string, TaskDefinition>)[name];
  if (!t) throw new SieveError(`unknown task "${name}"`, { where: 'task', examples: [...TASK_NAMES] });
  return t;
}
